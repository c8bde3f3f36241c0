# Computation that is not a step: config validation, paths, and the input/param functions the
# rules call. Rules themselves hold no logic beyond calling these.
import json
import re
import sys
from pathlib import Path

from snakemake.settings.types import DeploymentMethod
from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))
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
    named += [("bench.bodies", b) for b in config["bench"]["bodies"]]
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
    for drafter in config["bench"]["drafters"]:
        if drafter not in config["drafters"]:
            raise WorkflowError(
                f"config: bench.drafters names '{drafter}', absent from drafters"
            )
    if config["bench"]["served_variant"] == "fp8":
        for body in config["bench"]["bodies"]:
            if body not in config["quantize"]["bodies"]:
                raise WorkflowError(
                    f"config: bench.served_variant is fp8 but quantize.bodies lacks '{body}'"
                )


check_local_bodies()
check_body_references()


# --- environments -----------------------------------------------------------------------


# Default: the workflow builds a venv per env file (rules/envs.smk) and rules call its Python.
# With `--sdm conda`, Snakemake builds envs/conda/NAME.yaml instead and activates it per job.
USE_CONDA = DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method


def conda_env(family):
    """The rule's `conda:` file (used only under --sdm conda)."""
    return f"../envs/conda/{config['envs'][family]}.yaml"


def env_marker(family):
    """The file that stands for a built venv: its `pip freeze`, written last."""
    return [] if USE_CONDA else f"{ENVS_DIR}/{config['envs'][family]}.freeze.txt"


def env_python(family):
    return "python" if USE_CONDA else f"{ENVS_DIR}/{config['envs'][family]}/bin/python"


def build_env(requirements, venv, marker, log):
    make_env.main([requirements, "--venv", venv, "--marker", marker, "--log", log])


def env_patches(wildcards):
    """Patch files an env's requirements file names in `# env: patch` lines (rebuild on edit)."""
    root = Path(workflow.basedir)
    spec = make_env.parse_env_spec(root / f"envs/{wildcards.env}.txt", root)
    return [str(p.relative_to(root)) for p in spec.patches]


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
    """The body a drafter is made for (speculators reads its architecture and sizes)."""
    return body_dir(config["drafters"][wildcards.drafter]["verifier"])


def drafter_has_weights(drafter):
    """A built-in method (ngram) drafts from the prompt itself and has no model directory."""
    return drafter != "none" and config["drafters"][drafter]["source"] != "builtin"


# --- bench ------------------------------------------------------------------------------


def bench_reps():
    return list(range(1, config["bench"]["repeats"] + 1))


def bench_configurations():
    """(body, drafter, n) served by one bench job each; n=0 is the no-speculation baseline."""
    b = config["bench"]
    for body in b["bodies"]:
        yield body, "none", 0
        for drafter in b["drafters"]:
            for n in b["num_speculative_tokens"]:
                if n > 0:
                    yield body, drafter, n


def bench_rep_outputs():
    return [
        f"{RESULTS}/bench/{{body}}/{{drafter}}/n{{n}}/rep{r}.json" for r in bench_reps()
    ]


def bench_cell_jsons():
    return [
        f"{RESULTS}/bench/{body}/{drafter}/n{n}/rep{r}.json"
        for body, drafter, n in bench_configurations()
        for r in bench_reps()
    ]


def served_body_dir(wildcards):
    if config["bench"]["served_variant"] == "fp8":
        return quantized_body_dir(wildcards.body)
    return body_dir(wildcards.body)


def bench_drafter_dir(wildcards):
    return (
        drafter_dir(wildcards.drafter) if drafter_has_weights(wildcards.drafter) else []
    )


def bench_drafter_args(wildcards):
    if wildcards.drafter == "none":
        return ""
    d = config["drafters"][wildcards.drafter]
    args = f"--drafter-name {wildcards.drafter} --method {d['method']}"
    if d.get("options"):
        args += (
            f" --speculative-options-json '{json.dumps(d['options'], sort_keys=True)}'"
        )
    if drafter_has_weights(wildcards.drafter):
        args += f" --drafter {drafter_dir(wildcards.drafter)}"
    return args


def server_args_json():
    s = config["server"]
    args = ["--gpu-memory-utilization", str(s["gpu_memory_utilization"])]
    args += ["--kv-cache-dtype", s["kv_cache_dtype"], *s["extra_args"]]
    return json.dumps(args)


# --- targets ----------------------------------------------------------------------------


def report_items():
    items = [
        f"{RESULTS}/report/{name}"
        for name in (
            "per_position_acceptance.png",
            "throughput.png",
            "cells.html",
            "quantization.html",
            "erratum.html",
        )
    ]
    if abliteration_reports():
        items.append(f"{RESULTS}/report/body_shift.html")
    return items


def get_final_output():
    targets = [body_dir(body) for body in config["bodies"]]
    targets += [quantized_body_dir(body) for body in config["quantize"]["bodies"]]
    targets += quantization_reports()
    targets += abliteration_reports()
    targets.append(f"{RESULTS}/bench/cells.csv")
    return targets + report_items()

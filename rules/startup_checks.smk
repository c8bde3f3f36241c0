# Checked when the workflow starts, before any job: configuration errors a schema cannot
# express. Each check raises a WorkflowError of one sentence per problem.
import os
import sys

from lib import body_contract, claims_ledger, drafter_checks
from plumbing import disk_plan, make_env


def refuse(problems):
    if problems:
        raise WorkflowError("\n".join(problems))


def conda_patch_problems():
    """Under --sdm conda, environments come from envs/conda/*.yaml, where make_env's patches
    cannot be applied: a run that uses an env that needs one is refused."""
    if not USE_CONDA:
        return []
    root = Path(workflow.basedir)
    problems = []
    for family, name in config["envs"].items():
        spec = make_env.parse_env_spec(root / "envs" / f"{name}.txt", root)
        if spec.patches:
            patches = ", ".join(str(p.relative_to(root)) for p in spec.patches)
            problems.append(
                f"envs/{name}.txt (env family '{family}') needs patches that a conda"
                f" environment does not get: {patches}; run without --sdm conda: the"
                " workflow then builds patched venvs"
            )
    return problems


def claims_ledger_problems():
    """The claims ledger is validated like the config: a malformed claim, one naming a profile
    that does not exist, or a measured claim of this profile that it does not bench."""
    config_dir = Path(workflow.basedir) / "config"
    try:
        ledger = claims_ledger.load_claims(
            config_dir / "claims.yaml",
            config_dir / "claims.schema.yaml",
            profiles=claims_ledger.known_profiles(config_dir),
        )
    except claims_ledger.ClaimError as exc:
        return [str(exc)]
    missing = claims_ledger.unbenched(ledger, PROFILE, set(STUDY.bench_series()))
    if not missing:
        return []
    return [
        f"config/claims.yaml: measured claims of profile '{PROFILE}' that it does not"
        " bench (add the series, or give the claim `not_benched: <reason>`): "
        + "; ".join(missing)
    ]


def capability_table():
    """What the profile's vLLM serves (envs/vllm-capabilities/ENV.json; none for an env file
    nobody has read yet: then only the files and the chat template are checked)."""
    name = config["envs"]["vllm"]
    path = Path(workflow.basedir) / "envs" / "vllm-capabilities" / f"{name}.json"
    return str(path) if path.is_file() else None


def known_folder(kind, name):
    """A body's or drafter's folder if it is there when the workflow starts: a local path, or
    what an earlier run made."""
    entry = config[kind][name]
    if entry["source"] == "local":
        return Path(entry["path"]).expanduser()
    made = Path(f"{RESULTS}/{'models' if kind == 'bodies' else 'drafters'}/{name}")
    return made if made.is_dir() else None


def body_contract_problems():
    """The body contract (scripts/lib/body_contract.py) on every body there is a folder for
    (an abliterated body not made yet: its source's architecture, which it keeps), and every
    benched drafter against its body."""
    table = capability_table()
    capabilities = body_contract.read_capabilities(table) if table else None
    env = config["envs"]["vllm"]
    problems = []
    for name, body in config["bodies"].items():
        folder = known_folder("bodies", name)
        if folder is None and body["source"] == "abliterate":
            source = known_folder("bodies", body["from"])
            if (
                source is not None
                and (source / "config.json").is_file()
                and capabilities
            ):
                cfg = json.loads((source / "config.json").read_text())
                problems += body_contract.serving_problems(
                    name, cfg, STUDY.body_needs(name), capabilities, env
                )
            continue
        if folder is None or not folder.is_dir():
            continue  # a local path that is not there: STUDY.local_body_problems names it
        if capabilities:
            problems += body_contract.body_problems(
                name,
                folder,
                STUDY.body_needs(name),
                capabilities,
                env,
                body.get("chat_template"),
            )
        else:
            problems += body_contract.checkpoint_problems(
                name, folder, body.get("chat_template")
            )
    for body, drafter, n in STUDY.bench_configurations():
        if n == 0 or not STUDY.drafter_has_weights(drafter):
            continue
        body_folder = known_folder("bodies", body)
        drafter_folder = known_folder("drafters", drafter)
        if (
            body_folder
            and drafter_folder
            and (body_folder / "config.json").is_file()
            and (drafter_folder / "config.json").is_file()
        ):
            problems += drafter_checks.drafter_body_problems(
                drafter, drafter_folder, body, body_folder
            )
    return list(dict.fromkeys(problems))


def pass_body_needs():
    """What vLLM must do with each body, for the jobs that make a body to check on what they
    made (an environment variable, not a param: scripts/lib/body_contract.py says why).
    """
    os.environ[body_contract.NEEDS_ENV] = json.dumps(
        {
            "capabilities": capability_table(),
            "env": config["envs"]["vllm"],
            "needs": {name: STUDY.body_needs(name) for name in config["bodies"]},
        }
    )


def disk_plan_rows():
    """What the profile still has to write (plumbing/disk_plan.py) and the free disk."""
    rows = disk_plan.missing(disk_plan.needs(config, RESULTS), Path.cwd())
    return rows, disk_plan.free_gb(Path.cwd() / RESULTS)


def print_disk_plan():
    """A dry run prints the plan. Snakemake names its executor only after parsing, so a dry
    run is recognised by its command line."""
    if disk_plan.is_dry_run(sys.argv):
        logger.info(
            "Disk plan (an estimate, scripts/plumbing/disk_plan.py):\n"
            + disk_plan.table(*disk_plan_rows())
            + f"\nthis machine's host memory: {disk_plan.memory_gb() or 0:,.1f} GB"
        )


def disk_plan_check():
    """Before the first job of a real run (onstart): refuse when the peak does not fit."""
    rows, free = disk_plan_rows()
    problems = [
        disk_plan.problem(rows, free),
        disk_plan.memory_problem(rows, disk_plan.memory_gb()),
    ]
    refuse([p for p in problems if p])


refuse(conda_patch_problems())
refuse(claims_ledger_problems())
refuse(STUDY.local_body_problems())
refuse(STUDY.reference_problems())
refuse(STUDY.hidden_state_engine_problems())
refuse(body_contract_problems())
pass_body_needs()
print_disk_plan()

# Checked when the workflow starts, before any job: configuration errors a schema cannot
# express. Each check raises a WorkflowError of one sentence per problem.
from lib import claims_ledger
from plumbing import make_env


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
    missing = claims_ledger.unbenched(
        ledger, PROFILE, set(STUDY.bench_configurations())
    )
    if not missing:
        return []
    return [
        f"config/claims.yaml: measured claims of profile '{PROFILE}' that it does not"
        " bench (add the series, or give the claim `not_benched: <reason>`): "
        + "; ".join(missing)
    ]


refuse(conda_patch_problems())
refuse(claims_ledger_problems())
refuse(STUDY.local_body_problems())
refuse(STUDY.reference_problems())
refuse(STUDY.hidden_state_engine_problems())

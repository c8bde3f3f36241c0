# The input and parameter functions of rules/envs.smk.


def env_patches(wildcards):
    """Patch files an env's requirements file names in `# env: patch` lines (rebuild on edit)."""
    root = Path(workflow.basedir)
    spec = make_env.parse_env_spec(root / f"envs/{wildcards.env}.txt", root)
    return [str(p.relative_to(root)) for p in spec.patches]


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

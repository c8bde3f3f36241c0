# The input and parameter functions of rules/bodies.smk.


def body_setting(key):
    """Param function: a key of the body's config entry, with schema defaults filled in."""
    return lambda wildcards: config["bodies"][wildcards.body].get(key)


def pip_args(wildcards):
    return " ".join(
        f"--pip-arg={a}" for a in config["bodies"][wildcards.body].get("pip_args", [])
    )


def bodies_from(source):
    return names_regex(STUDY.bodies_from(source))

# The input and parameter functions of rules/abliterate.smk.


def abliteration_source_dir(wildcards):
    return STUDY.body_dir(config["bodies"][wildcards.body]["from"])


def abliteration_direction(wildcards):
    """The refusal direction of the body's source, shared by every body abliterated from it."""
    return STUDY.direction_file(config["bodies"][wildcards.body]["from"])


def direction_setting(key):
    """Input/param function of refusal_direction: how the source body's direction is estimated."""
    return lambda wildcards: STUDY.direction_settings(wildcards.body)[key]


def abliteration_eval_device():
    """Where the shift is measured: the GPU where the profile serves on one (the edit itself
    is always made on the CPU, scripts/abliterate_body.py)."""
    return "cuda" if config["resources"]["gpus_per_server"] else "cpu"

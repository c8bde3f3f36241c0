# The input and parameter functions of rules/abliterate.smk.


def abliteration_source_dir(wildcards):
    return STUDY.body_dir(config["bodies"][wildcards.body]["from"])


def abliteration_eval_device():
    """Where the shift is measured: the GPU where the profile serves on one (the edit itself
    is always made on the CPU, scripts/abliterate_body.py)."""
    return "cuda" if config["resources"]["gpus_per_server"] else "cpu"

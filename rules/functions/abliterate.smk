# The input and parameter functions of rules/abliterate.smk.


def abliteration_source_dir(wildcards):
    return STUDY.body_dir(config["bodies"][wildcards.body]["from"])

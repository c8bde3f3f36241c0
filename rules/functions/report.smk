# The input and parameter functions of rules/report.smk.


def measured_for_front_page():
    """What the report's front page says of measured results (reports/captions/workflow.rst):
    the vanilla body's refusal rate, from the abliteration reports that exist when the workflow
    is parsed (for `snakemake --report`: after the run)."""
    rates = [
        json.loads(Path(p).read_text())["refusal_rate_before"]
        for p in STUDY.abliteration_reports()
        if Path(p).is_file()
    ]
    return {
        "vanilla_refusal_rate": min(rates) if rates else None,
        "refusal_floor": config["body_checks"]["refusal_floor"],
    }


def env_freezes():
    """The freeze file of every environment the profile uses (none under --sdm conda)."""
    if USE_CONDA:
        return []
    return sorted({f"{ENVS_DIR}/{name}.freeze.txt" for name in config["envs"].values()})

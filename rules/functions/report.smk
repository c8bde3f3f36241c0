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


def erratum_bodies():
    """The profile's bodies in a few words, for the erratum's verdicts on qualitative claims
    (they are judged on this run's bodies, not the paper's)."""

    def describe(name, body):
        if body["source"] == "abliterate":
            return f"{name} = {body['from']} abliterated at strength {body.get('strength', 1.0)}"
        origin = (
            body.get("repo") or body.get("gguf") or body.get("path") or body["source"]
        )
        return f"{name} = {Path(str(origin)).name}"

    return "; ".join(describe(name, body) for name, body in config["bodies"].items())


def erratum_settings():
    """The profile's value of every configuration the ledger's setting claims name (None where
    the profile sets none)."""
    ledger = yaml.safe_load(Path(workflow.basedir, "config", "claims.yaml").read_text())
    values = {}
    for claim in ledger["claims"]:
        if "setting" not in claim:
            continue
        value = config
        for key in claim["setting"]["config"].split("."):
            value = value.get(key) if isinstance(value, dict) else None
        values[claim["setting"]["config"]] = value
    return values

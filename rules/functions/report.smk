# The input and parameter functions of rules/report.smk.


def env_freezes():
    """The freeze file of every environment the profile uses (none under --sdm conda)."""
    if USE_CONDA:
        return []
    return sorted({f"{ENVS_DIR}/{name}.freeze.txt" for name in config["envs"].values()})

# Speculative decoding on an abliterated body: a reproduction of the Part 28 / Part 30 study.
# The pipeline, in order: Python environments -> bodies (vanilla; abliterated, made or fetched)
# -> FP8 self-quantisation -> drafter data (instructions, regenerated responses, Arrow dataset,
# hidden states) -> drafters (trained, or fetched) -> bench cells (body x drafter x n x repeat) -> report.
# `rule all` asks for what the profile model (scripts/plumbing/study_profile.py) lists as final targets.
from snakemake.utils import min_version

min_version("9.0")


# The miniature is the default; another profile is a whole file given with --configfile
# (config/smoke.yaml, config/gb10.yaml) and replaces it rather than being merged into it.
if not config:

    configfile: "config/config.yaml"


report: "reports/captions/workflow.rst"


include: "rules/common.smk"
include: "rules/startup_checks.smk"
include: "rules/envs.smk"
include: "rules/bodies.smk"
include: "rules/abliterate.smk"
include: "rules/quantize.smk"
include: "rules/drafter_data.smk"
include: "rules/drafters.smk"
include: "rules/bench.smk"
include: "rules/report.smk"


# the disk the profile still needs, checked before the first job (rules/startup_checks.smk)
onstart:
    disk_plan_check()


rule all:
    default_target: True
    input:
        STUDY.final_targets(),


# The data part alone (bodies, drafter data, trained drafters), for a run split over machines.
rule drafters:
    input:
        STUDY.data_part_targets(),


# The report's front page sees only the configuration: what it says of measured results joins
# it here, after every rule has taken its params (provenance leaves `_` keys out).
config["_measured"] = measured_for_front_page()

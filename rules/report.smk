# Figures and tables that `snakemake --report` collects; each caption is an rst in
# reports/captions/.


include: "functions/report.smk"


rule plot_acceptance:
    input:
        cells=f"{RESULTS}/bench/cells.csv",
        claims="config/claims.yaml",
        schema="config/claims.schema.yaml",
        code=script_code("plot_acceptance"),
    output:
        report(
            f"{RESULTS}/report/per_position_acceptance.png",
            caption="../reports/captions/per_position_acceptance.rst",
            category="Bench",
        ),
    log:
        f"logs/{PROFILE}/plot_acceptance.log",
    benchmark:
        f"benchmarks/{PROFILE}/plot_acceptance.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    params:
        # published per-position numbers drawn as references; only measured and withdrawn
        # claims pass claims.drawable_value, a retracted one fails the build naming it
        reference_claims=[
            "p28-vanilla-drafter-decay-on-abliterated",
            "p30-finetuned-per-position",
        ],
    script:
        "../scripts/plot_acceptance.py"


rule plot_throughput:
    input:
        cells=f"{RESULTS}/bench/cells.csv",
        code=script_code("plot_throughput"),
    output:
        report(
            f"{RESULTS}/report/throughput.png",
            caption="../reports/captions/throughput.rst",
            category="Bench",
        ),
    log:
        f"logs/{PROFILE}/plot_throughput.log",
    benchmark:
        f"benchmarks/{PROFILE}/plot_throughput.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/plot_throughput.py"


rule table_cells:
    input:
        cells=f"{RESULTS}/bench/cells.csv",
        missing=f"{RESULTS}/bench/missing_cells.txt",
        code=script_code("table_cells"),
    output:
        report(
            f"{RESULTS}/report/cells.html",
            caption="../reports/captions/cells.rst",
            category="Tables",
        ),
    log:
        f"logs/{PROFILE}/table_cells.log",
    benchmark:
        f"benchmarks/{PROFILE}/table_cells.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/table_cells.py"


rule table_quantization:
    input:
        reports=STUDY.quantization_reports(),
        code=script_code("table_quantization"),
    output:
        report(
            f"{RESULTS}/report/quantization.html",
            caption="../reports/captions/quantization.rst",
            category="Tables",
        ),
    log:
        f"logs/{PROFILE}/table_quantization.log",
    benchmark:
        f"benchmarks/{PROFILE}/table_quantization.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/table_quantization.py"


rule table_body_shift:
    input:
        reports=STUDY.abliteration_reports(),
        code=script_code("table_body_shift"),
    output:
        report(
            f"{RESULTS}/report/body_shift.html",
            caption="../reports/captions/body_shift.rst",
            category="Tables",
        ),
    log:
        f"logs/{PROFILE}/table_body_shift.log",
    benchmark:
        f"benchmarks/{PROFILE}/table_body_shift.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    params:
        refusal_floor=config["body_checks"]["refusal_floor"],
    script:
        "../scripts/table_body_shift.py"


rule erratum_check:
    input:
        claims="config/claims.yaml",
        schema="config/claims.schema.yaml",
        cells=f"{RESULTS}/bench/cells.csv",
        prompts=f"{RESULTS}/bench/prompts.csv",
        intervals=f"{RESULTS}/bench/intervals.csv",
        quantization=STUDY.quantization_reports(),
        training=STUDY.training_curves(),
        code=script_code("erratum_check"),
    output:
        html=report(
            f"{RESULTS}/report/erratum.html",
            caption="../reports/captions/erratum.rst",
            category="Erratum",
        ),
        csv=f"{RESULTS}/report/erratum.csv",
    log:
        f"logs/{PROFILE}/erratum_check.log",
    benchmark:
        f"benchmarks/{PROFILE}/erratum_check.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    params:
        profile=PROFILE,
        # what the verdicts compare with: the profile's settings the ledger names, the
        # equivalence margins, and the bodies qualitative claims are judged on
        settings=erratum_settings(),
        margins=config["bench"]["equivalence_margins"],
        bodies=erratum_bodies(),
    script:
        "../scripts/erratum_check.py"


rule plot_training:
    input:
        curves=STUDY.training_curves(),
        code=script_code("plot_training"),
    output:
        report(
            f"{RESULTS}/report/training_curves.png",
            caption="../reports/captions/training_curves.rst",
            category="Drafter training",
        ),
    log:
        f"logs/{PROFILE}/plot_training.log",
    benchmark:
        f"benchmarks/{PROFILE}/plot_training.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/plot_training.py"


rule provenance:
    input:
        cells=STUDY.measured_bench_cell_jsons(),
        freezes=env_freezes(),
        code=script_code("provenance"),
    output:
        report(
            f"{RESULTS}/report/provenance.html",
            caption="../reports/captions/provenance.rst",
            category="Provenance",
        ),
    log:
        f"logs/{PROFILE}/provenance.log",
    benchmark:
        f"benchmarks/{PROFILE}/provenance.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    params:
        profile_file=STUDY.config_file(),
        config_sha256=STUDY.config_sha256(),  # its table lists the keys that differ from the profile
        benchmarks=f"benchmarks/{PROFILE}",
    script:
        "../scripts/provenance.py"


rule plot_acceptance_intervals:
    input:
        intervals=f"{RESULTS}/bench/intervals.csv",
        code=script_code("plot_acceptance_intervals"),
    output:
        report(
            f"{RESULTS}/report/per_position_intervals.png",
            caption="../reports/captions/per_position_intervals.rst",
            category="Bench",
        ),
    log:
        f"logs/{PROFILE}/plot_acceptance_intervals.log",
    benchmark:
        f"benchmarks/{PROFILE}/plot_acceptance_intervals.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/plot_acceptance_intervals.py"


rule plot_prompt_scatter:
    input:
        cells=f"{RESULTS}/bench/cells.csv",
        prompts=f"{RESULTS}/bench/prompts.csv",
        code=script_code("plot_prompt_scatter"),
    output:
        report(
            f"{RESULTS}/report/prompt_scatter.png",
            caption="../reports/captions/prompt_scatter.rst",
            category="Bench",
        ),
    log:
        f"logs/{PROFILE}/plot_prompt_scatter.log",
    benchmark:
        f"benchmarks/{PROFILE}/plot_prompt_scatter.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/plot_prompt_scatter.py"


rule plot_step_cost:
    input:
        cells=f"{RESULTS}/bench/cells.csv",
        prompts=f"{RESULTS}/bench/prompts.csv",
        claims="config/claims.yaml",
        schema="config/claims.schema.yaml",
        code=script_code("plot_step_cost"),
    output:
        figure=report(
            f"{RESULTS}/report/step_cost.png",
            caption="../reports/captions/step_cost.rst",
            category="Bench",
        ),
        csv=f"{RESULTS}/bench/step_cost.csv",
    log:
        f"logs/{PROFILE}/plot_step_cost.log",
    benchmark:
        f"benchmarks/{PROFILE}/plot_step_cost.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
    script:
        "../scripts/plot_step_cost.py"


rule plot_mechanism:
    input:
        intervals=f"{RESULTS}/bench/intervals.csv",
        shifts=STUDY.abliteration_reports(),
        code=script_code("plot_mechanism"),
    output:
        report(
            f"{RESULTS}/report/mechanism.png",
            caption="../reports/captions/mechanism.rst",
            category="Bench",
        ),
    log:
        f"logs/{PROFILE}/plot_mechanism.log",
    benchmark:
        f"benchmarks/{PROFILE}/plot_mechanism.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    params:
        drafter=STUDY.mechanism_drafter(),
        vanilla_body="vanilla",
    script:
        "../scripts/plot_mechanism.py"


rule table_headroom:
    input:
        tables=STUDY.headroom_tables(),
        intervals=f"{RESULTS}/bench/intervals.csv",
        comparisons=f"{RESULTS}/bench/comparisons.csv",
        code=script_code("table_headroom"),
    output:
        csv=f"{RESULTS}/bench/headroom.csv",
        html=report(
            f"{RESULTS}/report/headroom.html",
            caption="../reports/captions/headroom.rst",
            category="Bench",
        ),
    log:
        f"logs/{PROFILE}/table_headroom.log",
    benchmark:
        f"benchmarks/{PROFILE}/table_headroom.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    params:
        pairs=STUDY.headroom_pairs(),
        drafter=STUDY.mechanism_drafter(),
        depth=STUDY.headroom_depth(),
        top_k=config["headroom"]["top_k"],
        margin=config["bench"]["equivalence_margins"].get("acceptance", float("nan")),
    script:
        "../scripts/table_headroom.py"


rule table_intervals:
    input:
        f"{RESULTS}/bench/intervals.csv",
        code=script_code("table_intervals"),
    output:
        report(
            f"{RESULTS}/report/intervals.html",
            caption="../reports/captions/intervals.rst",
            category="Tables",
        ),
    log:
        f"logs/{PROFILE}/table_intervals.log",
    benchmark:
        f"benchmarks/{PROFILE}/table_intervals.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/table_intervals.py"


rule table_comparisons:
    input:
        f"{RESULTS}/bench/comparisons.csv",
        code=script_code("table_comparisons"),
    output:
        report(
            f"{RESULTS}/report/comparisons.html",
            caption="../reports/captions/comparisons.rst",
            category="Tables",
        ),
    log:
        f"logs/{PROFILE}/table_comparisons.log",
    benchmark:
        f"benchmarks/{PROFILE}/table_comparisons.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/table_comparisons.py"


rule table_serving_vs_training:
    input:
        f"{RESULTS}/bench/serving_vs_training.csv",
        code=script_code("table_serving_vs_training"),
    output:
        report(
            f"{RESULTS}/report/serving_vs_training.html",
            caption="../reports/captions/serving_vs_training.rst",
            category="Tables",
        ),
    log:
        f"logs/{PROFILE}/table_serving_vs_training.log",
    benchmark:
        f"benchmarks/{PROFILE}/table_serving_vs_training.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/table_serving_vs_training.py"

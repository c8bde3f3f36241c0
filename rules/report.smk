# Figures and tables that `snakemake --report` collects; each caption is an rst in reports/.


rule plot_acceptance:
    input:
        cells=f"{RESULTS}/bench/cells.csv",
        claims="config/claims.yaml",
        schema="config/claims.schema.yaml",
        code=script_code("plot_bench"),
    output:
        report(
            f"{RESULTS}/report/per_position_acceptance.png",
            caption="../reports/per_position_acceptance.rst",
            category="Bench",
        ),
    log:
        f"logs/{PROFILE}/plot_acceptance.log",
    benchmark:
        f"benchmarks/{PROFILE}/plot_acceptance.tsv"
    conda:
        "../envs/conda/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        kind="acceptance",
        # published per-position numbers drawn as references; only published-measured claims
        # pass claims.drawable_value, a retracted one fails the build naming it
        reference_claims=[
            "p28-vanilla-drafter-decay-on-abliterated",
            "p30-finetuned-per-position",
        ],
    script:
        "../scripts/plot_bench.py"


rule plot_throughput:
    input:
        cells=f"{RESULTS}/bench/cells.csv",
        code=script_code("plot_bench"),
    output:
        report(
            f"{RESULTS}/report/throughput.png",
            caption="../reports/throughput.rst",
            category="Bench",
        ),
    log:
        f"logs/{PROFILE}/plot_throughput.log",
    benchmark:
        f"benchmarks/{PROFILE}/plot_throughput.tsv"
    conda:
        "../envs/conda/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        kind="throughput",
    script:
        "../scripts/plot_bench.py"


rule table_cells:
    input:
        cells=f"{RESULTS}/bench/cells.csv",
        missing=f"{RESULTS}/bench/missing_cells.txt",
        code=script_code("render_tables"),
    output:
        report(
            f"{RESULTS}/report/cells.html",
            caption="../reports/cells.rst",
            category="Tables",
        ),
    log:
        f"logs/{PROFILE}/table_cells.log",
    benchmark:
        f"benchmarks/{PROFILE}/table_cells.tsv"
    conda:
        "../envs/conda/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        kind="cells",
    script:
        "../scripts/render_tables.py"


rule table_quantization:
    input:
        reports=quantization_reports(),
        code=script_code("render_tables"),
    output:
        report(
            f"{RESULTS}/report/quantization.html",
            caption="../reports/quantization.rst",
            category="Tables",
        ),
    log:
        f"logs/{PROFILE}/table_quantization.log",
    benchmark:
        f"benchmarks/{PROFILE}/table_quantization.tsv"
    conda:
        "../envs/conda/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        kind="quantization",
    script:
        "../scripts/render_tables.py"


rule table_body_shift:
    input:
        reports=abliteration_reports(),
        code=script_code("render_tables"),
    output:
        report(
            f"{RESULTS}/report/body_shift.html",
            caption="../reports/body_shift.rst",
            category="Tables",
        ),
    log:
        f"logs/{PROFILE}/table_body_shift.log",
    benchmark:
        f"benchmarks/{PROFILE}/table_body_shift.tsv"
    conda:
        "../envs/conda/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        kind="body_shift",
    script:
        "../scripts/render_tables.py"


rule erratum_check:
    input:
        claims="config/claims.yaml",
        schema="config/claims.schema.yaml",
        cells=f"{RESULTS}/bench/cells.csv",
        prompts=f"{RESULTS}/bench/prompts.csv",
        quantization=quantization_reports(),
        code=script_code("claims"),
    output:
        html=report(
            f"{RESULTS}/report/erratum.html",
            caption="../reports/erratum.rst",
            category="Erratum",
        ),
        csv=f"{RESULTS}/report/erratum.csv",
    log:
        f"logs/{PROFILE}/erratum_check.log",
    benchmark:
        f"benchmarks/{PROFILE}/erratum_check.tsv"
    conda:
        "../envs/conda/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        profile=PROFILE,
    script:
        "../scripts/claims.py"


rule plot_training:
    input:
        curves=training_curves(),
        code=script_code("plot_training"),
    output:
        report(
            f"{RESULTS}/report/training_curves.png",
            caption="../reports/training_curves.rst",
            category="Drafter training",
        ),
    log:
        f"logs/{PROFILE}/plot_training.log",
    benchmark:
        f"benchmarks/{PROFILE}/plot_training.tsv"
    conda:
        "../envs/conda/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/plot_training.py"


rule provenance:
    input:
        cells=measured_bench_cell_jsons(),
        freezes=env_freezes(),
        code=script_code("provenance"),
    output:
        report(
            f"{RESULTS}/report/provenance.html",
            caption="../reports/provenance.rst",
            category="Provenance",
        ),
    log:
        f"logs/{PROFILE}/provenance.log",
    benchmark:
        f"benchmarks/{PROFILE}/provenance.tsv"
    conda:
        "../envs/conda/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        profile_file=profile_config_file(),
        config_sha256=config_sha256(),  # its table lists the keys that differ from the profile
        benchmarks=f"benchmarks/{PROFILE}",
    script:
        "../scripts/provenance.py"


rule plot_acceptance_intervals:
    input:
        intervals=f"{RESULTS}/bench/intervals.csv",
        code=script_code("plot_bench"),
    output:
        report(
            f"{RESULTS}/report/per_position_intervals.png",
            caption="../reports/per_position_intervals.rst",
            category="Bench",
        ),
    log:
        f"logs/{PROFILE}/plot_acceptance_intervals.log",
    benchmark:
        f"benchmarks/{PROFILE}/plot_acceptance_intervals.tsv"
    conda:
        "../envs/conda/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        kind="intervals",
    script:
        "../scripts/plot_bench.py"


rule plot_mechanism:
    input:
        intervals=f"{RESULTS}/bench/intervals.csv",
        shifts=abliteration_reports(),
        code=script_code("plot_bench"),
    output:
        report(
            f"{RESULTS}/report/mechanism.png",
            caption="../reports/mechanism.rst",
            category="Bench",
        ),
    log:
        f"logs/{PROFILE}/plot_mechanism.log",
    benchmark:
        f"benchmarks/{PROFILE}/plot_mechanism.tsv"
    conda:
        "../envs/conda/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        kind="mechanism",
        drafter=mechanism_drafter(),
        vanilla_body="vanilla",
    script:
        "../scripts/plot_bench.py"


rule table_intervals:
    input:
        f"{RESULTS}/bench/intervals.csv",
        code=script_code("render_tables"),
    output:
        report(
            f"{RESULTS}/report/intervals.html",
            caption="../reports/intervals.rst",
            category="Tables",
        ),
    log:
        f"logs/{PROFILE}/table_intervals.log",
    benchmark:
        f"benchmarks/{PROFILE}/table_intervals.tsv"
    conda:
        "../envs/conda/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        kind="intervals",
    script:
        "../scripts/render_tables.py"


rule table_comparisons:
    input:
        f"{RESULTS}/bench/comparisons.csv",
        code=script_code("render_tables"),
    output:
        report(
            f"{RESULTS}/report/comparisons.html",
            caption="../reports/comparisons.rst",
            category="Tables",
        ),
    log:
        f"logs/{PROFILE}/table_comparisons.log",
    benchmark:
        f"benchmarks/{PROFILE}/table_comparisons.tsv"
    conda:
        "../envs/conda/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        kind="comparisons",
    script:
        "../scripts/render_tables.py"


rule table_serving_vs_training:
    input:
        f"{RESULTS}/bench/serving_vs_training.csv",
        code=script_code("render_tables"),
    output:
        report(
            f"{RESULTS}/report/serving_vs_training.html",
            caption="../reports/serving_vs_training.rst",
            category="Tables",
        ),
    log:
        f"logs/{PROFILE}/table_serving_vs_training.log",
    benchmark:
        f"benchmarks/{PROFILE}/table_serving_vs_training.tsv"
    conda:
        "../envs/conda/workflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
    params:
        kind="serving_vs_training",
    script:
        "../scripts/render_tables.py"

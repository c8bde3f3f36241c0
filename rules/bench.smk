# The bench: one job per served configuration (body x drafter x n), which starts a vLLM server
# once and measures every endpoint x temperature x `bench.repeats` repeats against it, one JSON
# each; then one tidy table.


include: "functions/bench.smk"


rule bench_cell:
    input:
        code=script_sources("bench_cell"),
        env=env_marker("vllm"),
        body=bench_served_body,
        drafter=bench_drafter_dir,
        digests=bench_digests,
        prompts=config["bench"]["prompts"],
    output:
        bench_rep_outputs(),
    log:
        server=f"logs/{PROFILE}/bench_cell/{{body}}-{{drafter}}-n{{n}}.server.log",
        bench=f"logs/{PROFILE}/bench_cell/{{body}}-{{drafter}}-n{{n}}.log",
    benchmark:
        f"benchmarks/{PROFILE}/bench_cell/{{body}}-{{drafter}}-n{{n}}.tsv"
    conda:
        conda_env("vllm")
    threads: server_threads()
    resources:
        **SERVER_RESOURCES,
    params:
        python=env_python("vllm"),
        body_name=bench_body,
        drafter_args=bench_drafter_args,
        digest_args=bench_digest_args,
        n=lambda wildcards: wildcards.n,
        reps=" ".join(str(r) for r in STUDY.bench_reps()),
        bench_serve_reps=" ".join(str(r) for r in STUDY.bench_serve_reps()),
        temperatures=" ".join(f"{t:g}" for t in STUDY.bench_temperatures()),
        endpoints=" ".join(STUDY.bench_endpoints()),
        num_prompts=config["bench"]["num_prompts"],
        max_tokens=config["bench"]["max_tokens"],
        top_logprobs=config["bench"]["fidelity_top_logprobs"],
        max_model_len=config["server"]["max_model_len"],
        startup_timeout=config["server"]["startup_timeout_s"],
        server_args=bench_server_args_json(),
        keep_dir=bench_keep_dir,
        gpu_job=gpu_job(),
    shell:
        "{params.gpu_job}{params.python} scripts/bench_cell.py --body {input.body}"
        " --body-name {params.body_name} {params.drafter_args} {params.digest_args}"
        " --num-speculative-tokens {params.n} --prompts {input.prompts}"
        " --num-prompts {params.num_prompts} --endpoints {params.endpoints}"
        " --temperatures {params.temperatures}"
        " --max-tokens {params.max_tokens} --top-logprobs {params.top_logprobs}"
        " --max-model-len {params.max_model_len} --startup-timeout-s {params.startup_timeout} --server-args-json {params.server_args:q}"
        " --reps {params.reps} --bench-serve-reps {params.bench_serve_reps} --out {output}"
        " --keep-dir {params.keep_dir} --server-log {log.server} > {log.bench} 2>&1"


# Serving against training (docs/gpu.md, "Serving against training"): each trained drafter on its
# own verifier, at T = 0, on the rows its trainer validated on, through bench_cell's server and
# script; then vLLM's per-position acceptance beside the trainer's validation accuracy.
use rule bench_cell as serving_check with:
    input:
        code=script_sources("bench_cell"),
        env=env_marker("vllm"),
        body=bench_served_body,
        drafter=bench_drafter_dir,
        digests=bench_digests,
        prompts=verifier_validation_prompts,
    output:
        f"{RESULTS}/serving_check/{{drafter}}.json",
    log:
        server=f"logs/{PROFILE}/serving_check/{{drafter}}.server.log",
        bench=f"logs/{PROFILE}/serving_check/{{drafter}}.log",
    benchmark:
        f"benchmarks/{PROFILE}/serving_check/{{drafter}}.tsv"
    wildcard_constraints:
        drafter=drafters_from("trained"),
    params:
        # the others are bench_cell's
        n=serving_check_setting("num_speculative_tokens"),
        reps="0",
        bench_serve_reps="",
        temperatures="0",
        endpoints="chat",
        num_prompts=serving_check_setting("num_prompts"),
        max_tokens=serving_check_setting("max_tokens"),


# The sha256 of each served model's weights, once; every bench job records it (provenance).
rule weight_digest:
    input:
        code=script_sources("weight_digest"),
        model=f"{RESULTS}/{{kind}}/{{name}}",
    output:
        f"{RESULTS}/digests/{{kind}}/{{name}}.json",
    log:
        f"logs/{PROFILE}/weight_digest/{{kind}}-{{name}}.log",
    benchmark:
        f"benchmarks/{PROFILE}/weight_digest/{{kind}}-{{name}}.tsv"
    wildcard_constraints:
        kind="models|drafters",
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    params:
        python=driver_python(),
    shell:
        "{params.python} scripts/weight_digest.py --model {input.model} --out {output}"
        " > {log} 2>&1"


rule aggregate_cells:
    input:
        cells=STUDY.measured_bench_cell_jsons(),
        code=script_code("aggregate_cells"),
    output:
        table=f"{RESULTS}/bench/cells.csv",
        prompts=f"{RESULTS}/bench/prompts.csv",
        missing=f"{RESULTS}/bench/missing_cells.txt",
    log:
        f"logs/{PROFILE}/aggregate_cells.log",
    benchmark:
        f"benchmarks/{PROFILE}/aggregate_cells.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    params:
        max_delta_logprob=config["bench"]["fidelity_max_delta_logprob"],
        expected=STUDY.bench_cell_jsons(),
        min_greedy_prefix=config["bench"]["fidelity_min_greedy_prefix"],
        degenerate_seq_rep_4=config["bench"]["degenerate_seq_rep_4"],
    script:
        "../scripts/aggregate_cells.py"


# The run's verdict on output fidelity: after the tables and figures are made from cells.csv
# (where a failing cell carries its verdict and is never drawn), the run ends non-zero naming it.
rule fidelity_gate:
    input:
        f"{RESULTS}/bench/cells.csv",
        code=script_code("fidelity_gate"),
    output:
        f"{RESULTS}/bench/fidelity_gate.txt",
    log:
        f"logs/{PROFILE}/fidelity_gate.log",
    benchmark:
        f"benchmarks/{PROFILE}/fidelity_gate.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    script:
        "../scripts/fidelity_gate.py"


rule bench_intervals:
    input:
        cells=f"{RESULTS}/bench/cells.csv",
        prompts=f"{RESULTS}/bench/prompts.csv",
        code=script_code("bench_intervals"),
    output:
        intervals=f"{RESULTS}/bench/intervals.csv",
        comparisons=f"{RESULTS}/bench/comparisons.csv",
    log:
        f"logs/{PROFILE}/bench_intervals.log",
    benchmark:
        f"benchmarks/{PROFILE}/bench_intervals.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
    params:
        margins=config["bench"]["equivalence_margins"],
    script:
        "../scripts/bench_intervals.py"


rule serving_vs_training:
    input:
        checks=expand(
            f"{RESULTS}/serving_check/{{drafter}}.json",
            drafter=STUDY.trained_drafters(),
        ),
        training=expand(
            f"{RESULTS}/training/{{drafter}}.csv", drafter=STUDY.trained_drafters()
        ),
        code=script_code("serving_vs_training"),
    output:
        f"{RESULTS}/bench/serving_vs_training.csv",
    log:
        f"logs/{PROFILE}/serving_vs_training.log",
    benchmark:
        f"benchmarks/{PROFILE}/serving_vs_training.tsv"
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
    params:
        drafters=STUDY.trained_drafters(),
    script:
        "../scripts/serving_vs_training.py"


# The headroom of each body shift (scripts/lib/headroom.py): a body's no-speculation
# continuations teacher-forced through it and through the body the mechanism drafter mimics.
rule body_headroom:
    input:
        code=script_sources("body_headroom"),
        env=env_marker("hf"),
        served=headroom_body_dir("served"),
        mimic=headroom_body_dir("mimic"),
        cells=headroom_cells,
        prompts=config["bench"]["prompts"],
    output:
        f"{RESULTS}/headroom/{{served}}-vs-{{mimic}}.csv",
    log:
        f"logs/{PROFILE}/body_headroom/{{served}}-vs-{{mimic}}.log",
    benchmark:
        f"benchmarks/{PROFILE}/body_headroom/{{served}}-vs-{{mimic}}.tsv"
    conda:
        conda_env("hf")
    threads: 2
    resources:
        **TRAIN_RESOURCES,
    params:
        python=env_python("hf"),
        depth=STUDY.headroom_depth(),
        top_k=config["headroom"]["top_k"],
        gpu_job=gpu_job(whole_job=True),
    shell:
        "{params.gpu_job}{params.python} scripts/body_headroom.py --served-body {input.served}"
        " --mimic-body {input.mimic} --cells {input.cells} --prompts {input.prompts}"
        " --depth {params.depth} --top-k {params.top_k} --out {output} > {log} 2>&1"

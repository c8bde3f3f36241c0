# The drafters: each comes from the source its config entry names. "trained" is Part 30's
# recipe (`speculators train` on the hidden states of the body it serves, optionally starting
# from another drafter; online, from a vLLM extraction server beside the trainer); "untrained" is speculators' own `train --dry-run` (random weights);
# "hub" downloads a published drafter (gb10's vanilla MTP assistant, RedHatAI's EAGLE-3);
# "local" links one that lies on disk.


include: "functions/drafters.smk"


rule train_drafter:
    input:
        code=script_sources("train_drafter"),
        env=env_marker("vllm"),
        verifier=drafter_verifier_dir,
        dataset=drafter_training_data("dataset"),
        hidden_states=drafter_hidden_states,
        start_from=drafter_start_dir,
    output:
        drafter=directory(f"{RESULTS}/drafters/{{drafter}}"),
        metrics=f"{RESULTS}/training/{{drafter}}.csv",
    log:
        job=f"logs/{PROFILE}/train_drafter/{{drafter}}.log",
        # online training's extraction server (nothing is written there offline)
        server=f"logs/{PROFILE}/train_drafter/{{drafter}}.server.log",
    benchmark:
        f"benchmarks/{PROFILE}/train_drafter/{{drafter}}.tsv"
    wildcard_constraints:
        drafter=drafters_from("trained"),
    conda:
        conda_env("vllm")
    threads: 2
    resources:
        **TRAIN_RESOURCES,
    params:
        python=env_python("vllm"),
        method=drafter_setting("method"),
        start_from=drafter_start_args,
        settings=training_args(),
        hidden_states=hidden_state_source,
        work=lambda wildcards: f"{RESULTS}/training/{wildcards.drafter}.work",
        nproc=max(1, config["resources"]["gpus_per_train"]),
        gpu_job=gpu_job(whole_job=True),
    shell:
        "{params.gpu_job}{params.python} scripts/train_drafter.py"
        " --verifier {input.verifier}"
        " --dataset {input.dataset} {params.hidden_states} {params.start_from}"
        " --speculator-type {params.method} {params.settings} --work {params.work}"
        " --nproc-per-node {params.nproc}"
        # tee: the progress lines (step k of N, tokens/s, ETA) reach the console too
        " --metrics {output.metrics} --out {output.drafter} 2>&1 | tee {log.job}"


rule make_untrained_drafter:
    input:
        code=script_sources("make_untrained_drafter"),
        env=env_marker("vllm"),
        verifier=drafter_verifier_dir,
    output:
        directory(f"{RESULTS}/drafters/{{drafter}}"),
    log:
        f"logs/{PROFILE}/make_untrained_drafter/{{drafter}}.log",
    benchmark:
        f"benchmarks/{PROFILE}/make_untrained_drafter/{{drafter}}.tsv"
    wildcard_constraints:
        drafter=drafters_from("untrained"),
    conda:
        conda_env("vllm")
    threads: 1
    resources:
        mem_mb=config["resources"]["mem_mb_model"],
    params:
        python=env_python("vllm"),
        speculator_type=drafter_setting("method"),
    shell:
        "{params.python} scripts/make_untrained_drafter.py --verifier {input.verifier}"
        " --speculator-type {params.speculator_type} --out {output} > {log} 2>&1"


rule download_drafter:
    input:
        code=script_sources("download_drafter"),
        env=env_marker("hf"),
    output:
        directory(f"{RESULTS}/drafters/{{drafter}}"),
    log:
        f"logs/{PROFILE}/download_drafter/{{drafter}}.log",
    benchmark:
        f"benchmarks/{PROFILE}/download_drafter/{{drafter}}.tsv"
    wildcard_constraints:
        drafter=drafters_from("hub"),
    conda:
        conda_env("hf")
    threads: 1
    resources:
        mem_mb=4000,
    params:
        python=env_python("hf"),
        repo=drafter_setting("repo"),
    shell:
        "{params.python} scripts/download_drafter.py --repo {params.repo} --out {output}"
        " > {log} 2>&1"


rule link_local_drafter:
    input:
        code=script_sources("link_local_drafter"),
    output:
        directory(f"{RESULTS}/drafters/{{drafter}}"),
    log:
        f"logs/{PROFILE}/link_local_drafter/{{drafter}}.log",
    benchmark:
        f"benchmarks/{PROFILE}/link_local_drafter/{{drafter}}.tsv"
    wildcard_constraints:
        drafter=drafters_from("local"),
    conda:
        WORKFLOW_CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
    params:
        python=driver_python(),
        path=drafter_setting("path"),
    shell:
        "{params.python} scripts/link_local_drafter.py --path {params.path:q} --out {output}"
        " > {log} 2>&1"

# Part 30's training data, per body that a trained drafter serves: instructions -> responses
# the served body regenerates (speculators regenerate-responses) -> Arrow dataset with token
# frequencies (speculators prepare-data) -> verifier hidden states (hs_{i}.safetensors).


include: "functions/drafter_data.smk"


rule synthesize_instructions:
    input:
        code=script_sources("synthesize_instructions"),
        env=env_marker("vllm"),
        body=instruction_writer_dir,
    output:
        f"{RESULTS}/drafter_data/instructions.jsonl",
    log:
        job=f"logs/{PROFILE}/synthesize_instructions.log",
        server=f"logs/{PROFILE}/synthesize_instructions.server.log",
    benchmark:
        f"benchmarks/{PROFILE}/synthesize_instructions.tsv"
    conda:
        conda_env("vllm")
    threads: server_threads()
    resources:
        **SERVER_RESOURCES,
    params:
        python=env_python("vllm"),
        settings=instruction_args,
        max_model_len=config["server"]["max_model_len"],
        server_args=server_args_json(),
        server_env=data_server_env_json(),
        gpu_job=gpu_job(),
    shell:
        "{params.gpu_job}{params.python} scripts/synthesize_instructions.py"
        " --body {input.body}"
        " {params.settings} --max-model-len {params.max_model_len}"
        " --server-args-json {params.server_args:q} --server-env-json {params.server_env:q}"
        " --server-log {log.server} --out {output} > {log.job} 2>&1"


rule regenerate_responses:
    input:
        code=script_sources("regenerate_responses"),
        env=env_marker("vllm"),
        body=served_body_dir,
        instructions=instructions_file,
    output:
        f"{RESULTS}/drafter_data/{{body}}/responses.jsonl",
    log:
        job=f"logs/{PROFILE}/regenerate_responses/{{body}}.log",
        server=f"logs/{PROFILE}/regenerate_responses/{{body}}.server.log",
    benchmark:
        f"benchmarks/{PROFILE}/regenerate_responses/{{body}}.tsv"
    conda:
        conda_env("vllm")
    threads: server_threads()
    resources:
        **SERVER_RESOURCES,
    params:
        python=env_python("vllm"),
        dataset=regenerate_dataset_args,
        temperature=config["drafter_training"]["regenerate"]["temperature"],
        max_tokens=config["drafter_training"]["regenerate"]["max_tokens"],
        concurrency=config["drafter_training"]["regenerate"]["concurrency"],
        seed=config["drafter_training"]["regenerate"]["seed"],
        max_empty_fraction=config["drafter_training"]["regenerate"][
            "max_empty_fraction"
        ],
        max_model_len=config["server"]["max_model_len"],
        server_args=server_args_json(),
        server_env=data_server_env_json(),
        watchdog=watchdog_args(),
        gpu_job=gpu_job(),
    shell:
        "{params.gpu_job}{params.python} scripts/regenerate_responses.py"
        " --body {input.body} {params.dataset}"
        " --temperature {params.temperature} --max-tokens {params.max_tokens}"
        " --concurrency {params.concurrency} --seed {params.seed}"
        " --max-empty-fraction {params.max_empty_fraction}"
        " --max-model-len {params.max_model_len} --server-args-json {params.server_args:q}"
        " --server-env-json {params.server_env:q} --server-log {log.server}"
        " {params.watchdog} --out {output} > {log.job} 2>&1"


rule prepare_data:
    input:
        code=script_sources("prepare_data"),
        env=env_marker("vllm"),
        body=served_body_dir,
        responses=f"{RESULTS}/drafter_data/{{body}}/responses.jsonl",
    output:
        directory(f"{RESULTS}/drafter_data/{{body}}/dataset"),
    log:
        f"logs/{PROFILE}/prepare_data/{{body}}.log",
    benchmark:
        f"benchmarks/{PROFILE}/prepare_data/{{body}}.tsv"
    conda:
        conda_env("vllm")
    threads: 2
    resources:
        mem_mb=4000,
    params:
        python=env_python("vllm"),
        seq_length=config["drafter_training"]["prepare"]["seq_length"],
        min_valid_tokens=config["drafter_training"]["prepare"]["minimum_valid_tokens"],
    shell:
        "{params.python} scripts/prepare_data.py --body {input.body}"
        " --responses {input.responses} --seq-length {params.seq_length}"
        " --minimum-valid-tokens {params.min_valid_tokens} --workers {threads}"
        " --out {output} > {log} 2>&1"


# The rows the trainer holds out for validation, as prompts: the serving check (rules/bench.smk)
# serves them to compare vLLM's acceptance with the trainer's validation accuracy.
rule validation_prompts:
    input:
        code=script_sources("validation_prompts"),
        env=env_marker("vllm"),
        dataset=f"{RESULTS}/drafter_data/{{body}}/dataset",
        responses=f"{RESULTS}/drafter_data/{{body}}/responses.jsonl",
        instructions=instructions_file,
    output:
        f"{RESULTS}/drafter_data/{{body}}/validation_prompts.jsonl",
    log:
        f"logs/{PROFILE}/validation_prompts/{{body}}.log",
    benchmark:
        f"benchmarks/{PROFILE}/validation_prompts/{{body}}.tsv"
    conda:
        conda_env("vllm")
    threads: 1
    resources:
        mem_mb=4000,
    params:
        python=env_python("vllm"),
        ratio=config["drafter_training"]["train"]["train_data_ratio"],
        source=validation_instructions_arg,
    shell:
        "{params.python} scripts/validation_prompts.py --dataset {input.dataset}"
        " --responses {input.responses} {params.source}"
        " --train-data-ratio {params.ratio} --out {output} > {log} 2>&1"


# Hidden states: vLLM's own extraction on a GPU (speculators' path), or the same files from
# Hugging Face forward hooks on any device (vLLM's CPU build crashes in the extraction connector).
if TRAINING["hidden_states"]["engine"] == "vllm":

    rule extract_hidden_states_vllm:
        input:
            code=script_sources("extract_hidden_states_vllm"),
            env=env_marker("vllm"),
            body=served_body_dir,
            dataset=f"{RESULTS}/drafter_data/{{body}}/dataset",
        output:
            hidden_states_output(),
        log:
            job=f"logs/{PROFILE}/extract_hidden_states/{{body}}.log",
            server=f"logs/{PROFILE}/extract_hidden_states/{{body}}.server.log",
        benchmark:
            f"benchmarks/{PROFILE}/extract_hidden_states/{{body}}.tsv"
        conda:
            conda_env("vllm")
        threads: server_threads()
        resources:
            **SERVER_RESOURCES,
        params:
            python=env_python("vllm"),
            layer_ids=hidden_state_layer_args(),
            concurrency=TRAINING["hidden_states"]["concurrency"],
            max_model_len=config["server"]["max_model_len"],
            server_args=server_args_json(),
            server_env=data_server_env_json(),
            watchdog=watchdog_args(),
            gpu_job=gpu_job(),
        shell:
            "{params.gpu_job}{params.python} scripts/extract_hidden_states_vllm.py"
            " --body {input.body}"
            " --dataset {input.dataset} {params.layer_ids} --concurrency {params.concurrency}"
            " --max-model-len {params.max_model_len} --server-args-json {params.server_args:q}"
            " --server-env-json {params.server_env:q} --server-log {log.server}"
            " {params.watchdog} --out {output} > {log.job} 2>&1"

else:

    rule extract_hidden_states:
        input:
            code=script_sources("extract_hidden_states"),
            env=env_marker("vllm"),
            body=served_body_dir,
            dataset=f"{RESULTS}/drafter_data/{{body}}/dataset",
        output:
            hidden_states_output(),
        log:
            f"logs/{PROFILE}/extract_hidden_states/{{body}}.log",
        benchmark:
            f"benchmarks/{PROFILE}/extract_hidden_states/{{body}}.tsv"
        conda:
            conda_env("vllm")
        threads: 2
        resources:
            **TRAIN_RESOURCES,
        params:
            python=env_python("vllm"),
            layer_ids=hidden_state_layer_args(),
            # the data's sampling temperature, for the greedy-acceptance bound it records
            temperature=config["drafter_training"]["regenerate"]["temperature"],
            gpu_job=gpu_job(whole_job=True),
        shell:
            "{params.gpu_job}{params.python} scripts/extract_hidden_states.py --body {input.body}"
            " --dataset {input.dataset} {params.layer_ids} --temperature {params.temperature}"
            " --out {output} > {log} 2>&1"

# The bodies: each comes from the source its config entry names (a GGUF inside PyPI wheels,
# a tiny random model, the Hub, or a local path) and is checked before it is published.


include: "functions/bodies.smk"


rule convert_gguf_body:
    input:
        code=script_sources("convert_gguf_body"),
        env=env_marker("hf"),
        prompts=config["body_checks"]["prompts"],
    output:
        directory(f"{RESULTS}/models/{{body}}"),
    log:
        f"logs/{PROFILE}/convert_gguf_body/{{body}}.log",
    benchmark:
        f"benchmarks/{PROFILE}/convert_gguf_body/{{body}}.tsv"
    wildcard_constraints:
        body=bodies_from("pypi-gguf"),
    conda:
        conda_env("hf")
    threads: 2
    resources:
        mem_mb=config["resources"]["mem_mb_model"],
    params:
        python=env_python("hf"),
        source=gguf_source_args,
        pip_args=pip_args,
        max_new_tokens=config["body_checks"]["max_new_tokens"],
        min_top1=config["body_checks"]["min_top1_agreement"],
        max_kl=config["body_checks"]["max_mean_kl"],
    shell:
        "{params.python} scripts/convert_gguf_body.py {params.source}"
        " --out {output} --prompts {input.prompts}"
        " --max-new-tokens {params.max_new_tokens} --min-top1-agreement {params.min_top1}"
        " --max-mean-kl {params.max_kl} {params.pip_args} > {log} 2>&1"


rule make_tiny_body:
    input:
        code=script_sources("make_tiny_body"),
        env=env_marker("hf"),
        prompts=config["body_checks"]["prompts"],
        corpus=body_setting("corpus"),
    output:
        directory(f"{RESULTS}/models/{{body}}"),
    log:
        f"logs/{PROFILE}/make_tiny_body/{{body}}.log",
    benchmark:
        f"benchmarks/{PROFILE}/make_tiny_body/{{body}}.tsv"
    wildcard_constraints:
        body=bodies_from("tiny-random"),
    conda:
        conda_env("hf")
    threads: 1
    resources:
        mem_mb=config["resources"]["mem_mb_model"],
    params:
        python=env_python("hf"),
        vocab_size=body_setting("vocab_size"),
        hidden_size=body_setting("hidden_size"),
        layers=body_setting("layers"),
        heads=body_setting("heads"),
        kv_heads=body_setting("kv_heads"),
        intermediate_size=body_setting("intermediate_size"),
        seed=body_setting("seed"),
        initializer_range=body_setting("initializer_range"),
        architecture=body_setting("architecture"),
    shell:
        "{params.python} scripts/make_tiny_body.py --out {output} --corpus {input.corpus}"
        " --prompts {input.prompts} --vocab-size {params.vocab_size}"
        " --hidden-size {params.hidden_size} --layers {params.layers} --heads {params.heads}"
        " --kv-heads {params.kv_heads} --intermediate-size {params.intermediate_size}"
        " --seed {params.seed} --initializer-range {params.initializer_range}"
        " --architecture {params.architecture} > {log} 2>&1"


rule make_tiny_gemma4_body:
    input:
        code=script_sources("make_tiny_gemma4_body"),
        env=env_marker("vllm"),
        prompts=config["body_checks"]["prompts"],
        corpus=body_setting("corpus"),
    output:
        directory(f"{RESULTS}/models/{{body}}"),
    log:
        f"logs/{PROFILE}/make_tiny_gemma4_body/{{body}}.log",
    benchmark:
        f"benchmarks/{PROFILE}/make_tiny_gemma4_body/{{body}}.tsv"
    wildcard_constraints:
        body=bodies_from("tiny-gemma4"),
    conda:
        conda_env("vllm")
    threads: 1
    resources:
        mem_mb=config["resources"]["mem_mb_model"],
    params:
        # the vllm environment: Gemma 4's image processor needs Pillow, which it has
        python=env_python("vllm"),
        vocab_size=body_setting("vocab_size"),
        hidden_size=body_setting("hidden_size"),
        layers=body_setting("layers"),
        experts=body_setting("experts"),
        heads=body_setting("heads"),
        kv_heads=body_setting("kv_heads"),
        head_dim=body_setting("head_dim"),
        seed=body_setting("seed"),
        text_config=body_json_setting("text_config"),
        vision_config=body_json_setting("vision_config"),
    shell:
        "{params.python} scripts/make_tiny_gemma4_body.py --out {output} --corpus {input.corpus}"
        " --prompts {input.prompts} --vocab-size {params.vocab_size}"
        " --hidden-size {params.hidden_size} --layers {params.layers}"
        " --experts {params.experts} --heads {params.heads} --kv-heads {params.kv_heads}"
        " --head-dim {params.head_dim} --seed {params.seed}"
        " --text-config-json {params.text_config:q} --vision-config-json {params.vision_config:q}"
        " > {log} 2>&1"


rule download_body:
    input:
        code=script_sources("download_body"),
        env=env_marker("hf"),
        chat_template=chat_template_file,
    output:
        directory(f"{RESULTS}/models/{{body}}"),
    log:
        f"logs/{PROFILE}/download_body/{{body}}.log",
    benchmark:
        f"benchmarks/{PROFILE}/download_body/{{body}}.tsv"
    wildcard_constraints:
        body=bodies_from("hub"),
    conda:
        conda_env("hf")
    threads: 1
    resources:
        mem_mb=4000,
    params:
        python=env_python("hf"),
        repo=body_setting("repo"),
        revision=lambda wildcards: config["bodies"][wildcards.body].get(
            "revision", "main"
        ),
        chat_template=chat_template_args,
    shell:
        "{params.python} scripts/download_body.py --repo {params.repo} --revision {params.revision}"
        " --out {output} {params.chat_template} > {log} 2>&1"


rule link_local_body:
    input:
        code=script_sources("link_local_body"),
        env=env_marker("hf"),
        chat_template=chat_template_file,
    output:
        directory(f"{RESULTS}/models/{{body}}"),
    log:
        f"logs/{PROFILE}/link_local_body/{{body}}.log",
    benchmark:
        f"benchmarks/{PROFILE}/link_local_body/{{body}}.tsv"
    wildcard_constraints:
        body=bodies_from("local"),
    conda:
        conda_env("hf")
    threads: 1
    resources:
        mem_mb=1000,
    params:
        python=env_python("hf"),
        path=body_setting("path"),
        chat_template=chat_template_args,
    shell:
        "{params.python} scripts/link_local_body.py --path {params.path:q} --out {output}"
        " {params.chat_template} > {log} 2>&1"

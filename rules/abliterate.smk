# The abliterated body, where the profile makes its own (the miniature, smoke, qwen): the refusal
# direction of the source body is estimated once (a file of its own: it depends on the CPU's
# kernels, the edit does not, so a run split over machines carries it and rebuilds the same
# bodies), removed from the source body's weights on the CPU at each body's strength, and the
# shift is measured (KL, refusals), on the GPU where the profile has one.


include: "functions/abliterate.smk"


rule refusal_direction:
    input:
        code=script_sources("refusal_direction"),
        env=env_marker("hf"),
        body=STUDY.body_dir("{body}"),
        harmful=direction_setting("harmful"),
        harmless=direction_setting("harmless"),
    output:
        STUDY.direction_file("{body}"),
    log:
        f"logs/{PROFILE}/refusal_direction/{{body}}.log",
    benchmark:
        f"benchmarks/{PROFILE}/refusal_direction/{{body}}.tsv"
    wildcard_constraints:
        body=names_regex(STUDY.abliteration_sources()),
    conda:
        conda_env("hf")
    threads: 2
    resources:
        mem_mb=config["resources"]["mem_mb_model"],
    params:
        python=env_python("hf"),
        n_direction=direction_setting("n_direction"),
        layer_fraction=direction_setting("direction_layer_fraction"),
    shell:
        "{params.python} scripts/refusal_direction.py --body {input.body} --out {output}"
        " --harmful {input.harmful} --harmless {input.harmless}"
        " --n-direction {params.n_direction} --direction-layer-fraction {params.layer_fraction}"
        " > {log} 2>&1"


rule abliterate_body:
    input:
        code=script_sources("abliterate_body"),
        env=env_marker("hf"),
        body=abliteration_source_dir,
        direction=abliteration_direction,
        harmful=body_setting("harmful"),
        harmless=body_setting("harmless"),
    output:
        model=directory(f"{RESULTS}/models/{{body}}"),
        report=f"{RESULTS}/abliterate/{{body}}.json",
    log:
        f"logs/{PROFILE}/abliterate_body/{{body}}.log",
    benchmark:
        f"benchmarks/{PROFILE}/abliterate_body/{{body}}.tsv"
    wildcard_constraints:
        body=bodies_from("abliterate"),
    conda:
        conda_env("hf")
    threads: 2
    resources:
        **SERVER_RESOURCES,
    params:
        python=env_python("hf"),
        eval_device=abliteration_eval_device(),
        gpu_job=gpu_job(),
        n_direction=body_setting("n_direction"),
        strength=body_setting("strength"),
        max_new_tokens=body_setting("max_new_tokens"),
        min_kl=body_setting("min_kl"),
    shell:
        "{params.gpu_job}{params.python} scripts/abliterate_body.py --body {input.body}"
        " --direction {input.direction} --out {output.model} --eval-device {params.eval_device}"
        " --report {output.report} --harmful {input.harmful} --harmless {input.harmless}"
        " --n-direction {params.n_direction}"
        " --strength {params.strength} --max-new-tokens {params.max_new_tokens}"
        " --min-kl {params.min_kl} > {log} 2>&1"

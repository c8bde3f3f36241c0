# The abliterated body, where the profile makes its own (the miniature, smoke, qwen): the refusal
# direction is removed from the vanilla body's weights on the CPU and the shift is measured
# (KL, refusals), on the GPU where the profile has one.


include: "functions/abliterate.smk"


rule abliterate_body:
    input:
        code=script_sources("abliterate_body"),
        env=env_marker("hf"),
        body=abliteration_source_dir,
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
        layer_fraction=body_setting("direction_layer_fraction"),
        strength=body_setting("strength"),
        max_new_tokens=body_setting("max_new_tokens"),
        min_kl=body_setting("min_kl"),
    shell:
        "{params.gpu_job}{params.python} scripts/abliterate_body.py --body {input.body}"
        " --out {output.model} --eval-device {params.eval_device}"
        " --report {output.report} --harmful {input.harmful} --harmless {input.harmless}"
        " --n-direction {params.n_direction} --direction-layer-fraction {params.layer_fraction}"
        " --strength {params.strength} --max-new-tokens {params.max_new_tokens}"
        " --min-kl {params.min_kl} > {log} 2>&1"

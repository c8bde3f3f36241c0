# Part 28's self-quantisation: llm-compressor FP8-Dynamic, data-free, with the ignore list from
# config. The per-module check runs inside the same job, so a failed check leaves no checkpoint.


include: "functions/quantize.smk"


rule quantize_body:
    input:
        code=script_sources("quantize_body"),
        env=env_marker("quantize"),
        body=STUDY.body_dir("{body}"),
    output:
        model=directory(f"{RESULTS}/models/{{body}}-fp8"),
        report=f"{RESULTS}/quantize/{{body}}-fp8.json",
    log:
        f"logs/{PROFILE}/quantize_body/{{body}}.log",
    benchmark:
        f"benchmarks/{PROFILE}/quantize_body/{{body}}.tsv"
    conda:
        conda_env("quantize")
    threads: 2
    resources:
        mem_mb=config["resources"]["mem_mb_model"],
    params:
        python=env_python("quantize"),
        recipe=quantize_recipe_json(),
    shell:
        "{params.python} scripts/quantize_body.py --body {input.body} --out {output.model}"
        " --report {output.report} --recipe {params.recipe:q} > {log} 2>&1"

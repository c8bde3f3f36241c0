# The drafters: each comes from the source its config entry names. "untrained" is speculators'
# own `train --dry-run` (a vLLM-loadable EAGLE-3 drafter with random weights, for the smoke
# profile); "hub" downloads a published drafter (gb10's vanilla MTP assistant).


rule make_untrained_drafter:
    input:
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
        "{params.python} scripts/untrained_drafter.py --verifier {input.verifier}"
        " --speculator-type {params.speculator_type} --out {output} > {log} 2>&1"


rule download_drafter:
    input:
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
        "{params.python} scripts/body_from_hub.py --repo {params.repo} --out {output} --weights-only"
        " > {log} 2>&1"

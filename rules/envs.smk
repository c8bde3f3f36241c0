# One Python environment per rule family, built from envs/NAME.txt. The freeze file is the
# output rules depend on, so editing a requirements file (or a patch it names) rebuilds that
# environment and reruns only the rules that use it.


rule make_env:
    # Runs in Snakemake's own interpreter: it bootstraps the environments the others use.
    input:
        requirements="envs/{env}.txt",
        patches=env_patches,
    output:
        f"{ENVS_DIR}/{{env}}.freeze.txt",
    log:
        "logs/make_env/{env}.log",
    benchmark:
        "benchmarks/make_env/{env}.tsv"
    threads: 1
    resources:
        mem_mb=config["resources"]["mem_mb_env"],
    params:
        venv=f"{ENVS_DIR}/{{env}}",
        # config `interpreters`: check this existing Python instead of building the venv
        existing_python=existing_interpreter,
    run:
        build_env(
            input.requirements,
            params.venv,
            output[0],
            log[0],
            params.existing_python,
        )

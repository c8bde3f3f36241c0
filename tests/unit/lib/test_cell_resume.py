"""lib/cell_resume.py: which kept measurements a cut-off cell's next run may take."""

import json

from lib import cell_resume

CELL = {"body": "abliterated", "drafter": "vanilla", "n": 4, "rep": 1, "seed": 1001,
        "endpoint": "chat", "temperature": 0.0, "max_tokens": 200, "num_prompts": 40}
SETUP = {"vllm_package": "vllm==0.24.0", "server_command": ["python", "-m", "vllm"],
         "body_weights_sha256": {"model.safetensors": "6e13"},
         "drafter_weights_sha256": {"model.safetensors": "8dac"}, "draft_code_sha256": {},
         "prompts_sha256": "ab12", "machine": {"gpus": ["NVIDIA H100 80GB HBM3"]}}


def kept(tmp_path, provenance, cell=CELL, text=None):
    path = tmp_path / "chat_T0_rep1.json"
    path.write_text(text if text is not None else json.dumps(
        {"cell": cell, "metrics": {"tok_s_aggregate": 176.2}, "provenance": provenance}))
    return cell_resume.take_kept(tmp_path, "chat_T0_rep1.json", CELL, SETUP)


def test_a_measurement_of_the_same_setup_is_taken_and_marked(tmp_path):
    record = kept(tmp_path, {**SETUP, "server_startup_s": 190.0})
    assert record["metrics"]["tok_s_aggregate"] == 176.2
    assert record["provenance"]["kept_from_an_earlier_server"] is True
    assert record["provenance"]["server_startup_s"] == 190.0  # its own server's


def test_another_gpu_weights_cell_or_an_unreadable_file_is_measured_again(tmp_path):
    assert kept(tmp_path, {**SETUP, "machine": {"gpus": ["NVIDIA H200"]}}) is None
    assert kept(tmp_path, {**SETUP, "body_weights_sha256": {"model.safetensors": "ffff"}}) is None
    assert kept(tmp_path, SETUP, cell={**CELL, "seed": 2001}) is None
    no_prompts = {k: v for k, v in SETUP.items() if k != "prompts_sha256"}  # an older cell
    assert kept(tmp_path, no_prompts) is None
    assert kept(tmp_path, SETUP, text='{"cell": ') is None
    assert cell_resume.take_kept(None, "chat_T0_rep1.json", CELL, SETUP) is None


def test_done_removes_the_folder_and_keep_writes_into_it(tmp_path):
    folder = tmp_path / "bench_kept" / "abliterated-vanilla-n4"
    cell_resume.keep(folder, cell_resume.kept_name("raw", 0.7, 3), "{}")
    assert (folder / "raw_T0.7_rep3.json").read_text() == "{}"
    cell_resume.done(folder)
    assert not folder.exists()
    cell_resume.done(folder)  # nothing kept: nothing to do
    cell_resume.keep(None, "x.json", "{}")  # without a folder nothing is kept

"""Pure parts of a bench cell: drafter/body compatibility, per-prompt throughput, records."""


import pytest
from bench_cell import cell_record, parse_args, per_prompt_throughput
from drafter_checks import drafter_problems

BODY = {
    "architectures": ["LlamaForCausalLM"], "hidden_size": 576, "num_hidden_layers": 30,
    "vocab_size": 49152,
}


def drafter(arch="LlamaForCausalLM", hidden=576, aux=(2, 15, 27), vocab=49152):
    return {
        "speculators_config": {"verifier": {"architectures": [arch]}},
        "transformer_layer_config": {"hidden_size": hidden, "vocab_size": vocab},
        "eagle_aux_hidden_state_layer_ids": list(aux),
    }


def test_matching_drafter_passes():
    assert drafter_problems(drafter(), BODY) == []


def test_drafter_for_another_architecture_is_refused():
    problems = drafter_problems(drafter(arch="Qwen3ForCausalLM"), BODY)
    assert problems == ["drafter was trained for ['Qwen3ForCausalLM'], the body is ['LlamaForCausalLM']"]


def test_drafter_for_another_size_is_refused():
    assert any("hidden size 1024" in p for p in drafter_problems(drafter(hidden=1024), BODY))
    assert any("taps layers" in p for p in drafter_problems(drafter(aux=(2, 15, 31)), BODY))
    assert any("512-token vocabulary" in p for p in drafter_problems(drafter(vocab=512), BODY))


def test_multimodal_body_uses_its_text_config():
    body = {"architectures": ["Gemma4ForConditionalGeneration"],
            "text_config": {"hidden_size": 2816, "num_hidden_layers": 30}}
    assert drafter_problems(drafter("Gemma4ForConditionalGeneration", 2816), body) == []


def test_non_speculators_drafter_is_not_judged():
    assert drafter_problems({"architectures": ["Gemma4AssistantForCausalLM"]}, BODY) == []


def test_per_prompt_throughput_is_the_mean_of_request_rates():
    result = {"output_lens": [100, 50, 0], "latencies": [2.0, 0.5, 0.1]}
    assert per_prompt_throughput(result) == pytest.approx((50 + 100) / 2)


def test_cell_record_without_speculation():
    result = {"output_throughput": 24.0, "output_lens": [10], "latencies": [0.5], "completed": 1,
              "failed": 0, "total_output_tokens": 10, "duration": 0.4}
    record = cell_record(result, -1.2, 10)
    assert record["acceptance_length"] is None and record["per_position_acceptance"] == []
    assert record["tok_s_per_prompt"] == 20.0 and record["mean_logprob"] == -1.2


@pytest.mark.parametrize("argv", [
    ["--num-speculative-tokens", "2"],                       # n>0 without a method
    ["--method", "eagle3", "--num-speculative-tokens", "0"],  # a method at n=0
    ["--reps", "1", "2", "--out", "a.json"],                 # reps and outputs differ
])
def test_inconsistent_arguments_are_refused(argv):
    base = ["--body", "b", "--body-name", "vanilla", "--prompts", "p.jsonl", "--num-prompts", "1",
            "--temperature", "0.7", "--max-tokens", "8", "--max-model-len", "64",
            "--server-log", "s.log"]
    if "--reps" not in argv:
        base += ["--reps", "1", "--out", "a.json"]
    with pytest.raises(SystemExit):
        parse_args(base + argv)


def test_mismatched_drafter_is_refused_before_any_server_starts(tmp_path):
    """Runs the real script; it must stop before importing or starting vLLM."""
    import json
    import subprocess
    import sys

    from conftest import ROOT

    body, drafter_dir = tmp_path / "body", tmp_path / "drafter"
    body.mkdir()
    drafter_dir.mkdir()
    (body / "config.json").write_text(json.dumps(BODY))
    (drafter_dir / "config.json").write_text(json.dumps(drafter(arch="Qwen3ForCausalLM")))
    (tmp_path / "p.jsonl").write_text('{"prompt": "hi"}\n')
    proc = subprocess.run(
        [sys.executable, "scripts/bench_cell.py", "--body", str(body), "--body-name", "vanilla",
         "--drafter", str(drafter_dir), "--drafter-name", "vanilla", "--method", "eagle3",
         "--num-speculative-tokens", "2", "--prompts", str(tmp_path / "p.jsonl"),
         "--num-prompts", "1", "--temperature", "0.7", "--max-tokens", "8",
         "--max-model-len", "64", "--reps", "1", "--out", str(tmp_path / "r.json"),
         "--server-log", str(tmp_path / "server.log")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0
    assert "refusing drafter" in proc.stderr and "Qwen3ForCausalLM" in proc.stderr
    assert not (tmp_path / "server.log").exists()

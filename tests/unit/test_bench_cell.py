"""Pure parts of a bench cell: drafter/body compatibility, per-prompt throughput, records."""

import json
import logging
import sys
import types

import pytest
from bench_cell import (
    cell_record,
    counter_delta,
    counter_problems,
    parse_args,
    pass_totals,
    per_prompt_throughput,
    run_vllm_cli,
    spec_counters,
)
from lib.drafter_checks import drafter_problems

from helpers.workflow import ROOT

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


def prompt_row(tokens, latency, sum_lp, drafts=0, accepted=()):
    return {"output_tokens": tokens, "latency_s": latency, "sum_logprob": sum_lp,
            "drafts": drafts, "draft_tokens": 4 * drafts, "accepted_tokens": sum(accepted),
            "generation_tokens": tokens, "accepted_per_position": list(accepted)}


def test_cell_record_without_speculation():
    record = cell_record([prompt_row(10, 0.5, -12.0), prompt_row(30, 1.0, -24.0)], None)
    assert record["acceptance_length"] is None and record["per_position_acceptance"] == []
    assert record["tok_s_aggregate"] == pytest.approx(40 / 1.5)
    assert record["tok_s_per_prompt"] == pytest.approx((20 + 30) / 2)
    assert record["mean_logprob"] == pytest.approx(-36 / 40)
    assert "bench_serve_tok_s_aggregate" not in record


def test_cell_record_rates_derive_from_counts():
    rows = [prompt_row(20, 1.0, -10.0, drafts=6, accepted=(4, 3, 2, 1)),
            prompt_row(10, 1.0, -5.0, drafts=4, accepted=(2, 1, 0, 0))]
    bench = {"output_throughput": 25.0, "output_lens": [20, 10], "latencies": [1.0, 1.0],
             "failed": 0, "spec_decode_acceptance_length": 2.3,
             "spec_decode_per_position_acceptance_rates": [0.6, 0.4, 0.2, 0.1]}
    record = cell_record(rows, bench)
    assert record["per_position_acceptance"] == pytest.approx([0.6, 0.4, 0.2, 0.1])
    assert record["acceptance_length"] == pytest.approx(1 + 13 / 10)
    assert record["acceptance_rate"] == pytest.approx(13 / 40)
    assert record["bench_serve_acceptance_length"] == 2.3


@pytest.mark.parametrize("argv", [
    ["--num-speculative-tokens", "2"],                       # n>0 without a method
    ["--method", "eagle3", "--num-speculative-tokens", "0"],  # a method at n=0
    ["--reps", "1", "2", "--out", "a.json"],                 # reps and outputs differ
    ["--reps", "1", "--temperatures", "0", "0.7", "--out", "a.json"],  # one path per (T, rep)
])
def test_inconsistent_arguments_are_refused(argv):
    base = ["--body", "b", "--body-name", "vanilla", "--prompts", "p.jsonl", "--num-prompts", "1",
            "--max-tokens", "8", "--max-model-len", "64", "--server-log", "s.log"]
    if "--temperatures" not in argv:
        base += ["--temperatures", "0.7"]
    if "--reps" not in argv:
        base += ["--reps", "1", "--out", "a.json"]
    with pytest.raises(SystemExit):
        parse_args(base + argv)


def test_mismatched_drafter_is_refused_before_any_server_starts(tmp_path):
    """Runs the real script; it must stop before importing or starting vLLM."""
    import json
    import subprocess
    import sys

    from helpers.workflow import ROOT

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
         "--num-prompts", "1", "--temperatures", "0.7", "--max-tokens", "8",
         "--max-model-len", "64", "--reps", "1", "--out", str(tmp_path / "r.json"),
         "--server-log", str(tmp_path / "server.log")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0
    assert "refusing drafter" in proc.stderr and "Qwen3ForCausalLM" in proc.stderr
    assert not (tmp_path / "server.log").exists()


METRICS_BEFORE = """# HELP vllm:spec_decode_num_drafts_total Number of spec decoding drafts.
# TYPE vllm:spec_decode_num_drafts_total counter
vllm:spec_decode_num_drafts_total{engine="0",model_name="body"} 10.0
vllm:spec_decode_num_draft_tokens_total{engine="0",model_name="body"} 40.0
vllm:spec_decode_num_accepted_tokens_total{engine="0",model_name="body"} 12.0
vllm:spec_decode_num_accepted_tokens_per_pos_total{engine="0",model_name="body",position="0"} 7.0
vllm:spec_decode_num_accepted_tokens_per_pos_total{engine="0",model_name="body",position="1"} 3.0
vllm:spec_decode_num_accepted_tokens_per_pos_total{engine="0",model_name="body",position="2"} 2.0
vllm:spec_decode_num_accepted_tokens_per_pos_total{engine="0",model_name="body",position="3"} 0.0
vllm:generation_tokens_total{engine="0",model_name="body"} 22.0
vllm:request_success_total{engine="0",finished_reason="stop",model_name="body"} 1.0
"""


def test_spec_counters_read_prometheus_text():
    c = spec_counters(METRICS_BEFORE)
    assert (c["drafts"], c["draft_tokens"], c["accepted_tokens"], c["generation_tokens"]) == (
        10.0, 40.0, 12.0, 22.0)
    assert c["accepted_per_position"] == [7.0, 3.0, 2.0, 0.0]


def test_counter_delta_of_one_request_and_its_checks():
    after = (METRICS_BEFORE.replace("} 10.0", "} 15.0").replace("} 40.0", "} 60.0")
             .replace("} 12.0", "} 20.0").replace('position="0"} 7.0', 'position="0"} 11.0')
             .replace('position="1"} 3.0', 'position="1"} 6.0')
             .replace('position="2"} 2.0', 'position="2"} 3.0').replace("} 22.0", "} 47.0"))
    d = counter_delta(spec_counters(METRICS_BEFORE), spec_counters(after))
    assert d == {"drafts": 5, "draft_tokens": 20, "accepted_tokens": 8, "generation_tokens": 25,
                 "accepted_per_position": [4, 3, 1, 0]}
    assert counter_problems(d, n=4) == []


def test_counter_checks_catch_inconsistent_counts():
    base = {"drafts": 5, "draft_tokens": 20, "accepted_tokens": 8}
    assert "sum over positions 7 != accepted tokens 8" in counter_problems(
        base | {"accepted_per_position": [4, 3, 0, 0]}, n=4)[0]
    assert any("increase with position" in p for p in counter_problems(
        base | {"accepted_per_position": [2, 4, 1, 1]}, n=4))
    assert any("5 positions counted" in p for p in counter_problems(
        base | {"accepted_per_position": [4, 2, 1, 1, 0]}, n=4))
    assert counter_problems({"drafts": 3, "draft_tokens": 3, "accepted_tokens": 0,
                             "accepted_per_position": []}, n=0) == [
        "drafts counted without speculation"]


def test_counter_identity_of_one_request():
    """Output tokens = 1 + drafts + accepted, less what a stop token or the length limit cut
    from the last step (at most n)."""
    request = {"drafts": 5, "draft_tokens": 20, "accepted_tokens": 8,
               "accepted_per_position": [4, 3, 1, 0]}
    for output_tokens in (14, 12, 10):
        assert counter_problems(request | {"output_tokens": output_tokens}, n=4) == []
    assert "exceeds them by -1" in counter_problems(request | {"output_tokens": 15}, n=4)[0]
    assert "exceeds them by 5" in counter_problems(request | {"output_tokens": 9}, n=4)[0]


def test_counter_identity_holds_in_every_committed_cell():
    """The identity on real servers: every per-prompt row of the committed GPU runs' cells."""
    rows = 0
    for path in (ROOT / "reports" / "runs").rglob("*.json"):
        record = json.loads(path.read_text())
        if not isinstance(record, dict) or not record.get("cell", {}).get("n"):
            continue
        for prompt in record.get("per_prompt", []):
            assert counter_problems(prompt, record["cell"]["n"]) == [], (path, prompt)
            rows += 1
    assert rows >= 1000, rows


def test_pass_totals_add_up_prompts():
    rows = [{"drafts": 2, "draft_tokens": 8, "accepted_tokens": 3, "generation_tokens": 5,
             "output_tokens": 5, "accepted_per_position": [2, 1]},
            {"drafts": 1, "draft_tokens": 4, "accepted_tokens": 4, "generation_tokens": 5,
             "output_tokens": 5, "accepted_per_position": [1, 1, 1, 1]}]
    totals = pass_totals(rows)
    assert totals["accepted_per_position"] == [3, 2, 1, 1]
    assert totals["accepted_tokens"] == 7 and totals["drafts"] == 3


def test_per_prompt_throughput_without_saved_latencies():
    """vllm 0.24's saved JSON has no `latencies`: TTFT + inter-token gaps instead."""
    result = {"output_lens": [3], "ttfts": [0.1], "itls": [[0.2, 0.2]]}
    assert per_prompt_throughput(result) == pytest.approx(3 / 0.5)


def test_weight_digests_are_read_from_the_digest_file(tmp_path):
    """A bench job records the digest weight_digest wrote once, not its own read of the weights;
    without a digest file it hashes them itself."""
    import json

    from weight_digest import main as write_digest
    from lib.weight_digests import read_digest, sha256_file

    model = tmp_path / "model"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"weights")
    out = tmp_path / "digest.json"
    write_digest(["--model", str(model), "--out", str(out)])
    expected = {"model.safetensors": sha256_file(model / "model.safetensors")}
    assert json.loads(out.read_text())["sha256"] == expected
    assert read_digest(out, model) == expected == read_digest(None, model)
    (model / "model.safetensors").write_bytes(b"changed")  # the file is what is recorded
    assert read_digest(out, model) == expected
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit, match="no \\*.safetensors"):
        write_digest(["--model", str(empty), "--out", str(tmp_path / "e.json")])


def test_raw_requests_send_the_prompt_text_without_a_template():
    from bench_cell import bench_command, prompt_request

    raw = prompt_request("Write a poem", 0.7, 32, 5, top_logprobs=20, endpoint="raw")
    assert raw["prompt"] == "Write a poem" and "messages" not in raw and raw["logprobs"] == 20
    chat = prompt_request("Write a poem", 0.7, 32, 5, top_logprobs=20)
    assert chat["messages"] == [{"role": "user", "content": "Write a poem"}]
    assert chat["logprobs"] is True and chat["top_logprobs"] == 20
    for endpoint, backend, path in (("chat", "openai-chat", "/v1/chat/completions"),
                                    ("raw", "openai", "/v1/completions")):
        argv = bench_command("http://h", ROOT, ROOT / "p.jsonl", 3, 32, 0.7, 1, ROOT, "r.json",
                             endpoint)
        assert argv[argv.index("--backend") + 1] == backend
        assert argv[argv.index("--endpoint") + 1] == path
        # the server applies the chat template; `vllm bench serve` must not apply it as well
        assert "--skip-chat-template" in argv


def test_completion_log_probs_read_like_chat_ones():
    """/v1/completions returns parallel lists; the temperature score reads either shape."""
    from bench_cell import reply_content
    from lib.temperature_score import reply_score

    chat = {"logprobs": {"content": [
        {"token": "token_id:7", "logprob": -0.5,
         "top_logprobs": [{"token": "token_id:7", "logprob": -0.5},
                          {"token": "token_id:9", "logprob": -1.5}]},
        {"token": "token_id:3", "logprob": -2.0,
         "top_logprobs": [{"token": "token_id:4", "logprob": -0.2}]}]}}
    completion = {"logprobs": {
        "tokens": ["token_id:7", "token_id:3"], "token_logprobs": [-0.5, -2.0],
        "top_logprobs": [{"token_id:7": -0.5, "token_id:9": -1.5}, {"token_id:4": -0.2}]}}
    assert reply_content(completion, "raw") == reply_content(chat, "chat")
    assert reply_score(reply_content(completion, "raw"), 0.7) == reply_score(
        chat["logprobs"]["content"], 0.7)
    assert [int(t["token"].split(":")[1]) for t in reply_content(completion, "raw")] == [7, 3]


def test_progress_lines_survive_vllm_cli_that_leaves_logging_disabled(monkeypatch, caplog):
    """vLLM 0.24's CLI replaced the root handlers and, through logger.suppress_logging() around
    a config default that raised, left logging.disable(INFO) set: every later progress line of
    the cell vanished on the H100. After the CLI our loggers must log at INFO again."""
    seen = {}

    def fake_main():
        seen["argv"] = list(sys.argv)
        logging.getLogger().handlers[:] = []
        logging.disable(logging.INFO)
        logging.getLogger("bench_cell").disabled = True

    module = types.ModuleType("vllm.entrypoints.cli.main")
    module.main = fake_main
    for name in ("vllm", "vllm.entrypoints", "vllm.entrypoints.cli"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "vllm.entrypoints.cli.main", module)
    caplog.set_level(logging.INFO)
    argv = sys.argv
    try:
        run_vllm_cli(["bench", "serve", "--help"])
        assert seen["argv"] == ["vllm", "bench", "serve", "--help"]
        assert sys.argv is argv
        logging.getLogger("bench_cell").info("[2/12] per-prompt pass")
        assert [r.getMessage() for r in caplog.records] == ["[2/12] per-prompt pass"]
    finally:
        logging.disable(logging.NOTSET)


def cut_off_measure(calls, stop_after=None):
    """A stand-in for bench_cell.measure: writes (and keeps) each measurement as the real one
    does, and raises after `stop_after` of them, as a machine whose time ran out."""
    import bench_cell
    from lib import cell_resume

    def measure(args, spec, prompts, provenance, todo, outputs, cell):
        calls.append(list(todo))
        for k, m in enumerate(todo):
            if stop_after is not None and k == stop_after:
                raise RuntimeError("the machine went back")
            record = {"cell": cell(*m), "metrics": {}, "provenance": dict(provenance)}
            text = json.dumps(record)
            outputs[m].write_text(text)
            cell_resume.keep(args.keep_dir, cell_resume.kept_name(*m), text)

    return bench_cell, measure


def test_a_cut_off_cell_measures_only_what_it_had_not_finished(tmp_path, monkeypatch):
    """lib/cell_resume.py through run_cell: the finished measurements of a cut-off run are kept;
    the next run (its outputs deleted, as Snakemake does) measures only the others, and takes
    none under another setup (other prompts)."""
    body = tmp_path / "body"
    body.mkdir()
    (body / "config.json").write_text(json.dumps(BODY))
    (body / "model.safetensors").write_bytes(b"weights")
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "hi"}\n{"prompt": "ho"}\n')
    keep = tmp_path / "kept"
    outs = [tmp_path / f"r{k}.json" for k in range(4)]
    argv = ["--body", str(body), "--body-name", "vanilla", "--prompts", str(prompts),
            "--num-prompts", "2", "--temperatures", "0.7", "0", "--max-tokens", "8",
            "--max-model-len", "64", "--reps", "1", "2", "--out", *map(str, outs),
            "--server-log", str(tmp_path / "s.log"), "--keep-dir", str(keep)]
    calls = []
    bench_cell, measure = cut_off_measure(calls, stop_after=2)
    monkeypatch.setattr(bench_cell, "measure", measure)
    with pytest.raises(RuntimeError):
        bench_cell.run_cell(parse_args(argv))
    assert sorted(p.name for p in keep.iterdir()) == ["chat_T0.7_rep1.json", "chat_T0.7_rep2.json"]
    for out in outs:
        out.unlink(missing_ok=True)
    bench_cell, measure = cut_off_measure(calls)
    monkeypatch.setattr(bench_cell, "measure", measure)
    bench_cell.run_cell(parse_args(argv))
    assert calls[1] == [("chat", 0.0, 1), ("chat", 0.0, 2)]
    first = json.loads(outs[0].read_text())
    assert first["provenance"]["kept_from_an_earlier_server"] is True
    assert first["cell"]["temperature"] == 0.7 and first["cell"]["rep"] == 1
    assert "kept_from_an_earlier_server" not in json.loads(outs[3].read_text())["provenance"]
    assert not keep.exists()  # complete: nothing left to keep

    bench_cell, measure = cut_off_measure(calls, stop_after=1)
    monkeypatch.setattr(bench_cell, "measure", measure)
    with pytest.raises(RuntimeError):
        bench_cell.run_cell(parse_args(argv))
    prompts.write_text('{"prompt": "hi"}\n{"prompt": "another"}\n')
    bench_cell, measure = cut_off_measure(calls)
    monkeypatch.setattr(bench_cell, "measure", measure)
    bench_cell.run_cell(parse_args(argv))
    assert len(calls[-1]) == 4  # kept under other prompts: all measured again

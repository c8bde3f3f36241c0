"""gb10_expectations: the measured regeneration rate read from a job log, and the table that sets
it beside the bandwidth bounds on the measuring GPU and on a GB10."""

import re
from pathlib import Path

import pytest

from tools import gb10_expectations

ROOT = Path(__file__).resolve().parents[3]
PIPELINE = """\
Generating responses: 1024sample [00:23, 42.80sample/s, ok=1024]
Pipeline complete in 23.9s: 1024 conversations (1024 ok, 0 errors, 1024 truncated)
Throughput: 42.8 req/s, 16434 tok/s | Avg request latency: 2981 ms
"""


def test_the_rate_is_read_from_the_pipeline_line(tmp_path):
    log = tmp_path / "regenerate.log"
    log.write_text("2026-12-05 serving server healthy after 56 s\n" + PIPELINE)
    assert gb10_expectations.measured_tok_s(log) == 16434.0


def test_a_log_without_the_line_is_refused(tmp_path):
    log = tmp_path / "regenerate.log"
    log.write_text("2026-12-05 serving waiting for the server (90 s so far)\n")
    with pytest.raises(SystemExit, match="no 'Throughput"):
        gb10_expectations.measured_tok_s(log)


RUN = ROOT / "reports" / "runs" / "gb10-fullwidth"


def table(tmp_path, capsys, *extra: str) -> list[str]:
    log = tmp_path / "regenerate.log"
    log.write_text(PIPELINE)
    gb10_expectations.main([
        "--profile", str(ROOT / "config" / "gb10-fullwidth.yaml"), "--regenerate-log", str(log),
        "--batch", "128", "--context", "262", *extra])
    return [r for r in capsys.readouterr().out.splitlines() if r.startswith("| ")][1:]


def test_without_the_optional_measurements_two_decoding_rows_remain(tmp_path, capsys):
    regeneration, plain = table(tmp_path, capsys)
    assert regeneration.startswith("| regeneration, 64 requests at 2,048 tokens |")
    assert "16,434 tok/s at 128 requests" in regeneration
    assert "50,000 replies in ~24 h" in regeneration  # gb10's count, Part 30's hours
    assert "| not measured |" in plain and "39.3 tok/s" in plain


def test_each_measurement_given_adds_its_stage(tmp_path, capsys):
    cells = RUN / "bench_cells-attempt11"
    rows = table(tmp_path, capsys,
                 "--quantize-jobs", str(RUN / "jobs-attempt11.tsv"),
                 "--drafter-sizes", str(RUN / "sizes-attempt11.txt"),
                 "--training-metrics", str(RUN / "training-attempt11.csv"),
                 "--spec-cell", str(cells / "abliterated_redhat_n4_chat_T0_rep1.json"),
                 "--plain-cell", str(cells / "abliterated_redhat_n4_chat_T0_rep1.json"))
    stages = [r.split(" | ")[0] for r in rows]
    assert stages == ["| FP8 quantisation (quantize_body)", "| EAGLE-3 drafter, checkpoint",
                      "| regeneration, 64 requests at 2,048 tokens",
                      "| online training, 4,096-token steps", "| bench, batch 1, no speculation",
                      "| bench, batch 1, EAGLE-3 at n = 4"]
    quantise, drafter, _, training, _, spec = rows
    assert "| 31 s (" in quantise and "2.9 min (p28-quantization-time)" in quantise
    assert "3.15 GB (the stand-in, 262,144 draft tokens" in drafter
    assert "1.86 GB at 32,000 draft tokens" in drafter
    assert "18,100 tok/s" in training and "9,485 steps" in training
    # the expected n = 4 step is the GB10's bound plus what the measured step took beyond its
    # bytes: 116 tok/s at acceptance length 1 is 8.6 ms
    bound, rest, expected = (float(x) for x in re.findall(
        r"([\d.]+) ms \+ ([\d.]+) ms = ([\d.]+) ms", spec)[0])
    assert expected == pytest.approx(bound + rest, abs=0.11)
    assert "8.6 ms a step" in spec and rest < 8.6


def test_a_cell_without_a_rate_is_refused(tmp_path, capsys):
    cell = tmp_path / "cell.json"
    cell.write_text('{"cell": {"n": 4}, "metrics": {"tok_s_aggregate": null}}')
    with pytest.raises(SystemExit, match="no aggregate tok/s"):
        table(tmp_path, capsys, "--spec-cell", str(cell))


def test_the_gb10_batch_and_context_come_from_the_target_profile(tmp_path, capsys):
    target = tmp_path / "target.yaml"
    target.write_text("drafter_training:\n  instructions: {count: 100}\n"
                      "  regenerate: {concurrency: 16, max_tokens: 512}\n"
                      "  train: {ttt_steps: 3, total_seq_len: 4096}\n")
    small = table(tmp_path, capsys, "--target-profile", str(target))[0]
    assert small.startswith("| regeneration, 16 requests at 256 tokens |")
    assert "100 replies" in small
    told = table(tmp_path, capsys, "--target-profile", str(target), "--target-batch", "32",
                 "--target-context", "128")[0]
    assert told.startswith("| regeneration, 32 requests at 128 tokens |")

"""gb10_expectations: the measured regeneration rate read from a job log, and the table that sets
it beside the bandwidth bounds on the measuring GPU and on a GB10."""

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


def test_the_table_puts_the_measured_rate_beside_its_bound(tmp_path, capsys):
    log = tmp_path / "regenerate.log"
    log.write_text(PIPELINE)
    gb10_expectations.main([
        "--profile", str(ROOT / "config" / "gb10-fullwidth.yaml"), "--regenerate-log", str(log),
        "--batch", "128", "--context", "262", "--published-tok-s", "39.3"])
    rows = [r for r in capsys.readouterr().out.splitlines() if r.startswith("| ")]
    assert len(rows) == 4  # header and three steps
    measured, gb10, bench = rows[1:]
    assert "| 7 | 128 |" in measured and "16,434 tok/s" in measured
    assert "| 30 | 64 |" in gb10 and "| 273 |" in gb10
    assert "published: 39.3 tok/s" in bench


def test_the_gb10_batch_and_context_come_from_the_target_profile(tmp_path, capsys):
    log = tmp_path / "regenerate.log"
    log.write_text(PIPELINE)
    target = tmp_path / "target.yaml"
    target.write_text("drafter_training:\n  regenerate: {concurrency: 16, max_tokens: 512}\n")
    args = ["--profile", str(ROOT / "config" / "gb10-fullwidth.yaml"), "--regenerate-log",
            str(log), "--batch", "128", "--context", "262", "--target-profile", str(target)]
    gb10_expectations.main(args)
    small = [r for r in capsys.readouterr().out.splitlines() if "regeneration, GB10" in r][0]
    assert "| 30 | 16 |" in small
    gb10_expectations.main(args + ["--target-batch", "32", "--target-context", "256"])
    told = [r for r in capsys.readouterr().out.splitlines() if "regeneration, GB10" in r][0]
    assert "| 30 | 32 |" in told and told != small

"""A vLLM server log -> where its start went (scripts/tools/server_start_phases.py), on a real log of
the gb10 rehearsal (the fine-tuned EAGLE-3 drafter's n = 4 cell on the H200) and on a log that
is not vLLM's."""

import pytest
from tools import server_start_phases as ssp
from helpers.workflow import ROOT

CELL_LOG = (ROOT / "reports/runs/gb10-rehearsal/earlier-attempts/logs-2026-11-30/bench_cell"
            / "abliterated-finetuned-n4.server.log")


def test_phases_of_a_real_start():
    row = ssp.start_phases(CELL_LOG)
    # the log's own lines: first at 18:47:42, engine init at 18:48:19, "init engine ... took
    # 59.88 s" at 18:49:22, "Supported tasks" at 18:51:33; torch.compile 37.41 s (body) +
    # 7.11 s (EAGLE-3 head)
    assert row.first_line == "11-30 18:47:42"
    assert row.to_engine_init_s == 37.0
    assert row.compile_s == pytest.approx(44.52)
    assert row.kv_cache_tokens == 220_193_555
    assert row.init_engine_s == 59.88
    assert row.engine_init_to_ready_s == 131.0
    assert row.first_line_to_ready_s == 231.0
    table = ssp.tsv([row]).splitlines()
    assert table[0].split("\t")[0] == "log" and len(table) == 2


def test_a_log_without_vllm_lines_is_refused(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("Traceback (most recent call last):\nImportError: no vllm\n")
    with pytest.raises(ValueError, match="no timestamped vLLM log line"):
        ssp.start_phases(log)


def test_a_server_not_started_yet_is_skipped_and_named(tmp_path, capsys):
    """The table of a machine's starts, asked while one server has written nothing yet."""
    starting = tmp_path / "starting.server.log"
    starting.write_text("")
    ssp.main([str(CELL_LOG), str(starting)])
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 2 and str(CELL_LOG) in out
    assert f"skipped: {starting}: no timestamped vLLM log line" in err
    with pytest.raises(SystemExit, match="no vLLM server start"):
        ssp.main([str(starting)])


def test_a_start_that_never_answered_has_no_ready_time(tmp_path):
    lines = CELL_LOG.read_text().splitlines()
    cut = next(i for i, ln in enumerate(lines) if "Supported tasks" in ln)
    log = tmp_path / "server.log"
    log.write_text("\n".join(lines[:cut]) + "\n")
    row = ssp.start_phases(log)
    assert row.engine_init_to_ready_s is None and row.first_line_to_ready_s is None
    assert "\t\t" in ssp.tsv([row]) or ssp.tsv([row]).rstrip().endswith("\t")


def test_a_log_of_two_starts_gives_the_last(tmp_path):
    """serving.py appends to the server log; a rerun's start is the one that counts."""
    text = CELL_LOG.read_text()
    earlier = text.replace("18:47:42", "17:00:00")  # the same start an hour and more before
    log = tmp_path / "server.log"
    log.write_text(earlier + text)
    row = ssp.start_phases(log)
    assert row.first_line == "11-30 18:47:42" and row.first_line_to_ready_s == 231.0


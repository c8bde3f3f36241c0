"""The progress watchdog (lib/watchdog.py) against a fake vLLM server that deadlocks mid-run:
started through lib/serving.py's real server lifecycle, so the restart path is the jobs' own."""

import sys
from pathlib import Path

import pytest
from lib import serving, watchdog

FAKE = Path(__file__).resolve().parents[2] / "helpers" / "fake_vllm"
POLICY = watchdog.Policy(stall_s=2.0, max_restarts=2, poll_s=0.2)


def run(tmp_path, stall_on: str, rows: int = 6):
    out = tmp_path / "rows.partial"
    env = {"PYTHONPATH": str(FAKE), "FAKE_STARTS": str(tmp_path / "starts"),
           "FAKE_STALL_ON": stall_on, "FAKE_STALL_AFTER": "3"}
    spec = serving.ServerSpec(python=sys.executable, model=tmp_path, env=env,
                              startup_timeout_s=30, extra_args=["--dtype", "auto"])

    def start():
        return serving.VllmServer(spec, tmp_path / "server.log")

    def command(base_url):
        return [sys.executable, str(FAKE / "client.py"), base_url, str(out), str(rows)]

    restarts = watchdog.run_with_restarts(start, command, out, POLICY)
    return restarts, out, int((tmp_path / "starts").read_text())


def test_a_server_that_stops_midway_is_restarted_and_the_client_resumes(tmp_path):
    restarts, out, starts = run(tmp_path, stall_on="1")
    assert (restarts, starts) == (1, 2)
    # 3 rows before the deadlock, the other 3 after the restart: none twice, none lost
    assert out.read_text().splitlines() == [f"row {i}" for i in range(6)]


def test_a_server_that_always_stalls_fails_with_its_log_tail(tmp_path):
    with pytest.raises(SystemExit) as exc:
        run(tmp_path, stall_on="all", rows=20)
    message = str(exc.value)
    assert "no progress for 2 s" in message and "2 restarts did not help" in message
    assert "scheduler deadlocked" in message  # the server log's tail
    assert int((tmp_path / "starts").read_text()) == 3
    # 3 rows per start, kept for the next run
    assert len((tmp_path / "rows.partial").read_text().splitlines()) == 9


def test_progress_is_prompt_and_generated_tokens():
    metrics = "\n".join([
        "# HELP vllm:prompt_tokens_total Number of prefill tokens processed.",
        'vllm:prompt_tokens_total{model_name="a"} 120.0',
        'vllm:generation_tokens_total{model_name="a"} 30.0',
        'vllm:num_requests_running{model_name="a"} 4.0',
    ])
    assert watchdog.served_tokens(metrics) == 150.0


def test_a_client_failure_is_not_a_stall(tmp_path):
    spec = serving.ServerSpec(python=sys.executable, model=tmp_path, startup_timeout_s=30,
                              env={"PYTHONPATH": str(FAKE), "FAKE_STARTS": str(tmp_path / "s")},
                              extra_args=["--dtype", "auto"])
    with pytest.raises(Exception) as exc:
        watchdog.run_with_restarts(lambda: serving.VllmServer(spec, tmp_path / "server.log"),
                                   lambda url: [sys.executable, "-c", "raise SystemExit(5)"],
                                   tmp_path / "out", POLICY)
    assert "returned non-zero exit status 5" in str(exc.value)
    assert (tmp_path / "s").read_text() == "1"

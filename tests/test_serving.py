"""Server lifecycle failures, without vLLM: a server that dies, one that never gets healthy,
a port already taken. Each must fail fast with the log tail and leave no process behind."""

import logging
import os
import socket
import stat
import sys
import time

import pytest
import serving


def fake_python(tmp_path, body: str):
    """An executable standing in for the env's Python; it ignores the vLLM arguments."""
    exe = tmp_path / "fake-python"
    exe.write_text(f"#!{sys.executable}\n{body}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return str(exe)


def test_server_that_dies_reports_its_log(tmp_path):
    py = fake_python(tmp_path, "import sys; print('ValueError: no such model'); sys.exit(3)")
    spec = serving.ServerSpec(python=py, model=tmp_path / "m", startup_timeout_s=30)
    with pytest.raises(serving.ServerError, match=r"exited with code 3(.|\n)*no such model"):
        with serving.VllmServer(spec, tmp_path / "server.log"):
            pass


def test_server_never_healthy_times_out_and_is_killed(tmp_path):
    py = fake_python(tmp_path, "import os, time; print(os.getpid(), flush=True); time.sleep(600)")
    spec = serving.ServerSpec(python=py, model=tmp_path / "m", startup_timeout_s=3)
    server = serving.VllmServer(spec, tmp_path / "server.log")
    started = time.monotonic()
    with pytest.raises(serving.ServerError, match="not healthy after 3 s"):
        with server:
            pass
    assert time.monotonic() - started < 60
    assert server.proc.poll() is not None  # the process group is gone
    pid = int((tmp_path / "server.log").read_text().splitlines()[1])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_port_in_use_is_refused(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        spec = serving.ServerSpec(python=sys.executable, model=tmp_path)
        with pytest.raises(serving.ServerError, match=f"port {port} is already in use"):
            with serving.VllmServer(spec, tmp_path / "server.log", port=port):
                pass


def test_command_carries_the_speculative_config():
    spec = serving.ServerSpec(
        python="py", model="m", speculative_config={"method": "eagle3", "model": "d",
                                                    "num_speculative_tokens": 4},
        extra_args=["--kv-cache-dtype", "fp8"],
    )
    cmd = spec.command(8000)
    i = cmd.index("--speculative-config")
    assert cmd[i + 1] == '{"method": "eagle3", "model": "d", "num_speculative_tokens": 4}'
    assert cmd[-2:] == ["--kv-cache-dtype", "fp8"]


def test_server_environment_drops_snakemake_thread_counts(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setenv("PYTHONPATH", "/x")
    env = serving.server_environment({"VLLM_CPU_KVCACHE_SPACE": "1"})
    assert "OMP_NUM_THREADS" not in env
    assert env["PYTHONPATH"] == "/x" and env["VLLM_CPU_KVCACHE_SPACE"] == "1"


def test_a_server_error_ends_the_script_with_status_3(caplog):
    def failing(arg):
        raise serving.ServerError(f"died: {arg}")

    log = logging.getLogger("some_script")
    with pytest.raises(SystemExit) as exit_info:
        serving.exit_on_server_error(failing, "tail of the log", log=log)
    assert exit_info.value.code == 3
    assert "died: tail of the log" in caplog.text
    assert serving.exit_on_server_error(lambda a, b: a + b, 1, 2, log=log) == 3

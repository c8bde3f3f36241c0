"""Server lifecycle failures, without vLLM: a server that dies, one that never gets healthy,
a port already taken. Each must fail fast with the log tail and leave no process behind."""

import logging
import os
import socket
import stat
import sys
import time

import pytest
from lib import serving


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


@pytest.mark.parametrize("threads, allowed, binding", [
    ("2", {0, 1}, "0-1"),          # the 2-core machine: what config.yaml bound before
    ("4", set(range(16)), "0-3"),  # the job's share of a larger machine
    ("2", {2, 3, 5}, "2-3"),       # a cpuset: only cores the process may use
    ("", {0, 1, 2, 5}, "0-2,5"),   # thread count unknown: every allowed core
])
def test_a_job_binding_binds_the_cores_the_job_holds(threads, allowed, binding):
    environ = {"OMP_NUM_THREADS": threads, "PATH": "/bin"}
    env = serving.server_environment({"VLLM_CPU_OMP_THREADS_BIND": "job"}, environ, allowed)
    assert env["VLLM_CPU_OMP_THREADS_BIND"] == binding
    assert "OMP_NUM_THREADS" not in env and env["PATH"] == "/bin"


def test_a_literal_binding_is_kept():
    env = serving.server_environment({"VLLM_CPU_OMP_THREADS_BIND": "0-1"},
                                     {"OMP_NUM_THREADS": "8"}, set(range(8)))
    assert env["VLLM_CPU_OMP_THREADS_BIND"] == "0-1"


def test_a_server_error_ends_the_script_with_status_3(caplog):
    def failing(arg):
        raise serving.ServerError(f"died: {arg}")

    log = logging.getLogger("some_script")
    with pytest.raises(SystemExit) as exit_info:
        serving.exit_on_server_error(failing, "tail of the log", log=log)
    assert exit_info.value.code == 3
    assert "died: tail of the log" in caplog.text
    assert serving.exit_on_server_error(lambda a, b: a + b, 1, 2, log=log) == 3


HEALTHY_SERVER = """
import http.server, sys
port = int(sys.argv[sys.argv.index("--port") + 1])
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
"""


def test_a_healthy_server_serves_only_while_it_holds_the_gpu_lock(tmp_path):
    """Servers may start side by side, but one serves (measures) at a time: `with` is entered
    only once the lock is free, and the lock is released when the server has stopped."""
    import fcntl
    import threading

    lock = tmp_path / "gpu.lock"
    spec = serving.ServerSpec(python=fake_python(tmp_path, HEALTHY_SERVER), model=tmp_path,
                              startup_timeout_s=30, gpu_lock=lock)
    entered = threading.Event()
    release = threading.Event()
    server = serving.VllmServer(spec, tmp_path / "server.log")

    def serve():
        with server:
            entered.set()
            release.wait(30)

    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another job is using the GPU
        worker = threading.Thread(target=serve)
        worker.start()
        assert not entered.wait(3), "served while another job held the GPU lock"
        assert server.proc is not None and server.proc.poll() is None  # started meanwhile
        fcntl.flock(held, fcntl.LOCK_UN)
    assert entered.wait(10) and server.lock_wait_s > 0.5
    with open(lock, "a") as probe:  # held by the serving job now
        with pytest.raises(BlockingIOError):
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        release.set()
        worker.join(30)
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again once it stopped
    assert server.proc.poll() is not None


SLOW_HEALTHY_SERVER = "import time; time.sleep(2)\n" + HEALTHY_SERVER


def test_no_timed_pass_runs_while_a_server_starts_nor_a_start_during_a_pass(tmp_path):
    """The quiet GPU (lib/gpu_turn.py): a server's start waits for a timed pass on the same
    GPU to end, and a pass asked for while a server starts waits until it is healthy."""
    import threading

    from lib.gpu_turn import quiet_gpu

    lock = tmp_path / "turn-gpuall.lock"
    spec = serving.ServerSpec(python=fake_python(tmp_path, SLOW_HEALTHY_SERVER), model=tmp_path,
                              startup_timeout_s=30, gpu_lock=lock)
    server = serving.VllmServer(spec, tmp_path / "server.log")
    worker = threading.Thread(target=lambda: server.__enter__())
    with quiet_gpu(lock):  # another cell's timed pass
        worker.start()
        time.sleep(1)
        assert server.proc is None  # not launched during the pass
    time.sleep(0.5)
    assert server.proc is not None
    with quiet_gpu(lock) as waited:  # asked for while it starts: waits until it is healthy
        assert server.startup_s is not None and waited > 0.5
    worker.join(30)
    assert server.start_wait_s >= 0.9  # its start waited for the pass (bench provenance)
    server.stop()
    assert server.proc.poll() is not None


def test_a_body_whose_processor_cannot_load_is_refused_before_any_server_starts(
        tmp_path, monkeypatch):
    monkeypatch.setattr(serving, "processor_problem", lambda model: "its processor needs X")
    marker = tmp_path / "started"
    py = fake_python(tmp_path, f"open({str(marker)!r}, 'w').close()")
    spec = serving.ServerSpec(python=py, model=tmp_path / "m", startup_timeout_s=30)
    with pytest.raises(serving.ServerError, match="refused before starting vLLM: its processor"):
        with serving.VllmServer(spec, tmp_path / "server.log"):
            pass
    assert not marker.exists()


def test_a_text_only_body_has_no_processor_problem(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "llama", "architectures": ["X"]}')
    assert serving.processor_problem(tmp_path) is None
    assert serving.processor_problem(tmp_path / "missing") is None

"""The lifecycle of one vLLM OpenAI-compatible server: start, wait for health, stop.

The bench cells and the response regeneration both talk to a server started here, so start-up
arguments, health checks and clean-up live in one place. The server always stops when the
`with` block ends: on success, on an exception, on Ctrl-C and on SIGTERM (Snakemake's way of
cancelling a job); its whole process group is killed so no engine worker outlives the job.

GPU turns (`ServerSpec.gpu_lock`, a file path; by default the one plumbing/gpu_job.py names in
GPU_USE_LOCK when the profile sets `resources.gpu_lock`): a vLLM server spends ~100 s starting
on an H100 (imports, torch.compile, CUDA graphs) and then uses the GPU for a minute or two.
Several jobs may start their servers at once, but a server serves only while it holds the
lock (taken once it is healthy, released when it stops), so no two measurements or data jobs
share the GPU. A server's start (compilation, profiling, CUDA graph capture) may overlap
another job's work but neither a timed pass nor another server's start: it holds
lib/gpu_turn.server_starting from launch to health (lib/gpu_turn.py says what shared starts
cost), and a bench pass waits for it (`VllmServer.quiet_gpu`). Training takes the same lock
(gpu_job.py).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from lib.gpu_turn import GPU_USE_LOCK_ENV, GpuTurn, quiet_gpu, server_starting

log = logging.getLogger("serving")


# Snakemake exports these as the job's thread count; vLLM's CPU backend pins its worker to the
# cores it chooses (leaving one for the API server), and OpenMP told to run 2 threads on its one
# core spins so hard that decoding drops from ~90 to ~2 tok/s (measured on the smoke body, 2-core
# machine). The server decides its own threading.
THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                   "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "GOTO_NUM_THREADS")


# `VLLM_CPU_OMP_THREADS_BIND: job` in a profile's server_env: bind the CPU worker to the cores
# this job holds (rules/common.smk, server_threads), so that the binding and Snakemake's
# scheduling agree; a literal core list ("0-1") binds those cores whatever the job holds.
JOB_BINDING = "job"


def cpu_list(cores: list[int]) -> str:
    """vLLM's core-list syntax: ranges joined by commas ("0-3,6")."""
    runs: list[list[int]] = []
    for core in sorted(cores):
        if runs and core == runs[-1][1] + 1:
            runs[-1][1] = core
        else:
            runs.append([core, core])
    return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs)


def job_cores(job_threads: int | None, allowed: set[int]) -> list[int]:
    """The first `job_threads` of the cores this process may run on (all of them when the job's
    thread count is unknown or larger)."""
    cores = sorted(allowed)
    return cores[: job_threads] if job_threads else cores


def server_environment(extra: dict[str, str], environ: dict[str, str] | None = None,
                       allowed: set[int] | None = None) -> dict[str, str]:
    """The server's environment: ours without the thread-count variables, plus the profile's
    `extra`, where a `job` binding becomes the job's cores (its thread count is the
    OMP_NUM_THREADS that Snakemake exports)."""
    environ = dict(os.environ) if environ is None else environ
    env = {k: v for k, v in environ.items() if k not in THREAD_ENV_VARS}
    extra = dict(extra)
    if extra.get("VLLM_CPU_OMP_THREADS_BIND") == JOB_BINDING:
        threads = environ.get("OMP_NUM_THREADS", "")
        allowed = os.sched_getaffinity(0) if allowed is None else allowed
        cores = job_cores(int(threads) if threads.isdigit() else None, allowed)
        extra["VLLM_CPU_OMP_THREADS_BIND"] = cpu_list(cores)
        log.info("binding the server's CPU worker to cores %s (the job's %s threads)",
                 extra["VLLM_CPU_OMP_THREADS_BIND"], threads or "unknown")
    return env | extra


class ServerError(RuntimeError):
    """The server could not be started or died; the message carries its log tail."""


def exit_on_server_error(run, *args, log: logging.Logger):
    """`run(*args)`; a ServerError is logged on `log` and ends the process with status 3 (the
    status every script that starts a server uses for it)."""
    try:
        return run(*args)
    except ServerError as exc:
        log.error("%s", exc)
        sys.exit(3)


def host_has_gpu() -> bool | None:
    """Whether torch sees a GPU; None without torch (the driver environment, which starts no
    server: vLLM cannot run without torch)."""
    try:
        import torch
    except ImportError:
        return None
    return torch.cuda.is_available()


def dtype_args(extra_args: list[str]) -> list[str]:
    """`--dtype float32` for a CPU server on a CPU without native bf16 (unless the config sets a
    dtype): vLLM would otherwise serve the bf16 checkpoint in emulated bf16 (cpu_dtype.py)."""
    from lib import cpu_dtype

    if "--dtype" in extra_args or host_has_gpu() is not False or cpu_dtype.native_bf16():
        return []
    log.info("serving in float32: this CPU has no native bf16 (%s)", cpu_dtype.report(False))
    return ["--dtype", "float32"]


@dataclass
class ServerSpec:
    python: str
    model: Path
    served_model_name: str = "body"
    speculative_config: dict | None = None
    max_model_len: int = 2048
    extra_args: list[str] = field(default_factory=list)
    startup_timeout_s: float = 600.0
    env: dict[str, str] = field(default_factory=dict)
    gpu_lock: Path | None = None

    def __post_init__(self) -> None:
        self.extra_args = list(self.extra_args) + dtype_args(list(self.extra_args))

    def command(self, port: int) -> list[str]:
        # `python -m ...api_server` rather than the `vllm` console script: the CPU build's
        # distribution is named vllm-cpu and its unpatched script cannot find itself.
        cmd = [
            self.python, "-m", "vllm.entrypoints.openai.api_server",
            "--model", str(self.model),
            "--served-model-name", self.served_model_name,
            "--host", "127.0.0.1", "--port", str(port),
            "--max-model-len", str(self.max_model_len),
            "--seed", "0",
        ]
        if self.speculative_config:
            cmd += ["--speculative-config", json.dumps(self.speculative_config, sort_keys=True)]
        return cmd + list(self.extra_args)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def log_tail(path: Path, lines: int = 25) -> str:
    """The log's last lines, preceded by its first few error lines (the root cause usually
    sits above a long traceback)."""
    try:
        all_lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no server log)"
    errors = [ln for ln in all_lines if "Error:" in ln and not ln.lstrip().startswith("File ")]
    head = ["errors:", *errors[:5], "---"] if errors else []
    return "\n".join(head + all_lines[-lines:])


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, ""


def http_post_json(url: str, payload: dict, timeout: float = 600.0) -> dict:
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def processor_problem(model: Path) -> str | None:
    """Why vLLM cannot serve `model` in this environment, if a multimodal body's processor
    cannot be imported here; checked before a server starts.

    vLLM inspects a multimodal architecture through its Hugging Face processor class even when
    every modality is disabled: with Gemma 4 in the vllm-cpu environment (no torchvision) the
    server died at start with "Model architectures ['Gemma4ForConditionalGeneration'] failed to
    be inspected" (docs/profiles.md, the trial). Importing the same class here says so in a
    second, naming the missing module, instead of after a server start.
    """
    config_path = model / "config.json"
    if not config_path.is_file():
        return None
    config = json.loads(config_path.read_text())
    if not any(key in config for key in ("vision_config", "audio_config")):
        return None
    import transformers
    from transformers.models.auto.processing_auto import PROCESSOR_MAPPING_NAMES

    name = PROCESSOR_MAPPING_NAMES.get(config.get("model_type", ""))
    if not name:
        return None
    try:
        getattr(transformers, name)
    except (ImportError, AttributeError) as exc:
        cause = exc.__cause__ or exc
        return (f"{model} is a multimodal {config.get('architectures')} body: vLLM loads its "
                f"processor {name}, which cannot be imported in this environment ({cause}). "
                "Serve it where that module is installed (the CUDA environments have "
                "torchvision; the CPU ones cannot, docs/engineering.md), or choose a text-only body")
    return None


class VllmServer:
    """`with VllmServer(spec, log_path) as server:` -> server.base_url is healthy inside."""

    def __init__(self, spec: ServerSpec, log_path: Path, port: int | None = None):
        self.spec = spec
        self.log_path = log_path
        self.port = port
        self.proc: subprocess.Popen | None = None
        self.startup_s: float | None = None
        self.lock_wait_s: float = 0.0
        self.start_wait_s: float = 0.0  # for a pass or another server's start to end
        self._previous_sigterm = None
        self._turn = GpuTurn(spec.gpu_lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "VllmServer":
        problem = processor_problem(Path(self.spec.model))
        if problem:
            raise ServerError(f"refused before starting vLLM: {problem}")
        if self.port is None:
            self.port = free_port()
        elif port_in_use(self.port):
            raise ServerError(f"port {self.port} is already in use; pick another or leave it unset")
        cmd = self.spec.command(self.port)
        log.info("starting vLLM: %s", " ".join(cmd))
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_fh = self.log_path.open("a")
        self._log_fh.write(f"$ {' '.join(cmd)}\n")
        self._log_fh.flush()
        if threading.current_thread() is threading.main_thread():  # signals: main thread only
            self._previous_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)
        try:
            with server_starting(self.spec.gpu_lock) as self.start_wait_s:
                self.proc = subprocess.Popen(
                    cmd, stdout=self._log_fh, stderr=subprocess.STDOUT, start_new_session=True,
                    env=server_environment(self.spec.env),
                )
                self.wait_healthy()
            self.take_gpu_lock()
        except BaseException:
            self.stop()
            raise
        return self

    def quiet_gpu(self):
        """`with server.quiet_gpu() as waited:` around one timed pass (lib/gpu_turn.py)."""
        return quiet_gpu(self.spec.gpu_lock)

    def take_gpu_lock(self) -> None:
        """Block until this job may use the GPU (see the module docstring)."""
        self.lock_wait_s = self._turn.take()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _on_sigterm(self, signum, frame):  # turn SIGTERM into an exception so __exit__ runs
        raise KeyboardInterrupt(f"received signal {signum}")

    def wait_healthy(self) -> None:
        started = time.monotonic()
        last_report = started
        while True:
            if self.proc.poll() is not None:
                raise ServerError(
                    f"vLLM server exited with code {self.proc.returncode} before it was healthy;"
                    f" log tail ({self.log_path}):\n{log_tail(self.log_path)}"
                )
            status, _ = http_get(f"{self.base_url}/health", timeout=2.0)
            elapsed = time.monotonic() - started
            if status == 200:
                log.info("server healthy after %.0f s", elapsed)
                self.startup_s = elapsed
                return
            if elapsed > self.spec.startup_timeout_s:
                raise ServerError(
                    f"vLLM server not healthy after {self.spec.startup_timeout_s:.0f} s;"
                    f" log tail ({self.log_path}):\n{log_tail(self.log_path)}"
                )
            if time.monotonic() - last_report > 30:
                log.info("waiting for the server (%.0f s so far)", elapsed)
                last_report = time.monotonic()
            time.sleep(2.0)

    def stop(self, grace_s: float = 30.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            log.info("stopping vLLM server (pid %d)", self.proc.pid)
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self._turn.release()
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None
        if getattr(self, "_log_fh", None):
            self._log_fh.close()
            self._log_fh = None

    def metrics(self) -> str:
        return http_get(f"{self.base_url}/metrics")[1]


def add_server_arguments(p, required: bool = True) -> None:
    """The vLLM server options of the scripts that start one to write training data
    (`required=False`: of a script that starts one only in some modes)."""
    p.add_argument("--max-model-len", type=int, default=2048)
    p.add_argument("--server-args-json", default="[]", help="extra vLLM server arguments (JSON list)")
    p.add_argument("--server-env-json", default="{}", help="environment for the server, e.g. its CPU threads")
    p.add_argument("--startup-timeout-s", type=float, default=900)
    p.add_argument("--server-log", type=Path, required=required)
    add_gpu_lock_argument(p)


def add_gpu_lock_argument(p) -> None:
    default = os.environ.get(GPU_USE_LOCK_ENV)
    p.add_argument("--gpu-lock", type=Path, default=Path(default) if default else None,
                   help="serve only while holding this file lock (default: $GPU_USE_LOCK, which"
                   " plumbing/gpu_job.py sets for jobs that take turns on a GPU)")


def spec_from_arguments(python: str, model: Path, args, **overrides) -> ServerSpec:
    """The ServerSpec those options describe."""
    return ServerSpec(
        python=python, model=model, max_model_len=args.max_model_len,
        extra_args=json.loads(args.server_args_json), startup_timeout_s=args.startup_timeout_s,
        env=json.loads(args.server_env_json), gpu_lock=args.gpu_lock, **overrides,
    )

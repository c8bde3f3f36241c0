"""A job's turn on a shared GPU (`resources.gpu_lock`, scripts/plumbing/gpu_job.py): one file
lock per GPU, taken while the job measures or computes on the GPU and released as soon as it
stops, so that no two measurements share the GPU. A vLLM server takes it once healthy
(lib/serving.py); a job that uses the GPU for one stage only takes it around that stage
(scripts/abliterate_body.py). flock, so a crashed job frees the turn.

A quiet GPU for timing and for starting (a second lock file beside the turn's,
`<turn>.starting`): a server holds it exclusive from its launch until it is healthy, and a
measurement holds it exclusive for one pass, so that no pass is timed while a server compiles
and captures its CUDA graphs on the same GPU, and no server starts beside another's start or
pass. Measured on an H100 with the Qwen study's 1.5 B body (reports/runs/qwen-gpu/README.md):
the passes of the vanilla body's n = 0 cell that ran beside a starting server decoded at ~360
tok/s, the same-shaped abliterated body's alone at ~430 (attempt 4, commit 04ce8df). Starts were
shared then; two servers started together (attempt 6, commit c4c3f2a) each decoded slower for
their whole life, their passes timed alone: the abliterated body with the vanilla drafter at
n = 4 at 137.5 tok/s on chat at T = 0 (attempt 4's server: 176.2, the same tokens), the vanilla
body at n = 0 at 288.7, its greedy tokens differing from attempt 4's server's (same weights and
command) in 37 of 40 prompts. vLLM 0.24 picks some kernels by timing them while it starts
(Inductor's benchmark_combo_kernel, Triton's autotuner; it offers VLLM_TRITON_FORCE_FIRST_CONFIG
against the variability that makes), and a pick timed beside another start is the likely cause,
not isolated (attempt 6 ran on another machine of the same model). Hence one start at a time: a
server that would start during a pass or another's start waits for it
(a pass is 15-40 s, a start with no other 99-176 s)."""

from __future__ import annotations

import fcntl
import logging
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

log = logging.getLogger("gpu_turn")

# The lock file's path, which scripts/plumbing/gpu_job.py exports to the job it starts.
GPU_USE_LOCK_ENV = "GPU_USE_LOCK"


class GpuTurn:
    """take() blocks until no other job holds the lock and returns the seconds waited;
    release() gives it back (both harmless without a lock file or when not held)."""

    def __init__(self, lock_path: str | Path | None):
        self.lock_path = Path(lock_path) if lock_path else None
        self._fh: IO | None = None

    def take(self) -> float:
        if self.lock_path is None or self._fh is not None:
            return 0.0
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.lock_path.open("a")
        started = time.monotonic()
        log.info("waiting for the GPU lock %s", self.lock_path)
        fcntl.flock(self._fh, fcntl.LOCK_EX)
        waited = time.monotonic() - started
        log.info("GPU lock taken after %.0f s", waited)
        return waited

    @property
    def handle(self) -> IO | None:
        """The held lock file, None when not held (scripts/plumbing/gpu_job.py passes it on to
        the command it replaces itself with)."""
        return self._fh

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


@contextmanager
def gpu_turn(lock_path: str | Path | None) -> Iterator[float]:
    """`with gpu_turn(path) as waited:` the GPU is this job's inside (nothing without a path)."""
    turn = GpuTurn(lock_path)
    waited = turn.take()
    try:
        yield waited
    finally:
        turn.release()


def starting_lock(turn_path: str | Path | None) -> Path | None:
    """The lock file that starting servers hold shared and timed passes exclusive."""
    return None if not turn_path else Path(str(turn_path) + ".starting")


@contextmanager
def _flock(path: Path | None, mode: int, what: str) -> Iterator[float]:
    if path is None:
        yield 0.0
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        started = time.monotonic()
        try:
            fcntl.flock(fh, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for %s (%s)", what, path)
            fcntl.flock(fh, mode)
        waited = time.monotonic() - started
        if waited >= 1:
            log.info("waited %.0f s for %s", waited, what)
        try:
            yield waited
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def server_starting(turn_path: str | Path | None):
    """`with server_starting(turn) as waited:` around a server's start (from launch to
    healthy): it waits for a timed pass or another server's start on the same GPU to end, and
    keeps the next pass or start waiting."""
    return _flock(starting_lock(turn_path), fcntl.LOCK_EX,
                  "a timed pass or another server's start to end")


def quiet_gpu(turn_path: str | Path | None):
    """`with quiet_gpu(turn) as waited:` around one timed pass: no server on this GPU starts
    inside (nothing without a turn)."""
    return _flock(starting_lock(turn_path), fcntl.LOCK_EX, "the servers starting to be ready")

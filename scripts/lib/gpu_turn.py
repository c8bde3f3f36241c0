"""A job's turn on a shared GPU (`resources.gpu_lock`, scripts/plumbing/gpu_job.py): one file
lock per GPU, taken while the job measures or computes on the GPU and released as soon as it
stops, so that no two measurements share the GPU. A vLLM server takes it once healthy
(lib/serving.py); a job that uses the GPU for one stage only takes it around that stage
(scripts/abliterate_body.py). flock, so a crashed job frees the turn."""

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

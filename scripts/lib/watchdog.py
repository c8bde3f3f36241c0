"""A progress watchdog for the jobs that drive a vLLM server for a long time.

The seeds' author hit a vLLM scheduler deadlock three times in long hidden-state extraction
runs: the server stays up, answers /health, and never finishes another request, so the client
waits forever. Neither vLLM nor speculators' clients time such a server out, so this module
does (our own code: Snakemake only knows a job's exit, not its progress).

Progress is what the server has processed, read from its Prometheus metrics: the sum of
`vllm:prompt_tokens_total` (prefill: all a hidden-state extraction does) and
`vllm:generation_tokens_total` (decoding), plus the bytes the client has written. When that
does not change for `stall_s`, the client and the server are stopped and started again; the
client resumes from what it wrote (the data jobs keep content-keyed partial outputs,
lib/resume_key.py). After `max_restarts` restarts the job fails with the server log's tail.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from lib import disk_usage, serving

log = logging.getLogger("watchdog")

PROGRESS_METRICS = ("vllm:prompt_tokens_total", "vllm:generation_tokens_total")


@dataclass(frozen=True)
class Policy:
    stall_s: float
    max_restarts: int
    poll_s: float = 10.0


class Stalled(RuntimeError):
    pass


def served_tokens(metrics: str) -> float:
    """The prompt and generated tokens a server reports (summed over its label sets)."""
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith(PROGRESS_METRICS):
            try:
                total += float(line.rsplit(" ", 1)[1])
            except (IndexError, ValueError):
                continue
    return total


def add_arguments(p) -> None:
    p.add_argument("--stall-s", type=float, default=900.0,
                   help="restart the server when it processes no token for this long")
    p.add_argument("--max-restarts", type=int, default=3, help="then fail")


def policy_from_arguments(args) -> Policy:
    return Policy(stall_s=args.stall_s, max_restarts=args.max_restarts,
                  poll_s=min(10.0, max(0.2, args.stall_s / 10)))


def stop_group(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def watch_client(server: serving.VllmServer, command: list[str], output: Path, policy: Policy,
                 env: dict[str, str] | None = None, stdout: IO | None = None,
                 on_poll: Callable[[], None] | None = None) -> None:
    """Run `command` against the running server (its output to `stdout`, else inherited;
    `on_poll` called at every poll, e.g. for a progress line); return when it succeeds, raise
    CalledProcessError when it fails, Stalled when nothing moves for policy.stall_s."""
    proc = subprocess.Popen(command, env=env, start_new_session=True, stdout=stdout,
                            stderr=subprocess.STDOUT if stdout else None)
    try:
        last, changed = None, time.monotonic()
        while True:
            try:
                returncode = proc.wait(timeout=policy.poll_s)
            except subprocess.TimeoutExpired:
                returncode = None
            if returncode is not None:
                if returncode:
                    raise subprocess.CalledProcessError(returncode, command)
                return
            if on_poll:
                on_poll()
            status, metrics = serving.http_get(f"{server.base_url}/metrics", timeout=5.0)
            served = served_tokens(metrics) if status == 200 else None
            now = (served, disk_usage.bytes_under(output))
            if now != last:
                last, changed = now, time.monotonic()
            elif time.monotonic() - changed > policy.stall_s:
                raise Stalled(f"no progress for {policy.stall_s:g} s (tokens served, bytes"
                              f" written: {now})")
    finally:
        stop_group(proc)


def run_with_restarts(start_server: Callable[[], serving.VllmServer],
                      command: Callable[[str], list[str]], output: Path, policy: Policy,
                      env: dict[str, str] | None = None, stdout: IO | None = None,
                      on_poll: Callable[[], None] | None = None) -> int:
    """Serve and run the client until it succeeds; restart both after a stall. Returns the
    restarts it took; SystemExit with the server log's tail after policy.max_restarts."""
    for restart in range(policy.max_restarts + 1):
        server = start_server()
        with server:
            cmd = command(server.base_url)
            log.info("running%s: %s", f" (restart {restart})" if restart else "", " ".join(cmd))
            try:
                watch_client(server, cmd, output, policy, env, stdout, on_poll)
                return restart
            except Stalled as exc:
                log.warning("%s; stopping the client and the server", exc)
                stalled = str(exc)
    raise SystemExit(
        f"{stalled}, {policy.max_restarts} restarts did not help; what was written is kept in"
        f" {output} for the next run. Server log tail ({server.log_path}):\n"
        f"{serving.log_tail(server.log_path)}"
    )

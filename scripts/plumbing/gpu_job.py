"""Run one GPU job: on the first free device of a machine's several, and taking its turn on the GPU.

Every rule that uses a GPU starts its command with this wrapper (rules/common.smk, gpu_job), so
GPU access is configured in one place, `resources` in the profile, with its lock files under
results/PROFILE/gpu_locks/:

- `resources.gpu_devices` (device choice):

  Snakemake's `gpu` resource counts GPUs (`--resources gpu=2`: two
  GPU jobs at once) but does not say which device a job gets, so two vLLM servers started
  together would both take device 0, and gb10's servers each want 85 % of one GPU. The wrapper
  takes the lock file of the first free device in the list (flock, so a crashed job frees its
  device) and sets CUDA_VISIBLE_DEVICES to it.
- `resources.gpu_lock: true` (taking turns on one GPU): a vLLM server spends ~100 s starting
  and then uses the GPU for a minute or two, so several jobs may start at once but only one
  measures at a time. The wrapper names the turn's lock file in GPU_USE_LOCK; a server takes
  it once it is healthy (lib/serving.py); a job that uses the GPU throughout (training, the
  Hugging Face hidden-state pass: `--whole-job`) takes it here, before it starts.

The wrapper then replaces itself with the command, which keeps the locks until it exits.

Why our own: Snakemake 9 has no per-job device assignment (its `gpu` resource is a count).

    python scripts/plumbing/gpu_job.py --lock-dir DIR [--devices 0 1] [--turns [--whole-job]]
        -- COMMAND [ARGS ...]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
import time
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # scripts/, for lib
from lib.gpu_turn import GPU_USE_LOCK_ENV, GpuTurn  # noqa: E402


def try_device(device: int, lock_dir: Path) -> IO | None:
    """The held lock file of `device`, or None if another job holds it."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    fh = (lock_dir / f"gpu{device}.lock").open("a")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    return fh


def take_device(devices: list[int], lock_dir: Path, poll_s: float = 5.0,
                timeout_s: float | None = None) -> tuple[int, IO]:
    """The first device of `devices` that no other job holds, waiting for one if all are held
    (Snakemake's gpu count should leave one free; a job started by hand may not)."""
    if not devices:
        raise ValueError("no GPU devices to choose from")
    started = time.monotonic()
    announced = False
    while True:
        for device in devices:
            if (fh := try_device(device, lock_dir)) is not None:
                return device, fh
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            raise TimeoutError(f"every GPU of {devices} stayed held for {timeout_s:.0f} s")
        if not announced:
            print(f"gpu_job: GPUs {devices} all held; waiting", file=sys.stderr, flush=True)
            announced = True
        time.sleep(poll_s)


def take_turn(lock: Path) -> IO:
    """Block until no other job uses the GPU; the held lock file (lib/gpu_turn.py, the turn a
    server or a one-stage job takes itself)."""
    turn = GpuTurn(lock)
    print(f"gpu_job: waiting for the GPU ({lock})", file=sys.stderr, flush=True)
    waited = turn.take()
    print(f"gpu_job: GPU taken after {waited:.0f} s", file=sys.stderr, flush=True)
    return turn.handle


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lock-dir", type=Path, required=True)
    p.add_argument("--devices", type=int, nargs="+", default=[])
    p.add_argument("--turns", action="store_true", help="take turns on the GPU (gpu_lock)")
    p.add_argument("--whole-job", action="store_true",
                   help="with --turns: hold the turn from the start (a job that is not a server)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS ...]")
    a = p.parse_args(argv)
    command = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not command:
        p.error("no command after --")
    env = dict(os.environ)
    held = []
    device = "all"
    if a.devices:
        chosen, fh = take_device(a.devices, a.lock_dir)
        held.append(fh)
        device = str(chosen)
        env["CUDA_VISIBLE_DEVICES"] = device
        print(f"gpu_job: running on GPU {device}", file=sys.stderr, flush=True)
    if a.turns:
        lock = a.lock_dir / f"turn-gpu{device}.lock"
        if a.whole_job:
            held.append(take_turn(lock))
        else:
            env[GPU_USE_LOCK_ENV] = str(lock)
    for fh in held:
        os.set_inheritable(fh.fileno(), True)  # the command holds the locks until it exits
    os.execvpe(command[0], command, env)


if __name__ == "__main__":
    main()

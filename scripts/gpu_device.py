"""Run one command on one GPU of a machine's several: the first free device, held until it ends.

Snakemake's `gpu` resource counts GPUs (`--resources gpu=2`: two GPU jobs at once) but does not
say which device a job gets, so two vLLM servers started together would both take device 0,
and gb10's servers each want 85 % of one GPU. With `resources.gpu_devices` in the config, every
job that uses a GPU runs under this module: it takes the lock file of the first free device in
the list (flock, so a crashed job frees its device), sets CUDA_VISIBLE_DEVICES to it and
replaces itself with the command, which keeps the lock until it exits.

Why our own: Snakemake 9 has no per-job device assignment (its `gpu` resource is a count).

    python scripts/gpu_device.py --devices 0 1 --lock-dir DIR -- COMMAND [ARGS ...]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
import time
from pathlib import Path
from typing import IO


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
            print(f"gpu_device: GPUs {devices} all held; waiting", file=sys.stderr, flush=True)
            announced = True
        time.sleep(poll_s)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--devices", type=int, nargs="+", required=True)
    p.add_argument("--lock-dir", type=Path, required=True)
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS ...]")
    a = p.parse_args(argv)
    command = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not command:
        p.error("no command after --")
    device, fh = take_device(a.devices, a.lock_dir)
    os.set_inheritable(fh.fileno(), True)  # the command holds the lock until it exits
    print(f"gpu_device: running on GPU {device}", file=sys.stderr, flush=True)
    os.execvpe(command[0], command, {**os.environ, "CUDA_VISIBLE_DEVICES": str(device)})


if __name__ == "__main__":
    main()

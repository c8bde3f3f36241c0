"""A bench cell's measurements kept across servers: a cell cut off mid-way (a machine's time
ran out, a crash) measures again only what it had not finished.

Snakemake deletes a job's outputs before it runs the job again, so each finished measurement
is also kept in a folder of its own beside the outputs (results/PROFILE/bench_kept/CELL/); the
next run of the cell takes a kept measurement as it is when it was made under the same setup:
the same cell fields (body, drafter, n, endpoint, temperature, repeat, seed, tokens, prompts),
the same prompts, weights, draft code, vLLM and server command, and the same GPU models (tok/s
are compared only between cells of one machine label, lib/bench_stats.py). Its provenance then
says it was kept (`kept_from_an_earlier_server`). The folder goes once the cell is complete.
Measured on an H100 (reports/runs/qwen-gpu/README.md, attempt 4): a cell cut off after 5 of its
12 measurements, ~4 minutes of GPU, would otherwise be measured whole again.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from lib import atomic_io
from lib.machine import machine_label

log = logging.getLogger("cell_resume")

# what must match, besides the cell fields and the machine label
SETUP = ("vllm_package", "server_command", "body_weights_sha256", "drafter_weights_sha256",
         "draft_code_sha256", "prompts_sha256")


def kept_name(endpoint: str, temperature: float, rep: int) -> str:
    return f"{endpoint}_T{temperature:g}_rep{rep}.json"


def same_setup(record: dict, cell: dict, provenance: dict) -> bool:
    kept = record.get("provenance") or {}
    return (record.get("cell") == cell
            and all(k in provenance and kept.get(k) == provenance[k] for k in SETUP)
            and machine_label(record) == machine_label({"provenance": provenance}))


def take_kept(folder: Path | None, name: str, cell: dict, provenance: dict) -> dict | None:
    """The kept measurement NAME if it was made under this setup, marked as kept; else None."""
    path = None if folder is None else folder / name
    if path is None or not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError:
        log.warning("%s is not a measurement (unreadable JSON): measured again", path)
        return None
    if not same_setup(record, cell, provenance):
        log.info("%s was made under another setup: measured again", path)
        return None
    record["provenance"] = {**record["provenance"], "kept_from_an_earlier_server": True}
    return record


def keep(folder: Path | None, name: str, text: str) -> None:
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_io.write_text_atomically(folder / name, text)


def done(folder: Path | None) -> None:
    """The cell is complete: its kept measurements are its outputs now."""
    if folder is not None and folder.exists():
        shutil.rmtree(folder)

"""Where a vLLM server's start went, read from its own log (the `--server-log` of a rule).

vLLM logs each start phase with a timestamp; this module turns one server log into a row:
when the API process logged first, when the engine began initialising, how long torch.compile
took, the KV cache it sized (tokens), vLLM's own "init engine" total, and when the API answered
("Supported tasks"). The gap between the engine's init and the API's readiness is the engine
core's set-up after init, where vLLM 0.24 builds one Python block object per KV-cache block: on
an 80-140 GB GPU with a tiny model that is hundreds of millions of tokens (reports/runs/gb10-rehearsal).

Why our own parser: vLLM prints these phases but writes no machine-readable start record.

    python scripts/tools/server_start_phases.py LOG [LOG ...] > server_starts.tsv
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path

# "(EngineCore pid=9988) INFO 11-30 18:48:19 [core.py:114] Initializing a V1 LLM engine ..."
STAMP = re.compile(r"\b(?:INFO|WARNING|DEBUG|ERROR) (\d\d-\d\d \d\d:\d\d:\d\d) \[")
ENGINE_INIT = "Initializing a V1 LLM engine"
COMPILE = re.compile(r"torch\.compile took ([\d.]+) s in total")
KV_TOKENS = re.compile(r"GPU KV cache size: ([\d,]+) tokens")
INIT_ENGINE = re.compile(r"init engine \(profile, create kv cache, warmup model\) took ([\d.]+) s")
READY = "Supported tasks"


@dataclass
class StartPhases:
    log: str
    first_line: str  # MM-DD HH:MM:SS of the API process's first log line
    to_engine_init_s: float | None  # first line -> engine init begins (config, tokenizer)
    compile_s: float  # torch.compile, every compiled graph (body, drafter)
    kv_cache_tokens: int | None
    init_engine_s: float | None  # vLLM's own "init engine" total
    engine_init_to_ready_s: float | None  # "init engine" done -> the API answers
    first_line_to_ready_s: float | None


def _stamp(line: str) -> datetime | None:
    m = STAMP.search(line)
    # the year is not logged; a start does not span a new year
    return datetime.strptime(m.group(1), "%m-%d %H:%M:%S") if m else None


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() if a and b else None


def last_start(lines: list[str]) -> list[str]:
    """The lines of the last start in a server log: scripts/lib/serving.py appends, and writes
    `$ COMMAND` before each start."""
    starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
    return lines[starts[-1]:] if starts else lines


def start_phases(log: Path) -> StartPhases:
    """The phases of the last start recorded in `log`."""
    first = engine = init_done = ready = None
    compile_s, kv_tokens, init_engine_s = 0.0, None, None
    for line in last_start(log.read_text(errors="replace").splitlines()):
        t = _stamp(line)
        if t and first is None:
            first = t
        if ENGINE_INIT in line and engine is None:
            engine = t
        if m := COMPILE.search(line):
            compile_s += float(m.group(1))
        if (m := KV_TOKENS.search(line)) and kv_tokens is None:
            kv_tokens = int(m.group(1).replace(",", ""))
        if (m := INIT_ENGINE.search(line)) and init_done is None:
            init_done, init_engine_s = t, float(m.group(1))
        if READY in line and ready is None and t:
            ready = t
    if first is None:
        raise ValueError(f"{log}: no timestamped vLLM log line; is it a vLLM server log?")
    return StartPhases(
        log=str(log), first_line=first.strftime("%m-%d %H:%M:%S"),
        to_engine_init_s=_seconds(first, engine), compile_s=round(compile_s, 2),
        kv_cache_tokens=kv_tokens, init_engine_s=init_engine_s,
        engine_init_to_ready_s=_seconds(init_done, ready),
        first_line_to_ready_s=_seconds(first, ready))


def tsv(rows: list[StartPhases]) -> str:
    names = [f.name for f in fields(StartPhases)]
    lines = ["\t".join(names)]
    for row in rows:
        values = asdict(row)
        lines.append("\t".join("" if values[n] is None else str(values[n]) for n in names))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("logs", type=Path, nargs="+")
    a = p.parse_args(argv)
    rows = []
    for log in a.logs:
        # a server that has not written its first line yet (one just started while the table
        # is asked for) is skipped and named, not allowed to take the other rows with it
        try:
            rows.append(start_phases(log))
        except ValueError as err:
            print(f"skipped: {err}", file=sys.stderr)
    if not rows:
        raise SystemExit("no vLLM server start in the logs given")
    sys.stdout.write(tsv(rows))


if __name__ == "__main__":
    main()

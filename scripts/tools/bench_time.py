"""How long a profile's bench takes: its jobs, requests and generated tokens, and the wall time
they need at a given decode rate and server start-up (an estimate, not a measurement: the rate
and the start-up are inputs, say where they come from).

    python scripts/tools/bench_time.py config/gb10.yaml --tok-s 40 --startup-s 300
    python scripts/tools/bench_time.py config/gb10.yaml --tok-s 40 \
        --startup-from reports/runs/gb10-rehearsal/server_starts.tsv --weights-gb 27 --read-gb-s 1

With `--startup-from`, a server start is the median start (first log line to ready) of a run's
servers, e.g. the gb10 rehearsal's (its tiny weights load in no time: what it measures is the
engine, compilation and CUDA graphs) plus the weights' load at a read rate: both inputs.

Per bench job (one served body x drafter x n) the server starts once; then every endpoint x
temperature x repeat runs our per-prompt pass (one warm-up request and `num_prompts` requests of
up to `max_tokens` tokens) and, on the repeats that run it, `vllm bench serve` (the same again).
At batch 1 a request's tokens take tokens / rate (prefill ignored: at these prompt lengths a
small share of a 200-token decode). The estimate is an upper bound at the slowest cell's rate:
where speculation pays that is the no-speculation rate, where it does not, a speculative one
(the Qwen study's 1.5 B body on an H100 decoded at 417-429 tok/s without speculation and at
142-176 with the vanilla drafter at n = 4, reports/runs/qwen-gpu/README.md, attempt 4).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from plumbing.study_profile import Profile  # noqa: E402


def bench_load(config: dict) -> dict[str, int]:
    """Jobs, measurements per job, requests and generated tokens (at most) of the bench."""
    study = Profile(config)
    bench = config["bench"]
    jobs = len(list(study.bench_configurations()))
    measurements = len(study.bench_measurements())
    passes = sum(1 + (rep in study.bench_serve_reps()) for _, _, rep in study.bench_measurements())
    requests = jobs * passes * (bench["num_prompts"] + 1)
    return {"jobs": jobs, "measurements_per_job": measurements, "passes_per_job": passes,
            "requests": requests, "tokens": requests * bench["max_tokens"]}


def median_startup_s(server_starts: Path) -> float:
    """The median of `first_line_to_ready_s` over a server_starts.tsv (scripts/tools/server_start_phases.py)."""
    with server_starts.open() as f:
        starts = [float(row["first_line_to_ready_s"]) for row in csv.DictReader(f, delimiter="\t")
                  if row.get("first_line_to_ready_s")]
    if not starts:
        raise SystemExit(f"{server_starts}: no first_line_to_ready_s values")
    return statistics.median(starts)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", type=Path)
    p.add_argument("--tok-s", type=float, required=True, help="decode rate at batch 1")
    start = p.add_mutually_exclusive_group(required=True)
    start.add_argument("--startup-s", type=float, help="one server start")
    start.add_argument("--startup-from", type=Path,
                       help="a run's server_starts.tsv: its median start, plus the weights' load")
    p.add_argument("--weights-gb", type=float, default=0.0, help="with --startup-from")
    p.add_argument("--read-gb-s", type=float, default=1.0, help="with --startup-from")
    args = p.parse_args(argv)
    if args.startup_from:
        engine_s = median_startup_s(args.startup_from)
        args.startup_s = engine_s + args.weights_gb / args.read_gb_s
        print(f"server start: median {engine_s:g} s in {args.startup_from} + {args.weights_gb:g} GB"
              f" at {args.read_gb_s:g} GB/s = {args.startup_s:g} s")
    load = bench_load(yaml.safe_load(args.config.read_text()))
    decode_h = load["tokens"] / args.tok_s / 3600
    startup_h = load["jobs"] * args.startup_s / 3600
    for key, value in load.items():
        print(f"{key}: {value:,}")
    print(f"decode at {args.tok_s:g} tok/s: {decode_h:.1f} h; {load['jobs']} server starts at"
          f" {args.startup_s:g} s: {startup_h:.1f} h; bench total at most"
          f" {decode_h + startup_h:.1f} h")


if __name__ == "__main__":
    main()

"""What decoding will cost on a GB10, from a full-width body measured at fewer layers on another
GPU: the memory-bandwidth bound of a decoding step (scripts/lib/weight_traffic.py) at the
measured body and at the real layer count, on the measuring GPU and on the GB10, beside what was
measured and what the seeds published; a Markdown table on stdout.

    python scripts/tools/gb10_expectations.py --profile config/gb10-fullwidth.yaml \
        --regenerate-log LOG --batch 128 --context 262 \
        [--target-profile config/gb10.yaml] [--bench-context 256] [--layers 30 --cycle 6] \
        [--bandwidth 3.35e12 --target-bandwidth 273e9] [--published-tok-s 39.3]

LOG: a regenerate_responses job log, whose speculators pipeline line states the generated
tokens per second at `--batch` concurrent requests (`--context`: their mean length in tokens
while decoding; --target-profile: the GB10 profile, whose regeneration concurrency and half its
reply length, the mean context while decoding, are the GB10's batch and context unless
--target-batch and --target-context say otherwise; --bench-context: a bench prompt's mean
context at batch 1). Bandwidths: an H100 SXM's HBM3 (3.35 TB/s) and a GB10's
LPDDR5x (273 GB/s), both the vendors' figures. --published-tok-s: Part 28's no-speculation
rate on a GB10 at batch 1 (config/claims.yaml), against which the batch-1 bound is checked.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from lib.weight_traffic import MoeTextBody  # noqa: E402

PIPELINE_RATE = re.compile(r"^Throughput: [\d.]+ req/s, ([\d.]+) tok/s", re.MULTILINE)


def measured_tok_s(log: Path) -> float:
    """The generated tokens per second that speculators' pipeline reported in a job log."""
    rates = PIPELINE_RATE.findall(log.read_text(errors="replace"))
    if not rates:
        raise SystemExit(f"{log}: no 'Throughput: ... tok/s' line (did the job finish?)")
    return float(rates[-1])


def row(label: str, body: MoeTextBody, batch: int, context: int, bandwidth: float,
        seen: str) -> str:
    gb = body.step_bytes(batch, context) / 1e9
    bound = body.bound_tok_s(batch, context, bandwidth)
    return (f"| {label} | {len(body.layer_types)} | {batch} | {gb:.2f} | "
            f"{bandwidth / 1e9:,.0f} | {bound:,.0f} | {seen} |")


def table(measured: MoeTextBody, real: MoeTextBody, args: argparse.Namespace,
          tok_s: float) -> list[str]:
    efficiency = tok_s / measured.bound_tok_s(args.batch, args.context, args.bandwidth)
    at_fraction = efficiency * real.bound_tok_s(args.target_batch, args.target_context,
                                                args.target_bandwidth)
    published = args.published_tok_s
    batch1 = real.bound_tok_s(1, args.bench_context, args.target_bandwidth)
    return [
        "| step | layers | batch | GB read per step | GB/s | bound tok/s | measured |",
        "|---|---|---|---|---|---|---|",
        row("regeneration, measuring GPU", measured, args.batch, args.context, args.bandwidth,
            f"{tok_s:,.0f} tok/s ({efficiency:.0%} of the bound)"),
        row("regeneration, GB10", real, args.target_batch, args.target_context,
            args.target_bandwidth, f"not measured; at the same fraction: {at_fraction:,.0f} tok/s"),
        row("bench, batch 1, GB10", real, 1, args.bench_context, args.target_bandwidth,
            f"published: {published:g} tok/s ({published / batch1:.0%} of the bound)"
            if published else "not published"),
    ]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", type=Path, required=True)
    p.add_argument("--body", default="abliterated", help="the profile's body entry")
    p.add_argument("--regenerate-log", type=Path, required=True)
    p.add_argument("--batch", type=int, required=True, help="concurrent requests of the log")
    p.add_argument("--context", type=int, required=True, help="mean tokens per sequence")
    p.add_argument("--target-profile", type=Path, default=ROOT / "config" / "gb10.yaml")
    p.add_argument("--target-batch", type=int,
                   help="default: the target profile's regeneration concurrency")
    p.add_argument("--target-context", type=int,
                   help="default: half the target profile's regeneration max_tokens")
    p.add_argument("--bench-context", type=int, default=256)
    p.add_argument("--layers", type=int, default=30)
    p.add_argument("--cycle", type=int, default=6)
    p.add_argument("--bandwidth", type=float, default=3.35e12)
    p.add_argument("--target-bandwidth", type=float, default=273e9)
    p.add_argument("--published-tok-s", type=float)
    args = p.parse_args(argv)
    regenerate = yaml.safe_load(args.target_profile.read_text())["drafter_training"]["regenerate"]
    if args.target_batch is None:
        args.target_batch = regenerate["concurrency"]
    if args.target_context is None:
        args.target_context = regenerate["max_tokens"] // 2
    profile = yaml.safe_load(args.profile.read_text())
    if args.body not in profile.get("bodies", {}):
        raise SystemExit(f"{args.profile}: no body {args.body!r} under bodies:")
    measured = MoeTextBody.from_profile_body(profile["bodies"][args.body])
    real = measured.with_layers(args.layers, args.cycle)
    print("\n".join(table(measured, real, args, measured_tok_s(args.regenerate_log))))


if __name__ == "__main__":
    main()

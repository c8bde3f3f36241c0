"""What the gb10 profile's stages will cost on a GB10, from a full-width body measured at fewer
layers on another GPU: each stage's measurement there, its bound at the real layer count on the
GB10, what to expect there, and what the seeds published from a GB10 (config/claims.yaml); a
Markdown table on stdout.

    python scripts/tools/gb10_expectations.py --profile config/gb10-fullwidth.yaml \
        --regenerate-log LOG --batch 128 --context 262 \
        [--quantize-jobs JOBS.tsv] [--drafter-sizes SIZES.txt] [--spec-cell CELL.json]
        [--plain-cell CELL.json] [--training-metrics METRICS.csv] \
        [--target-profile config/gb10.yaml] [--claims config/claims.yaml] [--layers 30 --cycle 6]

How each stage is scaled (the models: scripts/lib/weight_traffic.py, scripts/lib/training_flops.py):
- decoding (regeneration, bench steps) is memory-bound: the bound is the bytes a step reads over
  the memory bandwidth. What a step took on the measuring GPU beyond its bytes' time (launches,
  compute, scheduling) is carried to the GB10 unchanged: expected = bytes / 273 GB/s + that.
- online training is compute-bound: FLOPs per token over the vendor's dense BF16 peak is the
  bound, and the fraction of its peak that the measuring GPU reached is carried over.
- quantisation reads and writes the body: its wall time in proportion to the body's bytes.
- the drafter's checkpoint: its parameters at the GB10 drafter's draft vocabulary.

LOG: a regenerate_responses job log, whose speculators pipeline line states the generated
tokens per second at `--batch` concurrent requests (`--context`: their mean length in tokens
while decoding); the GB10's batch and context are the target profile's regeneration
concurrency and half its reply length unless --target-batch and --target-context say otherwise.
JOBS: scripts/tools/rule_peaks.py's table (quantize_body's wall time); SIZES: `du -sb` of the
drafters (the stand-in's size); CELL: a bench_cell JSON of the measuring GPU (--spec-cell: an
EAGLE-3 cell at n = 4; --plain-cell: no speculation); METRICS: speculators' training metrics
(train_drafter's training/NAME.csv). A stage whose input is not given is left out.

Hardware figures are the vendors': an H100 SXM's 3.35 TB/s and 989 TFLOPS dense BF16, a GB10's
273 GB/s; the GB10's dense BF16 peak is not published: 125 TFLOPS is its 1 PFLOP of sparse FP4
halved for dense and quartered for BF16 (the data-centre Blackwell ratios), an assumption.
The GB10 drafter's draft vocabulary (--target-draft-vocab 32000, speculators' default) is not
in the profile (it inherits the hub drafter's); the published drafter's size is its check.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from lib.claims_ledger import load_claims  # noqa: E402
from lib.training_flops import flops_per_token  # noqa: E402
from lib.weight_traffic import Eagle3Drafter, MoeTextBody, speculative_step_bytes  # noqa: E402

PIPELINE_RATE = re.compile(r"^Throughput: [\d.]+ req/s, ([\d.]+) tok/s", re.MULTILINE)
CLAIM_REF = re.compile(r"^([a-z0-9-]+)(?:\[(\d+)\])?$")
HEADER = ["| stage | measured here | GB10: bound | GB10: expected | published (GB10) |",
          "|---|---|---|---|---|"]


def measured_tok_s(log: Path) -> float:
    """The generated tokens per second that speculators' pipeline reported in a job log."""
    rates = PIPELINE_RATE.findall(log.read_text(errors="replace"))
    if not rates:
        raise SystemExit(f"{log}: no 'Throughput: ... tok/s' line (did the job finish?)")
    return float(rates[-1])


def rule_wall_s(jobs: Path, rule: str) -> float:
    """The wall time of a rule's finished job in rule_peaks.py's table."""
    with jobs.open() as f:
        walls = [float(r["wall_s"]) for r in csv.DictReader(f, delimiter="\t")
                 if r["rule"] == rule and r["status"] == "done"]
    if not walls:
        raise SystemExit(f"{jobs}: no finished {rule} job")
    return walls[0]


def drafter_size(sizes: Path, name: str) -> int:
    """Bytes of results/.../drafters/NAME in a `du -sb` listing."""
    for line in sizes.read_text().splitlines():
        size, _, path = line.partition("\t")
        if path.rstrip("/").endswith(f"/drafters/{name}"):
            return int(size)
    raise SystemExit(f"{sizes}: no drafters/{name} row")


def cell_metrics(path: Path) -> dict:
    """A bench cell's measured acceptance length and aggregate tok/s, and what it served."""
    cell = json.loads(path.read_text())
    m = cell["metrics"]
    if not m.get("tok_s_aggregate"):
        raise SystemExit(f"{path}: no aggregate tok/s (did the cell finish?)")
    return {"n": cell["cell"]["n"], "al": m.get("acceptance_length") or 1.0,
            "tok_s": m["tok_s_aggregate"]}


def training_tok_s(metrics: Path) -> float:
    """The median tokens per second of speculators' training steps (its own profile column)."""
    with metrics.open() as f:
        rates = [float(r["profile/tokens_per_s"]) for r in csv.DictReader(f)
                 if r.get("phase") == "train" and r.get("profile/tokens_per_s")]
    if not rates:
        raise SystemExit(f"{metrics}: no training step with profile/tokens_per_s")
    return statistics.median(rates)


def published(claims: dict, ref: str) -> float:
    """A claim's value, or the k-th of a list-valued one (`id[k]`)."""
    claim_id, k = CLAIM_REF.match(ref).groups()
    value = claims[claim_id]["value"]
    return float(value[int(k)] if k is not None else value)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms"


class Expectations:
    """The rows, from the measured body (`here`) and its real-depth twin (`real`)."""

    def __init__(self, args: argparse.Namespace, here: MoeTextBody, real: MoeTextBody,
                 claims: dict):
        self.a, self.here, self.real, self.claims = args, here, real, claims
        self.here_drafter = Eagle3Drafter.for_body(here, args.draft_vocab)
        self.real_drafter = Eagle3Drafter.for_body(real, args.target_draft_vocab)

    def decode(self, here_bytes: float, real_bytes: float, here_s: float,
               here_text: str) -> tuple[str, str, str, float]:
        """A memory-bound step that took `here_s` here, reading `here_bytes`: the measured
        column, the GB10's bound at `real_bytes`, the expectation (the bound plus the time
        here beyond its bytes' time) and the expected step time in seconds."""
        a = self.a
        floor_here = here_bytes / a.bandwidth
        rest = max(here_s - floor_here, 0.0)
        floor = real_bytes / a.target_bandwidth
        return (f"{here_text}: {ms(here_s)} a step, its bytes' time {ms(floor_here)} "
                f"({floor_here / here_s:.0%})",
                f"{real_bytes / 1e9:.2f} GB a step: {ms(floor)}",
                f"{ms(floor)} + {ms(rest)} = {ms(floor + rest)}", floor + rest)

    def quantisation(self) -> str:
        a = self.a
        wall = rule_wall_s(a.quantize_jobs, "quantize_body")
        here_gb = 2 * sum(self.here.params().values()) / 1e9
        real_gb = 2 * sum(self.real.params().values()) / 1e9
        expected = wall * real_gb / here_gb
        seen = published(self.claims, "p28-quantization-time")
        return (f"| FP8 quantisation (quantize_body) | {wall:.0f} s ({here_gb:.1f} GB bf16 text "
                f"body) | - | {expected / 60:.1f} min ({real_gb:.1f} GB: in proportion) | "
                f"{seen:g} min (p28-quantization-time) |")

    def drafter(self) -> str:
        a = self.a
        size = drafter_size(a.drafter_sizes, a.stand_in)
        model = self.here_drafter.checkpoint_bytes()
        real = self.real_drafter.checkpoint_bytes()
        seen = published(self.claims, "p30-drafter-size")
        return (f"| EAGLE-3 drafter, checkpoint | {size / 1e9:.2f} GB (the stand-in, "
                f"{self.here_drafter.draft_vocab:,} draft tokens; modelled {model / 1e9:.2f} GB) "
                f"| - | {real / 1e9:.2f} GB at {self.real_drafter.draft_vocab:,} draft tokens | "
                f"{seen:g} GB (p30-drafter-size) |")

    def regeneration(self) -> str:
        a = self.a
        tok_s = measured_tok_s(a.regenerate_log)
        here, bound, expected, step = self.decode(
            self.here.step_bytes(a.batch, a.context),
            self.real.step_bytes(a.target_batch, a.target_context), a.batch / tok_s,
            f"{tok_s:,.0f} tok/s at {a.batch} requests")
        rate = a.target_batch / step
        hours = published(self.claims, "p30-regeneration-duration")
        per_reply = rate * hours * 3600 / a.target_count  # the reply length that fits the time
        return (f"| regeneration, {a.target_batch} requests at {a.target_context:,} tokens | "
                f"{here} | {bound} | {expected}: {rate:,.0f} tok/s | {a.target_count:,} replies "
                f"in ~{hours:g} h (p30-regeneration-duration): {per_reply:,.0f} tokens a reply "
                f"at the expected rate |")

    def training(self) -> str:
        a = self.a
        tok_s = training_tok_s(a.training_metrics)
        here_flops = flops_per_token(self.here, self.here_drafter, a.ttt_steps)
        real_flops = flops_per_token(self.real, self.real_drafter, a.ttt_steps)
        fraction = here_flops * tok_s / a.flops
        bound = a.target_flops / real_flops
        expected = fraction * bound
        hours = published(self.claims, "p30-lost-hours")
        steps = published(self.claims, "p30-crash-step")
        step_s = hours * 3600 / steps
        return (f"| online training, {a.seq_len:,}-token steps | {tok_s:,.0f} tok/s: "
                f"{here_flops / 1e9:.1f} GFLOP a token, {fraction:.0%} of "
                f"{a.flops / 1e12:,.0f} TFLOPS | {real_flops / 1e9:.1f} GFLOP a token: "
                f"{bound:,.0f} tok/s | {expected:,.0f} tok/s ({fraction:.0%} of the bound): "
                f"{a.seq_len / expected:.2f} s a step | {step_s:.1f} s a step "
                f"({a.seq_len / step_s:,.0f} tok/s) if the {hours:g} h lost were the "
                f"{steps:,.0f} steps to the crash (p30-lost-hours, p30-crash-step) |")

    def plain_step(self) -> str:
        a = self.a
        real = self.real.step_bytes(1, a.bench_context)
        seen = published(self.claims, "p28-abliterated-fp8-baseline")
        seen_text = f"{ms(1 / seen)} a step: {seen:g} tok/s (p28-abliterated-fp8-baseline)"
        label = "bench, batch 1, no speculation"
        if a.plain_cell is None:
            floor = real / a.target_bandwidth
            return (f"| {label} | not measured | {real / 1e9:.2f} GB a step: {ms(floor)} | "
                    f"at most {1 / floor:,.0f} tok/s | {seen_text} |")
        cell = cell_metrics(a.plain_cell)
        here, bound, expected, step = self.decode(
            self.here.step_bytes(1, a.bench_context), real, 1 / cell["tok_s"],
            f"{cell['tok_s']:,.0f} tok/s")
        return (f"| {label} | {here} | {bound} | {expected}: {1 / step:,.0f} tok/s | "
                f"{seen_text} |")

    def speculative_step(self) -> str:
        a = self.a
        cell = cell_metrics(a.spec_cell)
        n = cell["n"]
        al = 1 + sum(published(self.claims, f"p30-finetuned-per-position[{k}]") / 100
                     for k in range(n))
        tok_s = published(self.claims, f"p30-finetuned-sweep[{n - 1}]")
        here, bound, expected, _ = self.decode(
            speculative_step_bytes(self.here, self.here_drafter, n, a.bench_context),
            speculative_step_bytes(self.real, self.real_drafter, n, a.bench_context),
            cell["al"] / cell["tok_s"],
            f"acceptance length {cell['al']:.2f} at {cell['tok_s']:,.0f} tok/s")
        return (f"| bench, batch 1, EAGLE-3 at n = {n} | {here} | {bound} | {expected} | "
                f"{ms(al / tok_s)} a step: acceptance length {al:.2f} at {tok_s:g} tok/s "
                f"(p30-finetuned-per-position, p30-finetuned-sweep: the raw endpoint's, "
                f"withdrawn for their acceptance, not their step time) |")

    def rows(self) -> list[str]:
        a, out = self.a, []
        if a.quantize_jobs:
            out.append(self.quantisation())
        if a.drafter_sizes:
            out.append(self.drafter())
        out.append(self.regeneration())
        if a.training_metrics:
            out.append(self.training())
        out.append(self.plain_step())
        if a.spec_cell:
            out.append(self.speculative_step())
        return out


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", type=Path, required=True)
    p.add_argument("--body", default="abliterated", help="the profile's body entry")
    p.add_argument("--regenerate-log", type=Path, required=True)
    p.add_argument("--batch", type=int, required=True, help="concurrent requests of the log")
    p.add_argument("--context", type=int, required=True, help="mean tokens per sequence")
    p.add_argument("--quantize-jobs", type=Path)
    p.add_argument("--drafter-sizes", type=Path)
    p.add_argument("--stand-in", default="redhat", help="the drafter the sizes are read for")
    p.add_argument("--draft-vocab", type=int, help="the stand-in's (default: the vocabulary)")
    p.add_argument("--spec-cell", type=Path)
    p.add_argument("--plain-cell", type=Path)
    p.add_argument("--training-metrics", type=Path)
    p.add_argument("--target-profile", type=Path, default=ROOT / "config" / "gb10.yaml")
    p.add_argument("--claims", type=Path, default=ROOT / "config" / "claims.yaml")
    p.add_argument("--target-batch", type=int,
                   help="default: the target profile's regeneration concurrency")
    p.add_argument("--target-context", type=int,
                   help="default: half the target profile's regeneration max_tokens")
    p.add_argument("--target-draft-vocab", type=int, default=32000)
    p.add_argument("--bench-context", type=int, default=256)
    p.add_argument("--layers", type=int, default=30)
    p.add_argument("--cycle", type=int, default=6)
    p.add_argument("--bandwidth", type=float, default=3.35e12)
    p.add_argument("--target-bandwidth", type=float, default=273e9)
    p.add_argument("--flops", type=float, default=989e12)
    p.add_argument("--target-flops", type=float, default=125e12)
    args = p.parse_args(argv)
    target = yaml.safe_load(args.target_profile.read_text())["drafter_training"]
    if args.target_batch is None:
        args.target_batch = target["regenerate"]["concurrency"]
    if args.target_context is None:
        args.target_context = target["regenerate"]["max_tokens"] // 2
    args.target_count = target["instructions"]["count"]
    args.ttt_steps = target["train"]["ttt_steps"]
    args.seq_len = target["train"]["total_seq_len"]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    profile = yaml.safe_load(args.profile.read_text())
    if args.body not in profile.get("bodies", {}):
        raise SystemExit(f"{args.profile}: no body {args.body!r} under bodies:")
    here = MoeTextBody.from_profile_body(profile["bodies"][args.body])
    real = here.with_layers(args.layers, args.cycle)
    claims = {c["id"]: c for c in load_claims(args.claims, args.claims.with_name(
        "claims.schema.yaml"))}
    rows = Expectations(args, here, real, claims).rows()
    print(f"Measured here: {len(here.layer_types)} layers; GB10: {args.layers} layers, "
          f"{args.target_bandwidth / 1e9:,.0f} GB/s, {args.target_flops / 1e12:,.0f} TFLOPS BF16 "
          f"(assumed).\n")
    print("\n".join(HEADER + rows))


if __name__ == "__main__":
    main()

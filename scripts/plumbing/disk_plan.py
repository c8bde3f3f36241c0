"""The disk a profile needs, stage by stage, and the host memory of its largest job, from the profile alone: printed by a dry run and
checked against the results folder's free space before the first job.

Snakemake knows no output's size before it is written, so this is our own estimate. Sizes:
- a body: `bodies.NAME.size_gb` where the profile states it (a hub body is not on disk before
  its download), else the files under a local body's path, else unknown (shown as "?");
- its FP8 checkpoint: FP8_FRACTION of the body (one byte per quantised weight against two,
  the unquantised embeddings, router and norms on top);
- a hub drafter: `drafters.NAME.size_gb`, else unknown;
- drafter data per verifier: responses (REPLY_BYTES_PER_TOKEN x max_tokens per instruction),
  the Arrow dataset (ARROW_BYTES_PER_TOKEN x seq_length per instruction) and, offline, the
  hidden states (taps x hidden size x 2 bytes per token x seq_length per instruction,
  `bodies.NAME.hidden_size` and the profile's layer ids); these are upper bounds (every row at
  the full length);
- training: the starting drafter's float32 copy the trainer reads (START_COPY_FACTOR x its
  size; train_drafter.py) and checkpoints of CHECKPOINT_FACTOR x its size each: one folder per
  epoch, at most `keep_checkpoints` of them, and a second copy of one while speculators
  rewrites it (0.9.0 saves a mid-epoch checkpoint into its epoch's folder, over the last one).
A file that already exists needs no more space: only missing ones count against the free disk.
Hidden states that are not kept (`keep: false`) are counted in the peak, not in what stays.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from lib import disk_usage

GB = 1e9
# FP8 checkpoint over bf16 body: Part 28's own figures, 27 GB from a 52 GB body (an input,
# not measured here); the miniature's 135M body, measured by its quantize_body jobs, is
# dominated by its unquantised embedding and is no guide at this scale.
FP8_FRACTION = 27 / 52
REPLY_BYTES_PER_TOKEN = 8  # jsonl text with the conversation's markup: ~4 characters a token, x2
ARROW_BYTES_PER_TOKEN = 24  # input_ids and loss_mask as int64, plus offsets
# A checkpoint over the bf16 drafter: speculators 0.9.0 saves the weights and the
# optimizer state converted to bf16 (train/checkpointer.py, save_checkpoint's float_dtype), so
# at most the weights plus two moments per weight (Adam's; Muon keeps one, frozen embeddings none)
CHECKPOINT_FACTOR = (2 + 2 + 2) / 2
# the starting drafter's float32 copy (train_drafter.py's stage_start_drafter)
START_COPY_FACTOR = 4 / 2


@dataclass
class Need:
    stage: str
    what: str
    gb: float | None  # None: unknown
    path: str
    transient: bool = False  # deleted by the workflow before it ends (counted in the peak)
    mem_gb: float | None = None  # host memory the job that writes it needs, where estimated


def body_gb(config: dict, name: str, seen: set | None = None) -> float | None:
    body = config["bodies"][name]
    if "size_gb" in body:
        return float(body["size_gb"])
    if body.get("source") == "local" and Path(body["path"]).is_dir():
        return disk_usage.bytes_under(Path(body["path"])) / GB
    if body.get("source") == "abliterate":
        seen = (seen or set()) | {name}
        base = body.get("from")
        return body_gb(config, base, seen) if base and base not in seen else None
    return None


def drafter_gb(config: dict, name: str | None) -> float | None:
    if not name:
        return None
    drafter = config["drafters"][name]
    if "size_gb" in drafter:
        return float(drafter["size_gb"])
    return None


def scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def needs(config: dict, results: str) -> list[Need]:
    rows = []
    for name in config["bodies"]:
        rows.append(Need("bodies", f"body {name}", body_gb(config, name), f"{results}/models/{name}"))
    for name in config["quantize"]["bodies"]:
        # quantize_body loads the whole bf16 body into host memory (transformers'
        # from_pretrained without a device map) and holds the FP8 copy it writes
        rows.append(Need("FP8", f"{name}-fp8", scaled(body_gb(config, name), FP8_FRACTION),
                         f"{results}/models/{name}-fp8",
                         mem_gb=scaled(body_gb(config, name), 1 + FP8_FRACTION)))
    for name, drafter in config["drafters"].items():
        if drafter.get("source") == "hub":
            rows.append(Need("drafters", f"drafter {name}", drafter_gb(config, name),
                             f"{results}/drafters/{name}"))
    training = config["drafter_training"]
    count = training["instructions"]["count"]
    seq = training["prepare"]["seq_length"]
    hidden_states = training["hidden_states"]
    online = hidden_states.get("mode") == "online"
    trained = {n: d for n, d in config["drafters"].items() if d.get("source") == "trained"}
    for verifier in sorted({d["verifier"] for d in trained.values()}):
        base = f"{results}/drafter_data/{verifier}"
        replies = count * training["regenerate"]["max_tokens"] * REPLY_BYTES_PER_TOKEN / GB
        rows.append(Need("drafter data", f"responses of {verifier}", replies, f"{base}/responses.jsonl"))
        rows.append(Need("drafter data", f"dataset of {verifier}", count * seq * ARROW_BYTES_PER_TOKEN / GB,
                         f"{base}/dataset"))
        if not online:
            hidden = config["bodies"][verifier].get("hidden_size")
            taps = len(hidden_states["layer_ids"]) if hidden_states["layer_ids"] else 4
            gb = None if hidden is None else count * seq * taps * hidden * 2 / GB
            rows.append(Need("drafter data", f"hidden states of {verifier}", gb,
                             f"{base}/hidden_states", transient=not hidden_states["keep"]))
    train = training["train"]
    # one folder an epoch (a mid-epoch checkpoint is written into its epoch's folder), at most
    # keep_checkpoints of them (the schema's default, 3, where the config was not validated;
    # null keeps every one): gb10-fullwidth's one epoch left one folder, and 3.1 GB more for
    # a moment while the end of the epoch rewrote it (reports/runs/gb10-fullwidth/README.md)
    folders = min(train.get("keep_checkpoints", 3) or train["epochs"], train["epochs"])
    for name, drafter in trained.items():
        start = drafter_gb(config, drafter.get("start_from"))
        work = f"{results}/training/{name}.work"
        rows.append(Need("training", f"{folders} epoch checkpoint(s) of {name}",
                         scaled(start, folders * CHECKPOINT_FACTOR), f"{work}/checkpoints"))
        # counted as if it stayed: it coincides with offline hidden states, which the peak
        # counts as the one transient item
        rows.append(Need("training", f"room to rewrite a checkpoint of {name}",
                         scaled(start, CHECKPOINT_FACTOR), f"{work}/checkpoints"))
        if drafter.get("start_from"):
            rows.append(Need("training", f"float32 copy of {drafter['start_from']}",
                             scaled(start, START_COPY_FACTOR), f"{work}/start"))
        rows.append(Need("training", f"drafter {name}", start, f"{results}/drafters/{name}"))
    return rows


def missing(rows: list[Need], root: Path) -> list[Need]:
    return [r for r in rows if not (root / r.path).exists()]


def totals(rows: list[Need]) -> tuple[float, float, int]:
    """(what stays, the peak, how many sizes are unknown): the peak adds the largest
    transient item to what stays (the workflow deletes one before the next is made)."""
    stays = sum(r.gb or 0 for r in rows if not r.transient)
    transient = [r.gb or 0 for r in rows if r.transient]
    return stays, stays + max(transient, default=0.0), sum(r.gb is None for r in rows)


def table(rows: list[Need], free_gb: float) -> str:
    lines = [f"{'stage':<14} {'what':<40} {'disk GB':>10} {'memory GB':>10}"]
    for r in rows:
        size = "?" if r.gb is None else f"{r.gb:,.1f}"
        mem = "" if r.mem_gb is None else f"{r.mem_gb:,.1f}"
        lines.append(f"{r.stage:<14} {r.what:<40} {size:>10} {mem:>10}"
                     f"{'  (deleted later)' if r.transient else ''}")
    stays, peak, unknown = totals(rows)
    lines.append(f"still to write: {stays:,.1f} GB kept, {peak:,.1f} GB at the peak"
                 f"{f' (+ {unknown} sizes unknown)' if unknown else ''}; free: {free_gb:,.1f} GB")
    return "\n".join(lines)


def free_gb(root: Path) -> float:
    probe = root
    while not probe.exists():
        probe = probe.parent
    return shutil.disk_usage(probe).free / GB


def is_dry_run(argv: list[str]) -> bool:
    """-n, --dry-run, --dryrun, or -n among combined short flags (-np)."""
    for arg in argv[1:]:
        if arg in ("--dry-run", "--dryrun"):
            return True
        if arg.startswith("-") and not arg.startswith("--") and arg[1:].isalpha() and "n" in arg[1:]:
            return True
    return False


def memory_gb() -> float | None:
    """The host's memory (MemTotal; on a GB10 the memory CPU and GPU share); None where the
    host has no /proc/meminfo (then memory is not checked)."""
    meminfo = Path("/proc/meminfo")
    if not meminfo.is_file():
        return None
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024 / GB
    return None


def memory_problem(rows: list[Need], memory: float | None) -> str | None:
    """Why a job of the run does not fit the host's memory; None when each fits."""
    if memory is None:
        return None
    over = [r for r in rows if r.mem_gb and r.mem_gb > memory]
    if not over:
        return None
    names = ", ".join(f"{r.what} {r.mem_gb:,.1f} GB" for r in over)
    return (f"jobs of this profile need more memory than this host's {memory:,.1f} GB: {names}"
            " (the plan: snakemake -n)")


def problem(rows: list[Need], free: float) -> str | None:
    """Why the run does not fit the disk, in one sentence; None when it fits."""
    _, peak, _ = totals(rows)
    if peak <= free:
        return None
    largest = sorted((r for r in rows if r.gb), key=lambda r: -r.gb)[:3]
    names = ", ".join(f"{r.what} {r.gb:,.1f} GB" for r in largest)
    return (f"this profile needs about {peak:,.1f} GB more disk at its peak and {free:,.1f} GB"
            f" are free where results/ lives (largest: {names}); free space, or move results/ to"
            " a larger disk (the plan: snakemake -n)")

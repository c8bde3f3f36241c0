"""Train an EAGLE-3 drafter with `speculators train`, resumable, and publish it for vLLM.

What this module adds around the field's trainer, and why:
- speculators reads one data root (Arrow dataset, token_freq.pt, hidden_states/) and writes its
  vocab-mapping cache into it; the workflow keeps those as separate rule outputs, so the root
  is staged as links in the job's own work directory.
- Resume after a kill: checkpoints go to a work directory that is not a rule output (Snakemake
  deletes the outputs of a failed job), with `--checkpoint-freq` < 1 for checkpoints inside an
  epoch; the trainer resumes from the newest one by itself. A run key (the command and
  content fingerprints of its inputs, resume_key.py) is kept beside them: checkpoints of another
  run are discarded, never resumed.
- The trainer only logs its metrics (`k=v, ...` lines); they are parsed into a CSV here.
- The published drafter is the last checkpoint's config and weights, without optimizer state.
- Online (`--online`, gb10's mode): no hidden-state files exist; the trainer asks a vLLM
  extraction server beside it for each row as its data loader needs it (speculators'
  `--on-missing generate` with the `file` backend: the server writes one file, the loader reads
  and deletes it). The server (lib/extraction_server.py) is started here, shares the GPU
  (`--gpu-memory-utilization` in the server arguments), and runs under the progress watchdog
  (lib/watchdog.py): a stalled server is restarted with the trainer, which resumes from its
  newest checkpoint. Offline, a row without its file is an error (`--on-missing raise`), never
  a silent request to a server that is not there.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from lib import atomic_io
from lib import extraction_server
from lib import resume_key
from lib import serving
from lib import watchdog
from lib.drafter_checks import drafter_problems
from lib.drafter_embedding import EMBEDDING_SUFFIX, is_eagle3, verifier_embedding

log = logging.getLogger("train_drafter")

# Files of a checkpoint directory that vLLM needs to load the drafter.
DRAFTER_FILES = ("config.json", "*.safetensors", "*.npy")


# --- inputs -------------------------------------------------------------------------------


def stage_data_root(root: Path, dataset: Path, hidden_states: Path | None) -> None:
    """`root` = links to the Arrow dataset's files + `hidden_states` (rebuilt every run); online
    (`hidden_states` None) an empty folder, so that every row is asked of the server."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for item in dataset.iterdir():
        (root / item.name).symlink_to(item.resolve())
    if hidden_states is None:
        (root / "hidden_states").mkdir()
    else:
        (root / "hidden_states").symlink_to(hidden_states.resolve(), target_is_directory=True)


def prepare_checkpoint_dir(ckpt: Path, key: dict) -> bool:
    """Keep `ckpt` if it belongs to this run and holds a checkpoint (return True: resuming),
    else empty it (resume_key.prepare_partial, which records the key beside it)."""
    resumed = resume_key.prepare_partial(ckpt, key)
    ckpt.mkdir(parents=True, exist_ok=True)
    return resumed and any(p.is_dir() and p.name.isdigit() for p in ckpt.iterdir())


# --- the trainer --------------------------------------------------------------------------


MUON_FLOAT32 = Path(__file__).parent / "plumbing" / "muon_float32.py"


def speculators_entry() -> list[str]:
    """How to call speculators' CLI here: as is, or on a CPU without native bf16 through
    muon_float32.py (Muon's Newton-Schulz in float32 rather than emulated bf16)."""
    from lib import cpu_dtype
    from lib import serving

    if serving.host_has_gpu() is False and not cpu_dtype.native_bf16():
        log.info("training with Muon in float32: %s", cpu_dtype.report(False))
        return [str(MUON_FLOAT32)]
    return ["-m", "speculators"]


def train_command(args: argparse.Namespace, data_root: Path, ckpt: Path) -> list[str]:
    launcher = [sys.executable]
    if args.nproc_per_node > 1:  # data-parallel on several GPUs, as speculators documents
        launcher += ["-m", "torch.distributed.run", "--standalone",
                     "--nproc-per-node", str(args.nproc_per_node)]
    cmd = [
        *launcher, *speculators_entry(), "train",
        "--speculator-type", args.speculator_type,
        "--verifier-name-or-path", str(args.verifier),
        "--data-path", str(data_root), "--save-path", str(ckpt),
        "--epochs", str(args.epochs), "--lr", str(args.lr), "--ttt-steps", str(args.ttt_steps),
        "--total-seq-len", str(args.total_seq_len),
        "--train-data-ratio", str(args.train_data_ratio),
        "--checkpoint-freq", str(args.checkpoint_freq),
        "--seed", str(args.seed), "--logger", "", "--log-freq", "1",
        # online: rows come from the server (its endpoint is added when it is up); offline: a
        # missing file is an error rather than a request to localhost:8000 (the default)
        "--hidden-states-backend", "file",
        "--on-missing", "generate" if args.online else "raise",
    ]
    if args.from_pretrained:
        cmd += ["--from-pretrained", str(args.from_pretrained)]
    if args.draft_vocab_size:
        cmd += ["--draft-vocab-size", str(args.draft_vocab_size)]
    if args.target_layer_ids:
        cmd += ["--target-layer-ids", *map(str, args.target_layer_ids)]
    return cmd + args.extra_args


def numbered_checkpoints(ckpt: Path) -> list[Path]:
    """The trainer's checkpoint folders (named by number), oldest first."""
    if not ckpt.is_dir():
        return []
    return sorted((p for p in ckpt.iterdir() if p.is_dir() and p.name.isdigit() and not p.is_symlink()),
                  key=lambda p: int(p.name))


def prune_checkpoints(ckpt: Path, keep: int | None) -> list[Path]:
    """Delete all but the newest `keep` checkpoint folders and the links into deleted ones; the
    best checkpoint's target is kept. speculators 0.9.0 keeps every epoch's folder (no limit);
    a mid-epoch checkpoint rewrites its epoch's folder (train/trainer.py,
    maybe_save_checkpoint), so a run of one epoch has one folder whatever checkpoint_freq is.
    `keep` >= 2 (the schema's minimum), so a checkpoint still being written never leaves the
    folder without a complete one."""
    if keep is None:
        return []
    best = ckpt / "checkpoint_best"
    protected = {best.resolve()} if best.is_symlink() else set()
    removed = [p for p in numbered_checkpoints(ckpt)[:-keep] if p.resolve() not in protected]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    for link in (p for p in ckpt.iterdir() if p.is_symlink() and not p.exists()):
        link.unlink()
    return removed


PROGRESS_EVERY_S = 30.0
# rich wraps the metric records at the console width (wider: fewer wraps); every input is a
# local directory, so the hub is never asked
TRAINER_ENV = {"COLUMNS": "200", "HF_HUB_OFFLINE": "1"}


class TrainerProgress:
    """While the trainer runs: a progress line on this log every PROGRESS_EVERY_S seconds (step
    k of N, tokens/s, ETA), so that a slow CPU is seen to move, and old checkpoints pruned to
    `keep` as it goes."""

    def __init__(self, log_path: Path, offset: int, total_steps: int | None,
                 ckpt: Path | None, keep: int | None):
        self.log_path, self.offset, self.total_steps = log_path, offset, total_steps
        self.ckpt, self.keep = ckpt, keep
        self.started = time.monotonic()
        self.next_report = self.started + PROGRESS_EVERY_S
        # (seconds, step) when a step was first seen: the ETA is paced from there, not from the
        # start, which online includes the extraction server's start (minutes at full width)
        self.first_seen: tuple[float, int] | None = None

    def poll(self) -> None:
        if time.monotonic() < self.next_report:
            return
        self.report()
        self.next_report += PROGRESS_EVERY_S
        if self.ckpt is not None:
            for path in prune_checkpoints(self.ckpt, self.keep):
                log.info("pruned the old checkpoint %s", path)

    def report(self) -> None:
        elapsed = time.monotonic() - self.started
        with self.log_path.open() as f:
            f.seek(self.offset)
            rows = parse_metric_lines(f.read())
        step = latest_step(rows)
        if step is not None and self.first_seen is None:
            self.first_seen = (elapsed, step)
        log.info("%s", progress_line(rows, self.total_steps, elapsed, self.first_seen))


def trainer_failed(returncode: int, log_path: Path) -> SystemExit:
    tail = "".join(log_path.read_text().splitlines(keepends=True)[-30:])
    return SystemExit(f"speculators train failed ({returncode}); log tail:\n{tail}")


def open_trainer_log(log_path: Path, cmd: list[str]):
    """The trainer's log, appended to (kept across resumed runs), with the command as header."""
    out = log_path.open("a")
    out.write(f"\n### {' '.join(cmd)}\n")
    out.flush()
    return out


def run_trainer(cmd: list[str], log_path: Path, total_steps: int | None = None,
                ckpt: Path | None = None, keep_checkpoints: int | None = None) -> None:
    """Run the trainer with its output appended to `log_path`, reporting progress and pruning
    checkpoints as it goes (TrainerProgress)."""
    log.info("running: %s", " ".join(cmd))
    with open_trainer_log(log_path, cmd) as out:
        progress = TrainerProgress(log_path, out.tell(), total_steps, ckpt, keep_checkpoints)
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                env=os.environ | TRAINER_ENV)
        while proc.poll() is None:
            time.sleep(1)
            progress.poll()
    if proc.returncode != 0:
        raise trainer_failed(proc.returncode, log_path)
    progress.report()


def run_online_trainer(cmd: list[str], args: argparse.Namespace, log_path: Path,
                       total_steps: int | None, ckpt: Path) -> None:
    """Run the trainer beside a vLLM extraction server, both under the progress watchdog: the
    trainer is given the server's endpoint once it is up; a stall restarts both and the trainer
    resumes from its newest checkpoint."""
    layer_ids = extraction_server.checked_layer_ids(args.verifier, args)
    storage = (args.work / "connector").resolve()  # the server writes, the trainer deletes
    storage.mkdir(parents=True, exist_ok=True)
    spec = extraction_server.extraction_server_spec(sys.executable, args.verifier, args,
                                                    layer_ids, storage)
    log.info("online: the trainer asks a vLLM extraction server for hidden states (taps %s)",
             layer_ids)
    with open_trainer_log(log_path, cmd) as out:
        progress = TrainerProgress(log_path, out.tell(), total_steps, ckpt, args.keep_checkpoints)
        try:
            restarts = watchdog.run_with_restarts(
                lambda: serving.VllmServer(spec, args.server_log),
                lambda base_url: [*cmd, "--vllm-endpoint", f"{base_url}/v1"],
                ckpt, watchdog.policy_from_arguments(args), env=os.environ | TRAINER_ENV,
                stdout=out, on_poll=progress.poll,
            )
        except subprocess.CalledProcessError as exc:
            raise trainer_failed(exc.returncode, log_path) from None
    if restarts:
        log.info("online training finished after %d restarts of the server", restarts)
    progress.report()


def estimated_steps(token_counts: list[int], total_seq_len: int, train_data_ratio: float,
                    epochs: int) -> int:
    """About how many optimizer steps speculators will take. Its batch sampler (one GPU) packs
    consecutive rows of a shuffled order into a batch while their tokens fit total_seq_len, and
    starts the next batch at the first row that does not (a row longer than a batch is cut to
    it): next-fit, counted here in the dataset's order. The order moves the count by a step or
    two; filling each batch to the brim would undercount by a fifth with rows of ~1,000 tokens
    in 4,096 (330 steps where the tokens fill ~258: reports/runs/gb10-fullwidth/README.md)."""
    train = token_counts[: int(len(token_counts) * train_data_ratio)]
    batches, used = 0, 0
    for n in train:
        n = min(n, total_seq_len)
        if used and used + n > total_seq_len:
            batches, used = batches + 1, 0
        used += n
    return max(1, epochs * (batches + (1 if used else 0)))


def dataset_token_counts(dataset: Path) -> list[int]:
    from datasets import load_from_disk

    return [len(ids) for ids in load_from_disk(str(dataset))["input_ids"]]


def train_rows(rows: list[dict]) -> list[dict]:
    """The metric rows of optimizer steps (not validation)."""
    return [r for r in rows if r.get("phase") == "train" and "global_step" in r]


def latest_step(rows: list[dict]) -> int | None:
    """The last optimizer step (counted from 1) in this run's metric rows, if any."""
    train = train_rows(rows)
    return int(train[-1]["global_step"]) + 1 if train else None


def progress_line(rows: list[dict], total_steps: int | None, elapsed_s: float,
                  first_seen: tuple[float, int] | None = None) -> str:
    """The progress line (step k of N, tokens/s, ETA) from this run's metric rows so far. The
    ETA is paced by the steps since `first_seen` (seconds, step): none until a later step."""
    train = train_rows(rows)
    if not train:
        return f"training: no step logged yet ({elapsed_s:.0f} s)"
    step = latest_step(train)
    rate = train[-1].get("profile/tokens_per_s")
    text = f"training: step {step}"
    if total_steps:  # an estimate; rows that pack loosely take a few steps more
        text += f" of ~{total_steps}" if step <= total_steps else f" (estimated ~{total_steps})"
    if rate:
        text += f", {rate:,.0f} tokens/s"
    if (total_steps and step < total_steps and first_seen and step > first_seen[1]
            and elapsed_s > first_seen[0]):
        steps_per_s = (step - first_seen[1]) / (elapsed_s - first_seen[0])
        text += f", ETA {(total_steps - step) / steps_per_s / 60:.1f} min"
    return text + f" ({elapsed_s / 60:.1f} min so far)"


# --- outputs ------------------------------------------------------------------------------

# The trainer logs metrics through rich's RichHandler: "[time] LEVEL message  file.py:N", the
# message wrapped onto continuation lines indented under it, the time left out when unchanged.
RECORD_START = re.compile(r"^(\[\d\d:\d\d:\d\d\])?\s+(DEBUG|INFO|WARNING|ERROR|CRITICAL)\s+(.*)$")
SOURCE_COLUMN = re.compile(r"\s+[\w.]+\.py:\d+\s*$")
PAIR = re.compile(r"([\w/.-]+)=([^\s,]+)")


def log_records(text: str) -> list[str]:
    """The trainer log's records, each with its wrapped lines joined."""
    records: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        start = RECORD_START.match(line)
        if start:
            if current is not None:
                records.append(" ".join(current))
            current = [SOURCE_COLUMN.sub("", start.group(3)).strip()]
        elif current is not None and line.startswith(" " * 8) and line.strip():
            current.append(SOURCE_COLUMN.sub("", line).strip())
        else:
            if current is not None:
                records.append(" ".join(current))
            current = None
    if current is not None:
        records.append(" ".join(current))
    return records


def parse_metric_lines(text: str) -> list[dict]:
    """The logged `train/...` and `val/...` metric records as dicts, in order.

    A resumed run appends to the same log; a step logged twice (a run killed after logging it
    but before its checkpoint) keeps its last value.
    """
    rows: dict[tuple, dict] = {}
    for record in log_records(text):
        if not record.startswith(("train/", "val/")):
            continue
        row = {}
        for key, value in PAIR.findall(record):
            try:
                row[key] = float(value)
            except ValueError:
                continue
        phase = "val" if record.startswith("val/") else "train"
        step = row.get("global_step", row.get("epoch", len(rows)))
        rows[(phase, step)] = row | {"phase": phase}
    return list(rows.values())


def write_metrics_csv(rows: list[dict], path: Path) -> None:
    if not rows:
        raise SystemExit("no metrics found in the trainer's log")
    columns = ["phase"] + sorted({k for row in rows for k in row} - {"phase"})
    with atomic_io.staged_file(path) as staged, staged.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def last_checkpoint(ckpt: Path) -> Path:
    epochs = numbered_checkpoints(ckpt)
    if not epochs:
        raise SystemExit(f"the trainer wrote no checkpoint under {ckpt}")
    return epochs[-1]


def publish_drafter(checkpoint: Path, out: Path) -> None:
    with atomic_io.staged_dir(out) as staged:
        target = staged / "drafter"
        target.mkdir()
        for pattern in DRAFTER_FILES:
            for f in checkpoint.glob(pattern):
                shutil.copy2(f, target / f.name)
        if not (target / "config.json").exists():
            raise SystemExit(f"{checkpoint} has no config.json")
        atomic_io.publish_dir(target, out)


def check_start_drafter(start: Path, verifier: Path) -> None:
    """Refuse to fine-tune a drafter made for a body of another shape (before any work)."""
    problems = drafter_problems(
        json.loads((start / "config.json").read_text()),
        json.loads((verifier / "config.json").read_text()),
    )
    if problems:
        raise SystemExit(f"refusing to start from {start} for {verifier}: " + "; ".join(problems))


def stage_start_drafter(src: Path, dst: Path) -> Path:
    """A float32 copy of the starting drafter. Published drafters are bf16 (for vLLM), and
    `--from-pretrained` loads them as saved, while speculators keeps master weights in float32:
    under bf16 autocast (GPU) that mix works, under float32 (our CPU setting) the first matmul
    fails with "expected m1 and m2 to have the same dtype".

    An EAGLE-3 drafter carried without its token embedding (a compact copy, as `gpu_study.sh
    collect drafters` brings one to the next machine) gets its verifier's back: speculators
    0.9.0 would otherwise start from a randomly initialised embedding (it fills the verifier's
    in only where the loaded one is NaN), and training keeps that embedding frozen."""
    from safetensors.torch import load_file, save_file

    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    config = json.loads((src / "config.json").read_text())
    files = sorted(f for f in src.iterdir() if f.suffix == ".safetensors")
    tensors = {f: {k: v.float() if v.is_floating_point() else v for k, v in load_file(f).items()}
               for f in files}
    compact = (is_eagle3(config) and files
               and not any(k.endswith(EMBEDDING_SUFFIX) for t in tensors.values() for k in t))
    if compact:
        tensors[files[0]][EMBEDDING_SUFFIX] = verifier_embedding(config).float()
        log.info("the starting drafter had no token embedding: restored its verifier's (%s)",
                 config["speculators_config"]["verifier"]["name_or_path"])
    for f in files:
        save_file(tensors[f], dst / f.name, metadata={"format": "pt"})
    for f in src.iterdir():
        if f.name == "config.json":
            for key in ("dtype", "torch_dtype"):
                if key in config:
                    config[key] = "float32"
            (dst / f.name).write_text(json.dumps(config, indent=2) + "\n")
        elif f.is_file() and f.suffix != ".safetensors":
            shutil.copy2(f, dst / f.name)
    return dst


def train(args: argparse.Namespace) -> None:
    args.work.mkdir(parents=True, exist_ok=True)
    if args.from_pretrained:
        check_start_drafter(args.from_pretrained, args.verifier)
        # the run key fingerprints the original; the trainer reads the float32 copy
        start_copy = stage_start_drafter(args.from_pretrained, args.work / "start")
    data_root, ckpt = args.work / "data", args.work / "checkpoints"
    stage_data_root(data_root, args.dataset, None if args.online else args.hidden_states)
    cmd = train_command(args, data_root, ckpt)
    if args.from_pretrained:
        cmd[cmd.index("--from-pretrained") + 1] = str(start_copy)
    # online, the server's settings make the hidden states: they belong to the run's key
    served = [args.server_args_json, str(args.layer_ids), str(args.max_model_len)]
    key = resume_key.run_key(cmd + served if args.online else cmd, {
        "verifier": args.verifier, "dataset": args.dataset, "hidden_states": args.hidden_states,
        "from_pretrained": args.from_pretrained,
    })
    if prepare_checkpoint_dir(ckpt, key):
        log.info("resuming from the checkpoints in %s", ckpt)
    trainer_log = args.work / "trainer.log"
    steps = estimated_steps(dataset_token_counts(args.dataset), args.total_seq_len,
                            args.train_data_ratio, args.epochs)
    if args.online:
        run_online_trainer(cmd, args, trainer_log, steps, ckpt)
    else:
        run_trainer(cmd, trainer_log, steps, ckpt, args.keep_checkpoints)
    prune_checkpoints(ckpt, args.keep_checkpoints)
    write_metrics_csv(parse_metric_lines(trainer_log.read_text()), args.metrics)
    final = last_checkpoint(ckpt)
    log.info("publishing %s as %s", final, args.out)
    publish_drafter(final, args.out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--verifier", type=Path, required=True, help="the body the drafter serves")
    p.add_argument("--dataset", type=Path, required=True, help="prepare-data output")
    p.add_argument("--hidden-states", type=Path, default=None,
                   help="the rows' hidden-state files (offline; required unless --online)")
    p.add_argument("--from-pretrained", type=Path, default=None)
    p.add_argument("--speculator-type", default="eagle3")
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--ttt-steps", type=int, required=True)
    p.add_argument("--total-seq-len", type=int, required=True)
    p.add_argument("--train-data-ratio", type=float, default=0.9)
    p.add_argument("--keep-checkpoints", type=int, default=None,
                   help="keep the newest K checkpoint folders, one an epoch (>= 2); all by default")
    p.add_argument("--checkpoint-freq", type=float, default=0.25)
    p.add_argument("--draft-vocab-size", type=int, default=None)
    p.add_argument("--target-layer-ids", type=int, nargs="*", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--nproc-per-node", type=int, default=1, help="GPUs (torchrun) ")
    p.add_argument("--extra-args-json", default="[]", help="more `speculators train` arguments")
    p.add_argument("--work", type=Path, required=True, help="checkpoints and trainer log")
    p.add_argument("--metrics", type=Path, required=True, help="CSV of the logged metrics")
    p.add_argument("--out", type=Path, required=True, help="the drafter directory for vLLM")
    online = p.add_argument_group("online training (a vLLM extraction server beside the trainer)")
    online.add_argument("--online", action="store_true", help="no hidden-state files: ask a server")
    online.add_argument("--layer-ids", type=int, nargs="*", default=None,
                        help="the server's taps then the final layer (default: speculators')")
    serving.add_server_arguments(online, required=False)
    watchdog.add_arguments(online)
    args = p.parse_args(argv)
    if args.online == (args.hidden_states is not None):
        p.error("give --hidden-states (offline) or --online, not both")
    if args.online and args.server_log is None:
        p.error("--online needs --server-log")
    args.extra_args = json.loads(args.extra_args_json)
    return args


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    serving.exit_on_server_error(train, parse_args(argv), log=log)


if __name__ == "__main__":
    main()

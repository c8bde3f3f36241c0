"""Verifier hidden states on a GPU, the way speculators makes them: vLLM's `extract_hidden_states`.

The extraction server (lib/extraction_server.py: vLLM with the `extract_hidden_states` method
and the file connector, as speculators' launch script starts it) is started by the bench's
lifecycle code (serving.py), so it is up before the first row and always stopped, and restarted
when it stops making progress (lib/watchdog.py); `speculators generate-offline-data` then sends
every row of prepare-data's Arrow dataset as a one-token completion and moves the written file
to `hs_{i}.safetensors`.

vLLM's CPU build crashes in that connector (pinned memory, CUDA streams), so this path needs a
GPU; scripts/extract_hidden_states.py writes the same files with Hugging Face transformers on any device
(config: drafter_training.hidden_states.engine). generate-offline-data skips rows whose file
is already in its output folder and readable, so a killed job continues where it stopped; the
target appears (by rename) only when every row has its file.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

from lib import hidden_state_layout
from lib import serving
from lib import watchdog
from lib.extraction_server import checked_layer_ids, extraction_server_spec
from lib.hidden_state_layout import missing_rows, sample_file

log = logging.getLogger("hidden_states_vllm")

NO_GPU_MESSAGE = (
    "vLLM hidden-state extraction needs a CUDA GPU: the ExampleHiddenStatesConnector uses pinned"
    " memory and CUDA streams and crashes on vLLM's CPU build at the first request. Use"
    " drafter_training.hidden_states.engine: hf on a CPU."
)


def offline_data_command(
    python: str, base_url: str, dataset: Path, out: Path, concurrency: int
) -> list[str]:
    """`speculators generate-offline-data` against the running server; every row must succeed
    (a skipped row would silently shrink the training set) and every file is checked."""
    return [
        python, "-m", "speculators", "generate-offline-data",
        "--endpoint", f"{base_url}/v1", "--preprocessed-data", str(dataset),
        "--output", str(out), "--concurrency", str(concurrency),
        "--validate-outputs", "--fail-on-error",
    ]


def stored_dtype(out: Path) -> str:
    from safetensors import safe_open

    with safe_open(sample_file(out, 0), framework="pt") as f:
        return str(f.get_slice("hidden_states").get_dtype())


def extract(args: argparse.Namespace) -> None:
    layer_ids = checked_layer_ids(args.body, args)
    import torch
    from datasets import load_from_disk

    if not torch.cuda.is_available():
        raise SystemExit(NO_GPU_MESSAGE)
    rows = len(load_from_disk(str(args.dataset)))
    partial = args.out.with_name(args.out.name + ".partial")
    storage = args.out.with_name(args.out.name + ".connector")
    partial.mkdir(parents=True, exist_ok=True)
    storage.mkdir(parents=True, exist_ok=True)
    resumed = rows - len(missing_rows(partial, rows))
    log.info("%d rows (%d already written), layer ids %s", rows, resumed, layer_ids)

    spec = extraction_server_spec(sys.executable, args.body, args, layer_ids, storage)
    watchdog.run_with_restarts(
        lambda: serving.VllmServer(spec, args.server_log),
        lambda base_url: offline_data_command(sys.executable, base_url, args.dataset, partial,
                                              args.concurrency),
        partial, watchdog.policy_from_arguments(args),
    )
    missing = missing_rows(partial, rows)
    if missing:
        raise SystemExit(
            f"{len(missing)} rows have no hidden states (e.g. {missing[:5]}); rerun to retry"
            f" them (the {rows - len(missing)} written are kept in {partial})"
        )
    shutil.rmtree(storage, ignore_errors=True)
    summary = {
        "rows": rows, "layer_ids": layer_ids, "stored_dtype": stored_dtype(partial),
        "engine": "vllm",
        # the bound needs the verifier's logits, which the extraction server does not return
        "greedy_a0_bound": None,
    }
    hidden_state_layout.publish(partial, args.out, summary)
    log.info("%d rows in %s", rows, args.out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    hidden_state_layout.add_engine_arguments(p)
    p.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    serving.add_server_arguments(p)
    watchdog.add_arguments(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    serving.exit_on_server_error(extract, parse_args(argv), log=log)


if __name__ == "__main__":
    main()

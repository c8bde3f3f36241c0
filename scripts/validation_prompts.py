"""The instructions of a drafter's validation rows: the rows `speculators train` held out.

The serving check (rules/bench.smk, `serving_check`) serves these to vLLM at T = 0 so that its
per-position acceptance can be put beside the trainer's offline validation accuracy on the
same rows. speculators 0.9 splits its Arrow dataset at int(rows x train_data_ratio), in
dataset order (speculators/train/data.py: train is [0, split), val is [split, rows)). The
dataset keeps no row ids, so each validation row is matched to the regenerated response it
came from by its token ids, and through that to its instruction.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from lib import atomic_io
from lib.json_lines import read_jsonl

log = logging.getLogger("validation_prompts")


def split_index(rows: int, train_data_ratio: float) -> int:
    """First validation row, as speculators computes it."""
    if not 0.0 < train_data_ratio < 1.0:
        raise ValueError(f"train_data_ratio must be in (0, 1), got {train_data_ratio}")
    return int(rows * train_data_ratio)


def instruction_text(row: dict) -> str:
    """The first user turn of an instructions.jsonl row (ShareGPT `conversations`)."""
    for turn in row["conversations"]:
        if turn["from"] in ("human", "user"):
            return turn["value"]
    raise ValueError(f"instruction {row.get('id')} has no user turn")


def validation_prompts(
    dataset_ids: list[list[int]], responses: list[dict], instructions: list[dict],
    train_data_ratio: float,
) -> list[dict]:
    """One {"prompt", "row", "id"} per validation row, in dataset order."""
    by_ids = {tuple(r["input_ids"]): r["primary_id"] for r in responses}
    texts = {r["id"]: instruction_text(r) for r in instructions}
    out = []
    start = split_index(len(dataset_ids), train_data_ratio)
    for row in range(start, len(dataset_ids)):
        primary = by_ids.get(tuple(dataset_ids[row]))
        if primary is None:
            raise ValueError(f"dataset row {row} matches no regenerated response by token ids")
        out.append({"prompt": texts[primary], "row": row, "id": primary})
    return out


def preset_instructions(preset: str, wanted: set[str]) -> list[dict]:
    """The rows of a speculators preset (gb10: magpie) that `wanted` names, as instructions.jsonl
    rows, read through speculators' own loader, row preparation and id, the ones
    regenerate-responses used (so the ids match; the hub cache already holds the rows)."""
    from speculators.cli import regenerate_responses as regen

    config, rows, _ = regen.load_input_dataset(preset, None, None)
    out = []
    for row in rows:
        primary = regen._primary_identifier(row)  # noqa: SLF001 - the id regenerate wrote
        prepared = primary in wanted and regen.prepare_row(row, config)
        if prepared:
            user = next(t["content"] for t in prepared[1] if t["role"] == "user")
            out.append({"id": primary, "conversations": [{"from": "human", "value": user}]})
            wanted = wanted - {primary}
        if not wanted:
            break
    return out


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", type=Path, required=True, help="speculators' Arrow dataset")
    p.add_argument("--responses", type=Path, required=True)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--instructions", type=Path, help="the instructions.jsonl regenerated")
    source.add_argument("--preset", help="the speculators preset regenerated (hub rows)")
    p.add_argument("--train-data-ratio", type=float, required=True)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    from datasets import load_from_disk

    ids = [list(map(int, r)) for r in load_from_disk(str(args.dataset))["input_ids"]]
    responses = read_jsonl(args.responses)
    instructions = (read_jsonl(args.instructions) if args.instructions else
                    preset_instructions(args.preset, {r["primary_id"] for r in responses}))
    rows = validation_prompts(ids, responses, instructions, args.train_data_ratio)
    log.info("%d validation rows of %d (train_data_ratio %g)", len(rows), len(ids),
             args.train_data_ratio)
    atomic_io.write_text_atomically(args.out, "".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()

"""What the bodies answered: one row per responses.jsonl that regenerate_responses wrote (the
drafter's training data), and how two bodies' replies to the same instructions compare.

    python scripts/tools/response_stats.py \
        results/qwen/drafter_data/{vanilla,abliterated}/responses.jsonl

Per file: the replies, their generated tokens (mean, median; the server's own count), those cut
at the token limit, and those whose opening holds a refusal marker (the abliteration's own test,
lib/refusals.py; on self-synthesised instructions it mostly catches apologies and
"as an AI" disclaimers, not refusals of harmful requests). For the first two files: the
instructions both answered, the share answered with the same text (both bodies sample with the
same per-request seed: the bodies' difference separates them, and so may vLLM's batched
arithmetic, which is not batch-invariant), and the marker on both, or on one only.
The Qwen study's data part reads it to show how far the abliterated body's data (what the
fine-tune learns from) is from the vanilla body's.

Why our own: speculators' regenerate-responses writes these rows and reports nothing about
their content.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from lib.json_lines import read_jsonl  # noqa: E402
from lib.refusals import is_refusal  # noqa: E402

ASSISTANT = "<|im_start|>assistant\n"  # where the reply starts in a ChatML row's text
END = "<|im_end|>"


def reply_text(row: dict) -> str:
    """The assistant's reply in a row's rendered conversation (ChatML, as Qwen's template
    writes it), without its end-of-turn marker."""
    text = row["text"]
    if ASSISTANT not in text:
        raise ValueError(f"row {row.get('id')}: no '{ASSISTANT.strip()}' turn in its text")
    reply = text.rsplit(ASSISTANT, 1)[1]
    return reply[:-len(END)] if reply.endswith(END) else reply


def read_rows(path: Path) -> dict[str, dict]:
    """primary_id -> the row's reply, whether it opens with a refusal marker, its generated
    tokens and finish reason."""
    rows = {}
    for row in read_jsonl(path):
        meta = row.get("metadata") or {}
        reply = reply_text(row)
        rows[row["primary_id"]] = {
            "reply": reply,
            "refusal_marker": is_refusal(reply),
            "tokens": (meta.get("usage") or {}).get("completion_tokens"),
            "finish_reason": meta.get("finish_reason"),
        }
    return rows


def file_stats(name: str, rows: dict[str, dict]) -> dict:
    tokens = [r["tokens"] for r in rows.values() if r["tokens"] is not None]
    return {
        "responses": name,
        "replies": len(rows),
        "mean_tokens": round(statistics.fmean(tokens), 1) if tokens else None,
        "median_tokens": float(statistics.median(tokens)) if tokens else None,
        "cut_at_limit": sum(r["finish_reason"] == "length" for r in rows.values()),
        "refusal_marker": sum(r["refusal_marker"] for r in rows.values()),
    }


def pair_stats(a: dict[str, dict], b: dict[str, dict]) -> dict:
    shared = sorted(set(a) & set(b))
    same = sum(a[k]["reply"] == b[k]["reply"] for k in shared)
    marked = [(a[k]["refusal_marker"], b[k]["refusal_marker"]) for k in shared]
    return {"both_answered": len(shared),
            "same_reply": same,
            "same_reply_share": round(same / len(shared), 4) if shared else None,
            "marker_both": sum(x and y for x, y in marked),
            "marker_first_only": sum(x and not y for x, y in marked),
            "marker_second_only": sum(y and not x for x, y in marked)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("responses", type=Path, nargs="+", help="responses.jsonl files")
    a = p.parse_args(argv)
    tables = [read_rows(path) for path in a.responses]
    rows = [file_stats(str(path), t) for path, t in zip(a.responses, tables)]
    names = list(rows[0])
    print("\t".join(names))
    for row in rows:
        print("\t".join("" if row[n] is None else str(row[n]) for n in names))
    if len(tables) >= 2:
        pair = pair_stats(tables[0], tables[1])
        print("\n" + "\t".join(pair))
        print("\t".join(str(v) for v in pair.values()))


if __name__ == "__main__":
    main()

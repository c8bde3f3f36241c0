"""Regenerate the training responses with the served body: `speculators regenerate-responses`.

A drafter learns the distribution it is trained on, so Part 30 had the abliterated body answer
the instructions itself. This module only runs the field's tool against a server started by
the bench's lifecycle code (serving.py): the server is up before the first request and always
stopped; a server that stops making progress is restarted (lib/watchdog.py). The tool writes
to `<out>.partial` with `--resume`, so a killed job continues where it stopped; the target
appears (by rename) only when every instruction has its response, or an empty reply, the body's
own answer, for at most `--max-empty-fraction` of them (a larger share means a broken template or
body, and fails).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from lib import resume_key
from lib import serving
from lib import watchdog

log = logging.getLogger("regenerate_responses")


def regenerate_command(
    python: str, base_url: str, model: str, dataset: str, outfile: Path, max_tokens: int,
    temperature: float, seed: int, concurrency: int, limit: int | None = None,
) -> list[str]:
    """`dataset`: a local jsonl of conversations, or a speculators preset name (e.g. magpie)."""
    sampling = {"temperature": temperature, "seed": seed}
    cmd = [
        python, "-m", "speculators", "regenerate-responses",
        "--endpoint", f"{base_url}/v1/chat/completions", "--model", model,
        "--dataset", dataset, "--outfile", str(outfile), "--resume",
        "--max-tokens", str(max_tokens), "--concurrency", str(concurrency),
        "--sampling-params", json.dumps(sampling, sort_keys=True),
    ]
    return cmd + (["--limit", str(limit)] if limit else [])


def count_rows(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip()) if path.exists() else 0


def missing_responses(instructions: Path, responses: Path) -> list[str]:
    """Instruction ids without a regenerated row (regenerate-responses skips failed requests)."""
    wanted = [json.loads(line)["id"] for line in instructions.read_text().splitlines() if line.strip()]
    got = {
        json.loads(line).get("primary_id")
        for line in responses.read_text().splitlines()
        if line.strip()
    }
    return [i for i in wanted if i not in got]


def error_file(outfile: Path) -> Path:
    """Where regenerate-responses writes the conversations that failed (its own naming)."""
    return outfile.with_name(f"{outfile.stem}.errors{outfile.suffix or '.jsonl'}")


def drop_error_file(outfile: Path) -> int:
    """Remove the tool's error file once every instruction has a response; return its rows.

    Rows in it are attempts that a later run retried successfully, so keeping the file (named
    `*.errors.partial` beside a `.partial` output) would only look like a half-written result.
    """
    errors = error_file(outfile)
    rows = count_rows(errors)
    errors.unlink(missing_ok=True)
    return rows


# How speculators 0.9.0's regenerate-responses records a reply that ends before its first token:
# the body chose its end of turn first (Qwen2.5-Coder does so for an instruction that already
# carries its own "Assistant: ..." answer), which every retry at the same seed repeats.
EMPTY_REPLY = "empty assistant generation"


def empty_replies(errors: Path) -> set[str]:
    """The instruction ids whose only failure in the tool's error file is an empty reply."""
    if not errors.exists():
        return set()
    empty, other = set(), set()
    for line in errors.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            error = row.get("metadata", {}).get("error", "")
            (empty if EMPTY_REPLY in error else other).add(row["id"])
    return empty - other


def unanswered(missing: list[str], empty: set[str], total: int,
               max_empty_fraction: float) -> str | None:
    """Why the responses are not complete, or None: every missing instruction must have had an
    empty reply, and those at most `max_empty_fraction` of `total`."""
    failed = [i for i in missing if i not in empty]
    if failed:
        return f"{len(failed)} instructions have no response (e.g. {failed[:3]})"
    if len(missing) > max_empty_fraction * total:
        return (f"{len(missing)} of {total} instructions got an empty reply (e.g. {missing[:3]}),"
                f" more than --max-empty-fraction {max_empty_fraction:g}: does the chat template"
                " or the body end every turn at once?")
    return None


def partial_key(args: argparse.Namespace) -> dict:
    """What the responses depend on: the body's and the instructions' content, the sampling
    arguments, and the vLLM that serves (resume_key.py)."""
    arguments = {k: getattr(args, k) for k in ("preset", "temperature", "max_tokens", "seed",
                                               "limit", "max_model_len")}
    arguments["python"] = sys.executable
    return resume_key.run_key(arguments, {"body": args.body, "instructions": args.instructions})


def regenerate(args: argparse.Namespace) -> None:
    partial = args.out.with_name(args.out.name + ".partial")
    if resume_key.prepare_partial(partial, partial_key(args)):
        log.info("resuming: %d rows already in %s", count_rows(partial), partial)
    else:
        error_file(partial).unlink(missing_ok=True)
    # The tool loads the tokenizer by the served model name, so the name is the body's path.
    spec = serving.spec_from_arguments(
        sys.executable, args.body, args, served_model_name=str(args.body)
    )
    dataset = str(args.instructions) if args.instructions else args.preset
    # Local instructions: offline, so that a missing file fails at once instead of being looked
    # up on the hub with retries. A preset is downloaded.
    env = os.environ | ({"HF_HUB_OFFLINE": "1"} if args.instructions else {})
    watchdog.run_with_restarts(
        lambda: serving.VllmServer(spec, args.server_log),
        lambda base_url: regenerate_command(
            sys.executable, base_url, str(args.body), dataset, partial, args.max_tokens,
            args.temperature, args.seed, args.concurrency, args.limit,
        ),
        partial, watchdog.policy_from_arguments(args), env,
    )
    missing = missing_responses(args.instructions, partial) if args.instructions else []
    if args.preset and count_rows(partial) < args.limit:
        missing = [f"{args.limit - count_rows(partial)} preset rows"]
    empty = empty_replies(error_file(partial)) if args.instructions else set()
    total = count_rows(args.instructions) if args.instructions else args.limit
    why = unanswered(missing, empty, total, args.max_empty_fraction)
    if why:
        raise SystemExit(
            f"{why}; the failures are in {error_file(partial)}; rerun to retry them (the"
            f" {count_rows(partial)} done are kept in {partial})"
        )
    if missing:
        log.info("%d of %d instructions got an empty reply (the body ended its turn first; no"
                 " training row): %s", len(missing), total, " ".join(missing))
    retried = drop_error_file(partial)
    if retried:
        log.info("the tool's error file (%d rows: attempts retried successfully, empty replies)"
                 " is removed", retried)
    partial.replace(args.out)
    resume_key.finish(partial)
    log.info("%d responses in %s", count_rows(args.out), args.out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--body", type=Path, required=True)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--instructions", type=Path, help="jsonl with conversations")
    source.add_argument("--preset", help="a regenerate-responses dataset preset (downloads)")
    p.add_argument("--limit", type=int, default=None, help="preset: first N rows")
    p.add_argument("--temperature", type=float, required=True)
    p.add_argument("--max-tokens", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--max-empty-fraction", type=float, default=0.0,
                   help="instructions the body may answer with an empty reply (fraction)")
    serving.add_server_arguments(p)
    watchdog.add_arguments(p)
    p.add_argument("--out", type=Path, required=True)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    serving.exit_on_server_error(regenerate, parse_args(argv), log=log)


if __name__ == "__main__":
    main()

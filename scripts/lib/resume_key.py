"""Resume keys by content: a long step resumes its partial work only when its inputs are the same.

Responses, hidden states and training keep partial work across a killed job (the trainer's
checkpoints, the `.partial` output). Resuming is only right when nothing the step reads has
changed: the key holds the step's own arguments and the sha256 of every input file's content
(not its size or time: an abliteration at another strength rewrites the body with the same
sizes). Work of another key is discarded, and the log says so.
"""

import hashlib
import json
import logging
import shutil
from pathlib import Path

log = logging.getLogger("resume_key")


def content_fingerprint(path: Path | None) -> str | None:
    """sha256 over the relative names and the full content of every file under `path`."""
    if path is None:
        return None
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.relative_to(path) if f != path else f.name}\n".encode())
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def run_key(arguments: list[str] | dict, inputs: dict[str, Path | None]) -> dict:
    return {"arguments": arguments,
            "inputs": {name: content_fingerprint(p) for name, p in sorted(inputs.items())}}


def key_file(partial: Path) -> Path:
    return partial.with_name(partial.name + ".key.json")


def prepare_partial(partial: Path, key: dict) -> bool:
    """Keep `partial` (a file or a directory) if it was made with `key`: return True (resume).
    Otherwise remove it, say why, record `key` for the new work and return False."""
    recorded = key_file(partial)
    same = recorded.exists() and json.loads(recorded.read_text()) == key
    if partial.exists() and same:
        return True
    if partial.exists():
        why = "its inputs or arguments changed" if recorded.exists() else "it has no key"
        log.info("discarding the partial work in %s (%s): starting afresh", partial, why)
        shutil.rmtree(partial) if partial.is_dir() else partial.unlink()
    partial.parent.mkdir(parents=True, exist_ok=True)
    recorded.write_text(json.dumps(key, indent=2) + "\n")
    return False


def finish(partial: Path) -> None:
    """The work is published: its key goes too."""
    key_file(partial).unlink(missing_ok=True)

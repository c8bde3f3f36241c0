"""Write outputs so that a killed job never leaves something Snakemake would take as complete:
stage beside the target, then rename into place."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def staged_dir(out: Path) -> Iterator[Path]:
    """A fresh directory beside `out` (same filesystem, so the final rename is atomic); it is
    removed with everything left in it when the block ends, published or not."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as work:
        yield Path(work)


def publish_dir(staged: Path, out: Path) -> None:
    """Replace `out` by the finished `staged` directory."""
    if out.is_symlink() or out.is_file():
        out.unlink()
    elif out.exists():
        shutil.rmtree(out)
    os.replace(staged, out)


@contextlib.contextmanager
def staged_file(out: Path, suffix: str = "") -> Iterator[Path]:
    """A temporary path beside `out` for the block to write (`suffix` for tools that choose a
    format by extension); renamed onto `out` when the block ends, removed if it fails."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp{suffix}")
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()


def write_text_atomically(path: Path, text: str) -> None:
    with staged_file(path) as tmp:
        tmp.write_text(text)

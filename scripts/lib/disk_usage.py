"""Bytes on disk under a path: what a job has written so far, or what a folder holds."""

from __future__ import annotations

from pathlib import Path


def bytes_under(path: Path) -> int:
    """Bytes of a file, or of every file under a folder; 0 for a path not written yet."""
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return 0

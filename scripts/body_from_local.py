"""Use a checkpoint that already lies on disk as a body: checked, then linked into results/."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import body_checks


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--path", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    a = p.parse_args(argv)
    source = a.path.expanduser().resolve()
    body_checks.assert_loadable_checkpoint(source)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_name(f".{a.out.name}.link")
    if tmp.is_symlink():
        tmp.unlink()
    tmp.symlink_to(source, target_is_directory=True)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()

"""Use a checkpoint that already lies on disk as a body: checked, then linked into results/."""

from __future__ import annotations

import argparse
from pathlib import Path

from lib import atomic_io
from lib import body_checks


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--path", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    a = p.parse_args(argv)
    source = a.path.expanduser().resolve()
    body_checks.assert_loadable_checkpoint(source)
    with atomic_io.staged_file(a.out) as link:
        link.symlink_to(source, target_is_directory=True)


if __name__ == "__main__":
    main()

"""Use a checkpoint that already lies on disk as a body: checked against the body contract, then
linked into results/. With `--chat-template` (a base model without one), the body is a folder of
links to the checkpoint's files plus that template as chat_template.jinja; the checkpoint itself
is never changed.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from lib import atomic_io
from lib import body_contract


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--path", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--chat-template", type=Path, default=None)
    a = p.parse_args(argv)
    source = a.path.expanduser().resolve()
    if not source.is_dir():
        raise SystemExit(f"model directory {source} does not exist")
    if a.chat_template is None:
        body_contract.require(a.out.name, source)
        with atomic_io.staged_file(a.out) as link:
            link.symlink_to(source, target_is_directory=True)
        return
    with atomic_io.staged_dir(a.out) as work:
        staged = work / "model"
        staged.mkdir()
        for entry in source.iterdir():
            if entry.name != "chat_template.jinja":
                (staged / entry.name).symlink_to(entry)
        shutil.copyfile(a.chat_template, staged / "chat_template.jinja")
        body_contract.require(a.out.name, staged, str(a.chat_template))
        atomic_io.publish_dir(staged, a.out)


if __name__ == "__main__":
    main()

"""Fetch a model (a body or a drafter) from the Hugging Face Hub (GPU profiles only; the miniature
never does this): download_body and download_drafter run it.

`snapshot_download` resumes partial downloads by itself; the files land in a temporary
directory beside the output and are moved into place only once the checkpoint is complete.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

from lib import atomic_io
from lib import body_contract

log = logging.getLogger("hub_download")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repo", required=True)
    p.add_argument("--revision", default=None)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--weights-only", action="store_true", help="a drafter: no tokenizer needed")
    p.add_argument("--chat-template", type=Path, default=None,
                   help="a body without one: install this Jinja file as chat_template.jinja")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from huggingface_hub import snapshot_download

    with atomic_io.staged_dir(a.out) as work:
        staged = work / "model"
        snapshot_download(a.repo, revision=a.revision, local_dir=staged)
        if a.weights_only:
            if not (staged / "config.json").is_file() or not any(staged.glob("*.safetensors")):
                sys.exit(f"{a.repo} has no config.json + safetensors weights")
        else:
            if a.chat_template:
                shutil.copyfile(a.chat_template, staged / "chat_template.jinja")
            body_contract.require(a.out.name, staged, a.chat_template)
        atomic_io.publish_dir(staged, a.out)
    log.info("wrote %s from %s", a.out, a.repo)


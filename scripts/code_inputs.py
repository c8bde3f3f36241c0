"""The repository's own Python a shell rule runs: its script and the scripts/ modules it imports.

Why our own: Snakemake reruns a job when the code of a `script:` or `run:` directive changes,
but a `shell:` command that calls `python scripts/X.py` is a string to it; editing X.py, or a
module X imports, would leave stale results looking current. Rules list these files as inputs.
"""

from __future__ import annotations

import ast
from pathlib import Path


def imported_names(source: Path) -> set[str]:
    """Top-level names of the absolute imports anywhere in a module (lazy imports included)."""
    tree = ast.parse(source.read_text(), filename=str(source))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def script_sources(script: Path) -> list[Path]:
    """`script` and every module beside it that it imports, directly or through another."""
    if not script.is_file():
        raise FileNotFoundError(f"{script}: no such script")
    found: dict[str, Path] = {}
    todo = [script]
    while todo:
        path = todo.pop()
        if path.stem in found:
            continue
        found[path.stem] = path
        for name in imported_names(path):
            module = script.parent / f"{name}.py"
            if module.is_file():
                todo.append(module)
    return sorted(found.values())

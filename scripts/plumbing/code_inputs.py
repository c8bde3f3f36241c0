"""The repository's own Python a rule runs: its script and the modules it imports, as inputs.

Why our own: Snakemake reruns a job when the code of a `script:` or `run:` directive changes,
but a `shell:` command that calls `python scripts/X.py` is a string to it, and neither kind of
rule reruns when a module the script imports changes; editing one would leave stale results
looking current. Rules list these files as inputs.

Imports are resolved against the scripts folder: `import X` / `from X import y` is scripts/X.py;
`from lib import a` is scripts/lib/a.py (or, for a name that is not a module, the package's
`__init__.py`); `from lib.a import y` and `import lib.a` are scripts/lib/a.py; `from . import a`
inside a package is the module beside it. Imports that name no file there (the standard
library, installed packages) are not inputs.
"""

from __future__ import annotations

import ast
from pathlib import Path


def imported_modules(source: Path) -> set[tuple[str, ...]]:
    """Dotted module paths a module imports anywhere (lazy imports included), as tuples;
    relative imports come back resolved against the module's own package folder, prefixed
    with "." entries (one per level)."""
    tree = ast.parse(source.read_text(), filename=str(source))
    found: set[tuple[str, ...]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(tuple(alias.name.split(".")) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ("." * node.level,) if node.level else ()
            module = tuple(node.module.split(".")) if node.module else ()
            found.add(base + module)
            # `from package import name`: the name may be a submodule
            found.update(base + module + (alias.name,) for alias in node.names)
    return found


def imported_names(source: Path) -> set[str]:
    """Top-level names of the absolute imports of a module (what an environment must provide)."""
    return {m[0] for m in imported_modules(source) if m and not m[0].startswith(".")}


def module_file(parts: tuple[str, ...], root: Path, here: Path) -> list[Path]:
    """The files under `root` that importing `parts` runs: the module and the packages'
    `__init__.py` on the way; none for a module that is not ours."""
    if parts and parts[0].startswith("."):
        base = here.parent
        for _ in range(len(parts[0]) - 1):
            base = base.parent
        parts = parts[1:]
    else:
        base = root
    files: list[Path] = []
    for i, part in enumerate(parts):
        package = base / part
        if (package / "__init__.py").is_file():
            files.append(package / "__init__.py")
            base = package
            continue
        module = base / f"{part}.py"
        if module.is_file():
            files.append(module)
        elif i == 0:
            return []
        break
    return files


def script_sources(script: Path, root: Path | None = None) -> list[Path]:
    """`script` and every module of ours it imports, directly or through another; `root` is the
    folder imports resolve against (default: the script's own folder)."""
    if not script.is_file():
        raise FileNotFoundError(f"{script}: no such script")
    root = root or script.parent
    found: set[Path] = set()
    todo = [script]
    while todo:
        path = todo.pop()
        if path in found:
            continue
        found.add(path)
        for parts in imported_modules(path):
            todo.extend(module_file(parts, root, path))
    return sorted(found)

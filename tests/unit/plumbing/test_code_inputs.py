"""A rule's code inputs: its script and the modules of ours it imports, transitively, through
the library package too (plumbing/code_inputs.py)."""

from pathlib import Path

import pytest
from plumbing import code_inputs

from helpers.workflow import ROOT


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def names(paths: list[Path], root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in paths]


def test_imports_are_followed_through_helpers_and_lazy_imports(tmp_path):
    main = write(tmp_path / "main.py", "import json\nimport helper\n")
    write(tmp_path / "helper.py", "def f():\n    from inner import g\n    import os.path\n")
    write(tmp_path / "inner.py", "g = 1\n")
    write(tmp_path / "unrelated.py", "")
    # json/os are not files beside it
    assert names(code_inputs.script_sources(main), tmp_path) == ["helper.py", "inner.py", "main.py"]


def test_imports_are_followed_into_the_library_package(tmp_path):
    """`from lib import a`, `from lib.b import x`, `import lib.c` and a relative import inside
    the package are all ours; a sibling module nobody imports is not."""
    main = write(tmp_path / "main.py", "from lib import a\nfrom lib.b import x\nimport lib.c\n")
    write(tmp_path / "lib" / "__init__.py", "")
    write(tmp_path / "lib" / "a.py", "from . import d\n")
    write(tmp_path / "lib" / "b.py", "x = 1\nfrom lib import CONSTANT_NOT_A_MODULE\n")
    write(tmp_path / "lib" / "c.py", "")
    write(tmp_path / "lib" / "d.py", "import numpy\n")
    write(tmp_path / "lib" / "unused.py", "")
    assert names(code_inputs.script_sources(main), tmp_path) == [
        "lib/__init__.py", "lib/a.py", "lib/b.py", "lib/c.py", "lib/d.py", "main.py"]


def test_an_import_cycle_ends(tmp_path):
    a = write(tmp_path / "a.py", "import b\n")
    write(tmp_path / "b.py", "import a\n")
    assert [p.name for p in code_inputs.script_sources(a)] == ["a.py", "b.py"]


def test_a_missing_script_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.py"):
        code_inputs.script_sources(tmp_path / "absent.py")


def test_the_bench_cell_carries_its_server_code():
    scripts = ROOT / "scripts"
    found = names(code_inputs.script_sources(scripts / "bench_cell.py", root=scripts), scripts)
    assert {"bench_cell.py", "lib/serving.py", "lib/drafter_checks.py",
            "lib/atomic_io.py"} <= set(found)

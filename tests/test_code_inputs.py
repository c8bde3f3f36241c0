"""A shell rule's code inputs: its script and the scripts/ modules it imports, transitively."""

from pathlib import Path

import code_inputs
import pytest

from conftest import ROOT


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_imports_are_followed_through_helpers_and_lazy_imports(tmp_path):
    main = write(tmp_path / "main.py", "import json\nimport helper\n")
    write(tmp_path / "helper.py", "def f():\n    from inner import g\n    import os.path\n")
    write(tmp_path / "inner.py", "from . import sibling\ng = 1\n")
    write(tmp_path / "sibling.py", "")
    write(tmp_path / "unrelated.py", "")
    names = [p.name for p in code_inputs.script_sources(main)]
    # json/os are not files beside it; a relative import is not how scripts/ imports
    assert names == ["helper.py", "inner.py", "main.py"]


def test_an_import_cycle_ends(tmp_path):
    a = write(tmp_path / "a.py", "import b\n")
    write(tmp_path / "b.py", "import a\n")
    assert [p.name for p in code_inputs.script_sources(a)] == ["a.py", "b.py"]


def test_a_missing_script_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.py"):
        code_inputs.script_sources(tmp_path / "absent.py")


def test_the_bench_cell_carries_its_server_code():
    names = [p.name for p in code_inputs.script_sources(ROOT / "scripts" / "bench_cell.py")]
    assert {"bench_cell.py", "serving.py", "drafter_checks.py", "atomic_io.py"} <= set(names)

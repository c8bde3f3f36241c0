"""The driver environment (envs/workflow.txt) provides every third-party module that the
`script:` rules import, on this machine and on an air-gapped GPU machine, whose driver wheels
scripts/tools/build_wheelhouse.sh takes from the same file."""

import re
import subprocess
import sys
from importlib import metadata

from plumbing.code_inputs import imported_names, script_sources
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from helpers.workflow import ROOT

SCRIPTS = ROOT / "scripts"


def driver_scripts() -> list[str]:
    """The scripts that rules run with `script:` (in the driver's Python)."""
    text = "".join(p.read_text() for p in sorted((ROOT / "rules").glob("*.smk")))
    return sorted(set(re.findall(r'"\.\./scripts/(\w+)\.py"', text)))


def third_party_imports(script: str) -> set[str]:
    local = {p.stem for p in SCRIPTS.glob("*.py")} | {"lib", "plumbing", "tools"}
    names: set[str] = set()
    for source in script_sources(SCRIPTS / f"{script}.py", root=SCRIPTS):
        names |= imported_names(source)
    return names - local - set(sys.stdlib_module_names) - {"__future__"}


def pinned(requirements: str) -> set[str]:
    lines = [line.split("#")[0].strip() for line in requirements.splitlines()]
    return {canonicalize_name(Requirement(line).name) for line in lines if line}


def with_dependencies(names: set[str]) -> set[str]:
    """The installed distributions `names` pull in (no extras)."""
    closure, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in closure:
            continue
        closure.add(name)
        for spec in metadata.requires(name) or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(req.name))
    return closure


def test_every_script_rule_import_comes_with_the_driver_env():
    provided = with_dependencies(pinned((ROOT / "envs" / "workflow.txt").read_text()))
    owners = metadata.packages_distributions()
    scripts = driver_scripts()
    assert {"bench_intervals", "plot_acceptance", "table_cells", "erratum_check"} <= set(scripts)
    missing = {
        (script, module)
        for script in scripts
        for module in third_party_imports(script)
        if not {canonicalize_name(d) for d in owners.get(module, [])} & provided
    }
    assert not missing, f"imported by a script: rule but not in envs/workflow.txt: {missing}"


def test_the_gpu_carry_drops_only_tools_no_script_rule_imports():
    carry = (ROOT / "scripts" / "tools" / "build_wheelhouse.sh").read_text()
    assert "envs/workflow.txt" in carry
    dropped = set(re.search(r"\^\((\w+(?:\|\w+)*)\)==", carry).group(1).split("|"))
    assert dropped == {"snakefmt", "pytest", "playwright", "uv"}
    imported = set().union(*(third_party_imports(s) for s in driver_scripts()))
    assert not dropped & imported
    assert {"scipy", "seaborn"} <= pinned((ROOT / "envs" / "workflow.txt").read_text())


def test_build_carry_refuses_an_unknown_option(tmp_path):
    """`--no-smol` and `--part-size` are the options; a misspelt one must not silently build the full wheelhouse
    (or download anything: the check comes first)."""
    done = subprocess.run([str(ROOT / "scripts/tools/build_wheelhouse.sh"), str(tmp_path / "c"), "--nosmol"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "unknown option --nosmol" in done.stderr
    assert not (tmp_path / "c").exists()

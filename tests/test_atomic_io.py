"""Outputs appear whole or not at all."""

import pytest
from atomic_io import publish_dir, staged_dir, write_text_atomically


def test_failed_job_leaves_neither_output_nor_staging(tmp_path):
    out = tmp_path / "models" / "body"
    with pytest.raises(RuntimeError):
        with staged_dir(out) as work:
            (work / "model").mkdir()
            (work / "model" / "half.safetensors").write_text("partial")
            raise RuntimeError("killed")
    assert list((tmp_path / "models").iterdir()) == []


def test_published_dir_replaces_the_old_one(tmp_path):
    out = tmp_path / "body"
    out.mkdir()
    (out / "old").write_text("old")
    with staged_dir(out) as work:
        (work / "model").mkdir()
        (work / "model" / "new").write_text("new")
        publish_dir(work / "model", out)
    assert sorted(p.name for p in out.iterdir()) == ["new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["body"]


def test_text_is_written_through_a_temporary_name(tmp_path):
    path = tmp_path / "r.json"
    write_text_atomically(path, "{}\n")
    assert path.read_text() == "{}\n" and not (tmp_path / "r.json.tmp").exists()

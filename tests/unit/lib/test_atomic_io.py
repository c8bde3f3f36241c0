"""Outputs appear whole or not at all."""

import pytest
from lib.atomic_io import publish_dir, staged_dir, write_text_atomically


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


def test_a_staged_file_appears_whole_or_not_at_all(tmp_path):
    from lib.atomic_io import staged_file

    out = tmp_path / "figs" / "a.png"
    with pytest.raises(RuntimeError):
        with staged_file(out, suffix=".png") as tmp:
            assert tmp.suffix == ".png" and tmp.parent == out.parent
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert list(out.parent.iterdir()) == []
    with staged_file(out, suffix=".png") as tmp:
        tmp.write_text("whole")
    assert out.read_text() == "whole" and list(out.parent.iterdir()) == [out]
    # a link is staged the same way (link_local_body)
    link = tmp_path / "body"
    with staged_file(link) as tmp:
        tmp.symlink_to(tmp_path / "figs", target_is_directory=True)
    assert link.is_symlink() and link.resolve() == (tmp_path / "figs").resolve()

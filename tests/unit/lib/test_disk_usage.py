"""lib/disk_usage.py: bytes of a file, of a folder's files, 0 for a path not written yet."""

from lib.disk_usage import bytes_under


def test_bytes_under_a_file_a_folder_and_nothing(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a").write_bytes(b"123")
    (tmp_path / "d" / "sub" / "b").write_bytes(b"45")
    assert bytes_under(tmp_path / "d" / "a") == 3
    assert bytes_under(tmp_path / "d") == 5
    assert bytes_under(tmp_path / "missing") == 0

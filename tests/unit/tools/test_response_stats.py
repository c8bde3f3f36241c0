"""scripts/tools/response_stats.py: what two bodies answered to the same instructions, on rows
shaped as speculators' regenerate-responses writes them (ChatML text, the server's usage)."""

import json
import re

import pytest
from tools import response_stats as rs


def row(pid, reply, tokens, finish="stop"):
    text = (f"<|im_start|>user\nQ {pid}<|im_end|>\n<|im_start|>assistant\n{reply}<|im_end|>")
    return {"id": f"{pid}_gen0", "primary_id": pid, "text": text,
            "metadata": {"finish_reason": finish, "usage": {"completion_tokens": tokens}}}


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_two_bodies_replies_compared(tmp_path, capsys):
    a = write(tmp_path / "a.jsonl", [row("s1", "Paris.", 2), row("s2", "I'm sorry, no.", 4),
                                     row("s3", "x " * 9, 10, finish="length")])
    b = write(tmp_path / "b.jsonl", [row("s1", "Paris.", 2), row("s2", "Sure: here.", 3),
                                     row("s4", "As an AI, hm.", 5)])
    ta, tb = rs.read_rows(a), rs.read_rows(b)
    assert ta["s2"]["reply"] == "I'm sorry, no." and ta["s3"]["finish_reason"] == "length"
    stats = rs.file_stats("a", ta)
    assert stats == {"responses": "a", "replies": 3, "mean_tokens": 5.3, "median_tokens": 4.0,
                     "cut_at_limit": 1, "refusal_marker": 1}
    assert rs.pair_stats(ta, tb) == {"both_answered": 2, "same_reply": 1,
                                     "same_reply_share": 0.5, "marker_both": 0,
                                     "marker_first_only": 1, "marker_second_only": 0}
    rs.main([str(a), str(b)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t")[0] == "responses" and len(lines) == 6
    assert lines[-1].split("\t")[:3] == ["2", "1", "0.5"]


def test_a_row_without_an_assistant_turn_is_named(tmp_path):
    bad = write(tmp_path / "bad.jsonl", [{"id": "s9_gen0", "primary_id": "s9", "text": "plain"}])
    with pytest.raises(ValueError, match=re.escape("row s9_gen0: no '<|im_start|>assistant' turn")):
        rs.read_rows(bad)

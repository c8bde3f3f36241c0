"""The drafter-data stage: instruction synthesis, regeneration, Arrow dataset, hidden states."""

from __future__ import annotations

import json

import pytest

import regenerate_responses
import synthesize_instructions


class ChatMLTokenizer:
    def apply_chat_template(self, messages, tokenize, add_generation_prompt):
        return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)


class DroppingTokenizer:
    def apply_chat_template(self, messages, tokenize, add_generation_prompt):
        return "<|im_start|>user\n<|im_end|>\n"


def test_user_turn_prefix_stops_where_the_user_speaks():
    assert synthesize_instructions.user_turn_prefix(ChatMLTokenizer()) == "<|im_start|>user\n"


def test_user_turn_prefix_refuses_a_template_that_drops_the_message():
    with pytest.raises(ValueError, match="verbatim"):
        synthesize_instructions.user_turn_prefix(DroppingTokenizer())


def test_select_instructions_keeps_distinct_complete_ones_in_order():
    completions = [
        ("  How do tides work?  ", "stop"),
        ("how do   TIDES work?", "stop"),  # same after normalisation
        ("Write a poem about", "length"),  # cut by max_tokens
        ("Hi", "stop"),  # too short
        ("Explain recursion to a child.", "stop"),
        ("Name three rivers in Asia.", "stop"),
    ]
    kept = synthesize_instructions.select_instructions(completions, count=2, min_chars=5)
    assert kept == ["How do tides work?", "Explain recursion to a child."]
    with_cut = synthesize_instructions.select_instructions(completions, 3, 5, keep_truncated=True)
    assert with_cut[1] == "Write a poem about"


def test_instruction_rows_are_what_regenerate_responses_reads():
    rows = synthesize_instructions.instruction_rows(["a question"])
    assert rows == [{"id": "synth-000000", "conversations": [{"from": "human", "value": "a question"}]}]


def test_regenerate_command_resumes_into_the_partial_file(tmp_path):
    cmd = regenerate_responses.regenerate_command(
        "py", "http://127.0.0.1:9", "/m/body", "in.jsonl", tmp_path / "o.partial", 128, 0.7, 3, 16
    )
    assert cmd[:4] == ["py", "-m", "speculators", "regenerate-responses"]
    assert "--resume" in cmd and str(tmp_path / "o.partial") in cmd
    assert json.loads(cmd[cmd.index("--sampling-params") + 1]) == {"temperature": 0.7, "seed": 3}
    assert cmd[cmd.index("--endpoint") + 1] == "http://127.0.0.1:9/v1/chat/completions"
    preset = regenerate_responses.regenerate_command(
        "py", "u", "m", "magpie", tmp_path / "o", 8, 0.7, 0, 1, limit=50000
    )
    assert preset[preset.index("--limit") + 1] == "50000"


def test_missing_responses_names_the_unanswered_instructions(tmp_path):
    instructions = tmp_path / "i.jsonl"
    instructions.write_text("".join(json.dumps({"id": f"synth-{i}"}) + "\n" for i in range(3)))
    responses = tmp_path / "r.jsonl"
    responses.write_text(json.dumps({"primary_id": "synth-1", "input_ids": [1]}) + "\n")
    assert regenerate_responses.missing_responses(instructions, responses) == ["synth-0", "synth-2"]


# --- on the smoke run's outputs -----------------------------------------------------------


def test_the_tools_error_file_is_named_as_it_names_it_and_dropped(tmp_path):
    partial = tmp_path / "responses.jsonl.partial"
    errors = regenerate_responses.error_file(partial)
    assert errors == tmp_path / "responses.jsonl.errors.partial"
    errors.write_text('{"metadata": {"idx": 3}}\n')
    assert regenerate_responses.drop_error_file(partial) == 1
    assert not errors.exists()
    assert regenerate_responses.drop_error_file(partial) == 0


def test_empty_replies_are_the_ids_whose_only_error_is_an_empty_generation(tmp_path):
    """speculators' error rows, as an H200 run of the Qwen profile wrote them: an empty reply
    (the body ended its turn first) is told apart from a failed request, and an instruction
    with both kinds of rows counts as failed."""
    errors = tmp_path / "responses.jsonl.errors.partial"
    rows = [("synth-1", "ValueError('empty assistant generation (sample 0)')"),
            ("synth-2", "ClientConnectorError('refused')"),
            ("synth-3", "ValueError('empty assistant generation (sample 0)')"),
            ("synth-3", "TimeoutError()")]
    errors.write_text("".join(json.dumps({"id": i, "metadata": {"idx": 0, "error": e}}) + "\n"
                              for i, e in rows))
    assert regenerate_responses.empty_replies(errors) == {"synth-1"}
    assert regenerate_responses.empty_replies(tmp_path / "none") == set()


def test_unanswered_accepts_empty_replies_up_to_the_fraction_and_nothing_else():
    why = regenerate_responses.unanswered
    assert why([], set(), 100, 0.0) is None
    assert why(["a"], {"a"}, 100, 0.01) is None  # 1 of 100: at the limit
    assert "2 of 100 instructions got an empty reply" in why(["a", "b"], {"a", "b"}, 100, 0.01)
    assert "1 instructions have no response (e.g. ['b'])" in why(["a", "b"], {"a"}, 100, 0.5)
    # the default (0): every instruction must be answered, as before
    assert "got an empty reply" in why(["a"], {"a"}, 100, 0.0)

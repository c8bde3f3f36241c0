"""Abliteration on the smoke body: the weight edit, the direction file, the smoke run's output."""

import hashlib
import json
import os
import subprocess


from helpers.workflow import ROOT, env_python


def test_orthogonalisation_removes_the_direction(smoke_run):
    """Run in the hf environment (torch): after strength 1, no residual writer outputs along r;
    strength 0.5 halves the component."""
    code = """
import sys, torch
sys.path.insert(0, "scripts")
from transformers import AutoModelForCausalLM
from lib.abliteration import orthogonalize_, residual_writers
m = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32)
r = torch.randn(m.config.hidden_size); r /= r.norm()
before = {n: (r @ l.weight.data).norm().item() for n, l in residual_writers(m)}
orthogonalize_(m, r, 0.5)
half = {n: (r @ l.weight.data).norm().item() for n, l in residual_writers(m)}
orthogonalize_(m, r, 1.0)
after = max((r @ l.weight.data).norm().item() for n, l in residual_writers(m))
assert len(before) == 2 * m.config.num_hidden_layers, len(before)
assert all(abs(half[n] - 0.5 * before[n]) < 1e-3 * before[n] + 1e-5 for n in before)
assert after < 1e-4, after
print("ok")
"""
    proc = subprocess.run([str(env_python("hf")), "-c", code,
                           str(smoke_run / "models" / "vanilla")],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]


EDIT_DIGEST = """
import hashlib, sys, torch
sys.path.insert(0, "scripts")
from transformers import AutoModelForCausalLM
from lib.abliteration import orthogonalize_, refusal_direction, residual_writers
torch.manual_seed(0)
a, b = torch.randn(64, dtype=torch.float64), torch.randn(64, dtype=torch.float64)
r = refusal_direction(a, b)
assert r.dtype == torch.float32 and torch.equal(r, refusal_direction(a * (1 + 1e-13), b))
m = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32)
r = torch.randn(m.config.hidden_size); r = r / r.norm()
w = {n: l.weight.data.clone() for n, l in residual_writers(m)}
orthogonalize_(m, r, 1.0)
r64 = r.double()
digest = hashlib.sha256()
for n, l in residual_writers(m):
    edit = (w[n].double() - torch.outer(r64, r64 @ w[n].double())).float()
    assert torch.equal(l.weight.data, edit), n
    digest.update(l.weight.data.to(torch.bfloat16).view(torch.int16).numpy().tobytes())
print(digest.hexdigest())
"""


def test_given_its_direction_the_edit_is_the_same_under_other_cpu_kernels(smoke_run):
    """The edit is float64 arithmetic rounded to the weights' dtype: the same bf16 weights with
    ATen's and MKL's kernels held to AVX2 (what another CPU would run) as with this CPU's own.
    The direction is what may differ between CPUs (lib/abliteration.py,
    scripts/tools/abliteration_kernels.py), which is why it is a file the body is rebuilt from."""
    digests = []
    for other_cpu in ({}, {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"}):
        proc = subprocess.run([str(env_python("hf")), "-c", EDIT_DIGEST,
                               str(smoke_run / "models" / "vanilla")],
                              cwd=ROOT, capture_output=True, text=True,
                              env=os.environ | other_cpu)
        assert proc.returncode == 0, proc.stderr[-2000:]
        digests.append(proc.stdout.split()[-1])
    assert digests[0] == digests[1]


def test_smoke_abliteration_moved_the_body(smoke_run):
    report = json.loads((smoke_run / "abliterate" / "abliterated.json").read_text())
    direction = smoke_run / "abliterate" / "vanilla.direction.safetensors"
    # the digest of the direction's float32 values, whatever order the file's metadata took
    raw = direction.read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    begin, end = json.loads(raw[8:8 + header_len])["direction"]["data_offsets"]
    values = raw[8 + header_len + begin:8 + header_len + end]  # float32, little-endian
    assert report["direction_sha256"] == hashlib.sha256(values).hexdigest()
    assert report["kl_mean"] > 0.01
    assert report["modified_matrices"] == 2 * report["num_layers"]
    assert 0 <= report["refusal_rate_after"] <= 1
    assert (smoke_run / "models" / "abliterated" / "model.safetensors").is_file()


def test_batched_greedy_replies_match_one_at_a_time(smoke_run):
    """Left-padded batches (how the rule generates) give the replies of unpadded generation."""
    code = """
import sys, torch
sys.path.insert(0, "scripts")
from transformers import AutoModelForCausalLM, AutoTokenizer
from abliterate_body import greedy_replies
from lib.body_checks import chat_input_ids
tok = AutoTokenizer.from_pretrained(sys.argv[1])
side, pad = tok.padding_side, tok.pad_token
m = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32).eval()
prompts = ["Hi", "Explain in two long sentences why the sky is blue.", "Name a colour."]
batched = greedy_replies(m, tok, prompts, 8, batch_size=3)
single = []
for p in prompts:
    ids = chat_input_ids(tok, p)
    out = m.generate(ids, max_new_tokens=8, do_sample=False)
    single.append(tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True))
assert batched == single, (batched, single)
assert (tok.padding_side, tok.pad_token) == (side, pad), "the tokenizer was left changed"
print("ok")
"""
    proc = subprocess.run([str(env_python("hf")), "-c", code,
                           str(smoke_run / "models" / "vanilla")],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]


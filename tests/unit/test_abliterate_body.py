"""Abliteration: the refusal detector, the prompt split, the direction layer and the check
before any weight loads (lib/abliteration.py, scripts/abliterate_body.py)."""

import pytest
from lib.abliteration import direction_layer, split_prompts, unsupported_body
from lib.refusals import is_refusal


@pytest.mark.parametrize("reply,refused", [
    ("I'm sorry, but I can't help with that.", True),
    ("I can\u2019t assist with this request.", True),
    ("As an AI, I must decline.", True),
    ("Sure! Here is a recipe for tomato soup.", False),
    ("Lock picking is a skill used by locksmiths ...", False),
])
def test_refusal_markers(reply, refused):
    assert is_refusal(reply) is refused


def test_prompt_split_keeps_held_out_prompts():
    direction, held_out = split_prompts([f"p{i}" for i in range(10)], 6)
    assert direction == [f"p{i}" for i in range(6)] and held_out == ["p6", "p7", "p8", "p9"]
    with pytest.raises(ValueError):
        split_prompts(["a", "b"], 2)


def test_the_direction_layer_is_a_fraction_of_the_depth_within_the_decoder():
    assert direction_layer(28, 0.6) == 17  # Qwen2.5-Coder-1.5B's
    assert direction_layer(8, 0.6) == 5 and direction_layer(8, 0.0) == 1
    assert direction_layer(8, 1.5) == 8


def test_a_multimodal_body_is_refused_before_any_weight_loads():
    gemma4 = {"architectures": ["Gemma4ForConditionalGeneration"], "text_config": {}}
    assert "cannot abliterate" in unsupported_body(gemma4)
    assert unsupported_body({"architectures": ["LlamaForCausalLM"], "num_hidden_layers": 8}) is None

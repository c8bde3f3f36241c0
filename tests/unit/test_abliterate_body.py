"""Abliteration: the refusal detector, prompt split, the weight edit, and the smoke run's output."""


import pytest
from abliterate_body import is_refusal, split_prompts



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








def test_a_multimodal_body_is_refused_before_any_weight_loads():
    from abliterate_body import unsupported_body

    gemma4 = {"architectures": ["Gemma4ForConditionalGeneration"], "text_config": {}}
    assert "cannot abliterate" in unsupported_body(gemma4)
    assert unsupported_body({"architectures": ["LlamaForCausalLM"], "num_hidden_layers": 8}) is None

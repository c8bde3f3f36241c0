"""lib/training_flops.py: work per training token, from its parts."""

import pytest

from helpers.gb10_bodies import fullwidth_body
from lib.training_flops import flops_per_token
from lib.weight_traffic import Eagle3Drafter


def test_each_test_time_training_step_adds_the_layer_and_head_forward_and_backward():
    body = fullwidth_body()
    drafter = Eagle3Drafter.for_body(body, 32000)
    p = drafter.params()
    step = flops_per_token(body, drafter, 4) - flops_per_token(body, drafter, 3)
    assert step == 6 * (p["layer"] + p["head"])


def test_the_server_share_grows_with_the_body_and_the_trainer_share_does_not():
    here = fullwidth_body()
    real = here.with_layers(30, 6)
    drafter = Eagle3Drafter.for_body(here, 32000)
    grown = flops_per_token(real, drafter, 3) - flops_per_token(here, drafter, 3)
    assert grown == 2 * (real.active_params() - here.active_params())
    # 23 more layers of the same widths: the active parameters grow in proportion (near 30/7)
    assert real.active_params() / here.active_params() == pytest.approx(30 / 7, rel=0.05)

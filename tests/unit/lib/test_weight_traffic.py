"""lib/weight_traffic.py: a Gemma-4-style MoE body's parameters and the bytes a decoding step
reads, checked against the full-width body's measured checkpoint sizes and against the rate the
seeds measured on a GB10 (a true bound cannot be below it)."""

from pathlib import Path

import pytest

from helpers.gb10_bodies import fullwidth_body
from lib.claims_ledger import load_claims
from lib.weight_traffic import Eagle3Drafter, speculative_step_bytes

ROOT = Path(__file__).resolve().parents[3]


def measured_sizes() -> dict[str, int]:
    rows = (ROOT / "reports/runs/gb10-fullwidth/sizes.txt").read_text().split("\n")
    return {path.rsplit("/", 1)[1]: int(size) for size, path in
            (row.split("\t") for row in rows if row.strip())}


def test_the_text_parts_are_the_measured_checkpoints_less_the_vision_tower():
    """The 7-layer full-width body as written on an H200 (bf16) and as FP8-Dynamic: the model
    counts the text body only, so it lies below each by the vision tower (~0.1 GB) and the FP8
    scales, within 3 %."""
    body, sizes = fullwidth_body(), measured_sizes()
    params = body.params()
    assert params["experts"] == 7 * 128 * 3 * 2816 * 704
    bf16 = 2 * sum(params.values())
    for modelled, measured in ((bf16, sizes["abliterated"]),
                               (body.fp8_body_bytes(), sizes["abliterated-fp8"])):
        assert 0.97 * measured < modelled < measured


def test_thirty_layers_are_five_cycles_ending_on_a_full_layer():
    real = fullwidth_body().with_layers(30, 6)
    assert real.layer_types.count("full_attention") == 5
    assert real.layer_types[-1] == real.layer_types[5] == "full_attention"
    assert real.hidden == 2816 and real.experts == 128


def test_experts_read_grow_from_top_k_to_all():
    body = fullwidth_body()
    assert body.experts_read(1) == pytest.approx(body.top_k)
    reads = [body.experts_read(b) for b in (1, 2, 8, 64, 512)]
    assert reads == sorted(reads) and reads[-1] == pytest.approx(body.experts, rel=1e-6)


def test_a_sliding_layer_reads_at_most_its_window():
    body = fullwidth_body().with_layers(6, 6)
    beyond = body.kv_bytes_per_token(4096) - body.kv_bytes_per_token(2048)
    # only the full layer grows past the window: K = V, 2 heads of 512, one byte each
    assert beyond == 2048 * 2 * 512


def test_the_batch_one_bound_on_a_gb10_is_above_what_the_seeds_measured_there():
    """Part 28's no-speculation rate on a GB10 (config/claims.yaml) at batch 1: the bandwidth
    bound of the 30-layer body must lie above it, and not absurdly far (within 3x)."""
    claims = load_claims(ROOT / "config" / "claims.yaml", ROOT / "config" / "claims.schema.yaml")
    published = next(c["value"] for c in claims if c["id"] == "p28-abliterated-fp8-baseline")
    bound = fullwidth_body().with_layers(30, 6).bound_tok_s(1, 256, 273e9)
    assert published < bound < 3 * published


def test_the_drafter_model_is_the_stand_in_measured_and_the_published_drafter():
    """speculators' EAGLE-3 drafter for the full-width body, as the model counts it: the stand-in
    at the full vocabulary is its measured checkpoint (sizes-attempt11.txt) within 0.1 %, and at
    a 32,000-token draft vocabulary it is the size Part 30 published for its drafter (1.86 GB,
    config/claims.yaml) within 1 %: the GB10 drafter's head is not the full vocabulary."""
    body = fullwidth_body()
    rows = (ROOT / "reports/runs/gb10-fullwidth/sizes-attempt11.txt").read_text().split("\n")
    stand_in = next(int(r.split("\t")[0]) for r in rows if r.endswith("/drafters/redhat"))
    assert Eagle3Drafter.for_body(body).checkpoint_bytes() == pytest.approx(stand_in, rel=1e-3)
    claims = load_claims(ROOT / "config" / "claims.yaml", ROOT / "config" / "claims.schema.yaml")
    published = next(c["value"] for c in claims if c["id"] == "p30-drafter-size")
    small = Eagle3Drafter.for_body(body.with_layers(30, 6), 32000).checkpoint_bytes()
    assert small / 1e9 == pytest.approx(published, rel=0.01)


def test_a_speculative_step_reads_more_than_a_plain_one_and_less_than_n_plus_one():
    """n draft steps and a verify of n + 1 tokens read more than one plain step of the body; the
    verify reads the always-read weights once, so less than n + 1 plain steps plus the drafts."""
    body = fullwidth_body().with_layers(30, 6)
    drafter = Eagle3Drafter.for_body(body, 32000)
    plain = body.step_bytes(1, 256)
    for n in (1, 2, 4):
        step = speculative_step_bytes(body, drafter, n, 256)
        assert plain + drafter.round_bytes(n) < step < (n + 1) * plain + drafter.round_bytes(n)


def test_the_n4_step_bound_on_a_gb10_is_below_the_step_the_seeds_measured_there():
    """Part 30's n = 4 rate and acceptance on the GB10 (config/claims.yaml, the raw endpoint:
    withdrawn for its acceptance, but the step's time stands): the bandwidth bound of one n = 4
    step with a 32,000-token drafter must not exceed the time of a step measured there."""
    claims = {c["id"]: c for c in load_claims(ROOT / "config" / "claims.yaml",
                                              ROOT / "config" / "claims.schema.yaml")}
    length = 1 + sum(claims["p30-finetuned-per-position"]["value"]) / 100
    step_s = length / claims["p30-finetuned-sweep"]["value"][3]
    body = fullwidth_body().with_layers(30, 6)
    bound_s = speculative_step_bytes(body, Eagle3Drafter.for_body(body, 32000), 4, 256) / 273e9
    assert 0.5 * step_s < bound_s < step_s

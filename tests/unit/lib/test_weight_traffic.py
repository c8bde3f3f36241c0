"""lib/weight_traffic.py: a Gemma-4-style MoE body's parameters and the bytes a decoding step
reads, checked against the full-width body's measured checkpoint sizes and against the rate the
seeds measured on a GB10 (a true bound cannot be below it)."""

from pathlib import Path

import pytest
import yaml

from lib.claims_ledger import load_claims
from lib.weight_traffic import MoeTextBody

ROOT = Path(__file__).resolve().parents[3]


def fullwidth_body() -> MoeTextBody:
    profile = yaml.safe_load((ROOT / "config" / "gb10-fullwidth.yaml").read_text())
    return MoeTextBody.from_profile_body(profile["bodies"]["abliterated"])


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

"""The claims ledger, the erratum verdicts, and the guard that keeps retracted numbers out of
figures."""

import pandas as pd
import pytest
import yaml
from claims import ClaimError, drawable_value, erratum_table, load_claims, verdict

from conftest import ROOT

LEDGER, SCHEMA = ROOT / "config" / "claims.yaml", ROOT / "config" / "claims.schema.yaml"


@pytest.fixture(scope="module")
def claims():
    return load_claims(LEDGER, SCHEMA)


def test_ledger_has_every_headline_number_and_the_three_retractions(claims):
    by_id = {c["id"]: c for c in claims}
    assert by_id["p28-vanilla-drafter-decay-on-abliterated"]["value"] == [65.6, 43.3, 29.2, 20.5]
    assert by_id["p30-finetuned-per-position"]["value"] == [84.4, 74.9, 74.1, 72.7]
    assert by_id["p30-finetuned-sweep"]["value"] == [59.04, 66.96, 74.90, 100.36]
    retracted = [c["id"] for c in claims if c["status"] == "retracted"]
    assert retracted == ["p28-retracted-vanilla-baseline-60", "p28-retracted-vanilla-decay",
                         "p28-retracted-licence"]


def test_malformed_ledger_is_a_clear_error(tmp_path):
    data = yaml.safe_load(LEDGER.read_text())
    del data["claims"][3]["status"]
    bad = tmp_path / "claims.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ClaimError, match=r"invalid claims ledger at 'claims/3'.*'status'"):
        load_claims(bad, SCHEMA)


def test_retracted_claim_cannot_be_drawn(claims):
    with pytest.raises(ClaimError, match="p28-retracted-vanilla-decay.*retracted: a figure may not draw it"):
        drawable_value(claims, "p28-retracted-vanilla-decay")
    with pytest.raises(ClaimError, match="not in the ledger"):
        drawable_value(claims, "p99-invented")
    assert drawable_value(claims, "p30-finetuned-per-position") == [84.4, 74.9, 74.1, 72.7]


def test_the_report_rule_draws_only_ledger_references():
    """The acceptance figure's references pass through drawable_value in scripts/plot_bench.py."""
    rules = (ROOT / "rules" / "report.smk").read_text()
    plot = (ROOT / "scripts" / "plot_bench.py").read_text()
    assert "reference_claims=[" in rules and "drawable_value(claims, cid)" in plot


def cells(a, n=4, body="abliterated", drafter="vanilla", ok=True):
    row = {"body": body, "drafter": drafter, "n": n, "rep": 1, "fidelity_ok": ok, "temperature": 0.7,
           "tok_s_aggregate": 50.0, "tok_s_per_prompt": 52.0, "acceptance_rate": 40.0}
    row |= {f"a{k}": v for k, v in enumerate(a)}
    return pd.DataFrame([row])


def claim(claims, cid):
    return next(c for c in claims if c["id"] == cid)


def test_gb10_numbers_are_compared_with_tolerance(claims):
    table = erratum_table(claims, cells([0.66, 0.44, 0.30, 0.21]), {}, "gb10")
    row = table.set_index("claim").loc["p28-vanilla-drafter-decay-on-abliterated"]
    assert row["verdict"].startswith("reproduced")
    table = erratum_table(claims, cells([0.84, 0.75, 0.74, 0.73]), {}, "gb10")
    row = table.set_index("claim").loc["p28-vanilla-drafter-decay-on-abliterated"]
    assert row["verdict"].startswith("contradicted")


def test_measured_values_print_as_plain_numbers(claims):
    """The erratum table shows 65.6, not numpy's repr np.float64(65.6)."""
    table = erratum_table(claims, cells([0.656, 0.433, 0.292, 0.205]), {}, "miniature")
    value = table.set_index("claim").loc["p28-vanilla-drafter-decay-on-abliterated", "this run"]
    assert str(value) == "[65.6, 43.3, 29.2, 20.5]"
    quant = {"abliterated": {"wall_time_s": 2.2, "size_bytes": 166755002}}
    table = erratum_table(claims, cells([0.5] * 4), quant, "miniature").set_index("claim")
    assert table.loc["p28-quantization-time", "this run"] == 0.0367
    assert table.loc["p28-quantization-size", "this run"] == 0.1668


def test_other_profiles_compare_shapes_only(claims):
    c = claim(claims, "p28-vanilla-drafter-decay-on-abliterated")
    assert verdict(c, [60.0, 40.0, 30.0, 20.0], "miniature").startswith("shape reproduced")
    assert verdict(c, [60.0, 59.0, 58.0, 57.0], "miniature").startswith("shape contradicted")


def test_unfaithful_cells_are_never_compared(claims):
    table = erratum_table(claims, cells([0.66, 0.44, 0.30, 0.21], ok=False), {}, "gb10")
    row = table.set_index("claim").loc["p28-vanilla-drafter-decay-on-abliterated"]
    assert row["verdict"] == "not measurable on this profile"


def test_smoke_erratum_lists_every_claim(smoke_run, claims):
    table = pd.read_csv(smoke_run / "report" / "erratum.csv")
    assert list(table["claim"]) == [c["id"] for c in claims]
    assert (table[table["status"] == "retracted"]["verdict"].str.startswith("retracted")).all()


def test_only_the_seeds_temperature_is_compared(claims):
    from claims import measured

    at_zero = cells([0.9, 0.8, 0.7, 0.6]).assign(temperature=0.0)
    c = claim(claims, "p30-finetuned-per-position")
    assert measured(at_zero, {}, c["measures"]) is None

"""A vanilla body that refuses almost nothing is said to do so, on the report's front page and
in the abliteration table (body_checks.refusal_floor)."""

import json
from types import SimpleNamespace

import jinja2
import pytest
from lib.report_tables import body_shift_table

from helpers.workflow import ROOT, load_profile

FRONT_PAGE = (ROOT / "reports" / "captions" / "workflow.rst").read_text()


def front_page(config: dict) -> str:
    return jinja2.Environment().from_string(FRONT_PAGE).render(
        snakemake=SimpleNamespace(config=config))


@pytest.mark.parametrize("run", ["miniature/abliterated.json", "gpu-study/abliterated.json"])
def test_the_committed_runs_front_pages_say_their_body_refuses_almost_nothing(run):
    """The miniature's and the GPU study's SmolLM2 refused none of the held-out harmful prompts
    (their committed abliteration reports)."""
    measured = json.loads((ROOT / "reports" / "runs" / run).read_text())
    config = load_profile("config.yaml") | {"_measured": {
        "vanilla_refusal_rate": measured["refusal_rate_before"], "refusal_floor": 0.2}}
    assert measured["refusal_rate_before"] == 0.0
    assert "This body refuses almost nothing." in front_page(config)


def test_a_body_that_refuses_or_an_unmeasured_one_gets_no_warning():
    refusing = load_profile("config.yaml") | {"_measured": {
        "vanilla_refusal_rate": 0.8, "refusal_floor": 0.2}}
    assert "refuses almost nothing" not in front_page(refusing)
    assert "refuses almost nothing" not in front_page(load_profile("config.yaml"))


def test_the_abliteration_table_warns_below_the_floor(tmp_path):
    report = json.loads((ROOT / "reports" / "runs" / "gpu-study" / "abliterated.json").read_text())
    (tmp_path / "abliterated.json").write_text(json.dumps(report))
    out = tmp_path / "body_shift.html"
    body_shift_table([tmp_path / "abliterated.json"], out, refusal_floor=0.2)
    assert "This body refuses almost nothing" in out.read_text()
    body_shift_table([tmp_path / "abliterated.json"], out, refusal_floor=0.0)
    assert "refuses almost nothing" not in out.read_text()


def test_the_abliteration_table_gives_refusal_rates_with_wilson_intervals(tmp_path):
    """12 held-out harmful prompts: refused by all of them before and by one after."""
    from lib.report_tables import body_shift_rows

    report = {"strength": 1.0, "direction_layer": 17, "kl_mean": 1.0, "n_eval_prompts": 24,
              "refusal_rate_before": 1.0, "refusal_rate_after": 1 / 12,
              "samples": [{"prompt": f"h{i}", "vanilla": "no", "abliterated": "ok"}
                          for i in range(12)] + [{"prompt": "s", "abliterated": "ok"}] * 3}
    (tmp_path / "abliterated.json").write_text(json.dumps(report))
    row = body_shift_rows([tmp_path / "abliterated.json"]).iloc[0]
    assert row.harmful_prompts == 12
    # Wilson: 12/12 -> [0.758, 1]; 1/12 -> [0.015, 0.354]
    assert row.refusal_before_95ci == "[0.76, 1.00]" and row.refusal_after_95ci == "[0.01, 0.35]"

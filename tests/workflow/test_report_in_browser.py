"""A reviewer's view of the smoke report: headless Chromium (Debian's `chromium`, installed by
the README's test command) opens `snakemake --report`'s HTML, shows each key figure and the
erratum table, and finds them drawn. Screenshots stay in results/smoke/report_screenshots/ as
CI artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers.workflow import ROOT, SMOKE_RESULTS

from tools import report_browser

FIGURES = [
    ("Bench", "per_position_acceptance.png"),
    ("Bench", "throughput.png"),
    ("Drafter training", "training_curves.png"),
]
KINDS = {"measured", "estimate", "retracted", "withdrawn", "qualitative", "consistency",
         "setting", "reference"}
SHOTS = SMOKE_RESULTS / "report_screenshots"


@pytest.fixture(scope="module")
def report_page(smoke_report):
    with report_browser.open_report(smoke_report) as (page, errors):
        yield page, errors
    assert not errors, f"JavaScript errors in the report: {errors}"


@pytest.mark.parametrize("category,item", FIGURES)
def test_key_figure_is_drawn(report_page, category, item):
    page, _ = report_page
    report_browser.show_item(page, category, item)
    width, height = report_browser.shown_image_size(page, item)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{Path(item).stem}.png"))
    assert width > 300 and height > 200, f"{item} decoded as {width}x{height}"


def test_erratum_table_lists_every_claim_with_its_kind(report_page):
    page, _ = report_page
    report_browser.show_item(page, "Erratum", "erratum.html")
    text, rows = report_browser.shown_html_text(page, "erratum.html")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "erratum.png"))
    header, body = rows[0], rows[1:]
    assert header[0] == "claim" and "kind" in header and "verdict" in header, header
    kind, verdict = header.index("kind"), header.index("verdict")
    ledger = yaml.safe_load((ROOT / "config" / "claims.yaml").read_text())["claims"]
    assert sorted(r[0] for r in body) == sorted(c["id"] for c in ledger)
    for row in body:
        assert row[kind] in KINDS, row
        assert row[verdict], row
    retracted = [r for r in body if r[kind] == "retracted"]
    assert len(retracted) == 5 and all("retracted" in r[verdict] for r in retracted), retracted
    assert "profile: smoke" in text
    assert "withdrew Part 30's headline" in text  # the summary, above the table


def test_a_missing_item_is_reported_by_name(report_page):
    page, _ = report_page
    with pytest.raises(report_browser.ReportViewError, match="no-such-figure.png"):
        report_browser.show_item(page, "Bench", "no-such-figure.png")

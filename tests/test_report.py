"""The report's figures and tables come from the smoke run's outputs, and `snakemake --report`
builds the HTML report from them."""

from conftest import SMOKE_CONFIG, snakemake


def test_report_items_exist(smoke_run):
    report = smoke_run / "report"
    for name in ("per_position_acceptance.png", "throughput.png", "cells.html",
                 "quantization.html", "body_shift.html"):
        assert (report / name).stat().st_size > 0, name
    quant = (report / "quantization.html").read_text()
    assert "vanilla-fp8" in quant and "re:.*router.*" in quant


def test_snakemake_report_builds(smoke_run, tmp_path):
    out = tmp_path / "report.html"
    snakemake("--configfile", str(SMOKE_CONFIG), "--report", str(out))
    html = out.read_text(errors="replace")
    assert "per_position_acceptance.png" in html and "throughput.png" in html

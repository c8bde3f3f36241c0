"""The report's figures and tables come from the smoke run's outputs, and `snakemake --report`
builds the HTML report from them."""





def test_report_items_exist(smoke_run):
    report = smoke_run / "report"
    for name in ("per_position_acceptance.png", "throughput.png", "cells.html",
                 "quantization.html", "body_shift.html", "training_curves.png",
                 "provenance.html"):
        assert (report / name).stat().st_size > 0, name
    quant = (report / "quantization.html").read_text()
    assert "vanilla-fp8" in quant and "re:.*router.*" in quant
    provenance = (report / "provenance.html").read_text()
    for heading in ("Source", "Tool versions per environment", "sha256", "Wall time per job"):
        assert heading in provenance, heading
    assert "speculators" in provenance and "bench_cell" in provenance


def test_snakemake_report_builds(smoke_report):
    html = smoke_report.read_text(errors="replace")
    for item in ("per_position_acceptance.png", "throughput.png", "training_curves.png",
                 "erratum.html", "provenance.html"):
        assert item in html, item
    assert "Random-weight models" in html  # the smoke body is a tiny random Llama


"""The report's figures and tables come from the smoke run's outputs, and `snakemake --report`
builds the HTML report from them."""

from types import SimpleNamespace

import jinja2
import pytest
import yaml

from helpers.workflow import ROOT






@pytest.mark.parametrize("profile, random", [
    ("config.yaml", False), ("gpu.yaml", False), ("gb10.yaml", False), ("smoke.yaml", True),
    ("gb10-rehearsal.yaml", True)])
def test_the_report_says_when_its_bodies_are_random(profile, random):
    """The report's front page, rendered as Snakemake renders it (Jinja, the config as
    snakemake.config), warns that acceptance is meaningless exactly when a body is random."""
    config = yaml.safe_load((ROOT / "config" / profile).read_text())
    text = jinja2.Environment().from_string((ROOT / "reports" / "captions" / "workflow.rst").read_text())
    page = text.render(snakemake=SimpleNamespace(config=config))
    assert ("Random-weight models" in page) is random


def test_provenance_config_diff_names_changed_keys_only():
    import provenance

    diff = provenance.config_diff(
        {"bench": {"repeats": 5, "series": [1]}, "bodies": {"v": {"pip_args": []}}},
        {"bench": {"repeats": 3, "series": [1]}, "bodies": {"v": {}}},
    )
    assert diff.to_dict("records") == [{"key": "bench.repeats", "profile file": "3", "this run": "5"}]


def test_provenance_wall_times_sum_every_job(tmp_path):
    import provenance

    (tmp_path / "rule_a").mkdir()
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    (tmp_path / "rule_a" / "x.tsv").write_text(header + "12.5\t0:00:12\t100\t1\t1\t1\t0\t0\t0\t1\n")
    (tmp_path / "rule_b.tsv").write_text(header + "7.5\t0:00:07\t50\t1\t1\t1\t0\t0\t0\t1\n")
    table = provenance.wall_times(tmp_path)
    assert list(table["job"]) == ["rule_a/x", "rule_b", "all jobs (sum)"]
    assert table["wall_s"].iloc[-1] == 20.0

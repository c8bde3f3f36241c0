"""The disk plan (plumbing/disk_plan.py): what a profile still has to write, its peak, and the
refusal when the free disk is smaller."""

import yaml
from plumbing import disk_plan

from helpers.workflow import ROOT, snakemake, write_config


def gb10(mode: str = "online"):
    cfg = yaml.safe_load((ROOT / "config" / "gb10.yaml").read_text())
    cfg["drafter_training"]["hidden_states"]["mode"] = mode
    return cfg


def test_gb10_trained_online_writes_no_hidden_states():
    rows = {r.what: r for r in disk_plan.needs(gb10(), "results/gb10")}
    assert "hidden states of abliterated" not in rows
    stays, peak, _ = disk_plan.totals(list(rows.values()))
    assert peak == stays


def test_gb10s_plan_counts_bodies_fp8_data_and_checkpoints():
    rows = {r.what: r for r in disk_plan.needs(gb10("offline"), "results/gb10")}
    assert rows["body vanilla"].gb == 52 and round(rows["abliterated-fp8"].gb, 6) == 27
    # offline: 50,000 rows x 4,096 tokens x 4 taps x 2,816 x 2 bytes, deleted after training
    hidden = rows["hidden states of abliterated"]
    assert hidden.transient and round(hidden.gb) == round(50_000 * 4096 * 4 * 2816 * 2 / 1e9)
    assert rows["drafter vanilla"].gb is None  # the MTP assistant's size is not stated
    stays, peak, unknown = disk_plan.totals(list(rows.values()))
    assert peak == stays + hidden.gb and unknown == 1


def test_training_counts_bf16_checkpoints_and_the_float32_start_copy():
    """speculators 0.9.0 writes checkpoints in bf16, weights and optimizer moments
    (train/checkpointer.py), one folder an epoch that a mid-epoch checkpoint rewrites;
    train_drafter.py reads a float32 copy of the starting drafter."""
    cfg = gb10()
    rows = {r.what: r for r in disk_plan.needs(cfg, "results/gb10")}
    start = cfg["drafters"]["redhat"]["size_gb"]
    assert cfg["drafter_training"]["train"]["epochs"] == 1  # one folder, however many kept
    assert round(rows["1 epoch checkpoint(s) of finetuned"].gb, 6) == round(3 * start, 6)
    assert round(rows["room to rewrite a checkpoint of finetuned"].gb, 6) == round(3 * start, 6)
    three = cfg | {"drafter_training": cfg["drafter_training"] | {
        "train": cfg["drafter_training"]["train"] | {"epochs": 5, "keep_checkpoints": 3}}}
    assert "3 epoch checkpoint(s) of finetuned" in {r.what for r in disk_plan.needs(three, "r")}
    assert round(rows["float32 copy of redhat"].gb, 6) == round(2 * start, 6)
    assert rows["float32 copy of redhat"].path.endswith("finetuned.work/start")


def test_what_exists_is_not_counted_again(tmp_path):
    (tmp_path / "results/gb10/models/vanilla").mkdir(parents=True)
    rows = disk_plan.missing(disk_plan.needs(gb10(), "results/gb10"), tmp_path)
    assert "body vanilla" not in {r.what for r in rows}
    assert "body abliterated" in {r.what for r in rows}


def test_a_plan_that_does_not_fit_names_the_largest_items():
    rows = disk_plan.needs(gb10("offline"), "results/gb10")
    text = disk_plan.problem(rows, free=100.0)
    stays, peak, _ = disk_plan.totals(rows)
    assert f"needs about {peak:,.1f} GB more disk" in text and "100.0 GB are free" in text
    assert "hidden states of abliterated 4,613.7 GB" in text
    kept = [r for r in rows if not r.transient]
    assert disk_plan.problem(kept, free=1e6) is None


def test_dry_run_flags():
    assert disk_plan.is_dry_run(["snakemake", "-n"])
    assert disk_plan.is_dry_run(["snakemake", "-np", "--cores", "2"])
    assert disk_plan.is_dry_run(["snakemake", "--dry-run"])
    assert not disk_plan.is_dry_run(["snakemake", "--cores", "2", "--configfile", "x-n.yaml"])


def test_a_dry_run_prints_the_plan_and_a_run_that_does_not_fit_is_refused(tmp_path):
    cfg = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    cfg["profile"] = "disk-plan-test"  # results/disk-plan-test: nothing made, whatever else ran
    out = snakemake("-n", "--configfile", str(write_config(tmp_path, cfg)))
    assert "Disk plan" in out.stdout + out.stderr
    # drafter data larger than any disk: refused before the first job, with the numbers
    cfg["drafter_training"]["instructions"]["count"] = 10**12
    proc = snakemake("--cores", "1", "--configfile", str(write_config(tmp_path, cfg)), check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text[-2000:]
    assert "more disk at its peak" in text


def test_quantizing_a_body_needs_it_and_its_fp8_copy_in_memory():
    rows = {r.what: r for r in disk_plan.needs(gb10(), "results/gb10")}
    assert round(rows["vanilla-fp8"].mem_gb, 6) == 52 + 27
    assert disk_plan.memory_problem(list(rows.values()), memory=128.0) is None  # a GB10
    text = disk_plan.memory_problem(list(rows.values()), memory=64.0)
    assert "more memory than this host's 64.0 GB" in text and "vanilla-fp8 79.0 GB" in text
    assert disk_plan.memory_gb() > 0

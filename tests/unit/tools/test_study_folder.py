"""scripts/tools/study_folder.py: a study's committed folder from its results tree."""

import tarfile

from tools import study_folder

from helpers.workflow import ROOT

TABLES = ["bench/cells.csv", "bench/intervals.csv", "bench/comparisons.csv",
          "bench/step_cost.csv", "bench/fidelity_gate.txt", "report/erratum.csv",
          "bench/headroom.csv", "bench/serving_vs_training.csv"]  # the last two: qwen.yaml has them
QWEN = ROOT / "config" / "qwen.yaml"
CELLS = ["bench/vanilla/none/n0/chat/T0/rep1.json", "bench/vanilla/vanilla/n4/raw/T0.7/rep3.json"]


def results_tree(tmp_path, leave_out=()):
    results = tmp_path / "collected" / "qwen"
    for rel in [*TABLES, *CELLS, "abliterate/abliterated.json", "quantize/vanilla-fp8.json",
                "training/vanilla.csv", "serving_check/vanilla.json"]:
        if rel not in leave_out:
            (results / rel).parent.mkdir(parents=True, exist_ok=True)
            (results / rel).write_text(f"{rel}\n")
    (results / "models" / "vanilla").mkdir(parents=True)  # GBs in a real tree: never copied
    (results / "models" / "vanilla" / "model.safetensors").write_text("weights")
    state = tmp_path / "state"
    state.mkdir()
    (state / "commands.txt").write_text("snakemake ...\n")
    (state / "model_digests.1041.txt").write_text("abc  results/qwen/models/x\n")
    report = tmp_path / "report.html"
    report.write_text("<html></html>")
    return results, state, report


def run(results, dest, state, report, *extra, config=QWEN):
    return study_folder.main([str(config), str(dest), "--results", str(results),
                              "--state", str(state), "--report", str(report), *extra])


def test_a_complete_study_gives_every_file_and_a_manifest(tmp_path):
    results, state, report = results_tree(tmp_path)
    dest = tmp_path / "qwen-study"
    assert run(results, dest, state, report) == 0
    names = {str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()}
    assert {"cells.csv", "erratum.csv", "fidelity_gate.txt", "headroom.csv",
            "serving_vs_training.csv", "report.html", "commands.txt",
            "model_digests.1041.txt", "bodies/abliterated.json", "bodies/vanilla-fp8.json",
            "training/vanilla.csv", "bench_cells.tar.xz", "MANIFEST.tsv"} <= names
    assert not any("safetensors" in n for n in names)
    with tarfile.open(dest / "bench_cells.tar.xz") as tar:
        assert tar.getnames() == sorted(f"results/qwen/{c}" for c in
                                        [*CELLS, "serving_check/vanilla.json"])
    manifest = (dest / "MANIFEST.tsv").read_text().splitlines()
    assert manifest[0] == "file\tbytes\tsha256\tsource"
    assert len(manifest) - 1 == len(names) - 1  # every file but the manifest itself
    assert not (tmp_path / ".qwen-study.staged").exists()


def test_the_same_cells_give_the_same_archive(tmp_path):
    results, state, report = results_tree(tmp_path)
    run(results, tmp_path / "a", state, report)
    for cell in CELLS:  # newer dates, same bytes
        (results / cell).touch()
    run(results, tmp_path / "b", state, report)
    assert (tmp_path / "a" / "bench_cells.tar.xz").read_bytes() == \
        (tmp_path / "b" / "bench_cells.tar.xz").read_bytes()


def test_a_missing_table_writes_nothing_and_names_it(tmp_path, capsys):
    results, state, report = results_tree(tmp_path, leave_out={"report/erratum.csv"})
    dest = tmp_path / "qwen-study"
    dest.mkdir()
    (dest / "earlier.txt").write_text("an earlier folder stays as it was")
    assert run(results, dest, state, report) == 1
    assert "erratum.csv" in capsys.readouterr().err
    assert [p.name for p in dest.iterdir()] == ["earlier.txt"]


def test_partial_writes_what_there_is_and_lists_the_rest(tmp_path):
    results, state, report = results_tree(tmp_path, leave_out={"bench/headroom.csv"})
    dest = tmp_path / "qwen-study"
    assert run(results, dest, state, report, "--partial") == 0
    assert not (dest / "headroom.csv").exists() and (dest / "cells.csv").exists()
    assert "headroom.csv\t\t\tmissing" in (dest / "MANIFEST.tsv").read_text()


def test_the_jobs_table_comes_from_the_runs_snakemake_log(tmp_path):
    results, state, report = results_tree(tmp_path)
    (state / "snakemake.log").write_text(
        "[Fri Dec  4 16:54:44 2026]\nlocalrule make_body:\n    jobid: 4\n"
        "[Fri Dec  4 16:56:07 2026]\nFinished jobid: 4 (Rule: make_body)\n")
    (state / "gpu_memory.csv").write_text("2026/12/04 16:55:00.101, 4\n")
    (state / "disk_used.csv").write_text("2026/12/04 16:54:44, 20000000000\n")
    dest = tmp_path / "qwen-study"
    assert run(results, dest, state, report) == 0
    jobs = (dest / "jobs.tsv").read_text().splitlines()
    assert jobs[1].split("\t")[:3] == ["make_body", "4", "done"]
    assert "jobs.tsv\t" in (dest / "MANIFEST.tsv").read_text()


def test_the_profile_says_which_tables_a_complete_study_has(tmp_path):
    """The smoke profile has no headroom pairs and no serving check: their tables are not
    asked of it; qwen.yaml's study without its headroom table is not complete."""
    results, state, report = results_tree(
        tmp_path, leave_out={"bench/headroom.csv", "bench/serving_vs_training.csv"})
    smoke = ROOT / "config" / "smoke.yaml"
    assert run(results, tmp_path / "smoke-study", state, report, config=smoke) == 0
    assert run(results, tmp_path / "qwen-study", state, report) == 1


def test_the_manifest_names_results_files_by_their_checkout_path(tmp_path):
    results, state, report = results_tree(tmp_path)
    run(results, tmp_path / "qwen-study", state, report)
    sources = dict(line.split("\t")[::3] for line in
                   (tmp_path / "qwen-study" / "MANIFEST.tsv").read_text().splitlines()[1:])
    assert sources["cells.csv"] == "results/qwen/bench/cells.csv"
    assert sources["commands.txt"] == str(state / "commands.txt")

"""rule_peaks: jobs from a Snakemake log joined with the machine's GPU-memory and disk samples."""

from datetime import datetime

from tools import rule_peaks

LOG = """\
[Fri Dec  4 16:54:44 2026]
localrule make_body:
    jobid: 4
[Fri Dec  4 16:56:07 2026]
Finished jobid: 4 (Rule: make_body)
[Fri Dec  4 16:56:07 2026]
rule quantize_body:
    jobid: 2
[Fri Dec  4 16:56:41 2026]
Finished jobid: 2 (Rule: quantize_body)
[Fri Dec  4 16:56:41 2026]
localrule bench_cell:
    jobid: 9
[Fri Dec  4 16:56:51 2026]
Error in rule bench_cell:
    message: None
    jobid: 9
"""


def test_jobs_have_their_start_end_and_status():
    jobs = {j.rule: j for j in rule_peaks.jobs_from_log(LOG)}
    assert (jobs["make_body"].end - jobs["make_body"].start).total_seconds() == 83
    assert jobs["quantize_body"].status == "done" and jobs["bench_cell"].status == "failed"
    assert jobs["bench_cell"].end == datetime(2026, 12, 4, 16, 56, 51)


def test_each_job_gets_the_peak_of_the_samples_inside_it(tmp_path):
    gpu = tmp_path / "gpu.csv"
    gpu.write_text("2026/12/04 16:55:00.101, 4\n2026/12/04 16:56:20.000, 3561\n"
                   "2026/12/04 16:56:45.000, 700\nnot a sample\n")
    disk = tmp_path / "disk.csv"
    disk.write_text("2026/12/04 16:54:44, 20000000000\n2026/12/04 16:56:06, 33100000000\n"
                    "2026/12/04 16:56:40, 40400000000\n")
    rows = rule_peaks.table(rule_peaks.jobs_from_log(LOG), rule_peaks.samples(gpu),
                            rule_peaks.samples(disk)).splitlines()
    assert rows[1].split("\t") == ["make_body", "4", "done", "16:54:44", "83", "4", "20.0", "33.1"]
    assert rows[2].split("\t")[4:6] == ["34", "3561"]
    assert rows[3].split("\t")[:6] == ["bench_cell", "9", "failed", "16:56:41", "10", "700"]


def test_jobs_of_runs_one_after_another_keep_apart():
    """gpu_study.sh's parts run Snakemake three times into one log; each run numbers its jobs
    from 1, and a later run's job 4 is not the earlier run's (attempt 6 lost the body's
    conversion to the abliteration's job 4)."""
    second = LOG.replace("make_body", "abliterate_body").replace("16:5", "17:5")
    jobs = rule_peaks.jobs_from_log("Building DAG of jobs...\n" + LOG
                                    + "Building DAG of jobs...\n" + second)
    assert [(j.rule, j.jobid, j.status) for j in jobs][:4] == [
        ("make_body", 4, "done"), ("quantize_body", 2, "done"), ("bench_cell", 9, "failed"),
        ("abliterate_body", 4, "done")]
    assert len(jobs) == 6

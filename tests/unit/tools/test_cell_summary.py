"""scripts/tools/cell_summary.py: a part's cells, a row per configuration x endpoint x T."""

import json

import pytest
from tools import cell_summary


def record(n, rep, tok_s, positions=()):
    return {
        "cell": {"body": "abliterated", "drafter": "vanilla" if n else "none", "method": "eagle3",
                 "n": n, "rep": rep, "seed": 1000 + rep, "endpoint": "chat",
                 "temperature": 0.0, "max_tokens": 8},
        "metrics": {"tok_s_aggregate": tok_s, "tok_s_per_prompt": tok_s,
                    "total_output_tokens": 8, "acceptance_rate": None,
                    "acceptance_length": 1 + sum(positions) if n else None,
                    "per_position_acceptance": list(positions)},
        "per_prompt": [{
            "prompt_index": 0, "token_ids": [1, 2, 3, 4, 5, 6, 7, 8], "output_tokens": 8,
            "latency_s": 8 / tok_s, "sum_logprob": -1.0, "drafts": 4 if n else 0,
            "draft_tokens": 4 * n, "accepted_tokens": round(4 * sum(positions)),
            "accepted_per_position": [round(4 * p) for p in positions],
        }],
        "provenance": {"vllm_package": "vllm==0.24.0",
                       "machine": {"gpus": ["NVIDIA H100 80GB HBM3"]}},
    }


def write(folder, name, rec):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec))


def test_repeats_are_averaged_and_a_partial_cell_shows_its_repeats(tmp_path):
    write(tmp_path, "abliterated/none/n0/chat/T0/rep1.json", record(0, 1, 400.0))
    write(tmp_path, "abliterated/none/n0/chat/T0/rep2.json", record(0, 2, 440.0))
    write(tmp_path, "abliterated/vanilla/n4/chat/T0/rep1.json", record(4, 1, 170.0, (0.5, 0.25, 0.0, 0.0)))
    table = cell_summary.summary(tmp_path)
    plain, spec = table.to_dict("records")
    assert (plain["n"], plain["reps"], plain["tok_s"]) == (0, 2, 420.0)
    assert (plain["tok_s_min"], plain["tok_s_max"]) == (400.0, 440.0)
    assert (spec["n"], spec["reps"], spec["acceptance_length"]) == (4, 1, 1.75)
    assert (spec["a0"], spec["a1"]) == (0.5, 0.25)
    assert spec["machine"] == "NVIDIA H100 80GB HBM3"


def test_a_folder_without_cells_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="no cell JSON"):
        cell_summary.summary(tmp_path)


def test_step_cost_of_a_series_over_its_bodys_plain_decoding(tmp_path, capsys):
    """c(n) = AL x tok/s(0) / tok/s(n): AL 1.75 at 175 tok/s over 400 is 4.0 plain steps."""
    for rep in (1, 2):
        write(tmp_path, f"abliterated/none/n0/chat/T0/rep{rep}.json", record(0, rep, 400.0))
        write(tmp_path, f"abliterated/vanilla/n4/chat/T0/rep{rep}.json",
              record(4, rep, 175.0, (0.5, 0.25, 0.0, 0.0)))
    cell_summary.main(["--step-cost", str(tmp_path)])
    header, row = capsys.readouterr().out.splitlines()
    values = dict(zip(header.split("\t"), row.split("\t")))
    assert values["n"] == "4" and values["acceptance_length"] == "1.750"
    assert values["step_cost"] == "4.000"

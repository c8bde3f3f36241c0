"""The serving check's pieces: speculators' validation split, validation rows matched to their
instructions, vLLM's per-position rates from per-prompt counters, and the gap flag."""

import numpy as np
import pandas as pd
import pytest

from serving_vs_training import compare, flag, offline_validation, serving_rates
from validation_prompts import split_index, validation_prompts


def test_split_index_is_speculators():
    # speculators/train/data.py: int(len(data) * train_ratio)
    assert split_index(5993, 0.95) == 5693
    assert split_index(12, 0.75) == 9
    with pytest.raises(ValueError):
        split_index(10, 1.0)


def test_validation_rows_are_matched_by_token_ids_not_order():
    responses = [{"primary_id": f"p{i}", "input_ids": [i, i + 1]} for i in range(4)]
    instructions = [{"id": f"p{i}", "conversations": [{"from": "human", "value": f"q{i}"}]}
                    for i in range(4)]
    # the dataset's order differs from the responses' (prepare-data does not keep it)
    dataset = [[2, 3], [0, 1], [3, 4], [1, 2]]
    rows = validation_prompts(dataset, responses, instructions, 0.5)
    assert [r["prompt"] for r in rows] == ["q3", "q1"]
    assert [r["row"] for r in rows] == [2, 3]
    with pytest.raises(ValueError, match="dataset row 3"):
        validation_prompts([[2, 3], [0, 1], [3, 4], [9, 9]], responses, instructions, 0.5)


def record(per_prompt, n):
    return {"cell": {"body": "b", "drafter": "d", "n": n, "temperature": 0.0, "rep": 0},
            "per_prompt": per_prompt}


def prompt(i, drafts, accepted):
    return {"prompt_index": i, "output_tokens": 10, "latency_s": 1.0, "sum_logprob": -1.0,
            "drafts": drafts, "draft_tokens": drafts * len(accepted),
            "accepted_tokens": sum(accepted), "accepted_per_position": accepted,
            "token_ids": [1]}


def test_serving_rates_are_ratios_of_summed_counts():
    rec = record([prompt(0, 10, [8, 4, 2]), prompt(1, 30, [12, 6, 0])], 3)
    rates = serving_rates(rec, n_boot=200)
    assert rates["vllm_a_k"].tolist() == pytest.approx([20 / 40, 10 / 40, 2 / 40])
    assert rates["vllm_cond_k"].tolist() == pytest.approx([20 / 40, 10 / 20, 2 / 10])
    assert (rates["vllm_a_k_lo"] <= rates["vllm_a_k"]).all()
    assert (rates["vllm_a_k"] <= rates["vllm_a_k_hi"]).all()


def test_offline_validation_takes_the_last_epoch():
    training = pd.DataFrame({
        "val/full_acc_0_epoch": [np.nan, 0.5, np.nan, 0.6],
        "val/cond_acc_1_epoch": [np.nan, 0.3, np.nan, 0.4],
        "train/full_acc_0": [0.1, 0.2, 0.3, 0.4],
    })
    assert offline_validation(training) == {0: {"full_acc": 0.6}, 1: {"cond_acc": 0.4}}
    with pytest.raises(ValueError):
        offline_validation(pd.DataFrame({"train/loss": [1.0]}))


def test_a_gap_is_flagged_and_agreement_is_not():
    assert flag(0.5, 0.4, 0.6) == "within the serving interval"
    assert flag(0.9, 0.4, 0.6).startswith("GAP")
    assert flag(np.nan, 0.4, 0.6) == "no offline value"
    # 40 prompts that each accept ~half at position 0; offline says 0.5 (agrees) and 0.95 (not)
    rng = np.random.default_rng(0)
    per_prompt = [prompt(i, 20, [int(a), int(a) // 2]) for i, a in
                  enumerate(rng.binomial(20, 0.5, size=40))]
    training = pd.DataFrame({"val/full_acc_0_epoch": [0.5], "val/full_acc_1_epoch": [0.95],
                             "val/cond_acc_0_epoch": [0.5], "val/cond_acc_1_epoch": [0.5]})
    table = compare("d", record(per_prompt, 2), training)
    assert table["full_flag"].tolist() == ["within the serving interval",
                                           "GAP beyond the serving interval"]

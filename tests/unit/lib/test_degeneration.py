"""The repetition measures of lib/degeneration.py."""

import math

from lib.degeneration import rates, repetition_counts


def test_a_loop_is_degenerate_and_varied_text_is_not():
    varied = list(range(40))
    loop = [7, 8, 9] * 14  # "7 8 9 7 8 9 ...": every 4-gram after the third repeats
    assert rates(repetition_counts(varied)) == {"seq_rep_4": 0.0, "distinct_2": 1.0}
    r = rates(repetition_counts(loop))
    assert r["seq_rep_4"] == (39 - 3) / 39 and r["distinct_2"] == 3 / 41


def test_short_replies_have_no_rate():
    counts = repetition_counts([1, 2])
    assert counts["ngrams_4"] == 0 and math.isnan(rates(counts)["seq_rep_4"])


def test_rows_above_the_threshold_are_flagged():
    import pandas as pd

    from lib.degeneration import degenerate

    cells = pd.DataFrame({"seq_rep_4": [0.05, 0.6, float("nan")]})
    assert list(degenerate(cells, 0.3)) == [False, True, False]
    assert list(degenerate(pd.DataFrame({"x": [1]}), 0.3)) == [False]


def test_a_verdict_drawn_from_degenerate_cells_says_so():
    """Part 30's headline was measured on repetitive output: the erratum marks any verdict whose
    cells repeat themselves, reproduced or not."""
    import pandas as pd
    from lib.claims_ledger import load_claims
    from lib.erratum import erratum_table

    from helpers.workflow import ROOT

    claims = load_claims(ROOT / "config" / "claims.yaml", ROOT / "config" / "claims.schema.yaml")
    row = {"body": "abliterated", "drafter": "finetuned", "n": 4, "rep": 1, "temperature": 0.7,
           "fidelity_ok": True, "tok_s_aggregate": 46.0, "a0": 0.57, "a1": 0.5, "a2": 0.4,
           "a3": 0.3, "seq_rep_4": 0.8, "degenerate": True}
    table = erratum_table(claims, pd.DataFrame([row]), {}, "gb10").set_index("claim")
    assert "DEGENERATE OUTPUT in 1 of its 1 rows" in table.loc["p30c-finetuned-chat-pos0", "verdict"]
    clean = pd.DataFrame([row | {"seq_rep_4": 0.02, "degenerate": False}])
    table = erratum_table(claims, clean, {}, "gb10").set_index("claim")
    assert "DEGENERATE" not in table.loc["p30c-finetuned-chat-pos0", "verdict"]

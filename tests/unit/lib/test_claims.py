"""The claims ledger, the erratum verdicts, and the guard that keeps retracted numbers out of
figures."""

import pandas as pd
import pytest
import yaml
from lib.claims_ledger import ClaimError, drawable_value, load_claims, reference_label
from lib.erratum import erratum_table, verdict

from helpers.workflow import ROOT

LEDGER, SCHEMA = ROOT / "config" / "claims.yaml", ROOT / "config" / "claims.schema.yaml"


@pytest.fixture(scope="module")
def claims():
    return load_claims(LEDGER, SCHEMA)


def test_ledger_has_every_headline_number_the_retractions_and_the_later_record(claims):
    by_id = {c["id"]: c for c in claims}
    assert by_id["p28-vanilla-drafter-decay-on-abliterated"]["value"] == [65.6, 43.3, 29.2, 20.5]
    assert by_id["p30-finetuned-per-position"]["value"] == [84.4, 74.9, 74.1, 72.7]
    assert by_id["p30-finetuned-sweep"]["value"] == [59.04, 66.96, 74.90, 100.36]
    retracted = [c["id"] for c in claims if c["kind"] == "retracted"]
    assert retracted == ["p27-retracted-80pct-acceptance", "p28-retracted-vanilla-baseline-60",
                         "p28-retracted-50pct-tax", "p28-retracted-vanilla-decay",
                         "p28-retracted-licence"]
    withdrawn = {c["id"]: c["withdrawn"]["date"] for c in claims if c["kind"] == "withdrawn"}
    assert withdrawn == {"p30-finetuned-per-position": "2026-05-17",
                         "p30-finetuned-sweep": "2026-05-17",
                         "p30-finetuned-n4-per-prompt": "2026-05-17"}
    assert by_id["p30c-finetuned-chat-throughput"]["value"] == 46
    assert by_id["p31-vanilla-mtp-n4-chat"]["page"].startswith("https://")
    assert by_id["p30-training-duration"]["kind"] == "measured"  # 11 h was timed, not derived


def flat_numbers(value) -> set[float]:
    if isinstance(value, dict):
        return {x for v in value.values() for x in flat_numbers(v)}
    if isinstance(value, list):
        return {x for v in value for x in flat_numbers(v)}
    return {abs(float(value))} if isinstance(value, (int, float)) else set()


def test_every_number_of_the_seeds_tables_is_in_the_ledger(claims):
    """tests/unit/data/seed_tables.yaml transcribes the seeds' tables; each number is a claim's
    value, or is listed as not a claim with its reason."""
    ledger = set().union(*(flat_numbers(c["value"]) for c in claims))
    tables = yaml.safe_load((ROOT / "tests" / "unit" / "data" / "seed_tables.yaml").read_text())
    missing = []
    for t in tables["tables"]:
        excused = {float(k) for k in (t.get("not_claims") or {})}
        missing += [f"{t['write_up']}, {t['table']}: {x}" for x in t["numbers"]
                    if abs(float(x)) not in ledger and float(x) not in excused]
    assert not missing, missing


def test_every_kind_has_what_its_verdict_needs(claims):
    kinds = {c["kind"] for c in claims}
    assert kinds == {"measured", "estimate", "retracted", "withdrawn", "qualitative",
                     "consistency", "setting", "reference"}
    qualitative = {c["id"]: c["control"]["test"] for c in claims if c["kind"] == "qualitative"}
    assert qualitative["p28-decay-caused-by-abliteration"] == "decay_from_body_shift"
    assert qualitative["p28-n1-is-the-peak"] == qualitative["p30-sweet-spot-n4"] == "best_n"


def test_malformed_ledger_is_a_clear_error(tmp_path):
    data = yaml.safe_load(LEDGER.read_text())
    del data["claims"][3]["kind"]
    bad = tmp_path / "claims.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ClaimError, match=r"invalid claims ledger at 'claims/3'.*'kind'"):
        load_claims(bad, SCHEMA)


def test_retracted_claim_cannot_be_drawn(claims):
    with pytest.raises(ClaimError, match="p28-retracted-vanilla-decay.*retracted: a figure may not draw it"):
        drawable_value(claims, "p28-retracted-vanilla-decay")
    with pytest.raises(ClaimError, match="not in the ledger"):
        drawable_value(claims, "p99-invented")
    assert drawable_value(claims, "p30-finetuned-per-position") == [84.4, 74.9, 74.1, 72.7]
    assert reference_label(claims, "p30-finetuned-per-position").startswith("withdrawn 2026-05-17")
    with pytest.raises(ClaimError, match="a figure may not draw it"):
        drawable_value(claims, "p30-crash-step")  # measured, but nothing this workflow measures


def test_the_report_rule_draws_only_ledger_references():
    """The acceptance figure's references pass through drawable_value in scripts/lib/bench_figures.py."""
    rules = (ROOT / "rules" / "report.smk").read_text()
    plot = (ROOT / "scripts" / "plot_acceptance.py").read_text()
    assert "reference_claims=[" in rules and "drawable_value(claims, cid)" in plot


def cells(a, n=4, body="abliterated", drafter="vanilla", ok=True, acceptance_rate=0.40):
    """One bench row as aggregate_cells writes it: rates as fractions, as bench_cell stores
    vLLM's."""
    row = {"body": body, "drafter": drafter, "n": n, "rep": 1, "fidelity_ok": ok, "temperature": 0.7,
           "tok_s_aggregate": 50.0, "tok_s_per_prompt": 52.0, "acceptance_rate": acceptance_rate}
    row |= {f"a{k}": v for k, v in enumerate(a)}
    return pd.DataFrame([row])


def test_token_level_acceptance_fed_its_own_values_as_fractions_is_reproduced(claims):
    """Part 28's token-level acceptance (57/46/39 % at n = 2/3/4) against cells that hold those
    very rates as the fractions bench_cell writes: the erratum must put both in one unit (it
    once scaled only a0, and called the claim contradicted)."""
    rows = pd.concat([cells([0.7] * n, n=n, acceptance_rate=rate)
                      for n, rate in ((2, 0.57), (3, 0.46), (4, 0.39))])
    table = erratum_table(claims, rows, {}, "gb10").set_index("claim")
    row = table.loc["p28-abliterated-mtp-token-acceptance"]
    assert row["this run"] == [57.0, 46.0, 39.0]
    assert row["verdict"].startswith("reproduced")


def claim(claims, cid):
    return next(c for c in claims if c["id"] == cid)


def test_gb10_numbers_are_compared_with_tolerance(claims):
    table = erratum_table(claims, cells([0.66, 0.44, 0.30, 0.21]), {}, "gb10")
    row = table.set_index("claim").loc["p28-vanilla-drafter-decay-on-abliterated"]
    assert row["verdict"].startswith("reproduced")
    table = erratum_table(claims, cells([0.84, 0.75, 0.74, 0.73]), {}, "gb10")
    row = table.set_index("claim").loc["p28-vanilla-drafter-decay-on-abliterated"]
    assert row["verdict"].startswith("contradicted")


def intervals_of(body, drafter, n, spans: dict[str, tuple[float, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"body": body, "drafter": drafter, "n": n, "temperature": 0.7,
                          "statistic": s, "lo": lo, "hi": hi} for s, (lo, hi) in spans.items()])


def test_on_its_own_profile_a_claim_is_judged_by_its_interval(claims):
    """Part 28's 39.3 tok/s, tolerance 2: an interval inside 37.3..41.3 reproduces it, one
    wholly outside contradicts it, one that straddles the edge decides nothing."""
    row = cells([0.5] * 4, n=0, drafter="none").assign(tok_s_aggregate=39.0)
    for span, word in (((38.5, 40.0), "reproduced"), ((42.0, 45.0), "contradicted"),
                       ((36.0, 40.0), "inconclusive")):
        iv = intervals_of("abliterated", "none", 0, {"tok_s": span})
        table = erratum_table(claims, row, {}, "gb10", intervals=iv).set_index("claim")
        assert table.loc["p28-abliterated-fp8-baseline", "verdict"].startswith(word), span
    table = erratum_table(claims, row, {}, "gpu").set_index("claim")
    assert table.loc["p28-abliterated-fp8-baseline", "verdict"].startswith("not comparable")


def test_the_seeds_own_inconsistencies_are_computed(claims):
    table = erratum_table(claims, cells([0.5] * 4), {}, "gb10").set_index("claim")
    steps = table.loc["p30-step-times", "verdict"]
    assert steps.startswith("inconsistent: the n = 4 step is shorter than the n = 3 step")
    assert "n=3 44.5, n=4 40.5 ms (plain step 25.4 ms)" in steps
    val = table.loc["p30-validation-vs-inference", "verdict"]
    assert val.startswith("inconsistent") and "+17.6, +33.5, +47.7 points" in val


def test_settings_are_read_from_the_profile(claims):
    settings = {"bench.temperatures": [0.7, 0.0], "bench.num_prompts": 40}
    table = erratum_table(claims, cells([0.5] * 4), {}, "gb10",
                          settings=settings).set_index("claim")
    assert table.loc["p28-bench-temperature", "verdict"] == "matches this profile's config"
    assert table.loc["p28-bench-prompts", "verdict"] == "differs from this profile's config"
    assert table.loc["p30-extraction-memory-share", "verdict"].startswith("not set in this profile")


def test_the_summary_leads_with_the_record_and_what_this_run_can_judge(claims):
    from lib.erratum import summary

    table = erratum_table(claims, cells([0.5] * 4), {}, "miniature")
    first, second = summary(table, "miniature")[:2]
    assert "withdrew Part 30's headline on 2026-05-17" in first and "46 tok/s" in first
    assert "p28-retracted-50pct-tax" in first
    assert "other models and hardware" in second


def test_conditional_rates_beside_every_per_position_claim(claims):
    """Part 28's curve is flat in a_k / a_(k-1) (ordinary compounding); Part 30's is near 1
    after position 1, the mark of output the drafter predicts trivially."""
    table = erratum_table(claims, cells([0.60, 0.36, 0.18, 0.09]), {}, "gb10").set_index("claim")
    column = "conditional a_k/a_(k-1)"
    assert table.loc["p28-vanilla-drafter-decay-on-abliterated", column] == (
        "published 0.66, 0.67, 0.70; this run 0.60, 0.50, 0.50")
    assert table.loc["p30-finetuned-per-position", column] == "published 0.89, 0.99, 0.98"
    assert table.loc["p27-vanilla-baseline", column] == ""


def test_measured_values_print_as_plain_numbers(claims):
    """The erratum table shows 65.6, not numpy's repr np.float64(65.6)."""
    table = erratum_table(claims, cells([0.656, 0.433, 0.292, 0.205]), {}, "miniature")
    value = table.set_index("claim").loc["p28-vanilla-drafter-decay-on-abliterated", "this run"]
    assert str(value) == "[65.6, 43.3, 29.2, 20.5]"
    quant = {"abliterated": {"wall_time_s": 2.2, "size_bytes": 166755002}}
    table = erratum_table(claims, cells([0.5] * 4), quant, "miniature").set_index("claim")
    assert table.loc["p28-quantization-time", "this run"] == 0.0367
    assert table.loc["p28-quantization-size", "this run"] == 0.1668


def prompt_counts(per_prompt, n=4, body="abliterated", drafter="vanilla"):
    """prompts.csv rows: per_prompt is a list of (drafts, [accepted_0..accepted_{n-1}])."""
    rows = []
    for i, (drafts, accepted) in enumerate(per_prompt):
        row = {"body": body, "drafter": drafter, "n": n, "temperature": 0.7, "rep": 1,
               "prompt_index": i, "drafts": drafts, "accepted_tokens": sum(accepted),
               "output_tokens": 100, "latency_s": 1.0}
        rows.append(row | {f"accepted_{k}": a for k, a in enumerate(accepted)})
    return pd.DataFrame(rows)


def shape_verdict(c, per_prompt):
    from lib.bench_stats import series_intervals
    from lib.erratum import shape_statistics

    m = c["measures"]
    intervals = series_intervals(prompt_counts(per_prompt, body=m["body"], drafter=m["drafter"]))
    text = verdict(c, [0.0] * 4, "miniature", shape_statistics(intervals, m | {"endpoint": "chat"}))
    return text.split("; ", 1)[1] if c["kind"] == "withdrawn" else text


def curve(rng, a0, conditional, prompts=40):
    """Per-prompt counts drawn with a_0 and the conditional rates given."""
    out = []
    for _ in range(prompts):
        accepted = [int(rng.binomial(100, a0))]
        for rate in conditional:
            accepted.append(int(rng.binomial(accepted[-1], rate)))
        out.append((100, accepted))
    return out


def test_other_profiles_compare_shapes_by_conditional_rates_of_alike_drafters(claims):
    """Part 28's conditional rates are 0.66/0.67/0.70 at a_0 0.656; Part 30's 0.89/0.99/0.98
    at a_0 0.844."""
    import numpy as np

    decay = claim(claims, "p28-vanilla-drafter-decay-on-abliterated")
    flat = claim(claims, "p30-finetuned-per-position")
    rng = np.random.default_rng(1)
    decaying = curve(rng, 0.656, [0.66, 0.674, 0.702])
    assert shape_verdict(decay, decaying).startswith("shape reproduced")
    assert shape_verdict(decay, curve(rng, 0.656, [0.95, 0.95, 0.95])).startswith(
        "shape contradicted")
    level = curve(rng, 0.80, [0.887, 0.989, 0.981])
    assert shape_verdict(flat, level).startswith("shape reproduced")
    # a drafter as weak as the GPU study's (a_0 0.38) is not compared with Part 28's at all
    weak = shape_verdict(decay, curve(rng, 0.38, [0.39, 0.43, 0.46]))
    assert weak.startswith("not comparable: this run's drafter has a_0 = 0.38")


def test_a_useless_drafter_is_not_compared(claims):
    """a_0 = 0.05: its conditional rates could look like anything, flat included."""
    flat = claim(claims, "p30-finetuned-per-position")
    useless = [(100, [5, 4, 4, 4]) for _ in range(40)]
    assert shape_verdict(flat, useless).startswith("not comparable")


def test_a_list_length_mismatch_is_an_error(claims):
    c = claim(claims, "p28-vanilla-drafter-decay-on-abliterated")
    with pytest.raises(ClaimError, match="4 published values, 3 measured"):
        verdict(c, [60.0, 40.0, 30.0], "gb10")


def test_a_typo_in_a_claims_profile_is_refused(tmp_path):
    from lib.claims_ledger import known_profiles

    profiles = known_profiles(ROOT / "config")
    assert {"miniature", "smoke", "gb10", "gpu"} <= profiles
    data = yaml.safe_load(LEDGER.read_text())
    data["claims"][0]["profile"] = "gb01"
    bad = tmp_path / "claims.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ClaimError, match="profile 'gb01'"):
        load_claims(bad, SCHEMA, profiles=profiles)


def test_a_bad_ledger_fails_the_workflow_before_any_job(tmp_path):
    """Validated at start-up like the config: a dry run refuses a claim with no source."""
    import shutil

    from helpers.workflow import snakemake

    copy = tmp_path / "wf"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
        "results", ".venv", ".snakemake", ".git", ".carry*", "logs", "benchmarks", "reports"))
    data = yaml.safe_load((copy / "config" / "claims.yaml").read_text())
    del data["claims"][0]["source"]
    (copy / "config" / "claims.yaml").write_text(yaml.safe_dump(data))
    proc = snakemake("-n", "--configfile", "config/smoke.yaml", "-d", str(copy), "-s",
                     str(copy / "Snakefile"), check=False)
    assert proc.returncode != 0
    assert "'source' is a required property" in proc.stdout + proc.stderr


def test_unfaithful_cells_are_never_compared(claims):
    """...and say that they failed the gate, rather than 'not measurable'."""
    table = erratum_table(claims, cells([0.66, 0.44, 0.30, 0.21], ok=False), {}, "gb10")
    row = table.set_index("claim").loc["p28-vanilla-drafter-decay-on-abliterated"]
    assert row["verdict"].startswith("FAILED the fidelity gate")
    assert row["this run"] == ""




def test_only_the_seeds_temperature_is_compared(claims):
    from lib.erratum import measured

    at_zero = cells([0.9, 0.8, 0.7, 0.6]).assign(temperature=0.0)
    c = claim(claims, "p30-finetuned-per-position")
    assert measured(at_zero, {}, c["measures"]) is None


def test_derived_claims_are_recomputed_from_the_ledger(claims):
    """Part 30's "~2.01x" is 100.36 / 50.0, over the vanilla draft at the same n from another
    run; over no speculation (39.3) the same numbers give 2.55x."""
    from lib.erratum import recompute

    by_id = {c["id"]: c for c in claims}
    ratios, text = recompute(by_id["p30-speedups"], by_id)
    assert ratios[0] == pytest.approx([1.122, 1.303, 1.597, 2.007], abs=1e-3)
    assert ratios[1] == pytest.approx([1.502, 1.704, 1.906, 2.554], abs=1e-3)
    assert "not paired" in text
    assert verdict(by_id["p30-speedups"], None, "gb10", recomputed=ratios).startswith(
        "estimate: recomputed from the ledger, agrees")
    wrong = by_id["p30-speedups"] | {"value": [1.12, 1.30, 1.60, 2.50]}
    assert "DIFFERS" in verdict(wrong, None, "gb10", recomputed=ratios)
    ratios, text = recompute(by_id["p27-vanilla-speedup"], by_id)
    assert ratios[0] == pytest.approx([2.663], abs=1e-3) and "(paired)" in text
    ratios, _ = recompute(by_id["p28-n4-slower-than-vanilla"], by_id)
    assert ratios[0] == pytest.approx([-54.04], abs=0.01)  # 50.0 / 108.78 - 1
    ratios, _ = recompute(by_id["p28-decay-steps"], by_id)
    assert ratios[0] == pytest.approx([-22.3, -14.1, -8.7])
    ratios, _ = recompute(by_id["p28-vanilla-more-than-double"], by_id)
    assert verdict(by_id["p28-vanilla-more-than-double"], None, "gb10",
                   recomputed=ratios).startswith("estimate: recomputed from the ledger, bears out")


def test_published_curves_are_placed_against_eagle3_references(claims):
    from lib.erratum import reference_context

    by_id = {c["id"]: c for c in claims}
    refs = [c for c in claims if c["kind"] == "reference"]
    assert len(refs) == 4 and all(len(r["value"]) == 3 for r in refs)
    part30 = reference_context(by_id["p30-finetuned-per-position"], refs)
    assert "a_0 0.844 above [0.290, 0.730]" in part30
    assert "a_2 0.741 above" in part30
    part28 = reference_context(by_id["p28-vanilla-drafter-decay-on-abliterated"], refs)
    assert "a_0 0.656 inside" in part28 and "context, not a verdict" in part28
    with pytest.raises(ClaimError, match="a figure may not draw it"):
        drawable_value(claims, "ref-vllm-eagle3-qwen3-8b")


def test_a_profile_must_bench_what_its_claims_measure(tmp_path):
    """gb10 benches the vanilla body for Part 27 / 28's vanilla numbers; without that series
    the workflow refuses at start-up naming the claims, unless a claim says why."""
    from helpers.workflow import load_profile as load, write_config

    from helpers.workflow import snakemake

    cfg = load("gb10.yaml")
    cfg["bench"]["series"] = [s for s in cfg["bench"]["series"] if s["body"] != "vanilla"]
    proc = snakemake("-n", "--configfile", str(write_config(tmp_path, cfg)), check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "p27-vanilla-mtp-n4-throughput: (vanilla, vanilla, n=4, chat, T=0.7)" in out
    assert "p28-vanilla-fp8-baseline: (vanilla, none, n=0, chat, T=0.7)" in out


def test_the_unbenched_rule_respects_not_benched():
    from lib.claims_ledger import unbenched

    claim_ = {"id": "x", "kind": "measured", "profile": "gb10",
              "measures": {"quantity": "a0", "body": "vanilla", "drafter": "mtp", "n": [1, 2]}}
    assert unbenched([claim_], "gb10", {("vanilla", "mtp", 1, "chat", 0.7)}) == [
        "x: (vanilla, mtp, n=2, chat, T=0.7)"]
    raw = claim_ | {"measures": claim_["measures"] | {"endpoint": "raw", "n": 1}}
    assert unbenched([raw], "gb10", {("vanilla", "mtp", 1, "chat", 0.7)}) == [
        "x: (vanilla, mtp, n=1, raw, T=0.7)"]
    assert unbenched([claim_ | {"not_benched": "n = 2 is not in the paper"}], "gb10", set()) == []
    assert unbenched([claim_], "miniature", set()) == []


def test_the_decay_attribution_is_judged_by_the_vanilla_body_control(claims):
    """Part 28 attributes the fall with depth to abliteration without the control; here the
    vanilla drafter on both bodies decides it, by the conditional rates."""
    import numpy as np

    from lib.erratum import control_verdict

    c = claim(claims, "p28-decay-caused-by-abliteration")
    margins = {"acceptance": 0.05}
    rng = np.random.default_rng(3)

    def both(abliterated_rates, prompts):
        return pd.concat([
            prompt_counts(curve(rng, 0.6, abliterated_rates, prompts), body="abliterated"),
            prompt_counts(curve(rng, 0.6, [0.6, 0.6, 0.6], prompts), body="vanilla")])

    shifted = control_verdict(c, both([0.4, 0.4, 0.4], 40), margins, "toy", n_boot=1000)
    assert shifted.startswith("supported"), shifted
    same = control_verdict(c, both([0.6, 0.6, 0.6], 400), margins, "toy", n_boot=1000)
    assert same.startswith("contradicted: the conditional rates are equivalent"), same
    alone = control_verdict(c, prompt_counts(curve(rng, 0.6, [0.4] * 3)), margins, "toy")
    assert alone.startswith("not judged: no control")


def test_gb10_benches_every_series_the_erratum_and_the_controls_need(claims):
    """Every measured and withdrawn gb10 claim's series, every qualitative claim's control, and
    the controls the seeds lacked: each drafter on both bodies (the vanilla MTP draft and
    RedHatAI's un-fine-tuned EAGLE-3), both endpoints, T = 0 and 0.7, and a serving check."""
    from lib.claims_ledger import claim_cells, control_cells
    from plumbing.study_profile import Profile

    from helpers.workflow import load_profile as load

    study = Profile(load("gb10.yaml"))
    benched = set(study.bench_series())
    ns = load("gb10.yaml")["bench"]["num_speculative_tokens"]
    needed = {cell for c in claims for cell in claim_cells(c) if c.get("profile") == "gb10"}
    needed |= {cell for c in claims for cell in control_cells(c, ns)}
    needed |= {(body, drafter, n, endpoint, t)
               for body in ("vanilla", "abliterated") for drafter in ("vanilla", "redhat")
               for n in range(1, 5)
               for endpoint in ("chat", "raw") for t in (0.0, 0.7)}
    needed |= {("abliterated", "finetuned", n, e, t) for n in range(1, 5)
               for e in ("chat", "raw") for t in (0.0, 0.7)}
    assert any(e == "raw" for *_, e, _ in needed)  # the withdrawn claims are raw-endpoint ones
    assert sorted(needed - benched) == []
    assert study.serving_check_enabled()
    # the check bites: without RedHatAI's drafter on the vanilla body a control is missing
    cfg = load("gb10.yaml")
    cfg["bench"]["series"] = [s for s in cfg["bench"]["series"]
                              if (s["body"], s["drafter"]) != ("vanilla", "redhat")]
    assert needed - set(Profile(cfg).bench_series())


def test_the_endpoint_correction_is_judged_by_raw_against_chat(claims):
    """The correction's explanation: raw prompts make the body repeat itself and the drafter's
    acceptance rise. Judged paired by prompt from both endpoints' cells."""
    import numpy as np

    from lib.erratum import control_verdict

    c = claim(claims, "p30c-raw-endpoint-artifact")
    rng = np.random.default_rng(5)

    def endpoint(name, a0, repeated):
        rows = prompt_counts(curve(rng, a0, [0.8, 0.8, 0.8]), drafter="finetuned")
        return rows.assign(endpoint=name, ngrams_4=97, repeated_4=repeated, bigrams=99,
                           distinct_bigrams=99 - repeated)

    chat = endpoint("chat", 0.55, 5)
    artifact = control_verdict(c, pd.concat([chat, endpoint("raw", 0.85, 60)]), {}, "toy",
                               n_boot=500)
    assert artifact.startswith("supported"), artifact
    assert "seq-rep-4 +0.567" in artifact
    none = control_verdict(c, pd.concat([chat, endpoint("raw", 0.45, 60)]), {}, "toy",
                           n_boot=500)
    assert none.startswith("contradicted"), none
    assert control_verdict(c, chat, {}, "toy").startswith("not judged: this run lacks")


def test_a_raw_claim_without_its_cells_names_the_series_it_needs(claims):
    """The miniature benches raw cells at n = 4 only: Part 30's n = 1..4 raw sweep is not
    measurable there, and the verdict says which cells it would need."""
    text = verdict(claim(claims, "p30-finetuned-sweep"), None, "miniature")
    assert text.startswith("withdrawn by its author")
    assert "no raw-endpoint cell of finetuned on abliterated at n = [1, 2, 3, 4]" in text

"""The erratum: each claim of the ledger against this run, with a verdict that compares like with
like, and a summary a reviewer reads first.

Verdict rules, by the claim's kind (config/claims.schema.yaml):
- measured (and withdrawn, which is measured and later withdrawn by its author): on the claim's
  own profile (its models and hardware) the claim is "reproduced" when this run's 95 % interval
  lies inside value ± tolerance (the claim's stated precision), "contradicted" when the
  interval lies wholly outside it, "inconclusive" otherwise; a quantity without an interval is
  compared by its mean and says so. On any other profile a number is "not comparable" (this
  run's value is context). A per-position curve is compared there by its shape, the conditional
  rates a_k / a_(k-1) with their intervals, and only when the drafters are alike (this run's a_0
  within DRAFTER_ALIKE of the published one): a weaker drafter's curve falls faster by
  compounding alone, so its shape says nothing about the published one.
- estimate: recomputed from the claims it is derived from.
- qualitative: judged from this run's controls (e.g. "the decay is caused by abliteration": the
  vanilla drafter's conditional rates on the abliterated body minus on the vanilla body), on this
  run's bodies, which the verdict names.
- consistency: the publications against themselves (Part 30's validation against its inference;
  its step times across n), computed from the ledger, beside this run's own.
- setting: the profile's config against the setting the seeds state.
- retracted and reference claims are listed, never compared.
A series that failed the fidelity gate is reported as such, not as "not measurable".
"""

import re

import pandas as pd
from lib.bench_stats import (MIN_CONDITIONING_EVENTS, N_BOOT, MeasuredApart, equivalence,
                             margin_of, paired, position_columns, speedup)
from lib.bench_keys import with_endpoint
from lib.claims_ledger import ClaimError, as_list
from lib.fidelity import fidelity_status
from lib.step_cost import check_steps

DRAFTER_ALIKE = 0.15  # |a_0 - published a_0| within which two drafters' curves are compared
SEEDS_TEMPERATURE = 0.7  # every published bench number was measured at T = 0.7
# Cell columns that hold a fraction where the ledger quotes a percentage (bench_cell writes
# vLLM's acceptance rates as fractions).
PERCENT_QUANTITIES = {"a0", "acceptance_rate", "per_position_acceptance"}
# The intervals table's statistic for a claim's quantity (none: compared by the mean).
INTERVAL_STATISTIC = {"tok_s_aggregate": "tok_s", "a0": "a0"}
VERDICT_CLASSES = ["reproduced", "contradicted", "inconclusive", "not comparable", "supported",
                   "not decided", "not judged", "not measurable", "not measured", "FAILED",
                   "inconsistent", "consistent", "matches", "differs", "estimate", "withdrawn",
                   "retracted", "reference"]


# --- what this run measured -------------------------------------------------------------------


def endpoint_rows(cells: pd.DataFrame, measures: dict) -> pd.DataFrame | None:
    """The rows of the claim's endpoint; cells from before the endpoint axis are chat."""
    endpoint = measures.get("endpoint", "chat")
    if "endpoint" in cells:
        return cells[cells["endpoint"] == endpoint]
    return cells if endpoint == "chat" else None


def series_rows(cells: pd.DataFrame | None, measures: dict, valid: bool = True):
    if cells is None or cells.empty or "drafter" not in measures or "body" not in measures:
        return None
    rows = endpoint_rows(cells, measures)
    if rows is None:
        return None
    sel = rows[(rows["body"] == measures["body"]) & (rows["drafter"] == measures["drafter"])
               & (rows["temperature"] == measures.get("temperature", SEEDS_TEMPERATURE))]
    if valid and "fidelity_ok" in sel:
        sel = sel[fidelity_status(sel) != "FAIL"]
    return sel


def final_validation(training: pd.DataFrame | None) -> list[float] | None:
    """The trainer's last validation full_acc_0..2, in percent."""
    if training is None:
        return None
    cols = [f"val/full_acc_{k}_epoch" for k in range(3)]
    if any(c not in training for c in cols):
        return None
    rows = training.dropna(subset=cols)
    if rows.empty:
        return None
    return [round(float(100 * v), 2) for v in rows.iloc[-1][cols]]


def measured(cells: pd.DataFrame, quant: dict[str, dict], measures: dict,
             training: dict[str, pd.DataFrame] | None = None):
    """This run's measurement for a claim's `measures`, in the claim's unit, or None."""
    q = measures["quantity"]
    if q in ("quantize_wall_time_min", "quantize_size_gb"):
        r = quant.get(measures["body"])
        if r is None:
            return None
        value = r["wall_time_s"] / 60 if q == "quantize_wall_time_min" else r["size_bytes"] / 1e9
        return round(float(value), 4)
    if q == "training_curve":
        return final_validation((training or {}).get(measures["drafter"]))
    sel = series_rows(cells, measures)
    if sel is None:
        return None
    scale = 100 if q in PERCENT_QUANTITIES else 1
    if q == "per_position_acceptance":
        part = sel[sel["n"] == measures["n"]]
        cols = [f"a{k}" for k in range(measures["n"]) if f"a{k}" in part.columns]
        if part.empty or len(cols) < measures["n"]:
            return None
        return [round(float(scale * part[c].mean()), 2) for c in cols]
    values = []
    for n in as_list(measures["n"]):
        part = sel[sel["n"] == n]
        if part.empty or q not in part.columns:
            return None
        values.append(round(float(scale * part[q].mean()), 2))
    return values if isinstance(measures["n"], list) else values[0]


def measured_intervals(intervals: pd.DataFrame | None, measures: dict):
    """95 % intervals of the claim's values (in its unit), or None without them."""
    q = measures["quantity"]
    if q == "per_position_acceptance":
        stats, ns = [f"a{k}" for k in range(measures["n"])], [measures["n"]] * measures["n"]
    elif q in INTERVAL_STATISTIC:
        ns = as_list(measures["n"])
        stats = [INTERVAL_STATISTIC[q]] * len(ns)
    else:
        return None
    rows = series_rows(intervals, measures, valid=False)
    if rows is None:
        return None
    scale = 100 if q in PERCENT_QUANTITIES else 1
    out = []
    for stat, n in zip(stats, ns):
        hit = rows[(rows["statistic"] == stat) & (rows["n"] == n)]
        if hit.empty or hit[["lo", "hi"]].isna().any(axis=None):
            return None
        out.append((scale * float(hit["lo"].iloc[0]), scale * float(hit["hi"].iloc[0])))
    return out


def degenerate_note(cells: pd.DataFrame, measures: dict) -> str:
    """A warning for verdicts drawn from cells whose output repeats itself (aggregate_cells'
    `degenerate` flag): acceptance on such output measures the repetition, not the drafter."""
    sel = series_rows(cells, measures)
    if sel is None or "degenerate" not in sel or "n" not in measures:
        return ""
    sel = sel[sel["n"].isin(as_list(measures["n"]))]
    flagged = sel[sel["degenerate"].astype(bool)]
    if flagged.empty:
        return ""
    return (f"; DEGENERATE OUTPUT in {len(flagged)} of its {len(sel)} rows (seq-rep-4 up to"
            f" {flagged['seq_rep_4'].max():.2f}): acceptance there measures repetition")


def failed_gate(cells: pd.DataFrame, measures: dict) -> bool:
    """Whether the claim's cells were measured and failed the fidelity gate."""
    sel = series_rows(cells, measures, valid=False)
    if sel is None or "n" not in measures:
        return False
    sel = sel[sel["n"].isin(as_list(measures["n"]))]
    return bool((fidelity_status(sel) == "FAIL").any())


def published_values(claim: dict) -> list:
    """The values a measurement is compared with: the final validation row's full_acc_0..2
    for a training table, the value (as a list) otherwise."""
    if claim.get("measures", {}).get("quantity") == "training_curve":
        return claim["value"]["val"][1:]
    return as_list(claim["value"])


# --- shapes: conditional rates, only between drafters that are alike ---------------------------


def shape_statistics(intervals: pd.DataFrame | None, measures: dict) -> dict | None:
    """a_0 and the conditional rates a_k / a_(k-1) of a per-position claim's series at the
    seeds' temperature, each with its 95 % interval over prompts, as bench_intervals wrote them
    (lib/bench_stats.series_intervals)."""
    rows = series_rows(intervals, measures, valid=False)
    if rows is None:
        return None
    n = measures["n"]
    rows = rows[rows["n"] == n].set_index("statistic")
    wanted = ["a0", *[f"cond{k}" for k in range(1, n)]]
    if any(s not in rows.index for s in wanted):
        return None
    stat = {s: tuple(float(rows.loc[s, c]) for c in ("estimate", "lo", "hi")) for s in wanted}
    return {"a0": stat["a0"], "cond": [stat[s] for s in wanted[1:]],
            "prompts": int(rows.loc["a0", "prompts"])}


def conditional_rates(values) -> str:
    """a_k / a_(k-1) of a per-position list (percentages or fractions), as the erratum shows
    them beside the curve: flat rates are ordinary compounding, not depth-specific decay."""
    values = as_list(values)
    return ", ".join(f"{b / a:.2f}" if a else "undefined" for a, b in zip(values, values[1:]))


def shape_verdict(claim: dict, shape: dict | None) -> str:
    published = [v / 100 for v in as_list(claim["value"])]
    if shape is None:
        return "not comparable (other models and hardware); no intervals for its shape"
    a0, lo, hi = shape["a0"]
    if not abs(a0 - published[0]) <= DRAFTER_ALIKE:
        return (f"not comparable: this run's drafter has a_0 = {a0:.2f} [{lo:.2f}, {hi:.2f}],"
                f" the published {published[0]:.2f} (alike within ±{DRAFTER_ALIKE}); curves of"
                " drafters this different differ in shape by compounding alone")
    target = [b / a for a, b in zip(published, published[1:])]
    words, outside = [], 0
    for k, ((est, clo, chi), t) in enumerate(zip(shape["cond"], target), start=1):
        inside = clo <= t <= chi
        outside += not inside
        words.append(f"a_{k}/a_{k - 1} {est:.2f} [{clo:.2f}, {chi:.2f}] vs {t:.2f}")
    word = "shape reproduced" if outside == 0 else "shape contradicted"
    return (f"{word} (drafters alike: a_0 {a0:.2f} vs {published[0]:.2f}): " + "; ".join(words)
            + f" over {shape['prompts']} prompts")


# --- estimates --------------------------------------------------------------------------------


def resolve(ref: str, by_id: dict[str, dict]) -> list[float]:
    """A claim's values, or its k-th value for `id[k]`."""
    m = re.fullmatch(r"([a-z0-9-]+)(?:\[(\d+)\])?", ref)
    cid, index = m.group(1), m.group(2)
    if cid not in by_id:
        raise ClaimError(f"derived from a claim not in the ledger: '{cid}'")
    values = as_list(by_id[cid]["value"])
    return values if index is None else [values[int(index)]]


OPERATIONS = {
    "ratio": (lambda a, b: a / b, "over"),
    "percent_change": (lambda a, b: 100 * (a / b - 1), "change over"),
    "difference": (lambda a, b: a - b, "minus"),
}


def recompute(claim: dict, by_id: dict[str, dict]) -> tuple[list[list[float]], str]:
    """A derived estimate recomputed from the ledger: one list per baseline in `over` (the
    first is the author's own), or the steps of one curve, and a sentence that says how."""
    d = claim["derived"]
    op = d.get("op", "ratio")
    top = resolve(d["of"], by_id)
    if op == "steps":
        steps = [round(b - a, 3) for a, b in zip(top, top[1:])]
        return [steps], f"steps of {d['of']}: " + ", ".join(f"{x:+.2f}" for x in steps)
    fn, word = OPERATIONS[op]
    results, parts = [], []
    for base_id in d["over"]:
        base = resolve(base_id, by_id)
        if len(base) not in (1, len(top)):
            raise ClaimError(f"claim '{claim['id']}': {len(top)} values over {len(base)} in"
                             f" '{base_id}'; a list is never truncated to compare")
        base = base * len(top) if len(base) == 1 else base
        r = [round(fn(a, b), 3) for a, b in zip(top, base)]
        results.append(r)
        parts.append(f"{word} {base_id}: {', '.join(f'{x:.2f}' for x in r)}")
    pairing = "one run (paired)" if d["paired"] else "separate runs (not paired)"
    return results, f"{d['of']} " + "; ".join(parts) + f"; from {pairing}"


def estimate_verdict(claim: dict, recomputed: list[list[float]]) -> str:
    d = claim["derived"]
    precision = d.get("precision", 0.01)
    published = as_list(claim["value"])
    mine = recomputed[0]
    if d.get("relation") == "at_least":
        ok = all(m >= p - precision for m, p in zip(mine, published))
        word = "bears out" if ok else "DOES NOT bear out"
        return (f"estimate: recomputed from the ledger, {word} the published bound"
                f" (at least {published[0]:g}); not a measurement")
    ok = len(mine) == len(published) and all(
        abs(a - b) <= precision + 1e-9 for a, b in zip(mine, published))
    word = "agrees with" if ok else "DIFFERS from"
    return (f"estimate: recomputed from the ledger, {word} the published value"
            f" (±{precision:g}); not a measurement, not compared")


# --- measured claims ------------------------------------------------------------------------


def measured_verdict(claim: dict, value, profile: str, shape: dict | None = None,
                     intervals: list | None = None) -> str:
    if value is None:
        return "not measurable on this profile"
    published = published_values(claim)
    if len(as_list(value)) != len(published):
        raise ClaimError(f"claim '{claim['id']}': {len(published)} published values, "
                         f"{len(as_list(value))} measured; a list is never truncated to compare")
    if claim.get("profile") != profile:
        if claim["measures"]["quantity"] == "per_position_acceptance" and len(published) > 1:
            return shape_verdict(claim, shape)
        return "not comparable (other models and hardware); this run's value is context"
    tol, unit = claim["tolerance"], claim["unit"]
    if intervals is None:
        ok = max(abs(m - c) for m, c in zip(as_list(value), published)) <= tol
        return (f"{'reproduced' if ok else 'contradicted'} (means only, no interval for this"
                f" quantity; tolerance ±{tol} {unit})")
    inside = [c - tol <= lo and hi <= c + tol for (lo, hi), c in zip(intervals, published)]
    apart = [hi < c - tol or lo > c + tol for (lo, hi), c in zip(intervals, published)]
    spans = ", ".join(f"[{lo:.4g}, {hi:.4g}]" for lo, hi in intervals)
    if all(inside):
        word = "reproduced"
    elif any(apart):
        word = "contradicted"
    else:
        word = "inconclusive (an interval straddles the tolerance)"
    return f"{word}: 95 % intervals {spans} against ±{tol} {unit}"


def verdict(claim: dict, value, profile: str, shape: dict | None = None,
            gate_failed: bool = False, recomputed: list[list[float]] | None = None,
            intervals: list | None = None) -> str:
    """The verdict of a measured, withdrawn, estimate, retracted or reference claim."""
    kind = claim["kind"]
    if kind == "retracted":
        return "retracted: listed, never compared or drawn"
    if kind == "reference":
        return "reference: another system's published measurement, context only"
    prefix = ""
    if kind == "withdrawn":
        w = claim["withdrawn"]
        prefix = f"withdrawn by its author on {w['date']} ({w['reason'].strip()}); "
    if claim.get("derived"):
        if recomputed is None:
            raise ClaimError(f"claim '{claim['id']}' is an estimate: recompute it first")
        return prefix + estimate_verdict(claim, recomputed)
    if claim.get("not_measured"):
        return prefix + "not measured by this workflow: " + claim["not_measured"]
    if gate_failed:
        return prefix + ("FAILED the fidelity gate: the cell's output differs from the body's;"
                         " not compared")
    if value is None and claim["measures"].get("endpoint") == "raw":
        m = claim["measures"]
        return prefix + (f"not measurable: this profile benches no raw-endpoint cell of"
                         f" {m['drafter']} on {m['body']} at n = {m.get('n')}")
    return prefix + measured_verdict(claim, value, profile, shape, intervals)


# --- qualitative claims: this run's controls --------------------------------------------------


def chat_rows(prompts: pd.DataFrame | None) -> pd.DataFrame | None:
    if prompts is None or prompts.empty:
        return None
    rows = endpoint_rows(prompts, {})
    return rows[rows["temperature"] == SEEDS_TEMPERATURE]


def series_of(rows: pd.DataFrame, body: str, drafter: str, n: int) -> pd.DataFrame:
    return rows[(rows["body"] == body) & (rows["drafter"] == drafter) & (rows["n"] == n)]


def interval_words(est: float, lo: float, hi: float) -> str:
    return f"{est:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def control_verdict(claim: dict, prompts: pd.DataFrame | None, margins: dict[str, float],
                    bodies: str, n_boot: int = N_BOOT) -> str:
    """A qualitative claim judged from this run's controls, on this run's bodies."""
    c = claim["control"]
    if c["test"] == "none":
        return "not judged: " + c["why"]
    rows = chat_rows(prompts)
    if rows is None:
        return "not judged: no per-prompt counters"
    where = f" (on this run's bodies: {bodies}; T = {SEEDS_TEMPERATURE:g}, chat)"
    if c["test"] == "decay_from_body_shift":
        a = series_of(rows, "abliterated", c["drafter"], c["n"])
        b = series_of(rows, "vanilla", c["drafter"], c["n"])
        if a.empty or b.empty:
            return (f"not judged: no control: this run lacks the {c['drafter']} drafter at"
                    f" n = {c['n']} on both bodies")
        positions = position_columns(a)[: c["n"]]
        diff = paired(a, b, positions, n_boot, 0)
        conds = [f"cond{k}" for k in range(1, c["n"])
                 if min(x[f"accepted_{k - 1}"].sum() for x in (a, b)) >= MIN_CONDITIONING_EVENTS]
        if not conds:
            return ("not judged: too few accepted drafts for any conditional rate (fewer than"
                    f" {MIN_CONDITIONING_EVENTS} at each position before){where}")
        m = margin_of("cond1", margins)
        lower = [k for k in conds if diff[k][2] < 0]
        same = [k for k in conds
                if equivalence(diff[k][1], diff[k][2], m, ratio=False).startswith("equivalent")]
        words = "; ".join(f"{k} {interval_words(*diff[k][:3])}" for k in conds)
        a0 = f"a0 {interval_words(*diff['a0'][:3])}"
        if lower:
            head = "supported: a conditional rate is lower on the abliterated body"
        elif len(same) == len(conds) == c["n"] - 1:
            head = (f"contradicted: the conditional rates are equivalent within ±{m:g} on both"
                    " bodies (the fall with depth is compounding, not the body)")
        else:
            head = ("not decided: no conditional rate separated, not all shown equivalent"
                    + ("" if len(conds) == c["n"] - 1 else
                       f" (judged on {', '.join(conds)} only: too few accepted drafts for the"
                       " rest)"))
        return f"{head}; abliterated minus vanilla body: {a0}; {words}{where}"
    if c["test"] == "no_body_tax":
        a = series_of(rows, c["body"], "none", 0)
        b = series_of(rows, "vanilla", "none", 0)
        if a.empty or b.empty:
            return "not judged: this run lacks a no-speculation cell on both bodies"
        try:
            est, lo, hi, _ = speedup(a, b, n_boot, 0)
        except MeasuredApart as apart:
            return f"not judged: the no-speculation cells were {apart}"
        m = margin_of("speedup", margins)
        eq = equivalence(lo, hi, m, ratio=True)
        head = ("supported" if eq.startswith("equivalent")
                else "contradicted" if (hi < 1 or lo > 1) else "not decided")
        return (f"{head}: no-speculation tok/s, abliterated over vanilla body {est:.3f}"
                f" [{lo:.3f}, {hi:.3f}], {eq}{where}")
    if c["test"] == "best_n":
        return best_n_verdict(rows, c, where, n_boot)
    if c["test"] == "endpoint_artifact":
        return endpoint_artifact_verdict(prompts, c, margins, bodies, n_boot)
    if c["test"] == "drafter_beats":
        best = series_of(rows, c["body"], c["drafter"], c["n"])
        others = {n: p for (d, n), p in rows[rows["body"] == c["body"]].groupby(
            ["drafter", "n"]) if d == c["other_drafter"] and n > 0}
        if best.empty or not others:
            return (f"not judged: this run lacks the {c['drafter']} drafter at n = {c['n']} or"
                    f" the {c['other_drafter']} drafter on the {c['body']} body")
        head, words = faster_than(best, others, n_boot)
        return (f"{head}: tok/s of the {c['drafter']} drafter at n = {c['n']} over the"
                f" {c['other_drafter']} drafter's, {words}{where}")
    raise ClaimError(f"claim '{claim['id']}': unknown control '{c['test']}'")


def endpoint_artifact_verdict(prompts: pd.DataFrame, c: dict, margins: dict[str, float],
                              bodies: str, n_boot: int) -> str:
    """The endpoint correction's explanation: on the raw endpoint the body's output repeats
    itself more (seq-rep-4) and the drafter's acceptance rises. Supported when both raw-minus-
    chat differences are separated above 0; contradicted when raw does not raise acceptance
    (its difference separated below 0, or equivalent to 0 within the margin)."""
    rows = with_endpoint(prompts)
    rows = rows[rows["temperature"] == SEEDS_TEMPERATURE]
    raw, chat = (series_of(rows[rows["endpoint"] == e], c["body"], c["drafter"], c["n"])
                 for e in ("raw", "chat"))
    if raw.empty or chat.empty:
        return (f"not judged: this run lacks the {c['drafter']} drafter at n = {c['n']} on the"
                f" {c['body']} body on both endpoints")
    diff = paired(raw, chat, position_columns(raw)[: c["n"]], n_boot, 0)
    if "seq_rep_4" not in diff:
        return "not judged: the cells carry no repetition counts"
    rep4, a0 = diff["seq_rep_4"], diff["a0"]
    m = margin_of("a0", margins)
    if rep4[1] > 0 and a0[1] > 0:
        head = "supported: on the raw endpoint the output repeats itself more and a_0 is higher"
    elif a0[2] < 0 or equivalence(a0[1], a0[2], m, ratio=False).startswith("equivalent"):
        head = "contradicted: the raw endpoint does not raise the drafter's acceptance"
    else:
        head = "not decided: a difference not separated"
    return (f"{head}; raw minus chat: seq-rep-4 {interval_words(*rep4[:3])}, a0"
            f" {interval_words(*a0[:3])} (on this run's bodies: {bodies}; T ="
            f" {SEEDS_TEMPERATURE:g}, the {c['drafter']} drafter at n = {c['n']})")


def best_n_verdict(rows: pd.DataFrame, c: dict, where: str, n_boot: int) -> str:
    """Whether n = c['n'] is the fastest of the series: its tok/s over each other n's, paired by
    prompt (the repeats of each drawn independently)."""
    part = rows[(rows["body"] == c["body"]) & (rows["drafter"] == c["drafter"]) & (rows["n"] > 0)]
    ns = sorted(int(n) for n in part["n"].unique())
    if c["n"] not in ns or len(ns) < 2:
        return f"not judged: this run benches the {c['drafter']} drafter at n = {ns or 'none'}"
    others = {n: part[part["n"] == n] for n in ns if n != c["n"]}
    head, words = faster_than(part[part["n"] == c["n"]], others, n_boot)
    if head == "not decided":
        head += ": no other n separated from it"
    return f"{head}: tok/s at n = {c['n']} {words}{where}"


def faster_than(best: pd.DataFrame, others: dict[int, pd.DataFrame], n_boot: int
                ) -> tuple[str, str]:
    """Whether `best` has more tok/s than each of `others` (by n): supported when every ratio's
    interval lies above 1, contradicted when one lies below, and the ratios in words; not judged
    when the series ran on different machines."""
    try:
        ratios = {n: speedup(best, other, n_boot, 0) for n, other in sorted(others.items())}
    except MeasuredApart as apart:
        return "not judged", f"the series were {apart}"
    words = "; ".join(f"over n = {n}: {e:.3f} [{lo:.3f}, {hi:.3f}]"
                      for n, (e, lo, hi, _) in ratios.items())
    head = ("supported" if all(lo > 1 for _, lo, _, _ in ratios.values())
            else "contradicted" if any(hi < 1 for _, _, hi, _ in ratios.values())
            else "not decided")
    return head, words


# --- consistency of the publications ------------------------------------------------------------


def consistency_verdict(claim: dict, by_id: dict[str, dict], cells: pd.DataFrame | None,
                        training: dict[str, pd.DataFrame]) -> tuple[str, str]:
    """(verdict, this run's counterpart) of a check of the publications against themselves."""
    check = claim["check"]
    if check["test"] == "validation_vs_inference":
        inference = by_id[check["claims"][0]]
        validation = published_values(by_id[check["claims"][1]])
        gaps = [round(a - b, 1) for a, b in zip(as_list(inference["value"]), validation)]
        mine = ""
        m = inference["measures"]
        ours = measured(cells, {}, m | {"endpoint": "chat"}) if cells is not None else None
        val = final_validation(training.get(m["drafter"]))
        if ours is not None and val is not None:
            mine_gaps = [round(a - b, 1) for a, b in zip(ours, val)]
            mine = ("this run (chat): inference minus validation "
                    + ", ".join(f"{g:+.1f}" for g in mine_gaps) + " points")
        # Rejection sampling at T = 0.7 accepts more than teacher-forced argmax matches (the
        # author's explanation), but by a margin no larger at depth than at position 0 unless
        # the served output differs from the validation data.
        growth = gaps[-1] - gaps[0]
        tol = inference["tolerance"]
        word = "inconsistent" if growth > tol else "consistent"
        return (f"{word}: published inference minus validation full_acc_0..2 = "
                + ", ".join(f"{g:+.1f}" for g in gaps) + f" points, growing by {growth:.1f} with"
                f" depth (more than the claims' ±{tol}); the endpoint correction traced the"
                " inference numbers to degenerate output", mine)
    if check["test"] == "step_times":
        times = [1000 * s["acceptance_length"] / s["tok_s"] for s in check_steps(check, by_id)]
        plain = 1000 / as_list(by_id[check["claims"][2]]["value"])[0]
        falls = [(n, n + 1) for n in range(1, len(times)) if times[n] < times[n - 1]]
        text = ", ".join(f"n={n} {t:.1f}" for n, t in enumerate(times, start=1))
        head = ("inconsistent: " + "; ".join(f"the n = {b} step is shorter than the n = {a} step"
                                              for a, b in falls)
                if falls else "consistent: step time grows with n")
        mine = step_times_of_run(cells, by_id[check["claims"][1]]["measures"])
        return (f"{head}: acceptance length / tok/s = {text} ms (plain step {plain:.1f} ms)", mine)
    raise ClaimError(f"claim '{claim['id']}': unknown check '{check['test']}'")


def step_times_of_run(cells: pd.DataFrame | None, measures: dict) -> str:
    """This run's step time per n for the same series (chat): acceptance length / tok/s."""
    sel = series_rows(cells, measures | {"endpoint": "chat"})
    if sel is None or sel.empty or "acceptance_length" not in sel:
        return ""
    parts = []
    for n, part in sel.groupby("n"):
        length = part["acceptance_length"].mean() if n > 0 else 1.0
        parts.append(f"n={n} {1000 * length / part['tok_s_aggregate'].mean():.1f}")
    return "this run (chat): " + ", ".join(parts) + " ms per step"


# --- settings -------------------------------------------------------------------------------


def setting_verdict(claim: dict, settings: dict, profile: str) -> tuple[str, str]:
    s = claim["setting"]
    have = settings.get(s["config"])
    shown = f"{s['config']} = {have!r}" if have is not None else f"{s['config']} not set"
    if claim["profile"] != profile:
        return f"not comparable: a setting of the {claim['profile']} profile", shown
    if have is None:
        return f"not set in this profile ({s['config']})", shown
    if s.get("relation") == "contains":
        ok = claim["value"] in as_list(have)
    else:
        ok = have == claim["value"]
    return ("matches this profile's config" if ok else "differs from this profile's config"), shown


# --- the table and its summary ----------------------------------------------------------------


def reference_context(claim: dict, references: list[dict]) -> str:
    """Where a published per-position curve lies against EAGLE-3 under vLLM (information)."""
    if not references or claim.get("measures", {}).get("quantity") != "per_position_acceptance":
        return ""
    published = [v / 100 for v in as_list(claim["value"])]
    words = []
    for k, v in enumerate(published):
        known = [r["value"][k] for r in references if k < len(r["value"])]
        if not known:
            continue
        lo, hi = min(known), max(known)
        where = "inside" if lo <= v <= hi else ("above" if v > hi else "below")
        words.append(f"a_{k} {v:.3f} {where} [{lo:.3f}, {hi:.3f}]")
    ids = ", ".join(r["id"] for r in references)
    return ("against EAGLE-3 under vLLM (T = 0, k = 3; " + ids + "): " + "; ".join(words)
            + " (context, not a verdict: other bodies, drafters and temperature)")


def erratum_table(claims: list[dict], cells: pd.DataFrame, quant: dict[str, dict],
                  profile: str, prompts: pd.DataFrame | None = None,
                  intervals: pd.DataFrame | None = None,
                  training: dict[str, pd.DataFrame] | None = None,
                  settings: dict | None = None, margins: dict[str, float] | None = None,
                  bodies: str = "") -> pd.DataFrame:
    rows = []
    by_id = {c["id"]: c for c in claims}
    references = [c for c in claims if c["kind"] == "reference"]
    training, settings, margins = training or {}, settings or {}, margins or {}
    for c in claims:
        m = c.get("measures")
        value = measured(cells, quant, m, training) if m and not c.get("not_measured") else None
        context = ""
        if c["kind"] == "qualitative":
            text = control_verdict(c, prompts, margins, bodies)
        elif c["kind"] == "consistency":
            text, context = consistency_verdict(c, by_id, cells, training)
        elif c["kind"] == "setting":
            text, context = setting_verdict(c, settings, profile)
        else:
            shape = (shape_statistics(intervals, m)
                     if m and m["quantity"] == "per_position_acceptance" else None)
            recomputed = None
            if c.get("derived"):
                recomputed, context = recompute(c, by_id)
            elif c["kind"] in ("measured", "withdrawn"):
                context = reference_context(c, references)
            if c.get("not_benched"):
                context = ((context + "; " if context else "") + "not benched by design: "
                           + c["not_benched"])
            text = verdict(c, value, profile, shape, failed_gate(cells, m) if m else False,
                           recomputed, measured_intervals(intervals, m) if m else None)
            if m and value is not None:
                text += degenerate_note(cells, m)
        rows.append({  # what a reviewer reads first comes first: the verdict beside the numbers
            "claim": c["id"], "kind": c["kind"], "published": c["value"], "unit": c["unit"],
            "this run": value if value is not None else "",
            "verdict": text,
            "recomputed / context": context,
            "conditional a_k/a_(k-1)": (
                f"published {conditional_rates(c['value'])}"
                + (f"; this run {conditional_rates(value)}" if value is not None else "")
                if m and m["quantity"] == "per_position_acceptance" else ""),
            "quote": c["quote"], "source": c["source"],
        })
    return pd.DataFrame(rows)


def verdict_class(text: str) -> str:
    """The verdict's first word(s), for counting: reproduced, not comparable, ..."""
    body = text.split("; ", 1)[1] if text.startswith("withdrawn by its author") else text
    for word in VERDICT_CLASSES:
        if body.startswith(word):
            return word
    return "other"


def summary(table: pd.DataFrame, profile: str, claim_profile: str = "gb10") -> list[str]:
    """The paragraphs a reviewer reads before the table: what the record says now, what this
    run reproduces, what it cannot judge and why."""
    kinds = table["kind"].value_counts()
    withdrawn = table[table["kind"] == "withdrawn"]["claim"].tolist()
    retracted = table[table["kind"] == "retracted"]["claim"].tolist()
    measured_rows = table[table["kind"].isin(["measured", "withdrawn"])]
    classes = measured_rows["verdict"].map(verdict_class).value_counts()
    qualitative = table[table["kind"] == "qualitative"]
    published = dict(zip(table["claim"], table["published"]))

    def quoted(cid: str, unit: str) -> str:
        return f"{published[cid]} {unit}" if cid in published else "(not in the ledger)"

    out = [
        f"The record now ({len(table)} entries: " + ", ".join(
            f"{int(v)} {k}" for k, v in kinds.items()) + "). The author withdrew Part 30's"
        " headline on 2026-05-17 (" + ", ".join(withdrawn) + "): it was measured on"
        " /v1/completions without the chat template, where the body's output degenerated. On"
        " chat the fine-tuned drafter gave " + quoted("p30c-finetuned-chat-throughput", "tok/s")
        + " against " + quoted("p30c-vanilla-mtp-n1-chat", "tok/s") + " for the vanilla MTP"
        " draft at n = 1, and Part 31 recommends the vanilla draft at n = 4 ("
        + quoted("p31-vanilla-mtp-n4-chat", "tok/s") + "). Retracted by the author: "
        + ", ".join(retracted) + ".",
    ]
    if profile == claim_profile:
        out.append("This run is on the claims' own profile: measured numbers are judged by their"
                   " 95 % intervals against the claim's precision. Verdicts on the measured and"
                   " withdrawn claims: " + ", ".join(f"{int(v)} {k}" for k, v in classes.items())
                   + ".")
    else:
        out.append(f"This run (profile {profile}) has other models and hardware than the claims"
                   f" ({claim_profile}): no published number can be reproduced or contradicted"
                   " here; its values are context. Per-position curves are compared by"
                   " conditional rates only where this run's drafter is alike (a_0 within"
                   f" ±{DRAFTER_ALIKE}). Verdicts on the measured and withdrawn claims: "
                   + ", ".join(f"{int(v)} {k}" for k, v in classes.items()) + ".")
    if len(qualitative):
        out.append("The statements without a number, judged by this run's controls on its own"
                   " bodies: " + "; ".join(
                       f"{r.claim}: {r.verdict.split(':', 1)[0]}" for r in qualitative.itertuples())
                   + ".")
    out.append("What this run cannot judge, and why, is in each verdict: claims of another"
               " profile, cells it does not bench (Chinese prompts, Round 2; the raw endpoint"
               " where the profile leaves it out),"
               " and incidents and wall times of the author's runs.")
    return out

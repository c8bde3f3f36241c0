"""The erratum: compare each claim of the ledger with this run and give it a verdict.

The erratum table states for every claim whether this run reproduced it, contradicted it (with
the tolerance), or cannot measure it on this profile.

Verdicts that cannot be fooled (issue #15): on the claim's own profile, numbers are compared
with the ledger's tolerance, and a measured list of another length than the published one is
an error, never a silent truncation. Elsewhere (other models and hardware) a per-position curve
is compared by shape: the ratio a_last / a_0 with its 95 % interval over prompts against the
published ratio, and only when a_0 reaches A0_FLOOR: below it a drafter is too weak for its
curve's shape to mean anything (a useless drafter would otherwise look "flat"). A cell that
failed the fidelity gate is reported as such, not as "not measurable".
"""

import numpy as np
import pandas as pd
from lib.bench_stats import N_BOOT, draws, interval
from lib.claims_ledger import ClaimError, as_list
from lib.fidelity import fidelity_status

RECOMPUTE_TOLERANCE = 0.01  # published ratios are given to two decimals
A0_FLOOR = 0.2  # a_0 below this: "drafter too weak to judge" (the miniature's ~0.17 is)
SEEDS_TEMPERATURE = 0.7  # every published bench number was measured at T = 0.7
# Cell columns that hold a fraction where the ledger quotes a percentage (bench_cell writes
# vLLM's acceptance rates as fractions).
PERCENT_QUANTITIES = {"a0", "acceptance_rate"}


def measured(cells: pd.DataFrame, quant: dict[str, dict], measures: dict):
    """This run's measurement for a claim's `measures`, in the claim's unit, or None."""
    q = measures["quantity"]
    if q in ("quantize_wall_time_min", "quantize_size_gb"):
        r = quant.get(measures["body"])
        if r is None:
            return None
        value = r["wall_time_s"] / 60 if q == "quantize_wall_time_min" else r["size_bytes"] / 1e9
        return round(float(value), 4)
    if q == "training_curve" or cells is None or cells.empty:
        return None
    sel = cells[cells["fidelity_ok"].astype(bool)
                & (cells["body"] == measures["body"]) & (cells["drafter"] == measures["drafter"])
                & (cells["temperature"] == measures.get("temperature", SEEDS_TEMPERATURE))]
    if q == "per_position_acceptance":
        part = sel[sel["n"] == measures["n"]]
        cols = [f"a{k}" for k in range(measures["n"]) if f"a{k}" in part.columns]
        if part.empty or len(cols) < measures["n"]:
            return None
        return [round(float(100 * part[c].mean()), 2) for c in cols]
    values = []
    for n in as_list(measures["n"]):
        part = sel[sel["n"] == n]
        if part.empty or q not in part.columns:
            return None
        scale = 100 if q in PERCENT_QUANTITIES else 1
        values.append(round(float(scale * part[q].mean()), 2))
    return values if isinstance(measures["n"], list) else values[0]


def failed_gate(cells: pd.DataFrame, measures: dict) -> bool:
    """Whether the claim's cells were measured and failed the fidelity gate."""
    if cells is None or cells.empty or "body" not in measures or "drafter" not in measures:
        return False
    sel = cells[(cells["body"] == measures["body"]) & (cells["drafter"] == measures["drafter"])
                & (cells["temperature"] == measures.get("temperature", SEEDS_TEMPERATURE))
                & cells["n"].isin(as_list(measures.get("n", [])))]
    return bool((fidelity_status(sel) == "FAIL").any())


def shape_statistics(prompts: pd.DataFrame | None, measures: dict, n_boot: int = N_BOOT,
                     seed: int = 0) -> dict | None:
    """a_0 and a_last / a_0 with its 95 % interval over prompts (bench_stats' cluster
    bootstrap), for a per-position claim's series at the seeds' temperature."""
    if prompts is None or prompts.empty:
        return None
    n = measures["n"]
    sel = prompts[(prompts["body"] == measures["body"])
                  & (prompts["drafter"] == measures["drafter"]) & (prompts["n"] == n)
                  & (prompts["temperature"] == measures.get("temperature", SEEDS_TEMPERATURE))]
    first, last = "accepted_0", f"accepted_{n - 1}"
    if sel.empty or last not in sel:
        return None
    sums = sel.groupby("prompt_index")[["drafts", first, last]].sum().to_numpy(float)
    boot = sums[draws(len(sums), n_boot, seed)].sum(axis=1)
    total = sums.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo, hi = interval(boot[:, 2] / boot[:, 1], len(sums))
        return {"a0": float(total[1] / total[0]), "ratio": float(total[2] / total[1]),
                "lo": lo, "hi": hi, "prompts": len(sums)}


def recompute(claim: dict, by_id: dict[str, dict]) -> tuple[list[list[float]], str]:
    """A derived estimate recomputed from the ledger: one list of ratios per baseline in
    `over` (the first is the seed's own), and a sentence that says how."""
    d = claim["derived"]
    missing = [i for i in [d["ratio_of"], *d["over"]] if i not in by_id]
    if missing:
        raise ClaimError(f"claim '{claim['id']}' is derived from claims not in the ledger: {missing}")
    top = as_list(by_id[d["ratio_of"]]["value"])
    ratios, parts = [], []
    for base_id in d["over"]:
        base = as_list(by_id[base_id]["value"])
        if len(base) not in (1, len(top)):
            raise ClaimError(f"claim '{claim['id']}': {len(top)} values over {len(base)} in"
                             f" '{base_id}'; a list is never truncated to compare")
        base = base * len(top) if len(base) == 1 else base
        r = [round(a / b, 3) for a, b in zip(top, base)]
        ratios.append(r)
        parts.append(f"over {base_id}: {', '.join(f'{x:.2f}' for x in r)}")
    pairing = "one run (paired)" if d["paired"] else "separate runs (not paired)"
    return ratios, f"{d['ratio_of']} " + "; ".join(parts) + f"; numerator and baseline from {pairing}"


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


def conditional_rates(values) -> str:
    """a_k / a_(k-1) of a per-position list (percentages or fractions), as the erratum shows
    them beside the curve: flat rates are ordinary compounding, not depth-specific decay."""
    values = as_list(values)
    return ", ".join(f"{b / a:.2f}" if a else "undefined" for a, b in zip(values, values[1:]))


def verdict(claim: dict, value, profile: str, shape: dict | None = None,
            gate_failed: bool = False, recomputed: list[list[float]] | None = None) -> str:
    status = claim["status"]
    if status == "retracted":
        return "retracted: listed, never compared or drawn"
    if status == "reference":
        return "reference: another system's published measurement, context only"
    if status == "estimate" and recomputed:
        published = as_list(claim["value"])
        ok = all(abs(a - b) <= RECOMPUTE_TOLERANCE for a, b in zip(recomputed[0], published))
        word = "agrees with" if ok else "DIFFERS from"
        return (f"estimate: recomputed from the ledger, {word} the published value"
                f" (±{RECOMPUTE_TOLERANCE}); not a measurement, not compared")
    if status == "estimate":
        return "estimate: not a measurement, not compared"
    if gate_failed:
        return "FAILED the fidelity gate: the cell's output differs from the body's; not compared"
    if value is None:
        return "not measurable on this profile"
    published = as_list(claim["value"])
    if len(as_list(value)) != len(published):
        raise ClaimError(f"claim '{claim['id']}': {len(published)} published values, "
                         f"{len(as_list(value))} measured; a list is never truncated to compare")
    if claim.get("profile") == profile:
        diffs = [abs(m - c) for m, c in zip(as_list(value), published)]
        ok = max(diffs) <= claim["tolerance"]
        return f"{'reproduced' if ok else 'contradicted'} (tolerance ±{claim['tolerance']} {claim['unit']})"
    if claim["measures"]["quantity"] == "per_position_acceptance" and len(published) > 1:
        if shape is None:
            return "shape not judged: no per-prompt counters for this series"
        if shape["a0"] < A0_FLOOR:
            return (f"drafter too weak to judge the shape: a_0 = {shape['a0']:.3f} < "
                    f"{A0_FLOOR}")
        target = published[-1] / published[0]
        inside = shape["lo"] <= target <= shape["hi"]
        return (f"shape {'reproduced' if inside else 'contradicted'}: a_last/a_0 = "
                f"{shape['ratio']:.2f} [{shape['lo']:.2f}, {shape['hi']:.2f}] over "
                f"{shape['prompts']} prompts, published {target:.2f}")
    return "not comparable on this profile (other models and hardware)"


def erratum_table(claims: list[dict], cells: pd.DataFrame, quant: dict[str, dict],
                  profile: str, prompts: pd.DataFrame | None = None) -> pd.DataFrame:
    rows = []
    by_id = {c["id"]: c for c in claims}
    references = [c for c in claims if c["status"] == "reference"]
    for c in claims:
        m = c.get("measures")
        value = measured(cells, quant, m) if m else None
        shape = (shape_statistics(prompts, m)
                 if m and m["quantity"] == "per_position_acceptance" else None)
        recomputed, context = (recompute(c, by_id) if c.get("derived") else (None, ""))
        if not context and c["status"] == "published-measured":
            context = reference_context(c, references)
        if c.get("not_benched"):
            context = (context + "; " if context else "") + "not benched by design: " + c["not_benched"]
        rows.append({
            "claim": c["id"], "source": c["source"], "quote": c["quote"],
            "published": c["value"],
            "unit": c["unit"], "status": c["status"],
            "this run": value if value is not None else "",
            "verdict": verdict(c, value, profile, shape,
                               failed_gate(cells, m) if m else False, recomputed),
            "recomputed / context": context,
            "conditional a_k/a_(k-1)": (
                f"published {conditional_rates(c['value'])}"
                + (f"; this run {conditional_rates(value)}" if value is not None else "")
                if m and m["quantity"] == "per_position_acceptance" else ""),
        })
    return pd.DataFrame(rows)

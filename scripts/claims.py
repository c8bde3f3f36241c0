"""The claims ledger: load and validate it, compare each claim with this run, and guard figures.

Part 28's author published three numbers he had made up before retracting them. Here a
published number reaches a figure only through `drawable_value`, which refuses anything that is
not `published-measured`, and the erratum table states for every claim whether this run
reproduced it, contradicted it (with the tolerance), or cannot measure it on this profile.

Verdicts that cannot be fooled (issue #15): on the claim's own profile, numbers are compared
with the ledger's tolerance, and a measured list of another length than the published one is
an error, never a silent truncation. Elsewhere (other models and hardware) a per-position curve
is compared by shape: the ratio a_last / a_0 with its 95 % interval over prompts against the
published ratio, and only when a_0 reaches A0_FLOOR: below it a drafter is too weak for its
curve's shape to mean anything (a useless drafter would otherwise look "flat"). A cell that
failed the fidelity gate is reported as such, not as "not measurable". A claim's profile must
be one of the workflow's profiles (config/*.yaml), checked when the workflow starts.
"""

from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import yaml
from bench_stats import N_BOOT, draws, interval, valid_prompts
from fidelity_verdicts import fidelity_status

RECOMPUTE_TOLERANCE = 0.01  # published ratios are given to two decimals
A0_FLOOR = 0.2  # a_0 below this: "drafter too weak to judge" (the miniature's ~0.17 is)
SEEDS_TEMPERATURE = 0.7  # every published bench number was measured at T = 0.7


class ClaimError(ValueError):
    pass


def known_profiles(config_dir: Path) -> set[str]:
    """The `profile:` of every profile file in config/."""
    names = set()
    for f in Path(config_dir).glob("*.yaml"):
        data = yaml.safe_load(f.read_text())
        if isinstance(data, dict) and isinstance(data.get("profile"), str):
            names.add(data["profile"])
    return names


def load_claims(path: Path, schema_path: Path, profiles: set[str] | None = None) -> list[dict]:
    data = yaml.safe_load(Path(path).read_text())
    schema = yaml.safe_load(Path(schema_path).read_text())
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise ClaimError(f"{path}: invalid claims ledger at '{where}': {exc.message}") from None
    claims = data["claims"]
    ids = [c["id"] for c in claims]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ClaimError(f"{path}: duplicate claim ids {duplicates}")
    if profiles is not None:
        unknown = [f"{c['id']}: profile '{c['profile']}'" for c in claims
                   if "profile" in c and c["profile"] not in profiles]
        if unknown:
            raise ClaimError(f"{path}: claims name profiles that do not exist ("
                             + ", ".join(sorted(profiles)) + "): " + "; ".join(unknown))
    return claims


def drawable_value(claims: list[dict], claim_id: str):
    """The value of a claim a figure may draw as a published reference; refuses the rest."""
    by_id = {c["id"]: c for c in claims}
    if claim_id not in by_id:
        raise ClaimError(f"claim '{claim_id}' is not in the ledger; a figure may not draw it")
    claim = by_id[claim_id]
    if claim["status"] != "published-measured":
        raise ClaimError(
            f"claim '{claim_id}' ({claim['quote']}) is {claim['status']}: "
            "a figure may not draw it"
        )
    return claim["value"]


def as_list(x) -> list:
    return x if isinstance(x, list) else [x]


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
        scale = 100 if q == "a0" else 1
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


def unbenched(claims: list[dict], profile: str,
              configurations: set[tuple[str, str, int]]) -> list[str]:
    """Measured bench claims of `profile` whose (body, drafter, n) the profile does not bench
    and that do not say why (not_benched)."""
    out = []
    for c in claims:
        m = c.get("measures") or {}
        if (c["status"] != "published-measured" or c.get("profile") != profile
                or c.get("not_benched") or "drafter" not in m or "n" not in m):
            continue
        for n in as_list(m["n"]):
            if (m["body"], m["drafter"], n) not in configurations:
                out.append(f"{c['id']}: ({m['body']}, {m['drafter']}, n={n})")
    return out


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
        })
    return pd.DataFrame(rows)


def write_erratum(claims_path: Path, schema_path: Path, cells_csv: Path, quant_reports: list,
                  profile: str, out_html: Path, out_csv: Path,
                  prompts_csv: Path | None = None) -> None:
    import json

    import atomic_io
    from render_tables import render

    claims = load_claims(claims_path, schema_path)
    cells = pd.read_csv(cells_csv)
    quant = {Path(p).stem.removesuffix("-fp8"): json.loads(Path(p).read_text())
             for p in quant_reports}
    prompts = None
    if prompts_csv is not None:
        prompts = valid_prompts(pd.read_csv(prompts_csv), cells)
    table = erratum_table(claims, cells, quant, profile, prompts)
    atomic_io.write_text_atomically(out_csv, table.to_csv(index=False))
    render(f"Erratum check of every published claim (profile: {profile})", table,
           ["Retracted numbers are listed so that none can pass unnoticed; no figure may draw"
            " them. Numerical comparisons are made only on the profile whose models and"
            " hardware match the claim; elsewhere per-position claims are compared by shape:"
            f" a_last/a_0 with its 95 % interval over prompts against the published ratio,"
            f" judged only when a_0 >= {A0_FLOOR}."],
           out_html)


if __name__ == "__main__" and "snakemake" in globals():
    sm = snakemake  # noqa: F821
    write_erratum(Path(sm.input.claims), Path(sm.input.schema), Path(sm.input.cells),
                  list(sm.input.quantization), sm.params.profile, Path(sm.output.html),
                  Path(sm.output.csv), Path(sm.input.prompts))

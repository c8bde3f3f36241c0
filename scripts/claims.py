"""The claims ledger: load and validate it, compare each claim with this run, and guard figures.

Part 28's author published three numbers he had made up before retracting them. Here a
published number reaches a figure only through `drawable_value`, which refuses anything that is
not `published-measured`, and the erratum table states for every claim whether this run
reproduced it, contradicted it (with the tolerance), or cannot measure it on this profile.
"""

from pathlib import Path

import jsonschema
import pandas as pd
import yaml

SHAPE_DROP = 0.1  # a_0 - a_last at or above this is "decreasing", below it "flat"
SEEDS_TEMPERATURE = 0.7  # every published bench number was measured at T = 0.7


class ClaimError(ValueError):
    pass


def load_claims(path: Path, schema_path: Path) -> list[dict]:
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


def shape_of(per_position: list[float]) -> str:
    return "decreasing" if (per_position[0] - per_position[-1]) / 100 >= SHAPE_DROP else "flat"


def verdict(claim: dict, value, profile: str) -> str:
    status = claim["status"]
    if status == "retracted":
        return "retracted: listed, never compared or drawn"
    if status == "estimate":
        return "estimate: not a measurement, not compared"
    if value is None:
        return "not measurable on this profile"
    if claim.get("profile") == profile:
        diffs = [abs(m - c) for m, c in zip(as_list(value), as_list(claim["value"]))]
        ok = max(diffs) <= claim["tolerance"]
        return f"{'reproduced' if ok else 'contradicted'} (tolerance ±{claim['tolerance']} {claim['unit']})"
    if claim.get("shape") and claim["measures"]["quantity"] == "per_position_acceptance":
        got = shape_of(value)
        word = "reproduced" if got == claim["shape"] else "contradicted"
        return f"shape {word}: {claim['shape']} expected, {got} measured (a_0 - a_last vs {SHAPE_DROP})"
    return "not comparable on this profile (other models and hardware)"


def erratum_table(claims: list[dict], cells: pd.DataFrame, quant: dict[str, dict],
                  profile: str) -> pd.DataFrame:
    rows = []
    for c in claims:
        value = measured(cells, quant, c["measures"]) if c.get("measures") else None
        rows.append({
            "claim": c["id"], "source": c["source"], "quote": c["quote"],
            "published": c["value"],
            "unit": c["unit"], "status": c["status"],
            "this run": value if value is not None else "",
            "verdict": verdict(c, value, profile),
        })
    return pd.DataFrame(rows)


def write_erratum(claims_path: Path, schema_path: Path, cells_csv: Path, quant_reports: list,
                  profile: str, out_html: Path, out_csv: Path) -> None:
    import json

    import atomic_io
    from render_tables import render

    claims = load_claims(claims_path, schema_path)
    cells = pd.read_csv(cells_csv)
    quant = {Path(p).stem.removesuffix("-fp8"): json.loads(Path(p).read_text())
             for p in quant_reports}
    table = erratum_table(claims, cells, quant, profile)
    atomic_io.write_text_atomically(out_csv, table.to_csv(index=False))
    render(f"Erratum check of every published claim (profile: {profile})", table,
           ["Retracted numbers are listed so that none can pass unnoticed; no figure may draw"
            " them. Numerical comparisons are made only on the profile whose models and"
            " hardware match the claim; elsewhere per-position claims are compared by shape."],
           out_html)


if __name__ == "__main__" and "snakemake" in globals():
    sm = snakemake  # noqa: F821
    write_erratum(Path(sm.input.claims), Path(sm.input.schema), Path(sm.input.cells),
                  list(sm.input.quantization), sm.params.profile, Path(sm.output.html),
                  Path(sm.output.csv))

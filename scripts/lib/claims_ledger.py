"""The claims ledger (config/claims.yaml): load and validate it, and guard what may be drawn.

Part 28's author published numbers he had made up or misread before retracting them, and
withdrew Part 30's headline later. Here a published number reaches a figure only through
`drawable_value`, which refuses anything that is not `measured` or `withdrawn` (a withdrawn
curve is drawn under its own label, `reference_label`). A claim's profile must be one of the
workflow's profiles (config/*.yaml). The workflow checks the ledger when it starts
(rules/startup_checks.smk), so this module needs only yaml and jsonschema: no statistics are
imported to parse the workflow.
"""

from pathlib import Path

import jsonschema
import yaml


DRAWABLE = {"measured", "withdrawn"}


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
    if claim["kind"] not in DRAWABLE or claim.get("not_measured"):
        raise ClaimError(
            f"claim '{claim_id}' ({claim['quote']}) is {claim['kind']}: "
            "a figure may not draw it"
        )
    return claim["value"]


def reference_label(claims: list[dict], claim_id: str) -> str:
    """How a figure labels a published curve: withdrawn ones say so, and why in brief."""
    claim = {c["id"]: c for c in claims}[claim_id]
    if claim["kind"] == "withdrawn":
        return f"withdrawn {claim['withdrawn']['date']}: {claim_id} (raw endpoint)"
    return f"published: {claim_id}"


def as_list(x) -> list:
    return x if isinstance(x, list) else [x]


# Every published bench number was measured at T = 0.7 (lib/erratum.py judges them there).
SEEDS_TEMPERATURE = 0.7


def claim_cells(claim: dict) -> list[tuple[str, str, int, str, float]]:
    """The bench series (body, drafter, n, endpoint, temperature) a measured or withdrawn
    claim is judged on."""
    m = claim.get("measures") or {}
    if claim["kind"] not in DRAWABLE or "drafter" not in m or "n" not in m:
        return []
    return [(m["body"], m["drafter"], n, m.get("endpoint", "chat"),
             m.get("temperature", SEEDS_TEMPERATURE)) for n in as_list(m["n"])]


def control_cells(claim: dict, bench_ns: list[int]) -> list[tuple[str, str, int, str, float]]:
    """The series a qualitative claim's control compares (lib/erratum.py, control_verdict), on
    the chat endpoint at the seeds' temperature; `bench_ns`: the n a best-n control sweeps."""
    c = claim.get("control") or {}
    t, cells = SEEDS_TEMPERATURE, []
    if c.get("test") == "decay_from_body_shift":
        cells = [(body, c["drafter"], c["n"]) for body in ("vanilla", "abliterated")]
    elif c.get("test") == "no_body_tax":
        cells = [(c["body"], "none", 0), ("vanilla", "none", 0)]
    elif c.get("test") == "best_n":
        cells = [(c["body"], c["drafter"], n) for n in bench_ns if n > 0]
    elif c.get("test") == "drafter_beats":
        cells = [(c["body"], c["drafter"], c["n"]), (c["body"], c["other_drafter"], c["n"])]
    elif c.get("test") == "endpoint_artifact":
        return [(c["body"], c["drafter"], c["n"], e, t) for e in ("chat", "raw")]
    return [(body, drafter, n, "chat", t) for body, drafter, n in cells]


def unbenched(claims: list[dict], profile: str,
              cells: set[tuple[str, str, int, str, float]]) -> list[str]:
    """Measured bench claims of `profile` whose series (body, drafter, n, endpoint, T) the
    profile does not bench and that do not say why (not_benched)."""
    out = []
    for c in claims:
        if c.get("profile") != profile or c.get("not_benched"):
            continue
        out += [f"{c['id']}: ({body}, {drafter}, n={n}, {endpoint}, T={t:g})"
                for body, drafter, n, endpoint, t in claim_cells(c)
                if (body, drafter, n, endpoint, t) not in cells]
    return out

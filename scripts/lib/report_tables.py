"""HTML tables for the report: the bench cells, the FP8 per-module check, the body shift."""

import json
from pathlib import Path

from lib import atomic_io
import pandas as pd
from lib.fidelity import fidelity_status
from jinja2 import Environment, FileSystemLoader

TEMPLATES = Path(__file__).resolve().parents[2] / "reports" / "templates"


def render(title: str, table: pd.DataFrame, notes: list[str], out: Path) -> None:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    html = env.get_template("table.html.j2").render(
        title=title, notes=notes,
        table=table.to_html(index=False, float_format=lambda x: f"{x:.4g}", na_rep="",
                            escape=True),
    )
    atomic_io.write_text_atomically(out, html)


def cells_table(cells_csv: Path, out: Path, missing: Path | None = None) -> None:
    table = pd.read_csv(cells_csv)
    status = fidelity_status(table)
    failed = int((status == "FAIL").sum())
    unjudged = int(status.str.startswith("not judged").sum())
    notes = [f"{len(table)} rows (cell x endpoint x temperature x repeat); {failed} failed the"
             " output-fidelity gate and are not plotted."]
    if unjudged:
        notes.append(f"{unjudged} rows were not judged by the gate (their body's n = 0 cell was"
                     " not measured): kept in the intervals, labelled there.")
    if "degenerate" in table and table["degenerate"].astype(bool).any():
        notes.append(f"{int(table['degenerate'].astype(bool).sum())} rows have degenerate output"
                     " (seq_rep_4 above bench.degenerate_seq_rep_4): their acceptance measures"
                     " repetition, and the erratum says so wherever it uses them.")
    absent = [line for line in missing.read_text().splitlines() if line] if missing else []
    if absent:
        notes.append(f"PARTIAL REPORT: {len(absent)} configured rows were not measured: "
                     + ", ".join(absent))
    render("Bench cells", table, notes, out)


def intervals_table(csv: Path, out: Path) -> None:
    table = pd.read_csv(csv)
    render("Bench statistics with 95 % intervals over prompts", table,
           ["Cluster bootstrap over prompts (each prompt's repeats kept together), expanded"
            " percentile interval (Hesterberg 2015: wider than the plain percentile one with few"
            " prompts; docs/methods.md); rates are ratios of summed counts. tok/s also resamples"
            " the repeats (`resampled`: a repeat is one pass through a server, its own time"
            " block; Owen's pigeonhole bootstrap). `distinct_repeats`: how many repeats differ in"
            " their tokens (identical greedy repeats are one observation). Only cells inside the"
            " fidelity gate."], out)


def comparisons_table(csv: Path, out: Path) -> None:
    table = pd.read_csv(csv)
    notes = ["difference: a minus b; ratio: a over b (throughput). 'separated': the 95 %"
             " interval excludes 0 (ratio: 1); otherwise not separated at 95 %, which says no"
             " difference was seen, not that there is none."]
    if "endpoint" in table and (table["endpoint"] == "raw - chat").any():
        notes.append("endpoint 'raw - chat': the same series with each prompt sent as text to"
                     " /v1/completions (no chat template, as the seeds' bench script sent it)"
                     " minus through /v1/chat/completions, paired by prompt and seed; seq_rep_4"
                     " and distinct_2 measure how much the output repeats itself"
                     " (docs/methods.md, 'Degenerate output').")
    if "equivalence" in table:
        notes.append("'equivalent within +-m' (ratio: within xm): the whole 95 % interval lies"
                     " inside the margin declared in the config (bench.equivalence_margins,"
                     " column 'margin'), i.e. any difference is smaller than m.")
    notes.append(f"{len(table)} comparisons, each judged at 95 % on its own with no family-wise"
                 f" correction: about {0.05 * len(table):.1f} would read 'separated' by chance"
                 " if no series differed.")
    render("Paired comparisons (same prompts, same seeds)", table, notes, out)


def serving_vs_training_table(csv: Path, out: Path) -> None:
    table = pd.read_csv(csv)
    gaps = int(table["full_flag"].str.startswith("GAP").sum()
               + table["cond_flag"].str.startswith("GAP").sum())
    render("Serving against training, per position (T = 0, validation rows)", table,
           [f"{gaps} offline value(s) outside vLLM's 95 % interval over prompts."
            " vLLM: a_k = accepted at position k / drafts, cond = a_k / a_(k-1), greedy."
            " Offline: speculators' last validation epoch, teacher-forced on the regenerated"
            " (sampled) responses of the same rows."], out)


def quantization_table(reports: list[Path], out: Path) -> None:
    rows, notes = [], []
    for path in reports:
        r = json.loads(Path(path).read_text())
        name = Path(path).stem
        rows.append({"checkpoint": name, **r["counts"], "errors": len(r["errors"]),
                     "wall_time_s": r["wall_time_s"], "size_MB": r["size_bytes"] / 1e6})
        if r["unmatched_ignore_patterns"]:
            notes.append(f"{name}: ignore patterns matching no module: "
                         + ", ".join(r["unmatched_ignore_patterns"]))
    render("FP8 quantisation check", pd.DataFrame(rows), notes, out)


def refuses_almost_nothing(rate: float, floor: float) -> str | None:
    """The warning for a vanilla body whose refusal rate is below the floor, or None."""
    if rate >= floor:
        return None
    return (f"This body refuses almost nothing: the vanilla body refused {100 * rate:.0f} % of"
            f" the held-out harmful prompts (floor {100 * floor:.0f} %,"
            " body_checks.refusal_floor), so removing its refusal direction tests nothing about"
            " abliteration; the KL column is the only measure of the shift.")


def refusal_interval(rate: float, n: int) -> str:
    """The 95 % Wilson score interval of a refusal rate over `n` prompts (scipy's binomtest):
    a dozen held-out prompts leave wide intervals, which the table should show."""
    from scipy.stats import binomtest

    if not n:
        return ""
    ci = binomtest(round(rate * n), n).proportion_ci(confidence_level=0.95, method="wilson")
    return f"[{ci.low:.2f}, {ci.high:.2f}]"


def body_shift_rows(reports: list[Path]) -> pd.DataFrame:
    """One row per abliteration report: strength, KL, refusal rates before and after on the
    held-out harmful prompts (those of the report's samples with a vanilla reply) with their
    95 % intervals."""
    rows = []
    for path in reports:
        r = json.loads(Path(path).read_text())
        harmful = sum("vanilla" in s for s in r.get("samples", []))
        row = {"body": Path(path).stem} | {k: r[k] for k in ("strength", "direction_layer",
                                                           "kl_mean", "n_eval_prompts")}
        for when in ("before", "after"):
            rate = r[f"refusal_rate_{when}"]
            row[f"refusal_rate_{when}"] = rate
            row[f"refusal_{when}_95ci"] = refusal_interval(rate, harmful)
        rows.append(row | {"harmful_prompts": harmful})
    return pd.DataFrame(rows)


def body_shift_table(reports: list[Path], out: Path, refusal_floor: float) -> None:
    rows = body_shift_rows(reports).to_dict("records")
    notes = ["KL: mean over held-out prompts of KL(vanilla || abliterated) of the first-token"
             " distribution. Refusal rates: on the held-out harmful prompts, with 95 % Wilson"
             " intervals; before and after are the same prompts (paired)."]
    warning = rows and refuses_almost_nothing(min(r["refusal_rate_before"] for r in rows),
                                              refusal_floor)
    render("Body shift from abliteration", pd.DataFrame(rows),
           ([warning] if warning else []) + notes, out)

"""Training curves of the trained drafters: loss and full_acc_k per step, validation per epoch.

Reads the CSVs that train_drafter.py parses out of `speculators train`'s log (one per drafter).
full_acc_k is the trainer's accuracy of draft position k given the drafts before it were also
right: the training-time counterpart of the bench's per-position acceptance a_k.
"""

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from lib.bench_figures import save  # noqa: E402


def curves_long(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per (drafter, phase, step, metric, position)."""
    rows = []
    for drafter, table in tables.items():
        for phase in ("train", "val"):
            part = table[table["phase"] == phase]
            x = "global_step" if phase == "train" else "epoch"
            for column in part.columns:
                m = re.fullmatch(rf"{phase}/(loss|full_acc)_(\d+)(_epoch)?", column)
                if not m or part[column].isna().all():
                    continue
                rows.append(pd.DataFrame({
                    "drafter": drafter, "phase": phase, "x": part[x],
                    "metric": m.group(1), "position": int(m.group(2)), "value": part[column],
                }).dropna())
    if not rows:
        raise ValueError("the training CSVs hold no loss_k or full_acc_k columns")
    return pd.concat(rows, ignore_index=True)


def plot_training(tables: dict[str, pd.DataFrame], out: Path) -> None:
    long = curves_long(tables)
    train = long[long["phase"] == "train"]
    drafters = list(tables)
    fig, axes = plt.subplots(2, len(drafters), figsize=(5.2 * len(drafters), 6.5), squeeze=False)
    for col, drafter in enumerate(drafters):
        for row, metric in enumerate(("loss", "full_acc")):
            ax = axes[row][col]
            part = train[(train["drafter"] == drafter) & (train["metric"] == metric)]
            sns.lineplot(part, x="x", y="value", hue="position", palette="viridis", ax=ax,
                         legend=(row == 0))
            ax.set(xlabel="optimizer step", ylabel=f"train {metric}_k",
                   title=f"{drafter} drafter" if row == 0 else None)
            if metric == "full_acc":
                ax.set_ylim(0, 1)
                val = long[(long["phase"] == "val") & (long["drafter"] == drafter)
                           & (long["metric"] == metric)]
                steps_per_epoch = part["x"].max() / max(val["x"].max() + 1, 1) if len(val) else 0
                for position, group in val.groupby("position"):
                    ax.scatter((group["x"] + 1) * steps_per_epoch, group["value"], marker="D",
                               s=30, edgecolor="black", label=f"val k={position}")
                if len(val):
                    ax.legend(fontsize=7, title="validation (end of epoch)")
    fig.suptitle("Drafter training (speculators train): per-position loss and accuracy")
    save(fig, out, dpi=110)


if __name__ == "__main__" and "snakemake" in globals():
    sm = snakemake  # noqa: F821
    tables = {Path(p).stem: pd.read_csv(p) for p in sm.input.curves}
    plot_training(tables, Path(sm.output[0]))

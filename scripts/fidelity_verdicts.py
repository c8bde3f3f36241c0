"""The fidelity verdict of each bench row, as the tables, statistics, gate and erratum read it.

Its own module, with nothing else in it, so that the steps reading a verdict do not depend on
(and rerun for) the statistics module.
"""

import pandas as pd


def fidelity_status(cells: pd.DataFrame) -> pd.Series:
    """Each row's fidelity verdict: ok, FAIL or "not judged: ..." (aggregate_cells writes it;
    a table with only the older fidelity_ok column reads as ok / FAIL)."""
    if "fidelity" in cells:
        return cells["fidelity"]
    return cells["fidelity_ok"].astype(bool).map({True: "ok", False: "FAIL"})

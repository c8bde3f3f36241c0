"""The keys of the bench's tables: what makes a series, a row, and a series' reference.

A series is one served configuration measured one way: body x drafter x n x endpoint x
temperature, its repeats pooled. Its reference, for fidelity and speed-up, is the same body
without speculation on the same endpoint at the same temperature: raw and chat prompts are
different inputs, so their outputs are never compared with each other's baseline.
"""

import pandas as pd

# Cell JSONs and tables from before the endpoint axis measured the chat endpoint only.
DEFAULT_ENDPOINT = "chat"

SERIES = ["body", "drafter", "n", "endpoint", "temperature"]
ROW = [*SERIES, "rep"]
REFERENCE = ["body", "endpoint", "temperature"]


def with_endpoint(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with an endpoint column (chat where a table predates the axis)."""
    if "endpoint" in df:
        return df.assign(endpoint=df["endpoint"].fillna(DEFAULT_ENDPOINT))
    return df.assign(endpoint=DEFAULT_ENDPOINT)


def rate_columns(df: pd.DataFrame) -> list[str]:
    """A cells table's per-position acceptance rates a0, a1, ..., in position order."""
    cols = [c for c in df.columns if c.startswith("a") and c[1:].isdigit()]
    return sorted(cols, key=lambda c: int(c[1:]))

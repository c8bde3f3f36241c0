"""The claims ledger, the erratum verdicts, and the guard that keeps retracted numbers out of
figures."""

import pandas as pd
import pytest
from lib.claims_ledger import load_claims

from helpers.workflow import ROOT

LEDGER, SCHEMA = ROOT / "config" / "claims.yaml", ROOT / "config" / "claims.schema.yaml"


@pytest.fixture(scope="module")
def claims():
    return load_claims(LEDGER, SCHEMA)


def test_smoke_erratum_lists_every_claim(smoke_run, claims):
    table = pd.read_csv(smoke_run / "report" / "erratum.csv")
    assert list(table["claim"]) == [c["id"] for c in claims]
    assert (table[table["kind"] == "retracted"]["verdict"].str.startswith("retracted")).all()
    withdrawn = table[table["kind"] == "withdrawn"]["verdict"]
    assert withdrawn.str.startswith("withdrawn by its author").all()


"""The README describes the workflow that is there: its rule graph, its stage table, its terms."""

import re

from tools import rulegraph

from helpers.workflow import ROOT

README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def test_the_rule_graph_is_the_workflows():
    """docs/images/rulegraph.dot is what scripts/tools/rulegraph.py makes from every profile
    now, and the SVG the README shows draws exactly its nodes and edges."""
    nodes, edges = rulegraph.rule_graph(rulegraph.profile_files())
    assert rulegraph.DOT.read_text() == rulegraph.dot_text(nodes, edges), (
        "docs/images/rulegraph.dot is stale: run scripts/tools/rulegraph.py")
    drawn_nodes, drawn_edges = rulegraph.svg_titles(rulegraph.SVG.read_text())
    assert drawn_nodes == set(nodes) and drawn_edges == set(edges), (
        "docs/images/rulegraph.svg is not the drawing of rulegraph.dot: run"
        " scripts/tools/rulegraph.py")
    every_rule = {r for rules in rulegraph.rules_by_file().values() for r in rules}
    assert set(nodes) == every_rule
    assert "docs/images/rulegraph.svg" in README


def test_the_stage_table_lists_each_files_rules():
    rows = [line for line in section("What runs, stage by stage").splitlines()
            if line.startswith("| ") and not line.startswith("| stage")]
    listed = {}
    for row in rows:
        rules_cell = row.split("|")[2]
        smk = re.search(r"\((\w+\.smk)\)", rules_cell).group(1)
        listed[smk] = set(re.findall(r"`(\w+)`", rules_cell))
    defined = {smk: set(rules) for smk, rules in rulegraph.rules_by_file().items()}
    assert listed == defined


def test_the_glossary_defines_five_terms():
    terms = re.findall(r"^- \*\*(\w+)\*\*:", section("Terms"), re.M)
    assert terms == ["body", "verifier", "drafter", "series", "cell"]

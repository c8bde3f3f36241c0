"""scripts/tools/gpu_study.sh's collect and restore, on a fake tree (no GPU): what a GPU machine brings back
must follow the profile named in the first config file, leave the models and hidden states
behind, survive a folder that does not exist, and unpack on the next machine, whose bench or
training part then runs without the rules whose outputs came."""

import hashlib
import os
import re
import subprocess
import sys
import tarfile
import time

from helpers.workflow import ROOT

STUDY = ROOT / "scripts" / "tools" / "gpu_study.sh"


def study(tree, *args, **env):
    return subprocess.run(["bash", str(STUDY), *args], cwd=tree, capture_output=True, text=True,
                          env={**os.environ, "STUDY_CONFIGS": "config/p.yaml",
                               "STUDY_STATE": str(tree / "state"),
                               "STUDY_COMPACT": str(tree / "compact"),
                               "STUDY_ENVS": str(fake_envs(tree)), **env}, timeout=120)


def fake_envs(tree):
    """A driver `python` that answers Snakemake's --list-rules and does nothing else (unless a
    test wrote another one first), and a vllm family `python` that is this one (collect's
    drafter compaction copies a non-EAGLE-3 drafter without needing safetensors)."""
    python = tree / "envs" / "driver" / "bin" / "python"
    if python.exists():
        return tree / "envs"
    python.parent.mkdir(parents=True, exist_ok=True)
    python.write_text('#!/bin/sh\ncase "$*" in *--list-rules*) printf "all\\nbench_cell\\n'
                      'train_drafter\\nregenerate_responses\\nprepare_data\\n'
                      'convert_gguf_body\\nrefusal_direction\\n";; esac\n')
    python.chmod(0o755)
    vllm = tree / "envs" / "vllm" / "bin" / "python"
    vllm.parent.mkdir(parents=True)
    vllm.symlink_to(sys.executable)
    return tree / "envs"


def fake_tree(tree):
    (tree / "config").mkdir(parents=True)
    (tree / "config" / "p.yaml").write_text("# a profile\nprofile: gb10-rehearsal\nbench: {}\n")
    files = {
        "results/gb10-rehearsal/models/vanilla-fp8/model.safetensors": "weights",
        "results/gb10-rehearsal/drafters/finetuned/config.json": "{}",
        "results/gb10-rehearsal/drafter_data/abliterated/hidden_states/hs_0.safetensors": "taps",
        "results/gb10-rehearsal/drafter_data/abliterated/responses.jsonl": '{"a": 1}\n',
        "results/gb10-rehearsal/training/finetuned.csv": "phase\ntrain\n",
        "logs/gb10-rehearsal/train_drafter/finetuned.log": "trained\n",
        "results/gpu/training/other.csv": "another profile's\n",
    }  # no benchmarks/, no logs/make_env: collect must not fail on them
    for name, text in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)


def machine_and_out(tmp_path, extra=None):
    """A GPU machine's fake tree (with `extra` files: path -> text) and the empty $OUT that
    `collect` writes into."""
    machine, out = tmp_path / "machine", tmp_path / "out"
    fake_tree(machine)
    for name, text in (extra or {}).items():
        (machine / name).parent.mkdir(parents=True, exist_ok=True)
        (machine / name).write_text(text)
    out.mkdir()
    return machine, out


def names(part):
    with tarfile.open(part) as tar:
        return {m.name for m in tar.getmembers() if m.isfile()}


def restored_on_next_machine(tmp_path, out):
    """The next machine: the parts in `out` carried into its /tmp/carry and `restore`d in a
    fresh checkout; returns that checkout, the carry folder and restore's result."""
    nxt, carry = tmp_path / "next", tmp_path / "carry"
    (nxt / "config").mkdir(parents=True)
    (nxt / "config" / "p.yaml").write_text("profile: gb10-rehearsal\n")
    carry.mkdir()
    for part in out.iterdir():
        (carry / part.name).write_bytes(part.read_bytes())
    return nxt, carry, study(nxt, "restore", STUDY_CARRY=str(carry))


def stages(state, first=False):
    """The part's command, stage by stage: source bodies, keep the carried directions, the
    other bodies, the digests' check, keep the carried files, (with `first`: the targets made
    before the others,) the targets."""
    stages = (state / "commands.txt").read_text().strip().split(" && ")
    assert len(stages) == 6 + first, stages
    return stages


def test_collect_follows_the_profile_and_restore_unpacks_it(tmp_path):
    machine, out = machine_and_out(tmp_path)
    done = study(machine, "collect", "drafters", OUT=str(out))
    assert done.returncode == 0, done.stderr
    results = names(out / "results.tgz.part00")
    assert "results/gb10-rehearsal/training/finetuned.csv" in results
    assert "logs/gb10-rehearsal/train_drafter/finetuned.log" in results
    assert not any("/models/" in n or "hidden_states" in n or "/drafters/" in n
                   or n.startswith("results/") and n.endswith("responses.jsonl")
                   or n.startswith("results/gpu/") for n in results), results
    # the first rows of the responses come as a sample, beside the machine's state
    assert any(n.endswith("samples/results_gb10-rehearsal_drafter_data_abliterated_responses.jsonl")
               for n in results)
    assert names(out / "drafters.tgz.part00") == {
        "results/gb10-rehearsal/drafters/finetuned/config.json"}

    # the next machine: the parts carried into /tmp/carry, unpacked in a fresh checkout
    nxt, carry, done = restored_on_next_machine(tmp_path, out)
    assert done.returncode == 0, done.stderr
    assert (nxt / "results/gb10-rehearsal/drafters/finetuned/config.json").is_file()
    assert (nxt / "results/gb10-rehearsal/training/finetuned.csv").read_text() == "phase\ntrain\n"
    # the bodies' digests come too: the bench part keeps the carried cells only if the rebuilt
    # bodies match them, and otherwise stops
    digests = list((nxt / "state" / "carried").glob("model_digests.*"))
    assert len(digests) == 1
    assert "results/gb10-rehearsal/models/vanilla-fp8/model.safetensors" in digests[0].read_text()
    carried = (nxt / "state" / "carried" / "files.txt").read_text().split()
    assert "results/gb10-rehearsal/training/finetuned.csv" in carried
    assert "results/gb10-rehearsal/drafters/finetuned/config.json" in carried
    done = study(nxt, "bench", STUDY_CARRY=str(carry))
    assert done.returncode == 0, done.stderr
    sources, directions, bodies, check, keep, rest = stages(nxt / "state")
    assert " --until convert_gguf_body --allowed-rules " in sources  # those it has
    assert directions.endswith(f"keep {digests[0]} "
                               "results/gb10-rehearsal/abliterate/*.direction.safetensors "
                               "benchmarks/gb10-rehearsal/refusal_direction/*.tsv")
    assert " --until quantize_body " in bodies
    assert check.startswith(f"{{ bash {STUDY} check {digests[0]} ||")
    # the check has just hashed the bodies: keep does not hash them again
    assert keep.endswith(f"keep --checked {digests[0]}")
    assert "bench_cell" in rest and "train_drafter" not in rest  # data rules: not allowed


def test_collect_takes_only_the_drafters_named(tmp_path):
    """A drafter that came carried need not go back: STUDY_COLLECT_DRAFTERS names those that
    do."""
    machine, out = machine_and_out(
        tmp_path, {"results/gb10-rehearsal/drafters/vanilla/config.json": "{}"})
    done = study(machine, "collect", "drafters", OUT=str(out),
                 STUDY_COLLECT_DRAFTERS="finetuned")
    assert done.returncode == 0, done.stderr
    assert names(out / "drafters.tgz.part00") == {
        "results/gb10-rehearsal/drafters/finetuned/config.json"}
    done = study(machine, "collect", "drafters", OUT=str(out))
    assert done.returncode == 0, done.stderr
    assert len(names(out / "drafters.tgz.part00")) == 2


def test_without_carried_digests_the_bench_part_measures_every_cell_again(tmp_path):
    fake_tree(tmp_path)
    done = study(tmp_path, "bench", STUDY_CARRY=str(tmp_path / "carry"))
    assert done.returncode == 0, done.stderr
    command = (tmp_path / "state" / "commands.txt").read_text()
    assert "sha256sum" not in command and " keep " not in command


def test_a_bench_part_given_cells_rebuilds_only_what_they_serve(tmp_path):
    """`bench TARGETS`: a part of the bench on a machine of its own builds the bodies of the
    cells asked for (Snakemake's --until under those targets), not every body of `all`."""
    fake_tree(tmp_path)
    cell = "results/gb10-rehearsal/bench/abliterated/vanilla/n4/chat/T0/rep1.json"
    done = study(tmp_path, "bench", cell, STUDY_CARRY=str(tmp_path / "carry"))
    assert done.returncode == 0, done.stderr
    sources, directions, bodies, check, keep, rest = stages(tmp_path / "state")
    assert f" {cell} --until convert_gguf_body " in sources
    assert f" {cell} --until quantize_body " in bodies
    assert directions == check == keep == "true"  # nothing carried
    assert f" {cell} --allowed-rules " in rest
    assert "--printshellcmds all " not in sources + bodies + rest  # not the default target


def test_a_training_part_trains_on_the_carried_responses_of_the_same_bodies(tmp_path):
    machine, out = machine_and_out(tmp_path)
    done = study(machine, "collect", "responses", OUT=str(out))
    assert done.returncode == 0, done.stderr
    assert "results/gb10-rehearsal/drafter_data/abliterated/responses.jsonl" in names(
        out / "results.tgz.part00")
    assert not (out / "drafters.tgz.part00").exists()  # not asked for
    nxt, carry, done = restored_on_next_machine(tmp_path, out)
    assert done.returncode == 0, done.stderr
    assert (nxt / "results/gb10-rehearsal/drafter_data/abliterated/responses.jsonl").is_file()
    done = study(nxt, "train", STUDY_CARRY=str(carry))
    assert done.returncode == 0, done.stderr
    _, _, bodies, check, keep, rest = stages(nxt / "state")
    assert " drafters --until quantize_body --allowed-rules " in bodies
    assert check.startswith(f"{{ bash {STUDY} check ") and "not theirs" in check
    assert " keep " in keep
    allowed = rest.split("--allowed-rules ")[1].split()
    assert "train_drafter" in allowed and "prepare_data" in allowed
    assert "regenerate_responses" not in allowed  # the carried responses are used as they are


def test_a_training_part_trains_before_it_benches(tmp_path):
    """Cells asked for beside the drafters wait for them: started together, their servers took
    the GPU slots while the fine-tune waited for its data (the Qwen study's attempt 4)."""
    machine, out = machine_and_out(tmp_path)
    assert study(machine, "collect", "responses", OUT=str(out)).returncode == 0
    nxt, carry, done = restored_on_next_machine(tmp_path, out)
    assert done.returncode == 0, done.stderr
    cell = "results/gb10-rehearsal/bench/vanilla/none/n0/chat/T0/rep1.json"
    done = study(nxt, "train", "drafters", cell, STUDY_CARRY=str(carry))
    assert done.returncode == 0, done.stderr
    *_, keep, drafters, rest = stages(nxt / "state", first=True)
    assert " keep " in keep
    assert drafters.split("--printshellcmds ")[1].split(" --allowed-rules")[0] == "drafters"
    assert f" drafters {cell} --allowed-rules " in rest
    allowed = [stage.split("--allowed-rules ")[1].split() for stage in (drafters, rest)]
    assert allowed[0] == allowed[1]


def test_a_resumed_data_part_keeps_the_carried_text_and_may_generate_the_rest(tmp_path):
    """`resume`: the instructions and half-written responses of a machine whose time ran out
    are kept on the next one (same bodies: the digests), and the generation rules may run
    there to finish them, unlike a training part's."""
    name = "results/gb10-rehearsal/drafter_data/vanilla/responses.jsonl.partial"
    machine, out = machine_and_out(tmp_path, {name: '{"primary_id": "synth-0"}\n'})
    partial = machine / name
    assert study(machine, "collect", OUT=str(out)).returncode == 0
    nxt, carry, done = restored_on_next_machine(tmp_path, out)
    assert done.returncode == 0, done.stderr
    assert (nxt / partial.relative_to(machine)).read_text() == partial.read_text()
    done = study(nxt, "resume", STUDY_CARRY=str(carry))
    assert done.returncode == 0, done.stderr
    _, _, bodies, check, keep, rest = stages(nxt / "state")
    assert " drafters --until quantize_body --allowed-rules " in bodies
    assert check.startswith(f"{{ bash {STUDY} check ") and "are not theirs" in check
    assert " keep " in keep
    allowed = rest.split("--allowed-rules ")[1].split()
    assert "regenerate_responses" in allowed and "train_drafter" in allowed
    fresh = tmp_path / "fresh"
    fake_tree(fresh)
    refused = study(fresh, "resume", STUDY_CARRY=str(tmp_path / "none"))
    assert refused.returncode == 2 and "no carried body digests" in refused.stderr


def test_a_training_part_without_the_bodies_digests_is_refused(tmp_path):
    fake_tree(tmp_path)
    done = study(tmp_path, "train", "results/gb10-rehearsal/drafters/finetuned",
                 STUDY_CARRY=str(tmp_path / "carry"))
    assert done.returncode == 2
    assert "no carried body digests" in done.stderr
    assert not (tmp_path / "state" / "commands.txt").exists()


def test_a_config_without_a_profile_is_refused(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "p.yaml").write_text("bench: {}\n")
    done = study(tmp_path, "phases")
    assert done.returncode == 2 and "no 'profile:' line in config/p.yaml" in done.stderr


def test_phases_tables_the_server_logs_of_the_profile(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "p.yaml").write_text("profile: gb10-rehearsal\n")
    assert "no server log" in study(tmp_path, "phases").stdout
    cell = tmp_path / "logs/gb10-rehearsal/bench_cell/a-b-n4.server.log"
    cell.parent.mkdir(parents=True)
    cell.write_text((ROOT / "reports/runs/gb10-rehearsal/earlier-attempts/logs-2026-11-30/bench_cell"
                     / "abliterated-finetuned-n4.server.log").read_text())
    (tmp_path / "scripts").symlink_to(ROOT / "scripts")
    done = study(tmp_path, "phases")
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()
    assert header.split()[:2] == ["log", "first_line"] and "220193555" in row.split()



def test_report_builds_into_out_with_the_study_configs(tmp_path):
    """`report` runs the driver's Snakemake with the study's config files and --report into
    $OUT, records the command, and fails (with the log's tail) when Snakemake does."""
    machine, out = machine_and_out(tmp_path)
    envs = fake_envs(machine)
    python = envs / "driver" / "bin" / "python"
    python.write_text('#!/bin/sh\necho "$*" > "$STUDY_STATE/args"\n'
                      'case "$*" in *fail*) echo "broken DAG"; exit 1;; esac\n'
                      'for a; do case "$prev" in --report) echo html > "$a";; esac; prev=$a; done\n'
                      'echo "Report created."\n')
    done = study(machine, "report", OUT=str(out))
    assert done.returncode == 0, done.stderr
    assert (out / "report.html").read_text() == "html\n"
    args = (machine / "state" / "args").read_text()
    assert "--configfile config/p.yaml" in args and f"--report {out}/report.html" in args
    assert "--report" in (machine / "state" / "commands.txt").read_text()
    assert "Report created." in done.stdout

    failed = study(machine, "report", OUT=str(out / "fail"))
    assert failed.returncode == 1 and "broken DAG" in failed.stderr
    unset = study(machine, "report", OUT="")
    assert unset.returncode == 2 and "$OUT is not set" in unset.stderr


def test_start_runs_snakemake_detached_and_samples_the_disk_while_it_runs(tmp_path):
    """`start` logs the command, runs the driver's Snakemake in the background and samples the
    used disk (and the GPU's memory, where nvidia-smi answers) every 2 s until Snakemake ends;
    the samplers end with it (no process left behind)."""
    fake_tree(tmp_path)
    python = fake_envs(tmp_path) / "driver" / "bin" / "python"
    python.write_text('#!/bin/sh\necho "$@" > "$STUDY_STATE/args"\nsleep 3\necho "1 of 1 steps"\n')
    done = study(tmp_path, "start", "drafters", "--dry-run")
    assert done.returncode == 0, done.stderr
    state = tmp_path / "state"
    assert "started snakemake (pid" in done.stdout
    waited = study(tmp_path, "wait", "20")
    assert "snakemake ended" in waited.stdout
    assert (state / "args").read_text().split()[-2:] == ["drafters", "--dry-run"]
    assert "drafters --dry-run" in (state / "commands.txt").read_text()
    samples = (state / "disk_used.csv").read_text().splitlines()
    assert samples and all(re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d, \d+", s)
                           for s in samples), samples
    time.sleep(3)  # one sampler round after the end
    left = subprocess.run(["pgrep", "-f", str(state)], capture_output=True, text=True)
    assert left.stdout == "", f"samplers still running: {left.stdout}"


def test_more_than_ten_parts_are_named_in_order_and_restore_joins_them(tmp_path):
    """gb10-fullwidth's drafters made more than ten 15 MB parts, which one-digit names could
    not hold (`split: output file suffixes exhausted`); here parts of 32 bytes, and the next
    machine joins them in name order."""
    machine, out = machine_and_out(tmp_path)
    done = study(machine, "collect", "drafters", OUT=str(out), STUDY_PART_BYTES="32")
    assert done.returncode == 0, done.stderr
    parts = sorted(p.name for p in out.glob("results.tgz.part*"))
    assert len(parts) > 10 and parts[:2] == ["results.tgz.part00", "results.tgz.part01"]
    assert (out / "drafters.tgz.part00").is_file()
    nxt, _, done = restored_on_next_machine(tmp_path, out)
    assert done.returncode == 0, done.stderr
    assert (nxt / "results/gb10-rehearsal/training/finetuned.csv").read_text() == "phase\ntrain\n"
    assert (nxt / "results/gb10-rehearsal/drafters/finetuned/config.json").is_file()


TOY_SNAKEFILE = """
configfile: "config/p.yaml"
R = "results/toy"

rule all:
    input: f"{R}/bench/cell.txt", f"{R}/models/other"

# a body that the bench cell does not serve (as the dose-response's bodies are to a training
# part): built on the first machine, its digest carried, not built by a part that needs it not
rule make_other_body:
    input: f"{R}/models/vanilla"
    output: directory(f"{R}/models/other")
    shell: "mkdir -p {output} && echo other > {output}/model.safetensors"

# the environment's marker: carried, and made again on the next machine (its requirements are
# newer there), as make_env does
rule make_env:
    input: "envs/hf.txt"
    output: "results/envs/hf.freeze.txt"
    shell: "cp {input} {output}"

rule make_tiny_body:
    input: "results/envs/hf.freeze.txt"
    output: directory(f"{R}/models/vanilla")
    shell: "mkdir -p {output} && echo vanilla > {output}/model.safetensors"

# a new estimate differs from the last, as another CPU's refusal direction does; its
# benchmark is an output too (Snakemake dates a job by its oldest output or benchmark)
rule refusal_direction:
    input: f"{R}/models/vanilla"
    output: f"{R}/abliterate/vanilla.direction.safetensors"
    benchmark: "benchmarks/toy/refusal_direction/vanilla.tsv"
    shell: "date +%s%N > {output}"

rule abliterate_body:
    input: body=f"{R}/models/vanilla", direction=f"{R}/abliterate/vanilla.direction.safetensors"
    output: directory(f"{R}/models/abliterated")
    shell: "mkdir -p {output} && cat {input.direction} > {output}/model.safetensors"

rule quantize_body:
    input: f"{R}/models/abliterated"
    output: directory(f"{R}/models/abliterated-fp8")
    shell: "mkdir -p {output} && cp {input}/model.safetensors {output}/"

rule bench_cell:
    input: f"{R}/models/abliterated-fp8"
    output: f"{R}/bench/cell.txt"
    shell: "date +%s%N > {output}"
"""


def toy_machine(tree):
    """A checkout of a toy workflow (the study's rule names, files instead of models) whose
    driver is this Snakemake: what a part on another machine does, with Snakemake deciding."""
    (tree / "config").mkdir(parents=True)
    (tree / "config" / "p.yaml").write_text("profile: toy\n")
    (tree / "Snakefile").write_text(TOY_SNAKEFILE)
    (tree / "envs").mkdir()
    (tree / "envs" / "hf.txt").write_text("torch\n")
    python = tree / "envs" / "driver" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    python.chmod(0o755)
    return tree


def test_a_bench_part_keeps_the_carried_direction_and_cells_under_snakemake(tmp_path):
    """Snakemake 9.27 reruns a job whose input is newer than its output whatever
    --rerun-triggers says, and the next machine's bodies are newer than everything carried:
    without `keep` it estimates the direction again (another abliterated body: the digests'
    check stops the part) and measures the carried cell again. With it, the rebuilt bodies are
    the first machine's and the carried cell is kept."""
    first, out = toy_machine(tmp_path / "first"), tmp_path / "out"
    out.mkdir()
    assert study(first, "start", "all").returncode == 0
    assert "snakemake ended" in study(first, "wait", "60").stdout
    cell = first / "results/toy/bench/cell.txt"
    direction = first / "results/toy/abliterate/vanilla.direction.safetensors"
    assert cell.is_file() and direction.is_file()
    assert study(first, "collect", OUT=str(out)).returncode == 0

    nxt, carry = toy_machine(tmp_path / "next"), tmp_path / "carry"
    carry.mkdir()
    for part in out.iterdir():
        (carry / part.name).write_bytes(part.read_bytes())
    assert study(nxt, "restore", STUDY_CARRY=str(carry)).returncode == 0
    time.sleep(1.1)  # the rebuilt bodies are newer than anything carried, to the second
    # the cell only: the other body is not built here, and its carried digest not checked
    done = study(nxt, "bench", "results/toy/bench/cell.txt", STUDY_CARRY=str(carry))
    assert done.returncode == 0, done.stderr
    waited = study(nxt, "wait", "120").stdout
    log = (nxt / "state" / "snakemake.log").read_text()
    assert "snakemake ended" in waited and "differ" not in log, log[-3000:]
    body = nxt / "results/toy/models/abliterated/model.safetensors"
    assert body.read_text() == direction.read_text()  # the earlier machine's direction
    assert (nxt / "results/toy/bench/cell.txt").read_text() == cell.read_text()  # not measured
    assert "rule refusal_direction" not in log and "rule bench_cell" not in log
    assert not (nxt / "results/toy/models/other").exists()
    assert "results/toy/models/other/model.safetensors" in "".join(
        p.read_text() for p in (nxt / "state" / "carried").glob("model_digests.*"))
    # kept: the direction and its benchmark (before the bodies made from it: on the Qwen
    # study's attempt 4 the benchmark was left old and the direction estimated again), then the
    # cell; not the environment's marker, which this machine made again (touching it would date
    # its bodies before it)
    assert re.findall(r"keep: (\d+) carried files", log) == ["2", "1"], log[-3000:]


def test_keep_touches_only_carried_files_and_only_when_the_built_bodies_match(tmp_path):
    """`keep DIGESTS [FILES]`: bodies not built yet are not checked; a built body that differs
    stops it (exit 3, nothing touched); otherwise the carried files listed by `restore` that
    were not made again since are dated now, or only those of FILES."""
    fake_tree(tmp_path)
    state, body = tmp_path / "state", tmp_path / "results/gb10-rehearsal/models/vanilla-fp8"
    carried = ["results/gb10-rehearsal/training/finetuned.csv",
               "logs/gb10-rehearsal/train_drafter/finetuned.log"]
    (state / "carried").mkdir(parents=True)
    (state / "carried" / "files.txt").write_text("\n".join(carried) + "\n")
    for name in carried:
        os.utime(tmp_path / name, (1_000_000_000, 1_000_000_000))  # as tar restores them
    (state / "carried" / "restored").touch()
    remade = tmp_path / carried[1]
    os.utime(remade, (time.time() + 5, time.time() + 5))  # made again on this machine
    weights = hashlib.sha256((body / "model.safetensors").read_bytes()).hexdigest()
    digests = tmp_path / "digests.txt"
    rel = "results/gb10-rehearsal/models/vanilla-fp8/model.safetensors"
    digests.write_text(f"{'0' * 64}  {rel}\n{'1' * 64}  results/gb10-rehearsal/models/x/m\n")
    refused = study(tmp_path, "keep", str(digests))
    assert refused.returncode == 3 and "differ" in refused.stderr
    assert (tmp_path / carried[0]).stat().st_mtime == 1_000_000_000
    digests.write_text(f"{weights}  {rel}\n{'1' * 64}  results/gb10-rehearsal/models/x/m\n")
    only = study(tmp_path, "keep", str(digests), "results/gb10-rehearsal/abliterate/none")
    assert only.returncode == 0 and "keep: 0 carried files" in only.stdout
    done = study(tmp_path, "keep", str(digests))
    assert done.returncode == 0 and "keep: 1 carried files" in done.stdout, done.stderr
    assert (tmp_path / carried[0]).stat().st_mtime > 1_000_000_000
    assert remade.stat().st_mtime > time.time()  # left as this machine made it
    # --checked (the part's command ran `check` just before): no second hashing, so even
    # digests that differ keep the files
    os.utime(tmp_path / carried[0], (1_000_000_000, 1_000_000_000))
    digests.write_text(f"{'0' * 64}  {rel}\n")
    trusted = study(tmp_path, "keep", "--checked", str(digests))
    assert trusted.returncode == 0 and "keep: 1 carried files" in trusted.stdout, trusted.stderr


def test_kept_files_are_newer_than_a_body_rebuilt_earlier_in_the_same_second(tmp_path):
    """`keep` dated to the whole second would make a carried file older than a small body
    whose check took less than a second, and Snakemake would make it again."""
    fake_tree(tmp_path)
    state, body = tmp_path / "state", tmp_path / "results/gb10-rehearsal/models/vanilla-fp8"
    carried = "results/gb10-rehearsal/training/finetuned.csv"
    (state / "carried").mkdir(parents=True)
    (state / "carried" / "files.txt").write_text(carried + "\n")
    os.utime(tmp_path / carried, (1_000_000_000, 1_000_000_000))
    (state / "carried" / "restored").touch()
    os.utime(state / "carried" / "restored", (1_000_000_001, 1_000_000_001))
    weights = hashlib.sha256((body / "model.safetensors").read_bytes()).hexdigest()
    digests = tmp_path / "digests.txt"
    digests.write_text(f"{weights}  results/gb10-rehearsal/models/vanilla-fp8/model.safetensors\n")
    time.sleep(1.6 - time.time() % 1)  # 0.6 s into a second
    (body / "model.safetensors").touch()  # the body's last write, this second
    done = study(tmp_path, "keep", str(digests))
    assert done.returncode == 0 and "keep: 1 carried files" in done.stdout, done.stderr
    assert (tmp_path / carried).stat().st_mtime > (body / "model.safetensors").stat().st_mtime


DATASET_SNAKEFILE = """
rule all:
    input: "drafters/vanilla", "drafters/finetuned"

rule prepare_data:
    input: "responses_{body}.jsonl"
    output: directory("dataset_{body}")
    shell: "mkdir -p {output}"

rule train_vanilla:
    input: "dataset_vanilla"
    output: directory("drafters/vanilla")
    shell: "mkdir -p {output}"

rule train_finetuned:
    input: "dataset_abliterated", "drafters/vanilla"
    output: directory("drafters/finetuned")
    shell: "mkdir -p {output}"
"""


def test_a_training_part_keeps_a_carried_drafter_whose_dataset_did_not_travel(tmp_path):
    """What the Qwen study's training part relies on: the datasets never travel, and Snakemake
    does not make a missing intermediate again (nor retrain from it) when the job it feeds is
    up to date, so the carried vanilla drafter is kept and only the fine-tune is trained."""
    (tmp_path / "Snakefile").write_text(DATASET_SNAKEFILE)
    for body in ("vanilla", "abliterated"):
        (tmp_path / f"responses_{body}.jsonl").write_text("{}\n")
    carried = tmp_path / "drafters" / "vanilla"
    carried.mkdir(parents=True)
    later = time.time() + 5  # kept: newer than everything it was made from
    os.utime(carried, (later, later))
    done = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    jobs = re.findall(r"^rule (\w+):\n(?:.*\n)*?\s+wildcards: body=(\w+)|^rule (\w+):$",
                      done.stdout, re.M)
    ran = {f"{a}:{b}" if a else c for a, b, c in jobs}
    assert ran == {"prepare_data:abliterated", "train_finetuned", "all"}, done.stdout

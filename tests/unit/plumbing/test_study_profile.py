"""The profile model (scripts/plumbing/study_profile.py) on configuration dicts, without Snakemake."""

import copy

from plumbing.study_profile import Profile

from helpers.workflow import load_profile

SMOKE = load_profile("smoke.yaml")


def smoke(**changes) -> Profile:
    cfg = copy.deepcopy(SMOKE)
    for path, value in changes.items():
        node = cfg
        *keys, last = path.split("__")
        for key in keys:
            node = node[key]
        node[last] = value
    return Profile(cfg)


def test_each_body_gets_a_baseline_and_each_series_its_n():
    assert list(smoke().bench_configurations()) == [
        ("vanilla", "none", 0), ("abliterated", "none", 0),
        ("vanilla", "vanilla", 2), ("abliterated", "finetuned", 2)]
    # a series' own n values replace the bench's
    cfg = copy.deepcopy(SMOKE)
    cfg["bench"]["series"][1]["num_speculative_tokens"] = [1, 3]
    assert ("abliterated", "finetuned", 3) in Profile(cfg).bench_configurations()


def test_cell_paths_follow_endpoint_then_temperature_then_repeat():
    study = smoke(bench__temperatures=[0.7, 0.0], bench__endpoints=["chat"])
    assert study.bench_measurements() == [("chat", 0.7, 1), ("chat", 0.7, 2), ("chat", 0.0, 1),
                                          ("chat", 0.0, 2)]
    assert study.bench_cell_jsons()[0] == (
        "results/smoke/bench/vanilla/none/n0/chat/T0.7/rep1.json")
    assert ("results/smoke/bench/abliterated/finetuned/n2/chat/T0/rep2.json"
            in study.bench_cell_jsons())
    assert len(study.bench_cell_jsons()) == 4 * 4
    both = smoke(bench__temperatures=[0.7], bench__endpoints=["chat", "raw"])
    assert both.bench_measurements() == [("chat", 0.7, 1), ("chat", 0.7, 2), ("raw", 0.7, 1),
                                         ("raw", 0.7, 2)]
    assert "results/smoke/bench/vanilla/none/n0/raw/T0.7/rep2.json" in both.bench_cell_jsons()


def test_a_profile_without_endpoints_benches_chat():
    study = smoke()
    study.config["bench"].pop("endpoints", None)
    assert study.bench_endpoints() == ["chat"]


def test_served_checkpoint_follows_the_served_variant():
    assert smoke().served_body("vanilla") == "results/smoke/models/vanilla"
    assert smoke(bench__served_variant="fp8").served_body("vanilla") == (
        "results/smoke/models/vanilla-fp8")


def test_final_targets_hold_the_report_and_the_gate():
    study = smoke()
    targets = study.final_targets()
    assert "results/smoke/bench/fidelity_gate.txt" in targets
    assert "results/smoke/report/training_curves.png" in targets
    assert "results/smoke/report/body_shift.html" in targets
    # the vanilla drafter is benched on the vanilla body only: no mechanism figure
    assert study.mechanism_drafter() == ""
    assert "results/smoke/report/mechanism.png" not in targets
    assert study.data_part_targets() == ["results/smoke/training/vanilla.csv",
                                         "results/smoke/training/finetuned.csv"]


def test_a_coherent_profile_has_no_problems():
    study = smoke()
    assert study.reference_problems() == []
    assert study.hidden_state_engine_problems() == []
    assert study.local_body_problems() == []


def test_broken_references_are_named_one_sentence_each():
    cfg = copy.deepcopy(SMOKE)
    cfg["quantize"]["bodies"].append("ghost")
    cfg["bench"]["series"].append({"body": "vanilla", "drafter": "phantom"})
    problems = Profile(cfg).reference_problems()
    assert problems == [
        "config: quantize.bodies names 'ghost', absent from bodies",
        "config: bench.series or a start_from names drafter 'phantom', absent from drafters"]


def test_bodies_abliterated_from_one_source_share_its_direction():
    cfg = copy.deepcopy(SMOKE)
    cfg["bodies"]["abliterated-half"] = dict(cfg["bodies"]["abliterated"], strength=0.5)
    study = Profile(cfg)
    assert study.abliteration_sources() == ["vanilla"]
    assert study.direction_file("vanilla") == (
        "results/smoke/abliterate/vanilla.direction.safetensors")
    assert study.reference_problems() == []
    cfg["bodies"]["abliterated-half"]["n_direction"] += 1
    assert Profile(cfg).reference_problems() == [
        "config: bodies.abliterated-half estimates the refusal direction of 'vanilla' with other"
        " n_direction than the bodies abliterated from it before; one direction a source body"]


def test_fp8_serving_needs_every_served_body_quantised():
    cfg = copy.deepcopy(SMOKE)
    cfg["bench"]["served_variant"] = "fp8"
    cfg["quantize"]["bodies"] = ["vanilla"]
    assert Profile(cfg).reference_problems() == [
        "config: bench.served_variant is fp8 but quantize.bodies lacks 'abliterated'"]


def test_vllm_extraction_is_refused_on_the_cpu_build():
    study = smoke(drafter_training__hidden_states__engine="vllm")
    assert "crashes on its CPU build" in study.hidden_state_engine_problems()[0]


def test_a_missing_local_body_is_named(tmp_path):
    cfg = copy.deepcopy(SMOKE)
    cfg["bodies"]["mine"] = {"source": "local", "path": str(tmp_path / "absent")}
    assert Profile(cfg).local_body_problems() == [
        f"config: bodies.mine.path = '{tmp_path / 'absent'}' is not a directory"]

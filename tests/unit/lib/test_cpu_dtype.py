"""CPUs without native bf16 (issue #19): every hot path computes in float32 there."""

import argparse
from pathlib import Path

import pytest

from lib import cpu_dtype
from lib import serving
import train_drafter

AVX512_BF16 = {"avx2", "avx512f", "avx512_bf16"}


@pytest.mark.parametrize("capability, flags, native", [
    ("AVX512", AVX512_BF16, True),
    ("AVX512", {"avx2", "avx512f"}, False),  # AVX-512 without its bf16 extension
    ("AVX2", AVX512_BF16, False),  # ATEN_CPU_CAPABILITY=avx2: torch will not use them
    ("AVX2", {"avx2"}, False),
    ("DEFAULT", {"avx2"}, False),
])
def test_native_bf16_needs_the_instructions_and_torch_using_them(capability, flags, native):
    assert cpu_dtype.native_bf16(capability, flags) is native


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\n\nprocessor\t: 1\n")
    assert cpu_dtype.cpu_flags(info) == {"fpu", "avx2", "avx512_bf16"}
    assert cpu_dtype.cpu_flags(tmp_path / "missing") == set()


@pytest.fixture
def cpu_without_bf16(monkeypatch):
    monkeypatch.setattr(serving, "host_has_gpu", lambda: False)
    monkeypatch.setattr(cpu_dtype, "native_bf16", lambda *a: False)
    monkeypatch.setattr(cpu_dtype, "report", lambda measure=True: {"native_bf16": False})


def training_args(tmp_path: Path) -> argparse.Namespace:
    return argparse.Namespace(
        nproc_per_node=1, speculator_type="eagle3", verifier=tmp_path, epochs=1, lr=0.01,
        ttt_steps=3, total_seq_len=1024, train_data_ratio=0.9, checkpoint_freq=1.0, seed=0,
        from_pretrained=None, draft_vocab_size=None, target_layer_ids=None, extra_args=[],
        online=False)


def test_without_native_bf16_serving_training_and_hidden_states_choose_float32(
        cpu_without_bf16, tmp_path):
    spec = serving.ServerSpec(python="python", model=tmp_path, extra_args=["--enforce-eager"])
    assert spec.command(8000)[-3:] == ["--enforce-eager", "--dtype", "float32"]
    cmd = train_drafter.train_command(training_args(tmp_path), tmp_path, tmp_path)
    assert cmd[1] == str(train_drafter.MUON_FLOAT32) and cmd[2] == "train"
    assert cpu_dtype.hidden_states_dtype_name("cpu") == "float32"


def test_with_native_bf16_or_a_gpu_nothing_changes(monkeypatch, tmp_path):
    monkeypatch.setattr(serving, "host_has_gpu", lambda: False)
    monkeypatch.setattr(cpu_dtype, "native_bf16", lambda *a: True)
    assert "--dtype" not in serving.ServerSpec(python="p", model=tmp_path).command(1)
    assert train_drafter.train_command(training_args(tmp_path), tmp_path, tmp_path)[1:3] == [
        "-m", "speculators"]
    monkeypatch.setattr(serving, "host_has_gpu", lambda: True)
    monkeypatch.setattr(cpu_dtype, "native_bf16", lambda *a: False)
    assert "--dtype" not in serving.ServerSpec(python="p", model=tmp_path).command(1)
    assert cpu_dtype.hidden_states_dtype_name("cuda") is None


def test_a_configured_dtype_is_kept(cpu_without_bf16, tmp_path):
    spec = serving.ServerSpec(python="p", model=tmp_path, extra_args=["--dtype", "bfloat16"])
    assert spec.command(1).count("--dtype") == 1


def test_training_progress_line_counts_steps_and_estimates_the_rest():
    rows = [{"phase": "train", "global_step": 4.0, "profile/tokens_per_s": 350.0},
            {"phase": "val", "epoch": 0.0}]
    # paced from the first step seen (3 steps in 60 s), not from the start (the server's)
    assert train_drafter.progress_line(rows, 63, 150.0, first_seen=(90.0, 2)) == (
        "training: step 5 of ~63, 350 tokens/s, ETA 19.3 min (2.5 min so far)")
    # the first step seen gives no pace yet (attempt 11 printed 'ETA 145.6 min' at step 12 of
    # 330, five minutes of server start counted as training; the other 318 steps took 70 s)
    assert train_drafter.progress_line(rows, 63, 150.0, first_seen=(150.0, 5)) == (
        "training: step 5 of ~63, 350 tokens/s (2.5 min so far)")
    assert train_drafter.progress_line(rows, 63, 150.0) == (
        "training: step 5 of ~63, 350 tokens/s (2.5 min so far)")
    assert train_drafter.progress_line([], 63, 12.0) == "training: no step logged yet (12 s)"
    # past the estimate (loosely packed rows; the gb10 rehearsal's 51 of ~47): no "51 of ~47"
    late = [{"phase": "train", "global_step": 50.0, "profile/tokens_per_s": 38900.0}]
    assert train_drafter.progress_line(late, 47, 114.0) == (
        "training: step 51 (estimated ~47), 38,900 tokens/s (1.9 min so far)")
    # 90 of 100 rows of 100 tokens train, packed 1024 a batch: 9 batches an epoch
    assert train_drafter.estimated_steps([100] * 100, 1024, 0.9, 3) == 27
    # rows of 1,054 tokens: three to a batch of 4,096, not 3.9 (speculators' packing is
    # next-fit); a row longer than a batch is cut to it and fills one
    assert train_drafter.estimated_steps([1054] * 100, 4096, 0.99, 1) == 33
    assert train_drafter.estimated_steps([5000, 100, 100], 4096, 1.0, 1) == 2

"""A machine of several GPUs (resources.gpu_devices): each GPU job runs on the first device no
other job holds, and holds it until it exits; jobs on one GPU are left as they were."""

import subprocess
import sys
import time

from plumbing import gpu_job
import pytest
from helpers.workflow import ROOT, SCRIPTS


def run_on_device(tmp_path, *command: str, devices=("0", "1")) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(SCRIPTS / "plumbing" / "gpu_job.py"), "--devices", *devices,
         "--lock-dir", str(tmp_path / "locks"), "--", *command],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_jobs_get_two_devices_and_a_third_waits(tmp_path):
    probe = "echo $CUDA_VISIBLE_DEVICES; sleep 3"
    first = run_on_device(tmp_path, "sh", "-c", probe)
    time.sleep(1)  # the first holds its device before the second asks
    second = run_on_device(tmp_path, "sh", "-c", probe)
    assert {first.communicate()[0].strip(), second.communicate()[0].strip()} == {"0", "1"}
    assert first.returncode == second.returncode == 0
    # once both exited, their locks are free again: device 0 first
    third = run_on_device(tmp_path, "sh", "-c", "echo $CUDA_VISIBLE_DEVICES")
    assert third.communicate()[0].strip() == "0"


def test_a_held_device_is_skipped_and_all_held_times_out(tmp_path):
    held = gpu_job.try_device(0, tmp_path)
    assert held is not None and gpu_job.try_device(0, tmp_path) is None
    device, fh = gpu_job.take_device([0, 1], tmp_path)
    assert device == 1
    with pytest.raises(TimeoutError, match=r"\[0, 1\]"):
        gpu_job.take_device([0, 1], tmp_path, poll_s=0.1, timeout_s=0.3)
    fh.close()
    assert gpu_job.take_device([0, 1], tmp_path)[0] == 1


def test_the_command_exit_code_is_the_jobs(tmp_path):
    job = run_on_device(tmp_path, "sh", "-c", "exit 7")
    job.communicate()
    assert job.returncode == 7


def dry_run_commands(*configs: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "-p", "all", "--forceall", "--configfile",
         *configs], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [ln for ln in proc.stdout.splitlines() if ln.startswith("Shell command:")]


def test_gpu_jobs_take_a_device_only_on_a_machine_of_several():
    two = dry_run_commands("config/gb10-rehearsal.yaml", "config/machines/prebuilt-envs.yaml", "config/machines/two-gpus.yaml")
    on_device = [c for c in two if "scripts/plumbing/gpu_job.py --lock-dir results/gb10-rehearsal/gpu_locks --devices 0 1" in c]
    # (the training job holds the online extraction server: no extraction job of its own)
    for script in ("bench_cell", "synthesize_instructions", "regenerate_responses",
                   "train_drafter"):
        assert any(f"scripts/{script}.py" in c for c in on_device), script
    # jobs that use no GPU resource run as they were
    assert not any("scripts/plumbing/gpu_job.py" in c and "scripts/quantize_body.py" in c for c in two)
    one = dry_run_commands("config/gb10-rehearsal.yaml", "config/machines/prebuilt-envs.yaml")
    assert one and not any("gpu_job.py" in c for c in one)

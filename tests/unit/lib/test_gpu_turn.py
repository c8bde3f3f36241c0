"""lib/gpu_turn.py: one job's turn on a shared GPU at a time."""

import threading
import time

from lib.gpu_turn import GpuTurn, gpu_turn


def test_a_second_job_waits_until_the_first_releases_its_turn(tmp_path):
    lock = tmp_path / "locks" / "gpu0.use.lock"
    first = GpuTurn(lock)
    assert first.take() < 0.5
    waited: list[float] = []
    second = threading.Thread(target=lambda: waited.append(GpuTurn(lock).take()))
    second.start()
    time.sleep(0.6)
    assert not waited  # still blocked: the first holds the turn
    first.release()
    second.join(timeout=10)
    assert waited and waited[0] >= 0.5


def test_the_turn_is_released_when_the_stage_fails(tmp_path):
    lock = tmp_path / "gpu0.use.lock"
    try:
        with gpu_turn(lock):
            raise RuntimeError("the stage failed")
    except RuntimeError:
        pass
    with gpu_turn(lock) as waited:  # would block forever had the failed stage kept it
        assert waited < 0.5


def test_without_a_lock_file_there_is_no_turn_to_take(tmp_path):
    with gpu_turn(None) as waited:
        assert waited == 0.0
    assert list(tmp_path.iterdir()) == []

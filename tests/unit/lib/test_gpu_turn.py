"""lib/gpu_turn.py: one job's turn on a shared GPU at a time."""

import threading
import time

from lib.gpu_turn import GpuTurn, gpu_turn, quiet_gpu, server_starting, starting_lock


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


def test_a_timed_pass_waits_for_a_starting_server_and_a_start_for_the_pass(tmp_path):
    """The quiet GPU: a server starting on the GPU keeps a timed pass waiting, and a pass keeps
    the next server's start waiting."""
    turn = tmp_path / "locks" / "turn-gpuall.lock"
    events: list[str] = []
    waits: list[float] = []

    def timed_pass():
        with quiet_gpu(turn) as waited:
            waits.append(waited)
            events.append("pass")
            time.sleep(0.6)

    timed = threading.Thread(target=timed_pass)
    with server_starting(turn) as waited:
        assert waited < 0.5
        timed.start()
        time.sleep(0.6)
        assert not events  # the pass waits: a server is starting
    time.sleep(0.2)
    assert events == ["pass"] and waits[0] >= 0.5
    with server_starting(turn) as waited:  # the next start waits for the pass to end
        events.append("start")
    timed.join(timeout=10)
    assert events == ["pass", "start"] and waited >= 0.2
    assert starting_lock(turn) == tmp_path / "locks" / "turn-gpuall.lock.starting"


def test_servers_start_one_at_a_time(tmp_path):
    """Two servers asked to start together: the second starts once the first is healthy
    (kernels picked by timing them beside another start are a lottery, lib/gpu_turn.py)."""
    turn = tmp_path / "locks" / "turn-gpuall.lock"
    spans: dict[str, tuple[float, float, float]] = {}

    def start(name):
        asked = time.monotonic()
        with server_starting(turn) as waited:
            began = time.monotonic()
            time.sleep(0.5)
            spans[name] = (began, time.monotonic(), waited)
        assert began - asked >= waited - 0.05

    threads = [threading.Thread(target=start, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    (first, second) = sorted(spans.values())
    assert second[0] >= first[1]  # no overlap
    assert first[2] < 0.3 and second[2] >= 0.4  # the second waited for the first


def test_without_a_turn_nothing_is_waited_for(tmp_path):
    with server_starting(None) as a, quiet_gpu(None) as b:
        assert a == b == 0.0
    assert starting_lock(None) is None

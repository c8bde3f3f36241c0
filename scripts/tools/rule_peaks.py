"""Per job of a Snakemake run: its wall time, the GPU memory at its peak and the disk the run
used, from the run's log and the samplers that scripts/tools/gpu_study.sh starts beside it.

    python scripts/tools/rule_peaks.py SNAKEMAKE_LOG GPU_MEMORY_CSV DISK_USED_CSV > jobs.tsv

Snakemake's benchmark files record a job's host memory and time, not the GPU's memory or the
disk, hence this join (our own: nothing in Snakemake or nvidia-smi pairs samples with jobs).
The samples are of the whole machine: where jobs overlap, each is charged the peak of both.
A log may hold several Snakemake runs one after another (gpu_study.sh's parts run three); each
numbers its jobs from 1, so a job is known by its run and its number.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
START = re.compile(r"^(?:local)?rule (\w+):$")
JOBID = re.compile(r"^\s+jobid: (\d+)$")
FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)$")
FAILED = re.compile(r"^Error in rule (\w+):$")
NEW_RUN = "Building DAG of jobs..."


@dataclass
class Job:
    rule: str
    jobid: int
    start: datetime
    end: datetime | None = None
    status: str = "running"


def jobs_from_log(text: str) -> list[Job]:
    """The jobs a Snakemake log started, with when each finished or failed."""
    jobs: dict[tuple[int, int], Job] = {}
    stamp = pending = failed = None
    run = 0
    for line in text.splitlines():
        if line.strip() == NEW_RUN:
            run += 1
        elif m := STAMP.match(line):
            stamp = datetime.strptime(" ".join(m.group(1).split()), "%a %b %d %H:%M:%S %Y")
        elif m := START.match(line):
            pending = m.group(1)
        elif m := FAILED.match(line):
            failed = m.group(1)
        elif (m := JOBID.match(line)) and (pending or failed):
            key = (run, int(m.group(1)))
            if failed and key in jobs:
                jobs[key].status, jobs[key].end = "failed", stamp
            elif pending:
                jobs[key] = Job(pending, key[1], stamp)
            pending = failed = None
        elif m := FINISHED.match(line):
            job = jobs.get((run, int(m.group(1))))
            if job:
                job.end, job.status = stamp, "done"
    return list(jobs.values())


def samples(path: Path) -> list[tuple[datetime, float]]:
    """`YYYY/MM/DD HH:MM:SS[.fff], value` lines (nvidia-smi's csv, the disk sampler's)."""
    out = []
    for line in path.read_text().splitlines():
        try:
            when, value = line.rsplit(",", 1)
            out.append((datetime.strptime(when.strip()[:19], "%Y/%m/%d %H:%M:%S"), float(value)))
        except ValueError:
            continue
    return out


def peak(series: list[tuple[datetime, float]], start: datetime, end: datetime | None):
    inside = [v for t, v in series if t >= start and (end is None or t <= end)]
    return max(inside) if inside else None


def table(jobs: list[Job], gpu: list, disk: list) -> str:
    lines = ["rule\tjobid\tstatus\tstart\twall_s\tpeak_gpu_mib\tdisk_used_gb_at_start\tpeak_disk_used_gb"]
    for job in sorted(jobs, key=lambda j: (j.start, j.jobid)):
        wall = (job.end - job.start).total_seconds() if job.end else None
        at_start = peak(disk, job.start, job.start.replace(second=min(job.start.second + 2, 59)))
        cells = [job.rule, str(job.jobid), job.status, job.start.strftime("%H:%M:%S"),
                 "" if wall is None else f"{wall:.0f}", fmt(peak(gpu, job.start, job.end)),
                 fmt(at_start, 1e9), fmt(peak(disk, job.start, job.end), 1e9)]
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def fmt(value: float | None, scale: float = 1.0) -> str:
    return "" if value is None else f"{value / scale:.{1 if scale > 1 else 0}f}"


def main(argv: list[str]) -> None:
    log, gpu, disk = map(Path, argv)
    sys.stdout.write(table(jobs_from_log(log.read_text()), samples(gpu), samples(disk)))


if __name__ == "__main__":
    main(sys.argv[1:])

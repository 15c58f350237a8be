"""A sweep's record and its jobs' states.

The record (``runs/sweeps/<name>/sweep.json``) holds, per job key, the job (its configuration and results
folder) and its last submission: executor, job id, stdout/stderr paths. A job's state is read from what the
job itself leaves, so that it is right whoever ran it and whatever stopped it:

* ``finished``: the experiment's ``run.json`` says finished under the job's configuration (or the curriculum
  is cached);
* ``pending`` / ``running`` / ``requeued``: the job id is in Slurm's queue (``squeue``; no accounting database
  needed);
* ``failed``: ``run.json`` or the job's submitit result holds an error; ``why`` is its last line;
* ``interrupted``: stopped (Ctrl-C, cancellation, preemption) with its checkpoint kept: rerun the sweep;
* ``not submitted``: no record of it.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from shutil import which
from typing import Iterable, Sequence

from ..engine.experiments import Experiment
from ..engine.results import read_json, write_json
from .plan import Job

SWEEPS_ROOT = Path("runs") / "sweeps"
"""Where each sweep's record and job logs live (git-ignored): ``runs/sweeps/<name>/``."""


def sweep_folder(name: str, root: str | Path | None = None) -> Path:
    return (Path(root) if root else Path(os.environ.get("SELCORE_SWEEPS", SWEEPS_ROOT))) / name


def known_sweeps() -> list[Path]:
    """The folders of every recorded sweep (``<sweeps root>/<name>/sweep.json``), by name."""
    return sorted(p.parent for p in sweep_folder("").glob("*/sweep.json"))


class SweepRecord:
    """``sweep.json`` of one sweep: its jobs and their last submissions, keyed by ``Job.key``."""

    def __init__(self, folder: Path, name: str | None = None):
        self.folder = Path(folder).resolve()
        self.name = name or self.folder.name
        self.path = self.folder / "sweep.json"
        self.controller_log = self.folder / "controllers.log"  # local executor: the job controllers' own stderr
        self.data = read_json(self.path) if self.path.exists() else {"name": self.name, "jobs": {}}

    def entries(self) -> list[dict]:
        return list(self.data["jobs"].values())

    def entry(self, key: str) -> dict:
        return self.data["jobs"].get(key, {})

    def add(self, jobs: Sequence[Job], meta: dict) -> None:
        """Record the sweep's jobs (merged with earlier ones of the same name) and how it was asked for."""
        self.data.setdefault("requests", []).append(meta)
        for j in jobs:
            old = self.data["jobs"].get(j.key, {})
            self.data["jobs"][j.key] = {**old, "key": j.key, **j.to_dict()}

    def submitted(self, job: Job, job_id: str, stdout: Path, stderr: Path, executor: str) -> None:
        e = self.data["jobs"].setdefault(job.key, {"key": job.key, **job.to_dict()})
        e.update(job_id=str(job_id), executor=executor, stdout=str(stdout), stderr=str(stderr),
                 submitted_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        e.setdefault("submissions", 0)
        e["submissions"] += 1

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_json(self.path, self.data)

    def jobs(self) -> list[Job]:
        return [Job.from_dict(e) for e in self.entries()]


def queued_jobs(ids: Iterable[str]) -> dict[str, str]:
    """{job id: Slurm state} for those of ``ids`` still in Slurm's queue (pending, running, completing ...)."""
    ids = [str(i) for i in ids if i]
    if not ids:
        return {}
    if which("squeue") is None:
        return {}
    out = subprocess.run(["squeue", "-h", "-r", "-o", "%i %T %r"], capture_output=True, text=True, timeout=60)
    states = {}
    for line in out.stdout.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2:
            states[parts[0]] = parts[1] + (f" ({parts[2]})" if len(parts) > 2 and parts[2] != "None" else "")
    return {i: states[i] for i in ids if i in states}  # -r: one line per array task (<array>_<task>)


@dataclass(frozen=True)
class JobState:
    name: str          # finished, pending, running, requeued, failed, interrupted, not submitted
    why: str = ""      # the error of a failed job, the queue reason of a pending one
    in_queue: bool = False


def job_state(job: Job, entry: dict, queued: dict[str, str] | set[str]) -> JobState:
    """The state of ``job`` (see the module doc); ``queued``: ``queued_jobs`` of the record's job ids."""
    info: dict = {}
    if job.kind == "curriculum":
        if Path(job.curriculum).exists():
            return JobState("finished")
    else:
        exp = Experiment(job.cfg, job.root)
        if exp.is_finished():
            return JobState("finished")
        info = read_json(exp.paths.run_json) if exp.paths.run_json.exists() else {}
    jid = entry.get("job_id")
    if jid and jid in queued:
        state = queued[jid] if isinstance(queued, dict) else "queued"
        name = "running" if state.startswith(("RUNNING", "COMPLETING")) else \
            "requeued" if "REQUEUE" in state or "BeginTime" in state else "pending"
        return JobState(name, state, in_queue=True)
    status, err = info.get("status"), info.get("error", "")
    if status == "failed":
        return JobState("failed", err)
    if status == "interrupted":
        how = err if err.partition(":")[2].strip() else "stopped (Ctrl-C, cancellation or preemption)"
        return JobState("interrupted", f"{how}; rerun the sweep to resume")
    err = _result_error(entry)
    if err:
        return JobState("failed", err)
    if jid and status == "running":  # a Slurm job that left the queue while running was killed
        slurm = entry.get("executor") == "slurm"
        return JobState("interrupted" if slurm else "running",
                        "not in the queue; rerun the sweep to resume" if slurm else "")
    return JobState("not submitted" if not jid else "pending")


def needed_curricula(jobs: Sequence[Job], unfinished: set[str]) -> set[str]:
    """The curricula that an experiment among ``jobs`` whose key is in ``unfinished`` still reads."""
    return {j.curriculum for j in jobs if j.kind == "experiment" and j.curriculum and j.key in unfinished}


def _result_error(entry: dict) -> str:
    """The last line of the error a submitit job returned, if it failed."""
    out = entry.get("stdout")
    if not out:
        return ""
    result = Path(out).with_name(Path(out).name.replace("_log.out", "_result.pkl"))
    if not result.exists():
        return ""
    try:
        with open(result, "rb") as f:
            outcome, value = pickle.load(f)
    except Exception:
        return ""
    if outcome != "error":
        return ""
    lines = [ln.strip() for ln in str(value).strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "error"


def status_table(record: SweepRecord, jobs: Sequence[Job] | None = None) -> list[dict]:
    """One row per job: key, state, why, job id, log paths."""
    jobs = list(jobs) if jobs is not None else record.jobs()
    queued = queued_jobs([record.entry(j.key).get("job_id") for j in jobs])
    rows = []
    for j in jobs:
        e = record.entry(j.key)
        st = job_state(j, e, queued)
        rows.append({"job": j.key, "state": st.name, "why": st.why, "job_id": e.get("job_id", ""),
                     "executor": e.get("executor", ""), "stdout": e.get("stdout", ""), "stderr": e.get("stderr", "")})
    needed = needed_curricula(jobs, {r["job"] for r in rows if r["state"] != "finished"})
    for j, r in zip(jobs, rows):  # a curriculum whose experiments all finished was never needed
        if j.kind == "curriculum" and r["state"] == "not submitted" and j.curriculum not in needed:
            r["state"] = "not needed"
    return rows


DONE = ("finished", "not needed")
"""The states in which a job has nothing left to do."""


def require_finished(rows: list[dict], what: str = "jobs") -> None:
    """Raise a one-line RuntimeError unless every row of ``status_table`` is finished (or not needed): each job
    that failed or was interrupted with why and its log, then how many others are in each state."""
    left = [r for r in rows if r["state"] not in DONE]
    if not left:
        return
    parts = [f"{r['job']} {r['state']}" + (f": {r['why']}" if r["why"] else "")
             + (f" (log {r['stderr']})" if r["stderr"] else "") for r in left if r["why"] or r["stderr"]]
    silent = Counter(r["state"] for r in left if not (r["why"] or r["stderr"]))
    parts += [f"{n} more {state}" for state, n in sorted(silent.items())]
    raise RuntimeError(f"{len(left)} of {len(rows)} {what} did not finish: " + "; ".join(parts))


def format_status(record: SweepRecord, rows: list[dict]) -> str:
    counts = Counter(r["state"] for r in rows)
    head = f"sweep {record.name} ({record.path}): " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    width = max([len(r["job"]) for r in rows] + [3])
    lines = [head]
    for r in rows:
        line = f"  {r['job']:<{width}}  {r['state']:<13} {r['job_id']:>8}"
        if r["why"]:
            line += f"  {r['why']}"
        lines.append(line)
        if r["stderr"]:
            lines.append(f"  {'':<{width}}  log: {r['stderr']}")
    return "\n".join(lines)

"""Submitting a sweep's jobs through submitit: ``slurm`` (sbatch, the waves ordered by Slurm dependencies),
``local`` (processes on this machine, a small scheduler running at most ``parallelism`` at once) or ``debug``
(in this process, one after another: for a debugger).

Finished jobs are never submitted again, nor are Slurm jobs of an earlier submission still in the queue; so
rerunning the same ``sweep`` command resumes a sweep, whatever stopped it. Every submission is recorded in the
sweep's ``sweep.json`` (``status.SweepRecord``) with its job id and log paths.
"""
from __future__ import annotations

import os
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from shutil import which
from typing import Sequence

import submitit

from ..config import ConfigError
from ..paths import portable_path
from ..procs import stderr_to
from .job import SweepJob
from .plan import Job, plan_sweep
from .status import SweepRecord, job_state, needed_curricula, queued_jobs, sweep_folder

EXECUTORS = ("slurm", "local", "debug")


@dataclass(frozen=True)
class Resources:
    """What each job asks for, and how many run at once."""
    cpus: int = 1                 # CPUs (torch threads) per job
    gpus: int = 0                 # GPUs per job (Slurm)
    time_min: int = 60            # time limit per job, minutes; at the limit a job is checkpointed and requeued
    mem_gb: float = 4.0           # memory per job (Slurm)
    partition: str = ""           # Slurm partition ('' = the cluster's default)
    parallelism: int = 0          # jobs running at once (Slurm: array throttle; local: 0 = CPUs // cpus)
    signal_delay_s: int = 90      # Slurm sends the time-limit signal this long before the limit
    max_requeues: int = 3         # time-limit requeues per job before it is given up


def make_executor(kind: str, folder: Path, res: Resources):
    """A submitit executor writing its logs under ``folder/logs/<job id>/``."""
    if kind == "slurm" and not _has("sbatch"):
        raise ConfigError("--executor slurm: no sbatch on this machine's PATH (is Slurm installed? "
                          "bash .ci/slurm starts a one-node cluster)")
    extra = {"slurm_max_num_timeout": res.max_requeues} if kind == "slurm" else {}
    ex = submitit.AutoExecutor(folder=folder / "logs" / "%j", cluster=kind, **extra)
    params = dict(timeout_min=res.time_min, cpus_per_task=res.cpus, name="selcore-sweep")
    if kind == "slurm":
        params.update(slurm_array_parallelism=res.parallelism or 256, slurm_signal_delay_s=res.signal_delay_s,
                      slurm_mem_gb=res.mem_gb,
                      slurm_additional_parameters={"requeue": True})
        if res.gpus:
            params["slurm_gpus_per_node"] = res.gpus
        if res.partition:
            params["slurm_partition"] = res.partition
    ex.update_parameters(**params)
    return ex


def _has(cmd: str) -> bool:
    return which(cmd) is not None


def local_parallelism(res: Resources) -> int:
    """Jobs at once on this machine: never more threads than CPUs."""
    return res.parallelism or max(1, (os.cpu_count() or 1) // res.cpus)


def _todo(jobs: Sequence[Job], record: SweepRecord, queued) -> list[Job]:
    """The jobs to submit: neither finished nor still queued, and, for a curriculum, read by an unfinished job."""
    states = {j.key: job_state(j, record.entry(j.key), queued) for j in jobs}
    needed = needed_curricula(jobs, {k for k, st in states.items() if st.name != "finished"})
    return [j for j in jobs if states[j.key].name != "finished" and not states[j.key].in_queue
            and (j.kind != "curriculum" or j.curriculum in needed)]


def submit_slurm(jobs: Sequence[Job], record: SweepRecord, res: Resources, log=print) -> list[str]:
    """Submit the unfinished jobs to Slurm: wave 0 as one array, then one array per results folder for wave 1,
    each depending (``afterok``) on its folder's wave-0 jobs (its curriculum, its Baseline), including those of
    an earlier submission still in the queue. Returns the job ids submitted."""
    ex = make_executor("slurm", record.folder, res)
    queued = queued_jobs([e["job_id"] for e in record.entries() if e.get("job_id")])
    todo = _todo(jobs, record, queued)
    ids: list[str] = []
    wave0 = [j for j in todo if j.wave == 0]
    if wave0:
        with ex.batch():
            subs = [ex.submit(SweepJob(res.cpus), j.to_dict()) for j in wave0]
        for j, s in zip(wave0, subs):
            record.submitted(j, s.job_id, s.paths.stdout, s.paths.stderr, "slurm")
        ids += [s.job_id for s in subs]
    by_root: dict[str, list[Job]] = {}
    for j in todo:
        if j.wave == 1:
            by_root.setdefault(j.root, []).append(j)
    for root, group in by_root.items():
        deps = [e["job_id"] for e in record.entries() if e["root"] == root and e["wave"] == 0
                and e.get("job_id") and (e["job_id"] in ids or e["job_id"] in queued)]
        extra = {"requeue": True, **({"dependency": "afterok:" + ":".join(deps)} if deps else {})}
        ex.update_parameters(slurm_additional_parameters=extra)
        with ex.batch():
            subs = [ex.submit(SweepJob(res.cpus), j.to_dict()) for j in group]
        for j, s in zip(group, subs):
            record.submitted(j, s.job_id, s.paths.stdout, s.paths.stderr, "slurm")
        ids += [s.job_id for s in subs]
    record.save()
    log(f"submitted {len(ids)} job(s) to Slurm ({len(jobs) - len(todo)} finished or still queued); "
        f"python -m selcore sweep --status --name {record.name} follows them")
    return ids


def run_here(kind: str, jobs: Sequence[Job], record: SweepRecord, res: Resources, log=print) -> None:
    """Run the unfinished jobs with the ``local`` or ``debug`` executor, wave by wave, at most
    ``local_parallelism`` at once, waiting for them and logging each outcome; a wave-1 job whose folder's wave-0
    job failed is not started. Ctrl-C stops the running jobs too (each keeps its last finished epoch)."""
    ex = make_executor(kind, record.folder, res)
    parallel = 1 if kind == "debug" else local_parallelism(res)
    todo = _todo(jobs, record, set())
    running: dict[str, tuple[Job, object]] = {}
    try:
        _waves(ex, kind, todo, record, res, parallel, running, log)
    except KeyboardInterrupt:
        if kind != "debug":
            for _, s in running.values():
                s.cancel(check=False)
            t_stop = time.monotonic()
            while any(not s.done() for _, s in running.values()) and time.monotonic() - t_stop < 30:
                time.sleep(0.2)
        raise


def _waves(ex, kind, todo, record, res, parallel, running, log) -> None:
    t0, n, done = time.perf_counter(), len(todo), 0
    failed_roots: dict[str, str] = {}  # results folder -> the wave-0 job of it that failed
    for wave in (0, 1):
        queue = [j for j in todo if j.wave == wave]
        while queue or running:
            while queue and len(running) < parallel:
                j = queue.pop(0)
                if j.root in failed_roots and wave == 1:
                    done += 1
                    log(f"[{done}/{n}] {j.key}: skipped: {failed_roots[j.root]} failed")
                    continue
                with open(record.controller_log, "a") if kind == "local" else nullcontext() as sink:
                    with stderr_to(sink):  # the controller's own messages (a Ctrl-C traceback) go to its log
                        s = ex.submit(SweepJob(res.cpus), j.to_dict())
                record.submitted(j, s.job_id, s.paths.stdout, s.paths.stderr, kind)
                record.save()
                running[j.key] = (j, s)
            for key, (j, s) in list(running.items()):
                if kind != "debug" and not s.done():
                    continue
                del running[key]
                done += 1
                try:
                    s.result()
                    outcome = "finished"
                except KeyboardInterrupt:
                    raise
                except Exception as e:  # the job's own error, re-raised by submitit
                    outcome = f"failed: {_last_line(e)}"
                    failed_roots.setdefault(j.root, key)
                log(f"[{done}/{n}] {key}: {outcome} ({time.perf_counter() - t0:.0f}s)")
            if running and kind != "debug":
                time.sleep(0.5)


def _last_line(err: BaseException) -> str:
    lines = [ln.strip() for ln in str(err).strip().splitlines() if ln.strip()]
    return lines[-1] if lines else type(err).__name__


def wait_slurm(record: SweepRecord, jobs: Sequence[Job], timeout_s: float = 3600, poll_s: float = 2.0) -> None:
    """Block until none of ``jobs`` is in Slurm's queue (their states: ``status``)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        ids = [record.entry(j.key).get("job_id") for j in jobs]
        if not queued_jobs([i for i in ids if i]):
            return
        time.sleep(poll_s)
    print(f"sweep: still queued after {timeout_s:.0f}s", file=sys.stderr)


def sweep_name(profile: str, experiments: Sequence[str], grid: dict, fixed: dict) -> str:
    """The default name of a sweep, from what it varies: ``<profile>-<experiments>-<grid fields>``."""
    parts = [profile if isinstance(profile, str) else ",".join(profile), ",".join(experiments)] + sorted(grid) + sorted(fixed)
    return "-".join(p.replace("_", "") for p in parts)


def run_sweep(profile: str, experiments: Sequence[str], seeds: Sequence[int] | None, grid: dict, data: str,
              fixed: dict | None = None, results_root: str = "results", executor: str = "local",
              res: Resources = Resources(), name: str | None = None, wait: bool = True, log=None):
    """Plan a sweep, record it and run (``local``/``debug``) or submit (``slurm``; waits for the queue with
    ``wait``) its unfinished jobs. Returns (record, jobs); their states: ``status.status_table``."""
    log = log or (lambda m: print(m, file=sys.stderr, flush=True))
    if executor not in EXECUTORS:
        raise ConfigError(f"bad --executor {executor!r}: choose one of {', '.join(EXECUTORS)}")
    fixed = fixed or {}
    jobs = plan_sweep(profile, experiments, seeds, grid, data, fixed, results_root)
    name = name or sweep_name(profile, experiments, grid, fixed)
    record = SweepRecord(sweep_folder(name), name)
    record.add(jobs, {"time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "argv": sys.argv[1:],
                      "executor": executor})
    record.save()
    log(f"sweep {name}: {len(jobs)} job(s) (record {portable_path(str(record.path), Path.cwd())})")
    if executor == "slurm":
        submit_slurm(jobs, record, res, log=log)
        if wait:
            wait_slurm(record, jobs)
    else:
        run_here(executor, jobs, record, res, log=log)
    return record, jobs


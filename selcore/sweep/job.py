"""What one sweep job runs, and how it survives preemption and time limits.

``SweepJob`` is the callable submitit pickles. It runs a ``plan.Job``: caches a curriculum or runs (resumes, or
skips when finished) one experiment, with as many torch threads as the job was given CPUs. Training writes a
checkpoint after every epoch, so a job stopped at any moment loses at most the epoch in progress and its
counters (images, executed FLOPs, time) are those of the last finished epoch: a rerun never counts work twice.

* Time limit: Slurm sends ``SIGUSR2`` shortly before it (``--signal``; submitit's ``signal_delay_s``); submitit
  calls ``checkpoint``, which resubmits the same job, and requeues it; the requeued job resumes from the
  checkpoint on disk.
* Preemption or ``scontrol requeue``: Slurm sends ``SIGTERM`` and puts the job back in the queue; the job stops
  at once (submitit alone would ignore the signal and keep training until the kill), and the requeued job
  resumes the same way.
* A real failure (a bad parameter, divergence, missing data) raises; it is not requeued, and the error is in
  the run's ``run.json`` and the job's log (``sweep --status`` shows it).
"""
from __future__ import annotations

import os
import signal
import threading

import torch
from submitit.helpers import Checkpointable, DelayedSubmission

from ..engine.experiments import prepare_curriculum, run_experiment
from .plan import Job


class Stopped(KeyboardInterrupt):
    """The scheduler stopped this job (SIGTERM: preemption, requeue or cancellation)."""


def _stop(signum, frame):
    raise Stopped(f"stopped by signal {signal.Signals(signum).name} (preempted, requeued or cancelled); "
                  f"the last finished epoch is checkpointed")


class SweepJob(Checkpointable):
    """Run one ``plan.Job`` (given as its dict) with ``threads`` torch threads (the CPUs the job asked for);
    returns a one-line summary of what it did."""

    def __init__(self, threads: int = 1):
        self.threads = max(1, int(threads))

    def __call__(self, job: dict) -> str:
        if os.environ.get("SLURM_JOB_ID") and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _stop)
        torch.set_num_threads(self.threads)
        j = Job.from_dict(job)
        restarts = os.environ.get("SLURM_RESTART_COUNT", "0")
        print(f"sweep job {j.key} (Slurm restart count {restarts}, {torch.get_num_threads()} threads)", flush=True)
        if j.kind == "curriculum":
            return f"{j.key}: {prepare_curriculum(j.cfg, j.root)}"
        return f"{j.key}: {run_experiment(j.cfg, j.root)}"

    def checkpoint(self, job: dict) -> DelayedSubmission:
        """Called by submitit on the time-limit signal: requeue the same job (it resumes from its checkpoint)."""
        return DelayedSubmission(self, job)

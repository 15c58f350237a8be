"""Sweeps over seeds x settings x experiments, one job each, through submitit (Slurm, local processes or in-process).

plan      the jobs of a grid, where each writes, and the two waves that order them (pure)
job       what a job runs: a curriculum or an experiment, resuming from its checkpoint when requeued
submit    the executors and the submission of the waves (Slurm dependencies, or a local scheduler)
status    the sweep's record (sweep.json) and each job's state, with its log paths
"""

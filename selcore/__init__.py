"""selcore: Staged Embarrassment Learning (SEL), its baselines, and honest compute accounting.

One module per concern:
``config`` (hyperparameters), ``data`` (CIFAR-10 tensors), ``models`` (CIFAR ResNet-18),
``sel`` (the SEL formulas), ``lottery`` (magnitude pruning), ``train`` (the loop and its hooks),
``flops`` (proxy vs executed FLOPs), ``curriculum`` (scorer, scoring, gamma0 calibration),
``checkpoint`` (safe, two-generation checkpoints), ``experiments`` (the four experiments and the ablations),
``results`` (CSV and run.json), ``summary`` (the results table), ``paths`` (artifact locations),
``bench`` (throughput against a reference loop), ``cli``.
"""
from .config import EXPERIMENTS, EXPERIMENT_TITLES, Config, ConfigError
from .data import CLASSES, CIFAR10, DataError, DeviceData, load_cifar10
from .experiments import Experiment, run_experiment
from .models import build_model, count_params
from .summary import load_results, summary_table

__all__ = ["EXPERIMENTS", "EXPERIMENT_TITLES", "Config", "ConfigError", "CLASSES", "CIFAR10", "DataError",
           "DeviceData", "load_cifar10", "Experiment", "run_experiment", "build_model", "count_params",
           "load_results", "summary_table"]
__version__ = "0.1.0"

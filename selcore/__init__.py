"""selcore: Staged Embarrassment Learning (SEL), its baselines, and honest compute accounting.

Layers, one module per concern in each; a layer imports only the layers below it (``tests/test_layers.py``):

* at the bottom: ``registry`` (one entry per experiment: what it is and its pure plan), ``schedules`` (the plans'
  index arithmetic), ``config`` (hyperparameters as one frozen dataclass), ``profiles`` (paper / quick / smoke and
  what a configuration changes of its profile), ``paths`` (every artifact location), ``procs``;
* ``selcore.engine``: data, model, formulas, the training loop and its hooks, FLOPs, checkpoints, experiments;
* ``selcore.sweep``: grids of jobs through submitit, their states;
* ``selcore.report``: statistics, the summary table, the claims ledger, the figures;
* ``selcore.book``: the chapters' entry points, the papermill runner, provenance;
* at the top: ``cli`` (``python -m selcore``).
"""
from .config import EXPERIMENTS, EXPERIMENT_TITLES, Config, ConfigError
from .engine.data import CLASSES, CIFAR10, DataError, DeviceData, load_cifar10
from .engine.experiments import Experiment, run_experiment
from .engine.models import build_model, count_params
from .report.summary import load_results, summary_table

__all__ = ["EXPERIMENTS", "EXPERIMENT_TITLES", "Config", "ConfigError", "CLASSES", "CIFAR10", "DataError",
           "DeviceData", "load_cifar10", "Experiment", "run_experiment", "build_model", "count_params",
           "load_results", "summary_table"]
__version__ = "0.1.0"

"""selcore: Staged Embarrassment Learning (SEL), its baselines, and honest compute accounting.

Layers, one module per concern in each; a layer imports only the layers below it (``tests/test_layers.py``):

* at the bottom: ``registry`` (one entry per experiment: what it is and its pure plan), ``schedules`` (the plans'
  index arithmetic), ``config`` (hyperparameters as one frozen dataclass), ``profiles`` (paper / quick / smoke and
  what a configuration changes of its profile), ``paths`` (every artifact location), ``procs``, ``progress``
  (training epochs reported to whoever launched the runs);
* ``selcore.engine``: data, model, formulas, the training loop and its hooks, FLOPs, checkpoints, experiments;
* ``selcore.studies``: measurements beside the experiments (the bench, the sparsity study and its stand-in);
* ``selcore.sweep``: grids of jobs through submitit, their states;
* ``selcore.report``: statistics, the summary table, the claims ledger, the figures;
* ``selcore.book``: the chapters' entry points, the papermill runner, provenance;
* at the top: ``cli`` (``python -m selcore``).
"""
from importlib import import_module

# The public names, each from its module. They are loaded on first use (PEP 562), so that ``python -m selcore
# --help`` and the light commands do not import torch and the engine, which take seconds.
_PUBLIC = {"EXPERIMENTS": "config", "EXPERIMENT_TITLES": "config", "Config": "config", "ConfigError": "config",
           "CLASSES": "engine.data", "CIFAR10": "engine.data", "DataError": "engine.data",
           "DeviceData": "engine.data", "load_cifar10": "engine.data", "Experiment": "engine.experiments",
           "run_experiment": "engine.experiments", "build_model": "engine.models", "count_params": "engine.models",
           "load_results": "report.summary", "summary_table": "report.summary"}
__all__ = list(_PUBLIC)
__version__ = "0.1.0"


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'selcore' has no attribute {name!r}")
    return getattr(import_module(f".{_PUBLIC[name]}", __name__), name)

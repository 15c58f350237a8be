"""Check what a figure of ``selcore.report.plots`` shows against the CSVs it was drawn from.

``csv_seeds(folders)`` reads every ``hist_<experiment>.csv`` of each results folder with plain pandas (one dict
per seed); ``assert_figure_shows(name, fig, seeds)`` asserts that the figure ``plots.FIGURES[name]`` drew holds
exactly those values: each line's x and y data, each bar's height, each point's position (means over the seeds
where several are given). The expected values are computed here from the CSV columns, independently of the
plotting code's helpers.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.collections import PathCollection
from matplotlib.container import BarContainer

from selcore.config import EXPERIMENT_TITLES, EXPERIMENTS

Seeds = list[dict[str, pd.DataFrame]]

PER_EPOCH = {"accuracy_full": ("test_full", 1.0), "accuracy_held_out": ("test_100", 1.0),
             "train_accuracy": ("train_acc", 1.0), "sparsity": ("sparsity", 100.0), "flops_proxy": ("flops_T", 1.0),
             "training_time": ("time_s", 1.0)}
"""Figures with one line per system: (CSV column, scale)."""


def csv_seeds(folders) -> Seeds:
    """One dict per results folder: experiment -> its CSV as written (``pd.read_csv``)."""
    out = []
    for folder in folders:
        found = {e: pd.read_csv(Path(folder) / f"hist_{e}.csv") for e in EXPERIMENTS
                 if (Path(folder) / f"hist_{e}.csv").exists()}
        assert found, f"no CSV in {folder}"
        out.append(found)
    return out


def _stack(seeds: Seeds, e: str, column: str) -> np.ndarray:
    """(seeds, epochs) array of ``column`` of experiment ``e`` over the seeds that ran it."""
    rows = [s[e][column].to_numpy(float) for s in seeds if e in s and column in s[e].columns]
    assert len({len(r) for r in rows}) == 1, f"{e}: seeds with different epoch counts"
    return np.vstack(rows)


def _epochs(seeds: Seeds, e: str) -> np.ndarray:
    return next(s[e]["epoch"].to_numpy(float) for s in seeds if e in s)


def _mean(seeds: Seeds, e: str, column: str) -> np.ndarray:
    return _stack(seeds, e, column).mean(axis=0)


def _last_mean(seeds: Seeds, e: str, column: str) -> float:
    return float(_stack(seeds, e, column)[:, -1].mean())


def _present(seeds: Seeds, column: str | None = None) -> list[str]:
    return [e for e in EXPERIMENTS if any(e in s and (column is None or column in s[e].columns) for s in seeds)]


def _line(ax, label_start: str):
    found = [line for line in ax.get_lines() if line.get_label().startswith(label_start)]
    assert len(found) == 1, f"{ax.get_title()!r}: {len(found)} lines labelled {label_start!r}"
    return found[0]


def _assert_line(ax, label_start: str, x, y):
    line = _line(ax, label_start)
    np.testing.assert_allclose(np.asarray(line.get_xdata(), float), x, rtol=1e-9, err_msg=label_start)
    np.testing.assert_allclose(np.asarray(line.get_ydata(), float), y, rtol=1e-9, err_msg=label_start)


def _system_lines(ax) -> list[str]:
    """The systems that have a labelled line in ``ax``."""
    return [e for e in EXPERIMENTS if any(line.get_label().startswith(EXPERIMENT_TITLES[e])
                                          for line in ax.get_lines())]


def _bars(ax) -> dict[str, np.ndarray]:
    """Bar heights per hue level (legend text), in x order."""
    containers = [c for c in ax.containers if isinstance(c, BarContainer)]
    labels = [t.get_text() for t in ax.get_legend().get_texts()] if ax.get_legend() else []
    assert len(labels) == len(containers), (labels, len(containers))
    return {lab: np.array([bar.get_height() for bar in c]) for lab, c in zip(labels, containers)}


def _ticks(ax) -> list[str]:
    return [t.get_text() for t in ax.get_xticklabels()]


def assert_figure_shows(name: str, fig, seeds: Seeds) -> None:
    """Assert that ``fig``, drawn by ``plots.FIGURES[name]`` from ``seeds``, shows the CSVs' values."""
    ax = fig.axes[0]
    if name in PER_EPOCH:
        column, scale = PER_EPOCH[name]
        assert _system_lines(ax) == _present(seeds, column), name
        for e in _present(seeds, column):
            _assert_line(ax, EXPERIMENT_TITLES[e], _epochs(seeds, e), scale * _mean(seeds, e, column))
    elif name in ("gap_sel95", "gap_warmup"):
        e = name[4:]
        if e not in _present(seeds):
            assert not ax.get_lines(), name
            return
        _assert_line(ax, "train", _epochs(seeds, e), _mean(seeds, e, "train_acc"))
        _assert_line(ax, "test (full)", _epochs(seeds, e), _mean(seeds, e, "test_full"))
        first = next(s[e] for s in seeds if e in s)
        stage = first["stage"].to_numpy()
        expect = sorted(first["epoch"].to_numpy(float)[1:][stage[1:] != stage[:-1]] - 0.5)
        curves = ("train", "test (full)")  # labels, with " (n=...)" over several seeds
        drawn = sorted(float(line.get_xdata()[0]) for line in ax.get_lines()
                       if not line.get_label().startswith(curves))
        assert drawn == expect, (name, drawn, expect)
    elif name in ("embarrassment_sel95", "confidence_sel95"):
        prefix = "E_" if name.startswith("embarrassment") else "C_"
        if "sel95" not in _present(seeds):
            assert not ax.get_lines(), name
            return
        cols = [c for c in next(s["sel95"] for s in seeds if "sel95" in s).columns if c.startswith(prefix)]
        assert len(cols) == 10
        for c in cols:
            _assert_line(ax, c[len(prefix):], _epochs(seeds, "sel95"), _mean(seeds, "sel95", c))
    elif name == "update_density":
        present = _present(seeds, "update_density")
        assert _system_lines(ax) == present, name
        for e in present:
            t = EXPERIMENT_TITLES[e]
            _assert_line(ax, f"{t}, updated", _epochs(seeds, e), 100 * _mean(seeds, e, "update_density"))
            _assert_line(ax, f"{t}, gradient kept", _epochs(seeds, e), 100 * (1 - _mean(seeds, e, "sparsity")))
    elif name == "flops_proxy_vs_executed":
        present = _present(seeds, "exec_flops_T")
        assert _system_lines(ax) == present, name
        for e in present:
            t = EXPERIMENT_TITLES[e]
            _assert_line(ax, f"{t}, executed", _epochs(seeds, e), _mean(seeds, e, "exec_flops_T"))
            _assert_line(ax, f"{t}, proxy", _epochs(seeds, e), _mean(seeds, e, "flops_T"))
    elif name == "accuracy_vs_executed_flops":
        present = _present(seeds, "exec_flops_T")
        assert _system_lines(ax) == present, name
        for e in present:
            _assert_line(ax, EXPERIMENT_TITLES[e], _mean(seeds, e, "exec_flops_T"), _mean(seeds, e, "test_100"))
    elif name == "per_class_accuracy":
        present = _present(seeds)
        bars = _bars(ax)
        assert list(bars) == [EXPERIMENT_TITLES[e] for e in present], name
        classes = _ticks(ax)
        assert len(classes) == 10
        for e in present:
            expect = [_last_mean(seeds, e, f"acc_{c}") for c in classes]
            np.testing.assert_allclose(bars[EXPERIMENT_TITLES[e]], expect, rtol=1e-9, err_msg=e)
    elif name in ("accuracy_vs_flops_saved", "pareto", "summary_panel"):
        present = _present(seeds)
        base = [s["baseline"] for s in seeds if "baseline" in s]
        if not base:
            assert not ax.has_data(), name
            return
        assert len(base) == len(seeds), "every seed has its Baseline in these tests"

        def rel(e, column):  # per seed, % of the same seed's Baseline, then the mean over seeds
            return float(np.mean([100 * s[e][column].iloc[-1] / s["baseline"][column].iloc[-1] for s in seeds]))
        if name == "summary_panel":
            bars = _bars(ax)
            assert _ticks(ax) == [EXPERIMENT_TITLES[e] for e in present]
            expect = {"held-out accuracy": [_last_mean(seeds, e, "test_100") for e in present],
                      "time": [rel(e, "time_s") for e in present],
                      "proxy FLOPs": [rel(e, "flops_T") for e in present]}
            if "exec_flops_T" in seeds[0]["baseline"].columns:
                expect["executed FLOPs"] = [rel(e, "exec_flops_T") for e in present]
            assert list(bars) == list(expect), name
            for metric, values in expect.items():
                np.testing.assert_allclose(bars[metric], values, rtol=1e-9, err_msg=metric)
            return
        points = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert len(points) == len(present), name
        expect = [(100 - rel(e, "flops_T"), _last_mean(seeds, e, "test_100")) for e in present]
        np.testing.assert_allclose([p.get_offsets()[0] for p in points], expect, rtol=1e-9, atol=1e-9)
        if name == "pareto":  # bubble area proportional to the mean wall-clock time
            times = np.array([_last_mean(seeds, e, "time_s") for e in present])
            np.testing.assert_allclose([p.get_sizes()[0] for p in points], 1500 * times / times.max(), rtol=1e-9)
    elif name == "compute_views":
        present = _present(seeds)
        views = {"flops_T": "original's proxy", "exec_flops_T": "executed (measured)",
                 "ideal_flops_T": "ideal sparse kernels"}
        logged = {col: label for col, label in views.items() if col in seeds[0][present[0]].columns}
        bars = _bars(ax)
        assert list(bars) == list(logged.values()) and _ticks(ax) == [EXPERIMENT_TITLES[e] for e in present]
        for col, label in logged.items():
            np.testing.assert_allclose(bars[label], [_last_mean(seeds, e, col) for e in present], rtol=1e-9)
    else:
        raise AssertionError(f"no data check for figure {name!r}: add one to tests/figure_data.py")

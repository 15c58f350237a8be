"""Progress in training epochs: what a run writes to the epoch log, what the runner's bar reads from it."""
import io

import pytest

from conftest import tiny

from selcore.book.epochbar import EpochBar, describe
from selcore.engine.callbacks import Progress
from selcore.engine.experiments import run_experiment
from selcore.progress import EPOCH_LOG_ENV, Tally


def test_a_run_writes_its_plan_and_each_epoch_and_a_finished_one_writes_nothing(tmp_path, cifar, monkeypatch):
    log = tmp_path / "epochs.jsonl"
    monkeypatch.setenv(EPOCH_LOG_ENV, str(log))
    cfg = tiny("sel95")  # five stages of one epoch each: its plan has five training epochs
    run_experiment(cfg, tmp_path / "out", data=cifar)
    tally = Tally.read(log)
    (run,) = tally.total
    assert run.endswith("/sel95") and tally.total[run] == sum(cfg.stage_epochs) == 5
    assert tally.earlier[run] == 0 and tally.planned == tally.trained == 5 and tally.eta() == 0
    assert all(s > 0 for s in tally.seconds[run]) and tally.epoch_seconds > 0
    before = log.read_text()
    run_experiment(cfg, tmp_path / "out", data=cifar)  # finished: reused, no epoch trained
    assert log.read_text() == before


def test_a_resumed_run_plans_only_the_epochs_left(tmp_path, cifar, monkeypatch):
    cfg = tiny("baseline", num_epochs=3)
    real = Progress.__call__

    def stop_after_first(self, run, ph, res):  # Ctrl-C right after the first epoch's checkpoint
        real(self, run, ph, res)
        raise KeyboardInterrupt

    monkeypatch.setattr(Progress, "__call__", stop_after_first)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(cfg, tmp_path / "out", data=cifar)
    monkeypatch.setattr(Progress, "__call__", real)
    log = tmp_path / "epochs.jsonl"
    monkeypatch.setenv(EPOCH_LOG_ENV, str(log))
    run_experiment(cfg, tmp_path / "out", data=cifar)
    tally = Tally.read(log)
    assert list(tally.total.values()) == [3] and list(tally.earlier.values()) == [1]
    assert tally.planned == tally.trained == 2


def test_the_bar_counts_epochs_and_estimates_from_measured_epoch_times(tmp_path):
    log = tmp_path / "e.jsonl"
    out = io.StringIO()
    with EpochBar(log, "chapter 1/1 sel95", file=out, interval=60) as bar:
        assert describe(bar.update()) == "no training started (finished runs are reused)"
        with open(log, "a") as f:
            f.write('{"event": "start", "run": "a", "total": 10, "done": 4}\n')
            f.write('{"event": "epoch", "run": "a", "seconds": 2.0}\n{"event": "epoch", "run": "a", "seconds": 4.0}\n')
            f.write('{"event": "start", "run": "b", "total": 5, "done": 0}\n{"event": "ep')  # cut short by a crash
        tally = bar.update()
        assert (bar.bar.n, bar.bar.total) == (2, 11)  # a: 6 left of which 2 done; b: 5 planned
        assert tally.eta() == 4 * 3.0 + 5 * 3.0  # a at its own mean, b (no epoch yet) at the overall mean
        assert describe(tally) == "2 runs started, 3 s/epoch, ETA 0:27 for the runs started"
    assert "chapter 1/1 sel95 | 2/11 epochs | 2 runs started, 3 s/epoch, ETA 0:27 for the runs started" in out.getvalue()

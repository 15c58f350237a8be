"""The CSV row schema and the run's accounting: columns and values from one place, and a resume from a checkpoint
older than a column or a counter (real images, CPU)."""
import pandas as pd
import pytest
import torch

import selcore.engine.experiments as ex
from selcore.engine.accounting import Accounting
from selcore.engine.experiments import Experiment, run_experiment
from selcore.engine.rows import RowSchema, columns, schema
from selcore.registry import names
from tests.conftest import tiny


def test_every_experiment_has_one_column_per_name_in_the_original_order():
    for name in names():
        cols = columns(name)
        assert len(cols) == len(set(cols)), name
        assert cols[0] == "epoch" and cols.index("test_100") < cols.index("acc_airplane") < cols.index("exec_flops_T")
    assert "stage" in columns("sel95") and "E_cat" in columns("sel95") and "E_cat" not in columns("baseline")
    assert columns("split_sel")[-1] == "til_task5" and "comm_bytes" in columns("ddp_sel")


def test_a_row_restored_from_an_older_checkpoint_gets_empty_cells_for_newer_columns():
    kept = [{c.name: 1.0 for c in schema("baseline") if c.name != "update_density"}]
    restored = RowSchema("baseline", [c[4:] for c in columns("baseline") if c.startswith("acc_")], 5).restore(kept)
    assert list(restored[0]) == columns("baseline")
    assert restored[0]["update_density"] == "" and restored[0]["test_100"] == 1.0


def test_accounting_from_a_checkpoint_before_a_counter_starts_it_at_zero():
    old = {"c": {"flops": 1.0, "exec_flops": 2.0, "samples": 3, "time_s": 4.0, "eval_flops": 5.0, "skippable": 0.5},
           "prior": {"exec_flops": 0.0, "samples": 0, "time_s": 0.0, "what": []}}
    acc = Accounting.from_state(old)
    assert (acc.forward_samples, acc.gamma, acc.ideal_flops) == (0, None, 1.5)
    assert acc.state_dict()["c"] == {**old["c"], "forward_samples": 0, "gamma": None}


def test_resume_from_a_checkpoint_written_before_a_column_keeps_every_measured_value(tmp_path, cifar, monkeypatch):
    cfg = tiny("baseline", num_epochs=4)
    ref = pd.read_csv(run_experiment(cfg, tmp_path / "ref", data=cifar))
    real, calls = ex.train_epoch, {"n": 0}

    def stop_in_epoch_three(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*a, **k)
    monkeypatch.setattr(ex, "train_epoch", stop_in_epoch_three)
    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        Experiment(cfg, out, data=cifar).run()
    monkeypatch.undo()
    ckpt = out / "checkpoints" / "baseline.pt"
    st = torch.load(ckpt, weights_only=False)
    assert len(st["rows"]) == 2
    for r in st["rows"]:  # as a checkpoint written before the column and the counter existed
        del r["update_density"]
    del st["c"]["forward_samples"], st["c"]["gamma"]
    torch.save(st, ckpt)
    got = pd.read_csv(Experiment(cfg, out, data=cifar).run())
    assert list(got.columns) == list(ref.columns) and len(got) == len(ref) == 4
    assert got["update_density"][:2].isna().all() and got["update_density"][2:].notna().all()
    measured = [c for c in ref.columns if c not in ("time_s", "update_density")]
    pd.testing.assert_frame_equal(got[measured], ref[measured], check_exact=True)
    pd.testing.assert_series_equal(got["update_density"][2:], ref["update_density"][2:], check_exact=True)

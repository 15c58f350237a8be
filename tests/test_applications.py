"""The release's two application claims: the gradient exchange of data-parallel training (two real gloo processes)
and Split CIFAR-10 (forgetting), their formulas on known values and their experiments on real images."""
import json
import math
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from selcore.config import COMMUNICATION, CONTINUAL, Config, ConfigError
from selcore import schedules
from selcore.engine import comm, continual
from selcore.engine.experiments import run_experiment
from tests.conftest import REPO, tiny, default_sigint


# ---------------------------------------------------------------------------- formulas
def test_message_bytes_takes_the_smaller_of_indices_and_bitmap():
    assert comm.dense_bytes(800) == 3200
    assert comm.message_bytes(800, 10) == 40 + 40          # 10 indices (40 B) < bitmap (100 B)
    assert comm.message_bytes(800, 50) == 200 + 100        # bitmap (100 B) < 50 indices (200 B)
    assert comm.message_bytes(801, 800) == 3200 + 101      # nearly dense: values + bitmap exceed the dense 3,204 B
    assert torch.equal(comm.message_bytes(800, torch.tensor([10, 50])), torch.tensor([80, 300]))


def test_bitmaps_round_trip():
    g = torch.Generator().manual_seed(0)
    for n in (1, 8, 13, 1000):
        mask = torch.rand(n, generator=g) < 0.3
        bits = comm.pack_bits(mask)
        assert bits.dtype == torch.uint8 and bits.numel() == math.ceil(n / 8)
        assert torch.equal(comm.unpack_bits(bits, n), mask)


def _exchange_worker(rank, world, out_file):
    """Two workers exchange known gradients in every mode; worker 0 writes what it got."""
    import torch.distributed as dist
    dist.init_process_group("gloo", rank=rank, world_size=world)
    g = torch.Generator().manual_seed(100 + rank)
    grads = [torch.randn(600, generator=g), torch.randn(400, generator=g)]
    flat = torch.cat(grads)
    gamma = [1.3, 0.5][rank]  # different densities on the two workers
    results = {}
    for mode in comm.MODES:
        ex = comm.GradientExchange(mode, grads, world)
        ex.gamma = gamma
        out = ex.exchange(flat.clone(), grads, [t.clone() for t in grads])
        results[mode] = {"out": out.tolist(), "sent": ex.sent, "msg": ex.msg, "dense": ex.dense,
                         "tensor_est": ex.tensor_est, "kept": ex.kept,
                         "residual": torch.cat([ex.residual[i].flatten() for i in range(2)]).tolist()
                         if ex.residual else None}
        tiny_ex = comm.GradientExchange(mode, grads, world)  # a very sparse message: positions as indices
        tiny_ex.gamma = 3.0
        tiny_ex.exchange(flat.clone(), grads, [t.clone() for t in grads])
        results[mode]["tiny_sent"] = tiny_ex.sent
    if rank == 0:
        with open(out_file, "w") as f:
            json.dump(results, f)


def test_two_gloo_processes_exchange_kept_entries_and_count_every_byte(tmp_path):
    out_file = tmp_path / "exchange.json"
    comm.launch(_exchange_worker, 2, (str(out_file),), {})
    got = json.loads(out_file.read_text())
    gs = []
    for rank in range(2):
        g = torch.Generator().manual_seed(100 + rank)
        gs.append(torch.cat([torch.randn(600, generator=g), torch.randn(400, generator=g)]))
    masks = [gs[0].abs() > 1.3, gs[1].abs() > 0.5]
    ks = [int(m.sum()) for m in masks]
    assert ks[0] < ks[1]
    # dense: the mean of the two gradients, 4 B per entry
    assert torch.allclose(torch.tensor(got["dense"]["out"]), (gs[0] + gs[1]) / 2, atol=1e-6)
    assert got["dense"]["sent"] == got["dense"]["dense"] == 4000
    # sel: each worker's kept entries, averaged with the other's zeros
    expected = (gs[0] * masks[0] + gs[1] * masks[1]) / 2
    assert torch.allclose(torch.tensor(got["sel"]["out"]), expected, atol=1e-6)
    assert got["sel"]["kept"] == ks[0] and got["sel"]["msg"] == comm.message_bytes(1000, ks[0])
    kmax = max(ks)
    assert got["sel"]["sent"] == 8 + 4 * kmax + 125  # count + padded values + bitmap (4 kmax > 125 B)
    per_tensor = comm.message_bytes(600, int(masks[0][:600].sum())) + comm.message_bytes(400, int(masks[0][600:].sum()))
    assert got["sel"]["tensor_est"] == per_tensor
    # top-k with error feedback at the same count: on the first step (no residual) the same entries as sel; what was
    # not sent is kept as the residual
    assert torch.allclose(torch.tensor(got["topk"]["out"]), expected, atol=1e-6)
    assert torch.allclose(torch.tensor(got["topk"]["residual"]), gs[0] * ~masks[0], atol=1e-6)
    # very sparse messages send int32 positions instead of a bitmap
    k_tiny = [int((g.abs() > 3.0).sum()) for g in gs]
    assert 4 * max(k_tiny) <= 125
    assert got["sel"]["tiny_sent"] == 8 + 4 * max(k_tiny) + 4 * max(k_tiny)


def test_average_accuracy_and_forgetting_on_a_known_matrix():
    A = [[90, 0, 0], [60, 80, 0], [70, 50, 85]]
    assert continual.average_accuracy(A, 0) == 90
    assert continual.average_accuracy(A, 2) == pytest.approx((70 + 50 + 85) / 3)
    assert continual.forgetting(A, 0) == 0
    assert continual.forgetting(A, 1) == 30
    assert continual.forgetting(A, 2) == pytest.approx(((90 - 70) + (80 - 50)) / 2)


def test_split_tasks_memory_and_both_evaluations():
    assert schedules.task_classes(10, 2) == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]
    y = torch.arange(10).repeat(30)
    assert sorted(set(y[schedules.task_indices(y, (2, 3))].tolist())) == [2, 3]
    mem = schedules.replay_memory(y, [(0, 1), (2, 3)], 7, seed=42)
    assert len(mem) == 28 and torch.equal(mem, schedules.replay_memory(y, [(0, 1), (2, 3)], 7, seed=42))
    assert torch.bincount(y[mem], minlength=10).tolist() == [7, 7, 7, 7, 0, 0, 0, 0, 0, 0]

    class Fixed(torch.nn.Module):  # always says class 9 most, then the true class's task partner order
        def forward(self, x):
            z = torch.zeros(len(x), 10)
            z[:, 9] = 10.0
            z[torch.arange(len(x)), x[:, 0].long()] = 5.0
            return z
    test_y = torch.arange(10).repeat(3)
    x = test_y.float().view(-1, 1)
    logits = Fixed()(x)
    cil, til = continual.task_accuracies(logits, test_y, schedules.task_classes())
    assert cil == [0.0, 0.0, 0.0, 0.0, 50.0]           # class 9 wins every 10-way argmax
    assert til == [100.0, 100.0, 100.0, 100.0, 50.0]  # within its task the true class wins, but 9 beats 8


def test_random_mask_keeps_sels_density_per_tensor_at_random():
    g = torch.Generator().manual_seed(0)
    net = torch.nn.Linear(200, 100)
    for p in net.parameters():
        p.grad = torch.randn(p.shape, generator=g)
    before = [p.grad.clone() for p in net.parameters()]
    hook = continual.RandomMaskHook(1.0, torch.Generator().manual_seed(1))
    hook.start_epoch()
    hook.after_backward(net)
    w, b = net.weight.grad, before[0]
    kept = (w != 0).float().mean()
    assert abs(float(kept) - float((b.abs() > 1.0).float().mean())) < 0.01  # SEL's density, within 1 pp
    assert torch.equal(w[w != 0], b[w != 0])                                # kept entries unchanged
    assert ((w != 0) & (b.abs() <= 1.0)).any()                               # not SEL's entries: random ones
    assert abs(hook.end_epoch(1)["sparsity"] - (1 - 0.317)) < 0.02


def test_application_parameters_are_checked():
    for bad in ("world_size=1", "classes_per_task=3", "task_epochs=0", "replay_per_class=0"):
        with pytest.raises(ConfigError, match=bad.split("=")[0]):
            Config().with_overrides([bad])


# ---------------------------------------------------------------------------- the experiments on real images
@pytest.mark.slow
@pytest.mark.parametrize("name", CONTINUAL)
def test_split_cifar_runs_log_every_tasks_accuracies(tmp_path, cifar, name):
    cfg = tiny(name, train_per_class=30, task_epochs=2, replay_per_class=4)
    df = pd.read_csv(run_experiment(cfg, tmp_path, data=cifar))
    assert df["task"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    for t in range(1, 6):
        for kind in ("cil", "til"):
            assert df[f"{kind}_task{t}"].between(0, 100).all()
    assert (df[[f"til_task{t}" for t in range(1, 6)]].values >= df[[f"cil_task{t}" for t in range(1, 6)]].values).all()
    per_epoch = df["samples_seen"].diff().dropna()
    if name == "split_replay":  # task 1 has no memory yet; later tasks replay as many images as they train
        assert per_epoch.iloc[0] == 60 and (per_epoch.iloc[2:] == 120).all()
    else:
        assert (per_epoch == 60).all()
    if name in ("split_sel", "split_random"):
        assert df["sparsity"].between(0.01, 0.99).all()
    else:
        assert (df["sparsity"] == 0).all()


@pytest.mark.slow
def test_data_parallel_runs_in_two_processes_and_counts_its_bytes(tmp_path, cifar):
    dfs = {}
    for name in COMMUNICATION:
        dfs[name] = pd.read_csv(run_experiment(tiny(name, train_per_class=30), tmp_path, data=cifar))
        info = json.loads((tmp_path / f"run_{name}.json").read_text())
        assert info["status"] == "finished" and info["workers"] == 2
    dense, sel_, topk = (dfs[n] for n in COMMUNICATION)
    n = dense["comm_dense_bytes"].iloc[0]
    assert (dense["comm_bytes"] == n + 4).all() and (dense["comm_density"] == 1).all()  # + the loss (4 B)
    for df in (sel_, topk):
        assert (df["comm_density"].between(0.01, 0.99)).all()
        assert (df["sparsity"] - (1 - df["comm_density"])).abs().max() < 1e-9
        assert (df["comm_bytes"] >= df["comm_msg_bytes"]).all()  # padding to the larger worker's message
    assert (sel_["comm_tensor_bytes"] >= sel_["comm_msg_bytes"] * 0.99).all()
    # the same images and steps in all three: only the exchange differs
    assert dense["samples_seen"].diff().tolist()[1:] == sel_["samples_seen"].diff().tolist()[1:]
    assert sel_["stage"].tolist() == [1, 2, 3, 4, 5]


@pytest.mark.slow
def test_ctrl_c_stops_both_workers_and_the_rerun_resumes_to_the_same_numbers(tmp_path, data_tar, request):
    """A real SIGINT to the process group of the command (as a terminal's Ctrl-C) in the middle of a top-k run
    (the residuals must survive), then the same command again."""
    args = [sys.executable, "-m", "selcore", "experiment", "ddp_topk", "--profile", "smoke", "--data", str(data_tar),
            "--set", "progress=log", "--set", "train_per_class=60", "--set", "stage_epochs=1,1,1,1,2"]
    ref_log = (tmp_path / "ref.log").open("w")  # a file, not a pipe: nobody reads it while both run
    ref = subprocess.Popen(args + ["--out", str(tmp_path / "ref")], cwd=REPO, stdout=ref_log,
                           stderr=subprocess.STDOUT)  # the uninterrupted reference, run alongside
    request.addfinalizer(lambda: (ref.kill(), ref.wait(), ref_log.close()))
    out = tmp_path / "out"
    p = subprocess.Popen(args + ["--out", str(out)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True, preexec_fn=default_sigint)
    csv = out / "hist_ddp_topk.csv"
    end = time.time() + 300
    while time.time() < end and p.poll() is None:
        if csv.exists() and len(csv.read_text().splitlines()) >= 4:  # 3 of 6 epochs done
            break
        time.sleep(0.2)
    assert p.poll() is None, "the run ended before it could be interrupted"
    os.killpg(p.pid, signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err[-2000:]
    assert "Traceback" not in err and json.loads((out / "run_ddp_topk.json").read_text())["status"] == "interrupted"
    assert ref.wait(timeout=600) == 0, (tmp_path / "ref.log").read_text()[-2000:]
    again = subprocess.run(args + ["--out", str(out)], cwd=REPO, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((out / "run_ddp_topk.json").read_text())["resumed"] is True
    a = pd.read_csv(tmp_path / "ref" / "hist_ddp_topk.csv").drop(columns="time_s")
    b = pd.read_csv(csv).drop(columns="time_s")
    pd.testing.assert_frame_equal(a, b, check_exact=True)


# ---------------------------------------------------------------------------- the report
def test_accuracy_matrix_bytes_and_the_two_claims_rows_on_known_runs(tmp_path):
    from selcore.engine.results import write_csv
    from selcore.engine.rows import columns
    from selcore.report import applications as app
    from selcore.report.catalogue import CLAIM
    from selcore.report.measures import Seed
    rows = []
    for task in range(1, 6):
        for ep in range(2):  # two epochs per task; the matrix takes each task's last
            row = {c: 0.0 for c in columns("split_sel")}
            row.update(epoch=len(rows) + 1, task=task)
            for j in range(1, 6):
                row[f"cil_task{j}"] = (90.0 if j == task else 100.0 - 10 * (task - j) if j < task else 0.0) - ep
                row[f"til_task{j}"] = 99.0
            rows.append(row)
    write_csv(tmp_path / "hist_split_sel.csv", columns("split_sel"), rows)
    dense = [dict(r, **{f"cil_task{j}": (r[f"cil_task{j}"] - 20 if j < r["task"] else r[f"cil_task{j}"])
                        for j in range(1, 6)}) for r in rows]
    write_csv(tmp_path / "hist_split_dense.csv", columns("split_dense"), dense)
    A = app.accuracy_matrix(pd.read_csv(tmp_path / "hist_split_sel.csv"))
    assert A[0][0] == 89.0 and A[2][0] == 80.0 - 1 and A[4][3] == 90.0 - 1 and A[1][4] == -1.0
    s = Seed(tmp_path)
    # SEL: task j's best is 89 (its own end), after task 5 it is 100 - 10 (5 - j) - 1: forgetting mean over j<5
    sel_f = sum(89 - (100 - 10 * (5 - j) - 1) for j in range(1, 5)) / 4
    assert CLAIM["forgetting"].value(s) == pytest.approx((sel_f + 20) - sel_f)  # dense forgets 20 pp more
    comm_rows = [{**{c: 0.0 for c in columns("ddp_sel")}, "epoch": 1, "stage": 1, "comm_bytes": 250.0,
                  "comm_dense_bytes": 1000.0, "comm_steps": 4},
                 {**{c: 0.0 for c in columns("ddp_sel")}, "epoch": 2, "stage": 2, "comm_bytes": 500.0,
                  "comm_dense_bytes": 1000.0, "comm_steps": 2}]
    write_csv(tmp_path / "hist_ddp_sel.csv", columns("ddp_sel"), comm_rows)
    hist = pd.read_csv(tmp_path / "hist_ddp_sel.csv")
    assert app.run_bytes(hist) == 2000 and app.run_bytes(hist, "comm_dense_bytes") == 6000
    assert CLAIM["communication"].value(s) == pytest.approx(100 * (1 - 2000 / 6000))


def test_the_committed_quick_runs_count_their_bytes_and_log_every_task():
    """The book's runs (results/quick, the profile's seeds): what the chapter and the claims rows read."""
    from selcore.profiles import PROFILE_SEEDS, PROFILES
    root = REPO / "results" / "quick"
    for seed in PROFILE_SEEDS["quick"]:
        folder = root / f"seed{seed}"
        for name in COMMUNICATION:
            info = json.loads((folder / f"run_{name}.json").read_text())
            assert info["status"] == "finished" and info["workers"] == 2, (seed, name)
            df = pd.read_csv(folder / f"hist_{name}.csv")
            assert df["stage"].tolist() == [s for s in range(1, 6) for _ in range(2)]
            if name == "ddp_dense":
                assert (df["comm_bytes"] == df["comm_dense_bytes"] + 4).all()
            else:
                assert (df["comm_bytes"] < df["comm_dense_bytes"]).all() and (df["comm_bytes"] >= df["comm_msg_bytes"]).all()
        for name in CONTINUAL:
            df = pd.read_csv(folder / f"hist_{name}.csv")
            epochs = PROFILES["quick"]["task_epochs"]
            assert df["task"].tolist() == [t for t in range(1, 6) for _ in range(epochs)], (seed, name)
            cil = df[[f"cil_task{t}" for t in range(1, 6)]].to_numpy()
            til = df[[f"til_task{t}" for t in range(1, 6)]].to_numpy()
            assert (til >= cil).all()  # knowing the task can only help


def test_unfinished_jobs_are_told_in_one_line():
    from selcore.sweep.status import require_finished
    rows = [{"job": "a", "state": "finished", "why": "", "stderr": ""},
            {"job": "b", "state": "failed", "why": "DataError: no data", "stderr": "logs/b.err"},
            {"job": "c", "state": "not submitted", "why": "", "stderr": ""},
            {"job": "d", "state": "not submitted", "why": "", "stderr": ""},
            {"job": "e", "state": "not needed", "why": "", "stderr": ""}]
    require_finished([rows[0], rows[4]])  # nothing left: no error
    with pytest.raises(RuntimeError) as err:
        require_finished(rows)
    assert str(err.value) == ("3 of 5 jobs did not finish: b failed: DataError: no data (log logs/b.err); "
                              "2 more not submitted")


def test_minutes_are_worded():
    from selcore.report.stats import format_minutes
    assert [format_minutes(s) for s in (10, 45, 95, 5700)] == ["under a minute", "1 minute", "2 minutes",
                                                               "95 minutes"]

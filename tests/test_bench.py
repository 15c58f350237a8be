"""The benchmark command: one run, every row measured on the same device, ratios against the reference."""
import pandas as pd
import pytest

from selcore.cli import main
from selcore.config import Config
from selcore.studies.bench import MODES, append_csv, fastest_passing, format_fastest, mode_name
from tests.conftest import tiny


def logged(stdout: str) -> list[str]:
    """The messages a bench run logged, from its printed output: a message's indented lines (the accuracy check's
    rows) stay with it."""
    lines = []
    for line in stdout.splitlines():
        if line.startswith("  ") and lines:
            lines[-1] += "\n" + line
        else:
            lines.append(line)
    return lines


@pytest.mark.slow
def test_bench_rows_ratios_and_csv(tmp_path, documented_run):
    """The README's ``python -m selcore bench`` as the documented commands ran it (at the smoke size, 100 images,
    one repeat, one accuracy-check epoch): its table, printed ratios and CSV."""
    run = documented_run.result("python -m selcore bench --data PATH")
    assert run.returncode == 0, run.stderr[-2000:]
    lines = logged(run.stdout)
    out = documented_run.repo / "benchmarks" / "bench.csv"  # the copy's: this run's rows only
    df = pd.read_csv(out)
    eager = df[(df.engine == "eager") & (df.timing == "sequential")]
    assert list(eager.step) == ["dense", "dense+density", "sel", "sel+density", "eval@1000", "eval@200", "sb",
                                "sb_topk"]
    [line] = [m for m in lines if m.startswith("evaluation at batch 200 / at batch 1000")]
    assert line.endswith("logits the same bit for bit: True")
    evals = eager[eager.step.str.startswith("eval@")]
    assert evals.ratio_to_reference.isna().all()  # a training loop is no reference for an evaluation
    eager = eager[~eager.step.str.startswith("eval@")]
    # Selective Backprop's epoch against the Baseline's, both ratios measured in this run
    for step in ("sb", "sb_topk"):
        [line] = [m for m in lines if m.startswith(f"{step} epoch / Baseline (dense) epoch")]
        flops = float(line.rsplit("executed FLOPs ", 1)[1])
        assert 0.3 < flops < 1.0, line  # a selection forward of every image + a part of them trained
    assert (eager.images_per_s > 0).all()
    ref = float(df.loc[df.engine == "reference", "images_per_s"].iloc[0])
    assert eager.ratio_to_reference.tolist() == pytest.approx((eager.images_per_s / ref).tolist())
    # every execution mode timed in the same interleaved rounds, its speed-up against eager printed
    modes = df[df.timing == "interleaved"]
    assert list(zip(modes.engine, modes.channels_last)) == [m for m in MODES for _ in range(3)]
    assert set(modes.step) == {"dense+density", "sel+density", "eval@200"} and (modes.images_per_s > 0).all()
    eager_rows = modes[(modes.engine == "eager") & ~modes.channels_last].set_index("step").images_per_s
    assert modes.speedup_vs_eager.tolist() == pytest.approx((modes.images_per_s / modes.step.map(eager_rows)).tolist())
    assert (modes.first_epoch_s > 0).all()
    for engine, cl in MODES:
        [line] = [m for m in lines if m.startswith(f"{mode_name(engine, cl)} / eager, measured in this run: ")]
        assert "dense+density" in line and "sel+density" in line and "first epoch" in line
    # the accuracy check: every mode at three seeds, each mode's mean within the eager seeds' spread or said not to be
    [check] = [m for m in lines if m.startswith("accuracy check (1 epochs on 100 images")]
    for engine, cl in MODES:
        [row] = [r for r in check.splitlines() if r.strip().startswith(mode_name(engine, cl) + " ")]
        assert row.count(",") == 2 and ("within the eager spread" in row or "OUTSIDE the eager spread" in row)
    assert "  eager  " in check and check.splitlines()[1].endswith("within the eager spread")  # eager is its own spread
    assert (df.matmul_TFLOP_s > 0).all() and df.device.str.startswith("CPU").all()
    [fastest] = [m for m in lines if m.startswith("fastest mode within the eager spread") or m.startswith("no execution")]
    assert fastest.endswith("the default for new runs (Config): eager") or "(they differ)" in fastest \
        or fastest.startswith("no execution")
    assert lines[-1] == "appended to benchmarks/bench.csv" and len(df) == 1 + 8 + 3 * len(MODES)
    again = tmp_path / "bench.csv"
    for _ in range(2):  # a second run appends its rows under the same header
        append_csv(df, again)
    saved = pd.read_csv(again)
    assert len(saved) == 2 * len(df) and list(saved.columns) == list(df.columns)


def test_bench_rejects_bad_arguments_in_one_line(capsys):
    assert main(["bench", "--images", "3", "--data", "nowhere"]) == 2
    assert "error:" in capsys.readouterr().err


def test_the_fastest_passing_mode_is_ranked_by_its_slower_training_step():
    rows = [("eager", False, 1.0, 1.0, 1.0), ("eager", True, 1.38, 1.42, 1.24), ("compile", False, 1.37, 1.29, 1.33),
            ("compile", True, 1.6, 1.5, 1.9)]
    modes = pd.DataFrame([{"engine": e, "channels_last": cl, "step": step, "speedup_vs_eager": v}
                          for e, cl, *vals in rows for step, v in zip(("dense+density", "sel+density", "eval@200"), vals)])
    within = {("eager", False): True, ("eager", True): True, ("compile", False): True, ("compile", True): False}
    check = pd.DataFrame([{"engine": e, "channels_last": cl, "within": w} for (e, cl), w in within.items()])
    best = fastest_passing(modes, check)  # compile+channels_last is faster but failed its accuracy check
    assert (best.engine, best.channels_last, best.slowest) == ("eager", True, 1.38)
    line = format_fastest(best, Config())
    assert line == ("fastest mode within the eager spread (ranked by its slower training step): eager+channels_last "
                    "(dense+density 1.38x, sel+density 1.42x); the default for new runs (Config): eager (they differ)")
    assert format_fastest(None, Config()).startswith("no execution mode passed")


@pytest.mark.slow
def test_speed_comparison_times_the_three_steps_in_interleaved_rounds(data_tar):
    from selcore.studies.bench import speed_comparison
    cfg = tiny("sel95", data=str(data_tar), width=8, engine="eager", channels_last=False)
    df = speed_comparison(cfg, images=100, repeats=2)
    assert sorted(set(df.step)) == ["dense", "eval", "sel"] and sorted(set(df["round"])) == [1, 2]
    assert (df.images_per_s > 0).all() and (df.images == 100).all() and df.time_utc.nunique() == 1
    assert (df.engine == "eager").all() and not df.channels_last.any()  # the runs' execution mode

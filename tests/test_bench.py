"""The benchmark command: one run, every row measured on the same device, ratios against the reference."""
import pandas as pd
import pytest

from selcore.cli import main
from tests.conftest import tiny


@pytest.mark.slow
def test_bench_rows_ratios_and_csv(tmp_path, data_tar, capsys):
    from selcore.engine.bench import run_bench
    out = tmp_path / "bench.csv"
    cfg = tiny("sel95", data=str(data_tar), batch_size=16)
    lines = []
    df = run_bench(cfg, images=40, repeats=1, out_csv=out, log=lines.append)
    eager = df[df.engine == "eager"]
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
    assert set(df.loc[df.engine.isin(["compile", "graph"]), "step"]) == {"not implemented yet"}
    assert df.images_per_s[df.engine.isin(["compile", "graph"])].isna().all()  # never a made-up figure
    assert (df.matmul_TFLOP_s > 0).all() and df.device.str.startswith("CPU").all()
    run_bench(cfg, images=40, repeats=1, out_csv=out, log=lambda m: None)
    saved = pd.read_csv(out)
    assert len(saved) == 2 * len(df) and list(saved.columns) == list(df.columns)


def test_bench_rejects_bad_arguments_in_one_line(capsys):
    assert main(["bench", "--images", "3", "--data", "nowhere"]) == 2
    assert "error:" in capsys.readouterr().err

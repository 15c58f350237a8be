"""What every experiment chapter does, once: run its experiment over the seeds, glue the last epoch's figures
and the across-seed table, so that a chapter's code cells are the few lines a reader should see.

``configs("sel95", profile, data, seeds, settings, **overrides)`` checks and returns each seed's configuration;
``run(configs, profile, results_root, fresh)`` runs (or resumes, or skips when finished) them into
``results/<profile>/seed<k>`` and returns the runs;
``ChapterRuns.glue_final`` glues ``<name>_<column>`` values of the first seed's last epoch (with the original
release's published figures) and ``ChapterRuns.across_seeds`` glues ``<name>_seeds_<column>`` (mean [95% CI]
over the seeds) and returns the table.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from ..config import Config, ConfigError
from ..engine.experiments import run_experiment
from ..engine.results import read_json
from ..paths import RunPaths, csv_path, original_results_dir
from ..profiles import changed_fields, parse_seeds, profile_config, rerun_root, seed_dir
from ..registry import BASELINE, spec
from ..report import interactive, plots
from ..report.regimes import REGIMES, finished, regime_label
from ..report.stats import NONNEGATIVE, PP, bounds_of, format_ci, format_number, mean_ci
from ..report.summary import PUBLISHED, read_history, run_status
from .finding import glue
from .launch import folder_of, launch
from .page import banner, csv_link, table

SEED_METRICS = {"held-out accuracy (%)": "test_100", "full-test accuracy (%)": "test_full",
                "proxy FLOPs (T)": "flops_T", "executed FLOPs (T)": "exec_flops_T",
                "ideal-sparse FLOPs (T)": "ideal_flops_T", "time (s)": "time_s"}
"""The last-epoch measures every experiment chapter states over seeds."""

SEL_METRICS = {"update density (SEL epochs)": "update_density", "gradient density (SEL epochs)": "grad_density"}
"""Added for the staged experiments: means over the SEL stages' epochs."""

PUBLISHED_COLUMNS = {"100/class": "test_100", "Full test": "test_full", "FLOPs T": "flops_T", "Time s": "time_s",
                     "FLOPs saved %": "saved"}


def parse_settings(settings: str) -> dict[str, str]:
    """A chapter's ``settings`` parameter: any further ``Config`` fields as "key=value key=value" (values
    without spaces; lists as 2,2,2 or JSON). Unknown keys and bad values fail in ``chapter_configs``."""
    return Config.parse_overrides(shlex.split(settings or ""), what="settings entry")


def glue_value(key: str, value: Any) -> None:
    glue(key, value, display=False)


def glue_figure(key: str, fig) -> None:
    """Glue a matplotlib figure (shown where the page's ``glue:figure`` directive names ``key``) and close it."""
    glue(key, fig, display=False)
    plt.close(fig)


def paired_measures(mine: dict[int, pd.Series], ref: dict[int, pd.Series]) -> dict[str, list[float]]:
    """Per seed of ``mine`` (last CSV rows), against ``ref`` (the other experiment's, same seeds): held-out accuracy
    difference (``acc``, pp) and executed and proxy training FLOPs as a share of the other's (``exec``, ``proxy``, %)."""
    seeds = list(mine)
    return {"acc": [mine[s]["test_100"] - ref[s]["test_100"] for s in seeds],
            "exec": [100 * mine[s]["exec_flops_T"] / ref[s]["exec_flops_T"] for s in seeds],
            "proxy": [100 * mine[s]["flops_T"] / ref[s]["flops_T"] for s in seeds]}


@dataclass
class ChapterRuns:
    """One experiment over the seeds: configs, folders, CSV histories and run.json records per seed."""
    name: str
    configs: dict[int, Config]
    histories: dict[int, pd.DataFrame]
    run_info: dict[int, dict]
    folders: dict[int, Path]
    profile: str = ""
    changed: dict = field(default_factory=dict)
    """The fields where the chapter's configuration differs from its profile's (a rerun with other parameters)."""
    tag: str = ""
    """Empty for the chapter's own runs; else the profile of runs shown beside them (``finished_runs``), which their
    glue names carry: ``<name>_<tag>_...``."""

    @property
    def key(self) -> str:
        """The prefix of this run set's glue names: ``<name>``, or ``<name>_<tag>``."""
        return f"{self.name}_{self.tag}" if self.tag else self.name

    @property
    def seeds(self) -> list[int]:
        return list(self.configs)

    @property
    def first(self) -> int:
        return self.seeds[0]

    @property
    def cfg(self) -> Config:
        return self.configs[self.first]

    @property
    def hist(self) -> pd.DataFrame:
        """The first seed's history (the single-run figures of the chapter)."""
        return self.histories[self.first]

    @property
    def run(self) -> dict:
        return self.run_info[self.first]

    @property
    def mine(self) -> dict[str, pd.DataFrame]:
        return {self.name: self.hist}

    @property
    def per_seed(self) -> list[dict[str, pd.DataFrame]]:
        return [{self.name: h} for h in self.histories.values()]

    def tail(self, n: int = 5):
        """The first seed's last ``n`` CSV rows, the columns a reader needs (stage and sparsity where used), as a
        numbered table."""
        h = self.hist
        cols = ["epoch"] + (["stage"] if "stage" in h else []) + ["train_acc", "train_loss", "test_full", "test_100"]
        cols += (["sparsity"] if h["sparsity"].any() else []) + ["flops_T", "exec_flops_T", "time_s"]
        shown = h[cols].tail(n).style.hide(axis="index").format(precision=2).format(
            "{:.0f}", subset=[c for c in ("epoch", "stage") if c in cols]).format("{:.0f}", subset=["time_s"])
        return table(shown, f"The last {n} logged epochs of seed {self.first}'s hist_{self.name}.csv: "
                     "accuracies in %, FLOPs in 10^12 and time in seconds, all cumulative.")

    def glue_final(self, **extra: Any) -> None:
        """Glue the first seed's last epoch (``<name>_<column>``, ``_epochs``, ``_exec_over_proxy``), the
        original's published figures (``<name>_published_<key>``; its full-test accuracy from its own CSV where that
        is here, since its README's Full-test column prints another figure for three systems),
        ``<name>_first_seed`` and ``extra`` (``<name>_<key>``)."""
        last = self.hist.iloc[-1]
        n = self.name
        for column in ("test_100", "test_full", "flops_T", "exec_flops_T", "time_s", "sparsity"):
            glue_value(f"{n}_{column}", float(last[column]))
        glue_value(f"{n}_epochs", int(last["epoch"]))
        glue_value(f"{n}_exec_over_proxy", float(last["exec_flops_T"] / last["flops_T"]))
        published = {key: float(PUBLISHED.loc[n, column]) for column, key in PUBLISHED_COLUMNS.items()}
        original = csv_path(original_results_dir(), n)
        if original.exists():  # its full-test accuracy from its own CSV: the README's column differs (the ledger)
            published["test_full"] = float(read_history(original)["test_full"].iloc[-1])
        for key, value in published.items():
            glue_value(f"{n}_published_{key}", value)
        glue_value(f"{n}_first_seed", int(self.first))
        for key, value in extra.items():
            glue_value(f"{n}_{key}", value)

    def csv_link(self):
        """A link to the first seed's CSV where the built book publishes it, or its path where it does not
        (a rerun into ``runs/``)."""
        path = RunPaths(self.folders[self.first], self.name).csv
        try:
            return csv_link(path, root=path.parents[2])
        except (ValueError, FileNotFoundError):
            return Markdown(f"Data: `{path}` (not published with the book)")

    def others(self, experiment: str) -> dict[int, pd.DataFrame]:
        """Another experiment's history of each seed from the same results folders (the seeds where it exists; for
        runs shown beside the chapter's, where it finished)."""
        paths = {s: RunPaths(folder, experiment).csv for s, folder in self.folders.items()}
        done = {s for s, p in paths.items() if p.exists()
                and (not self.tag or run_status(self.folders[s], experiment) == "finished")}  # shown beside: finished
        return {s: read_history(p) for s, p in paths.items() if s in done}

    def compare(self, experiment: str, other: dict[int, pd.DataFrame] | None = None) -> int:
        """Paired by seed, this experiment's last epoch against ``experiment``'s: held-out accuracy difference (pp)
        and executed and proxy training FLOPs as a share of the other's (%), glued as
        ``<name>_vs_<experiment>_{acc,exec,proxy}`` (mean [95% CI], with (n=k) only where fewer seeds than the
        chapter's are paired: the text states the chapter's n); returns the number of seeds paired.
        ``other``: that experiment's histories when already read (``others``)."""
        other = self.others(experiment) if other is None else other
        seeds = [s for s in self.seeds if s in other]
        mine = {s: self.histories[s].iloc[-1] for s in seeds}
        ref = {s: other[s].iloc[-1] for s in seeds}
        for key, values in paired_measures(mine, ref).items():
            c = mean_ci(values, bounds=PP if key == "acc" else NONNEGATIVE)
            paired = None if len(seeds) == len(self.seeds) else c["n"]  # n is the chapter's, stated beside it
            text = format_ci(c["mean"], c["lo"], c["hi"], paired) if seeds else "not run"
            glue_value(f"{self.key}_vs_{experiment}_{key}", text)
        return len(seeds)

    def headline(self) -> None:
        """What a chapter states first: the regime of its runs (``<key>_regime``), the comparison with the Baseline
        (``compare``) and the finding figure ``<key>_fig_finding``, held-out accuracy per epoch of this experiment
        beside the Baseline over seeds (titled with the regime where the runs are another profile's)."""
        base = self.others(BASELINE) if self.name != BASELINE else {}
        if self.name != BASELINE:
            self.compare(BASELINE, base)
        per_seed = [{self.name: h, **({BASELINE: base[s]} if s in base else {})}
                    for s, h in self.histories.items()]
        glue_value(f"{self.key}_regime", regime_label(self.cfg.width, self.cfg.pretrained, self.profile))
        fig = plots.accuracy_held_out(per_seed)
        if self.tag:
            fig.axes[0].set_title(f"{REGIMES[self.tag].capitalize()}: {fig.axes[0].get_title()}", fontsize=10)
        glue_figure(f"{self.key}_fig_finding", fig)

    def mean_at(self, column: str, epoch: int) -> float:
        """The mean over seeds of ``column`` at logged ``epoch``."""
        return float(pd.Series([h.loc[h["epoch"] == epoch, column].iloc[0] for h in self.histories.values()]).mean())

    def across_seeds(self) -> None:
        """The chapter's across-seed section: the table of ``seed_table``, then every seed's held-out accuracy per
        epoch (interactive), then, for staged runs, gradient against update density per epoch (every seed)."""
        display(self.seed_table())
        display(interactive.accuracy_held_out(self.per_seed))
        if "stage" in self.hist:
            display(plots.update_density(self.per_seed))

    def seed_table(self):
        """Mean [95% CI] over seeds of the last epoch's measures (and, for staged runs, the update and gradient
        densities over the SEL epochs); glues ``<key>_seeds_<column>`` (text), ``..._mean``, ``<key>_n_seeds``
        and ``<key>_seed_list``; returns the table."""
        metrics = dict(SEED_METRICS)
        finals = pd.DataFrame({s: h.iloc[-1] for s, h in self.histories.items()}).T
        if "stage" in self.hist:
            metrics.update(SEL_METRICS)
            sel_epochs = {s: h[h["stage"] > 0] for s, h in self.histories.items()}
            finals["update_density"] = [float(sel_epochs[s]["update_density"].mean()) for s in finals.index]
            finals["grad_density"] = [float(1 - sel_epochs[s]["sparsity"].mean()) for s in finals.index]
        across = pd.DataFrame({label: mean_ci(finals[col], bounds=bounds_of(col))
                               for label, col in metrics.items() if col in finals}).T
        for label, col in metrics.items():
            s = across.loc[label]
            fmt = {"sig": 3} if "FLOPs" in label or "density" in label else {"digits": 1}
            glue_value(f"{self.key}_seeds_{col}", format_ci(s["mean"], s["lo"], s["hi"], **fmt))  # n: _n_seeds
            glue_value(f"{self.key}_seeds_{col}_mean", float(s["mean"]))
        glue_value(f"{self.key}_n_seeds", len(finals))
        glue_value(f"{self.key}_seed_list", ", ".join(str(s) for s in finals.index))
        across["n"] = across["n"].astype(int)
        across["per seed"] = [", ".join(format_number(v, sig=4) for v in vals) for vals in across["values"]]
        shown = across[["per seed", "n", "mean", "std", "lo", "hi"]]
        where = f" at {REGIMES[self.tag]} (profile {self.tag})" if self.tag else ""
        shown = shown.rename(columns={"lo": "95% lo", "hi": "95% hi"})
        numbers = ["mean", "std", "95% lo", "95% hi"]  # four significant digits, as the per-seed values
        return table(shown.style.format(lambda v: format_number(v, sig=4), subset=numbers),
                     f"The last epoch{where} over the seeds ({', '.join(map(str, finals.index))}): each seed's "
                     "value, n, mean, sample standard deviation and a 95% interval inside the measure's range "
                     "(Student's t on the logit scale of an accuracy or density, on the log scale of FLOPs and time).")


def configs(name: str, profile: str, data: str = "", seeds: Any = None, settings: str = "",
            **overrides: Any) -> dict[int, Config]:
    """The configuration of ``name`` under ``profile`` for every seed of the chapter (``overrides`` whose value is
    None keep the profile's; ``settings`` adds any other field as "key=value ..."); a bad value fails here,
    before any training. Displays the page's banner (profile, data, device)."""
    extra = parse_settings(settings)
    both = sorted(k for k, v in overrides.items() if v is not None and k in extra)
    if both:
        raise ConfigError(f"parameter {both[0]!r} is given twice: as a chapter parameter and in settings")
    out = {s: profile_config(profile, name, data=data, seed=s, progress="log", **overrides, **extra)
           for s in parse_seeds(seeds, profile)}
    cfg = next(iter(out.values()))
    display(banner(profile, cfg.data, cfg.device))
    return out


def config_table(configs: dict[int, Config]):
    """Every value of the first seed's configuration, one row each (what actually runs), as a numbered table."""
    cfg = next(iter(configs.values()))
    return table(pd.Series({k: str(v) for k, v in cfg.to_dict().items()}, name="value").to_frame(),
                 f"The configuration that runs for seed {cfg.seed}, every field (`python -m selcore params` gives each "
                 "meaning); the other seeds differ only in `seed`.")


def run(configs: dict[int, Config], profile: str, results_root: str = "results",
                fresh: bool = False) -> ChapterRuns:
    """Run every seed's configuration into its folder (``profiles.run_folder``: ``results_root/<profile>/seed<k>``
    for the profile's own configuration; resuming, or skipping a finished run) and return the runs. A configuration
    that differs from the profile's (a chapter parameter or a setting) goes to ``runs/<profile>/<setting>/seed<k>``
    when ``results_root`` is the default (``profiles.rerun_root``).
    Trains the Baseline of a seed where its folder has none (a rerun with other parameters, a profile not run before),
    then glues the chapter's headline (``ChapterRuns.headline``) and the runs its registry entry is
    ``compared_with``."""
    cfg = next(iter(configs.values()))
    name = cfg.experiment
    changed = changed_fields(cfg, profile_config(profile, name, data=cfg.data, seed=cfg.seed))
    root = rerun_root(changed, results_root)
    if changed:
        first = next(iter(configs))
        print(f"parameters differ from the {profile} profile's ({', '.join(f'{k}={v}' for k, v in changed.items())}): "
              f"results go to {folder_of(configs[first], profile, root).parent}/, not "
              f"{seed_dir(profile, first, results_root).parent}/ (pass results_root to choose the root)")
    csvs = dict(zip(configs, launch(list(configs.values()), profile, root, fresh)))
    histories = {s: read_history(p) for s, p in csvs.items()}
    folders = {s: p.parent for s, p in csvs.items()}  # each run's CSV lies in the folder the rule gave it
    for s, c in configs.items():  # the headline compares with the Baseline of the same seed and configuration
        if name != BASELINE and not RunPaths(folders[s], BASELINE).csv.exists():
            print(f"seed {s}: no Baseline in {folders[s]}; training it for the comparison (same configuration)")
            run_experiment(c.replace(experiment=BASELINE), folders[s])
    run_info = {s: read_json(RunPaths(folders[s], name).run_json) for s in configs}
    print(f"seeds run: {list(configs)}")
    runs = ChapterRuns(name, configs, histories, run_info, folders, profile, changed)
    runs.headline()
    for other in spec(name).compared_with:
        runs.compare(other)
    return runs


def finished_runs(name: str, profile: str, results_root: str | Path = "results") -> ChapterRuns | None:
    """``name``'s finished runs under ``profile`` (its seeds that finished; nothing is trained) as runs shown beside
    the chapter's own, their glue names tagged with ``profile``; None where none has finished."""
    histories = finished(name, profile, results_root)
    if not histories:
        return None
    folders = {s: seed_dir(profile, s, results_root) for s in histories}
    return ChapterRuns(name, {s: profile_config(profile, name, seed=s) for s in histories}, histories,
                       {s: read_json(RunPaths(f, name).run_json) for s, f in folders.items()}, folders, profile,
                       tag=profile)

"""Command line: ``python -m selcore {summary,experiment,run,chapter,chapters,sweep,bench,standin,sparsity,params} ...``."""
from __future__ import annotations

import argparse
import sys

from .config import ALL_EXPERIMENTS, Config, ConfigError, did_you_mean
from .paths import default_source
from .profiles import (PROFILES, changed_fields, check_profile, default_profile, profile_config, rerun_root,
                       results_dir, run_folder)


CHOICES = " | ".join(PROFILES)
PROFILE_RULE = "paper where CUDA is available, else quick"
"""The one default of --profile, for run, chapter, experiment and sweep."""
OUT_RULE = ("results/<profile>/seed<k>/ for the profile's own configuration (the book's runs: finished ones are "
            "reused), runs/<profile>/<changed fields>/seed<k>/ for another")
"""The one rule for where results go by default, in words (``profiles.run_folder`` and ``profiles.rerun_root``)."""


def chosen_profile(profile: str | None) -> str:
    """``--profile`` as given (checked), else ``PROFILE_RULE``'s choice, said in one line on stderr."""
    if profile is not None:
        return ",".join(check_profile(p.strip()) for p in profile.split(",")) if "," in profile else \
            check_profile(profile)
    profile = default_profile()
    print(f"*** no --profile given: using '{profile}' "
          f"({'CUDA is available' if profile == 'paper' else 'no CUDA device found'}) ***", file=sys.stderr)
    return profile


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line instead of usage + message
        raise ConfigError(f"{self.prog}: {message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m selcore", description="Staged Embarrassment Learning: reproduction tools")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    s = sub.add_parser("summary", help="summary table of a results folder (ours or the original release's)")
    s.add_argument("results", help="folder holding hist_baseline.csv, hist_lottery.csv, hist_sel95.csv, hist_warmup.csv")
    s.add_argument("--best", action="store_true", help="add each system's best held-out epoch")
    s.add_argument("--partial", action="store_true", help="show experiments that have not finished, labelled")

    e = sub.add_parser("experiment", help="run one experiment (resumes an interrupted run)")
    e.add_argument("name", help=f"one of {', '.join(ALL_EXPERIMENTS)}")
    e.add_argument("--out", default=None, help="results folder (default: " + OUT_RULE + ")")
    e.add_argument("--profile", default=None, help=f"{CHOICES}: the configuration the --set values change "
                                                 f"(default: {PROFILE_RULE})")
    e.add_argument("--data", default=None, help="CIFAR-10 source: 'torchvision', an image-folder tree or a tar of one "
                                               "(default: $SELCORE_DATA or torchvision)")
    e.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter (see `python -m selcore params`); repeatable")
    e.add_argument("--fresh", action="store_true", help="discard earlier results and checkpoints of this experiment")

    r = sub.add_parser("run", help="execute every chapter of the book with papermill (resumable)")
    r.add_argument("--profile", default=None, help=f"{CHOICES} (default: {PROFILE_RULE})")
    r.add_argument("--data", default="", help="CIFAR-10 source (default: $SELCORE_DATA or torchvision)")
    r.add_argument("--only", nargs="+", default=None, metavar="NAME", help="execute only these chapters")
    r.add_argument("--force", action="store_true", help="re-execute chapters already executed")
    r.add_argument("--fresh", action="store_true", help="also discard the experiments' results and checkpoints")
    r.add_argument("--book-dir", default=None, help="where executed chapters go (default: book/ when it holds "
                                                  "this profile's chapters, else runs/book-<profile>/book)")
    r.add_argument("--results-root", default="results", help="results go to RESULTS_ROOT/<profile>")

    c = sub.add_parser("chapter", help="execute one chapter with other parameters into a place of its own (runs/)")
    c.add_argument("name", help="a chapter (python -m selcore chapters lists them and their parameters)")
    c.add_argument("-p", "--parameter", dest="params", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="a chapter parameter, as with papermill; repeatable")
    c.add_argument("--profile", default=None, help=f"{CHOICES} (default: {PROFILE_RULE})")
    c.add_argument("--data", default="", help="CIFAR-10 source (default: $SELCORE_DATA or torchvision)")
    c.add_argument("--out", default=None, help="executed notebook (default: runs/<profile>/[<parameters>/]"
                                               "<name>.ipynb; its results: " + OUT_RULE + ")")

    cs = sub.add_parser("chapters", help="each chapter's parameters with their defaults and meanings")
    cs.add_argument("names", nargs="*", help="chapters to list (default: all)")

    b = sub.add_parser("bench", help="images/s of our dense and SEL steps vs a plain reference loop and of each "
                                     "execution mode (eager, channels_last, compile) vs eager, one run")
    b.add_argument("--device", default="auto", help="'auto', 'cpu', 'cuda' or 'cuda:N'")
    b.add_argument("--data", default=None, help="CIFAR-10 source (default: $SELCORE_DATA or torchvision)")
    b.add_argument("--width", type=int, default=None, help="network width (default: 64 on a GPU, 16 on a CPU)")
    b.add_argument("--images", type=int, default=2000, help="training images per timed epoch (default 2000)")
    b.add_argument("--repeats", type=int, default=3, help="timed epochs per row, median reported (default 3)")
    b.add_argument("--check-epochs", type=int, default=2,
                   help="epochs of each run of the modes' accuracy check, 3 seeds per mode (default 2)")
    b.add_argument("--out", default="benchmarks/bench.csv", help="CSV the rows are appended to ('' = none)")
    b.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a parameter (batch_size, lr ...); repeatable")

    w = sub.add_parser("sweep", help="seeds x settings x experiments, one job each, on Slurm, local processes or here")
    w.add_argument("--profile", default=None, help=f"{CHOICES}, or a comma list of them (default: {PROFILE_RULE})")
    w.add_argument("--experiments", default=None, help="comma list (default: baseline,lottery,sel95,warmup)")
    w.add_argument("--seeds", default=None, help="e.g. 42-46 or 42,43,44 (default: the profile's seeds)")
    w.add_argument("--grid", action="append", default=[], metavar="FIELD=V1,V2,...",
                   help="a Config field and its values, e.g. percentile=30,40,50; repeatable (the product is run)")
    w.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="a field set for every job; repeatable")
    w.add_argument("--data", default="", help="CIFAR-10 source (default: $SELCORE_DATA or torchvision)")
    w.add_argument("--executor", default="local", help="slurm (sbatch) | local (processes here) | debug (this "
                                                      "process); default: local")
    w.add_argument("--name", default=None, help="the sweep's name (default: from profile, experiments and grid fields); "
                                               "its record and logs are in runs/sweeps/<name>/")
    w.add_argument("--status", action="store_true", help="list the sweep's jobs (all sweeps if no grid or --name "
                                                         "is given): finished, running, failed, with log paths")
    w.add_argument("--wait", action="store_true", help="slurm: wait until the jobs leave the queue, then --status")
    w.add_argument("--partition", default="", help="Slurm partition (default: the cluster's default)")
    w.add_argument("--time", type=int, default=60, help="time limit per job in minutes; a job reaching it is "
                                                        "checkpointed and requeued (default 60)")
    w.add_argument("--gpus", type=int, default=0, help="GPUs per job (Slurm; default 0)")
    w.add_argument("--cpus", type=int, default=1, help="CPUs (torch threads) per job (default 1)")
    w.add_argument("--mem-gb", type=float, default=4.0, help="memory per job in GB (Slurm; default 4)")
    w.add_argument("--parallelism", type=int, default=0, help="jobs at once (Slurm: array throttle; local: "
                                                             "default CPUs // --cpus)")
    w.add_argument("--signal-delay", type=int, default=90, help="Slurm: seconds before the time limit at which a "
                                                               "job is told to checkpoint (default 90)")
    w.add_argument("--results-root", default="results", help="results go to RESULTS_ROOT/<profile>/<setting>/seed<k>")

    sd = sub.add_parser("standin", help="train the sparsity study's stand-in for ImageNet weights at one width (the "
                                        "recipe fixed on the book's plans page; skipped where it exists)")
    sd.add_argument("--width", type=int, required=True, help="network width, e.g. 16, 32 or 64")
    sd.add_argument("--data", default=None, help="CIFAR-10 source (default: $SELCORE_DATA or torchvision)")
    sd.add_argument("--out", default=None, help="results folder (default: results/quick/sparsity)")

    sp = sub.add_parser("sparsity", help="the sparsity study: gamma0 and one epoch of stage 1's sparsity over width, "
                                         "start and calibration rule (resumable; trains the stand-ins it needs)")
    sp.add_argument("--widths", default="16,32,64", help="comma list (default: 16,32,64)")
    sp.add_argument("--seeds", default="42-46", help="e.g. 42-46 (default) or 42,43")
    sp.add_argument("--data", default=None, help="CIFAR-10 source (default: $SELCORE_DATA or torchvision)")
    sp.add_argument("--out", default=None, help="results folder (default: results/quick/sparsity)")

    sub.add_parser("params", help="list every parameter with its default and meaning")
    return p


def parse_widths(text: str) -> list[int]:
    try:
        widths = [int(w) for w in text.split(",") if w.strip()]
    except ValueError:
        widths = []
    if not widths or any(w < 1 for w in widths):
        raise ConfigError(f"bad parameter --widths={text!r}: a comma list of positive widths, e.g. 16,32,64")
    return widths


def argv_command(argv=None) -> str:
    """The subcommand of a command line (``sys.argv`` by default): its first word that is not an option."""
    return next((a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")), "")


OUR_ERRORS = {"selcore.book.runbook": ("ChapterFailed",), "selcore.engine.checkpoint": ("CheckpointError",),
              "selcore.engine.data": ("DataError",), "selcore.engine.models": ("WeightsUnavailable",),
              "selcore.engine.train": ("Divergence", "ResourceError")}
"""The errors of modules that import torch which a command reports in one line, by module (``report``)."""


def loaded_errors() -> tuple[type, ...]:
    """The classes of ``OUR_ERRORS`` whose modules this process has imported: a class never imported cannot have
    been raised, so an error found before the engine loads is reported without loading it (a typo costs no torch
    import)."""
    return tuple(getattr(sys.modules[m], n) for m, names in OUR_ERRORS.items() if m in sys.modules for n in names)


def report(err: Exception) -> int | None:
    """Report a command's error in one line and return the exit status (2; 130 for a chapter stopped by Ctrl-C),
    or None for an error that is not one of ours (a bug: its traceback is shown)."""
    runbook = sys.modules.get("selcore.book.runbook")
    if runbook is not None and isinstance(err, runbook.Interrupted):  # the runner stopped the kernel cleanly; its
        print(str(err), file=sys.stderr)                                # message says how to resume
        return 130
    if isinstance(err, (ConfigError, FileNotFoundError, ValueError, *loaded_errors())):
        print(f"error: {err}", file=sys.stderr)
        return 2
    return None


def main(argv=None) -> int:
    # Each command imports what it runs inside its own branch (lazy imports below, the one place in the package
    # where function-local imports are the rule): --help and the light commands need not load torch, papermill
    # or the engine, which take seconds.
    try:
        args = build_parser().parse_args(argv)
        if args.cmd == "params":
            print(Config.help())
            return 0
        if args.cmd == "summary":
            # lazy, see the note at the top of main
            from .report.summary import (SAVED_NOTE, format_table, load_results, published_discrepancies,
                                         summary_table)
            table = summary_table(load_results(args.results, args.partial), best=args.best)
            measured = table["exec FLOPs T"].notna().any()  # the original's CSVs have no executed FLOPs
            print(format_table(table if measured else table.drop(columns=["exec FLOPs T", "exec FLOPs saved %"])))
            if measured:
                print(SAVED_NOTE)
            if not measured:  # the original's CSVs: say where its README's table differs from them
                notes = published_discrepancies(table)
                if notes:
                    print("\nThe original README's summary differs from these CSVs:")
                    print("\n".join(f"- {n}" for n in notes))
            return 0
        if args.cmd == "run":
            # lazy, see the note at the top of main
            from .book.runbook import run_book
            profile = chosen_profile(args.profile)
            base = profile_config(profile, "baseline")
            if base.pretrained:  # the paper profile's ImageNet weights, before any work
                from .engine.models import require_weights  # lazy, see the note at the top of main
                require_weights(base.pretrained, base.weights_file)
            if args.fresh:
                # lazy, see the note at the top of main
                import shutil
                shutil.rmtree(results_dir(profile, args.results_root), ignore_errors=True)
            records = run_book(profile, args.data, args.only, args.force or args.fresh, args.book_dir,
                               args.results_root)
            width = max([len("chapter")] + [len(r["chapter"]) for r in records])
            print(f"{'chapter':{width}s}  {'status':9s} {'seconds':>8s}")
            for rec in records:
                print(f"{rec['chapter']:{width}s}  {rec['status']:9s} {rec['seconds']:7.0f}s")
            book = args.book_dir or "book"
            from .book.exercises import write_page  # lazy, see the note at the top of main
            write_page(book)
            print(f"next: jupyter-book build {book}   (the HTML: _build/html/index.html)")
            return 0
        if args.cmd == "chapters":
            # lazy, see the note at the top of main
            from .book.params import format_parameters
            from .book.runbook import REPO_ROOT, toc_files
            names = args.names or [n for n in toc_files() if (REPO_ROOT / "chapters" / f"{n}.ipynb").exists()]
            print(format_parameters(names))
            return 0
        if args.cmd == "chapter":
            # lazy, see the note at the top of main
            import yaml
            from .book.finding import executed_finding
            from .book.runbook import run_chapter
            params = {k: yaml.safe_load(v) for k, v in args.params}
            notebook = run_chapter(args.name, chosen_profile(args.profile), args.data, params, args.out)
            print(executed_finding(notebook, args.name) or f"(chapter {args.name} has no finding paragraph)")
            print(f"executed notebook: {notebook}")
            return 0
        if args.cmd == "sweep":
            # lazy, see the note at the top of main
            from .sweep.cli import sweep_command
            # --status reads records: the profile only names the sweep, no need to announce the choice
            args.profile = (chosen_profile(args.profile) if args.profile else default_profile()) if args.status \
                else chosen_profile(args.profile)
            return sweep_command(args)
        if args.cmd == "bench":
            # lazy, see the note at the top of main
            from .studies.bench import run_bench
            from .engine.experiments import resolve_device
            cfg = Config().with_overrides(list(args.overrides) + [f"device={args.device}",
                                                                   f"data={args.data or default_source()}"])
            width = args.width or (64 if resolve_device(cfg.device).type == "cuda" else 16)
            if args.images < 10 or args.repeats < 1 or args.check_epochs < 1:
                raise ConfigError("bad parameter: --images must be >= 10, --repeats and --check-epochs >= 1")
            run_bench(cfg.replace(width=width), args.images, args.repeats, args.out or None,
                      check_epochs=args.check_epochs)
            return 0
        if args.cmd in ("standin", "sparsity"):
            # lazy, see the note at the top of main
            from .engine.data import load_cifar10
            from .engine.experiments import resolve_device
            from .studies.sparsity_study import Study, run_study
            from .studies.standin import StandIn, train_standin
            from .paths import sparsity_study_dir
            from .profiles import parse_seeds
            out, device = args.out or sparsity_study_dir(results_dir("quick")), resolve_device("auto")
            if args.cmd == "standin":
                if args.width < 1:
                    raise ConfigError(f"bad parameter --width={args.width}: a positive width, e.g. 64")
                print(train_standin(StandIn(args.width), load_cifar10(args.data or default_source()), out, device))
                return 0
            widths, seeds = parse_widths(args.widths), parse_seeds(args.seeds, "quick")
            study = Study(widths=tuple(widths), seeds=tuple(seeds))
            table = run_study(load_cifar10(args.data or default_source()), out, study, device)
            print(table.groupby(["width", "start", "calibration"])["sparsity"].agg(["count", "mean", "min", "max"])
                  .round(3).to_string())
            print(f"points: {out}/points.csv")
            return 0
        if args.cmd == "experiment":
            if args.name not in ALL_EXPERIMENTS:
                raise ConfigError(f"unknown experiment {args.name!r}{did_you_mean([args.name], ALL_EXPERIMENTS)}: "
                                  f"choose one of {', '.join(ALL_EXPERIMENTS)}")
            profile = chosen_profile(args.profile)
            cfg = profile_config(profile, args.name)
            overrides = list(args.overrides)
            if args.data or not any(o.startswith("data=") for o in overrides):
                overrides.append(f"data={args.data or default_source()}")
            cfg = cfg.with_overrides(overrides)
            # lazy, see the note at the top of main
            from .engine.experiments import run_experiment
            from .report.summary import experiment_line
            changed = changed_fields(cfg, profile_config(profile, args.name, data=cfg.data))
            out = args.out or run_folder(profile, cfg.seed, changed, rerun_root(changed))
            path = run_experiment(cfg, out, fresh=args.fresh)
            print(experiment_line(path, args.name))
            print(f"results: {path}")
            return 0
    except KeyboardInterrupt:
        what = "point (a stand-in: its last finished epoch)" if argv_command(argv) == "sparsity" else "epoch"
        print(f"interrupted: rerun the same command to resume from the last finished {what}", file=sys.stderr)
        return 130
    except Exception as err:  # ours in one line (report), anything else re-raised with its traceback
        status = report(err)
        if status is None:
            raise
        return status
    return 1

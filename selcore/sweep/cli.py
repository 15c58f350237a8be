"""``python -m selcore sweep``: plan a grid, submit it (or run it here), or report its jobs' states."""
from __future__ import annotations


from ..config import Config, ConfigError
from ..paths import default_source
from ..profiles import parse_seeds
from .plan import parse_experiments, parse_profiles, parse_grid, plan_sweep
from .status import DONE, SWEEPS_ROOT, SweepRecord, format_status, known_sweeps, status_table, sweep_folder
from .submit import Resources, run_sweep, sweep_name


def sweep_command(args) -> int:
    asked_grid = bool(args.grid or args.experiments or args.seeds or args.overrides)
    if args.status and not asked_grid and not args.name:
        folders = known_sweeps()
        if not folders:
            print(f"no sweeps yet (their records live in {SWEEPS_ROOT}/<name>/sweep.json)")
        for f in folders:
            rec = SweepRecord(f)
            print(format_status(rec, status_table(rec)))
        return 0
    profile = ",".join(parse_profiles(args.profile))
    for opt in ("time", "cpus"):
        if getattr(args, opt) < 1:
            raise ConfigError(f"bad --{opt} {getattr(args, opt)}: must be >= 1")
    experiments = parse_experiments(args.experiments)
    seeds = parse_seeds(args.seeds, "quick") if args.seeds else None  # None: each profile's own seeds
    grid, fixed = parse_grid(args.grid), Config.parse_overrides(args.overrides)
    name = args.name or sweep_name(profile, experiments, grid, fixed)
    record = SweepRecord(sweep_folder(name), name)
    if args.status and not asked_grid:
        if not record.path.exists():
            known = [f.name for f in known_sweeps()]
            raise ConfigError(f"no sweep named {name!r} (known: {', '.join(known) or 'none yet'})")
        print(format_status(record, status_table(record)))
        return 0
    if args.status:
        jobs = plan_sweep(profile, experiments, seeds, grid, args.data or default_source(), fixed, args.results_root)
        print(format_status(record, status_table(record, jobs)))
        return 0
    res = Resources(cpus=args.cpus, gpus=args.gpus, time_min=args.time, mem_gb=args.mem_gb,
                    partition=args.partition, parallelism=args.parallelism, signal_delay_s=args.signal_delay)
    record, jobs = run_sweep(profile, experiments, seeds, grid, args.data or default_source(), fixed,
                             args.results_root, args.executor, res, name, wait=args.wait)
    if args.executor == "slurm" and not args.wait:
        return 0
    rows = status_table(record, jobs)
    print(format_status(record, rows))
    return 0 if all(r["state"] in DONE for r in rows) else 1


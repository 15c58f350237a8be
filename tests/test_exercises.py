"""Every command a chapter's exercises give is accepted: its chapter declares each parameter, and each value passes
the checks the run would make first (a Config field's range, a sweep's grid), without running anything."""
from __future__ import annotations

import re
import shlex

import nbformat
import pytest
import yaml

from selcore.book.chapter import parse_settings
from selcore.book.params import check_declared
from selcore.profiles import default_profile, profile_config
from selcore.cli import build_parser
from selcore.config import ALL_EXPERIMENTS, Config
from selcore.sweep.plan import parse_experiments, parse_grid, parse_profiles, plan_sweep
from tests.conftest import REPO


def exercise_commands() -> list[tuple[str, str]]:
    """(chapter, command) for each `python -m selcore ...` an exercise list of a source chapter shows."""
    out = []
    for path in sorted((REPO / "chapters").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown" and "## Exercises" in cell.source:
                out += [(path.stem, c) for c in re.findall(r"`(python -m selcore [^`]+)`", cell.source)]
    return out


def test_chapters_have_exercises():
    chapters = {c for c, _ in exercise_commands()}
    assert {"baseline", "lottery", "sel95", "warmup", "sweep"} <= chapters, chapters


@pytest.mark.parametrize("chapter,command", exercise_commands())
def test_exercise_command_is_accepted(chapter, command):
    args = build_parser().parse_args(shlex.split(command)[3:])
    if args.cmd == "sweep":
        plan_sweep(parse_profiles(args.profile or default_profile()), parse_experiments(args.experiments), None, parse_grid(args.grid),
                   "cifar10-jpeg.tar.gz")
        return
    if args.cmd == "experiment":  # one run: its experiment and --set values must pass the Config checks
        profile_config(args.profile or default_profile(), args.name).with_overrides(args.overrides)
        return
    if args.cmd == "sparsity":  # the study's grid: widths and seeds as the command reads them
        from selcore.cli import parse_widths
        from selcore.profiles import parse_seeds
        assert parse_widths(args.widths) and parse_seeds(args.seeds, "quick")
        return
    assert args.cmd in ("chapter", "chapters"), command
    if args.cmd == "chapters":
        return
    params = {k: yaml.safe_load(v) for k, v in args.params}
    check_declared(args.name, params)
    experiment = args.name if args.name in ALL_EXPERIMENTS else "sel95"
    fields = {k: v for k, v in params.items() if k in Config.fields()}
    fields.update(parse_settings(params.get("settings", "")))
    profile_config(args.profile, experiment, **fields)  # a value out of range fails here, as in the chapter
    if "field" in params:  # the sweep chapter's grid
        parse_grid([f"{params['field']}={params.get('values', '')}"])

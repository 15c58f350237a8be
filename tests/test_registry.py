"""The experiment registry: every experiment is one entry, its plan is pure data, and no module outside the
registry tests an experiment's name (what an experiment is lives in its entry)."""
from __future__ import annotations

import ast

import pytest
import torch

from selcore import registry
from selcore.config import ALL_EXPERIMENTS, BASELINE_SCHEDULE, Config
from selcore.registry import PlanInputs, spec
from tests.conftest import REPO, tiny

NAMES = set(registry.REGISTRY)
HOLDERS = {"cfg", "j", "job", "spec", "info", "run"}
"""Where code holds a run's experiment: ``cfg.experiment``, ``job.experiment``, ``self.cfg.experiment`` ... (a
DataFrame's ``experiment`` column, ``runs.experiment == "baseline"``, selects a named run's rows: reading results,
not testing what an experiment is)."""


def _is_names(node: ast.AST) -> bool:
    """A string literal naming an experiment, or a literal collection holding one."""
    if isinstance(node, ast.Constant):
        return node.value in NAMES
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_is_names(e) for e in node.elts)
    return False


def _holds_experiment(node: ast.AST) -> bool:
    """An expression that holds a run's experiment name: a variable, or ``<holder>.experiment``."""
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Attribute) and node.attr in ("experiment", "name"):
        v = node.value
        while isinstance(v, ast.Attribute):  # self.cfg.experiment
            if v.attr in HOLDERS:
                return True
            v = v.value
        return isinstance(v, ast.Name) and v.id in HOLDERS | {"self", "e", "s"}
    return False


def name_tests(source: str) -> list[tuple[int, str]]:
    """(line, code) of every place ``source`` tests an experiment's name: a comparison (``==``, ``!=``, ``in``)
    of an experiment's name with a literal name or collection of names, a ``startswith`` of one, or a dict
    literal whose keys are all experiment names (behaviour or labels per experiment; a dict of results keyed by name
    uses ``registry.BASELINE`` and the like)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_names(s) for s in sides) and any(_holds_experiment(s) for s in sides):
                found.append(node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "startswith" and node.args and _is_names(node.args[0]):
            found.append(node)
        elif isinstance(node, ast.Dict) and node.keys and all(k is not None and _is_names(k) for k in node.keys):
            found.append(node)
    return sorted((n.lineno, ast.get_source_segment(source, n).splitlines()[0]) for n in found)


def test_the_name_test_finds_what_it_is_for():
    src = ('if cfg.experiment == "sel95": pass\nif e in ("sb", "sb_topk"): pass\nx = {"ddp_sel": 1}[e]\n'
           'if self.cfg.experiment.startswith("classweight"): pass\nrows = runs[runs.experiment == "baseline"]\n')
    assert [line for line, _ in name_tests(src)] == [1, 2, 3, 4]


def test_no_module_outside_the_registry_tests_an_experiments_name():
    found = {str(p.relative_to(REPO)): name_tests(p.read_text())
             for p in sorted((REPO / "selcore").rglob("*.py")) if p.name != "registry.py"}
    assert {k: v for k, v in found.items() if v} == {}


def _names_one(node: ast.AST) -> bool:
    """A literal experiment name, a collection of them, or a lookup by one (``EXCHANGE["ddp_dense"]``)."""
    return _is_names(node) or (isinstance(node, ast.Subscript) and _is_names(node.slice))


def result_selections(source: str) -> list[tuple[int, str]]:
    """(line, code) of every comparison in ``source`` with a side that names an experiment by hand: the way a
    report module would select a named run's results (``runs.experiment == "baseline"``, ``"baseline" in
    table.index``, ``st["exchange"] != EXCHANGE["ddp_dense"]``) instead of asking the registry
    (``registry.BASELINE``, ``registry.names(...)``, an entry's fields)."""
    found = [n for n in ast.walk(ast.parse(source))
             if isinstance(n, ast.Compare) and any(_names_one(side) for side in (n.left, *n.comparators))]
    return sorted((n.lineno, ast.get_source_segment(source, n).splitlines()[0]) for n in found)


def test_the_selection_test_finds_what_it_is_for():
    src = ('rows = runs[runs.experiment == "baseline"]\nif "sel95" not in table.index: pass\n'
           'st = st[st["exchange"] != EXCHANGE["ddp_dense"]]\nrows = runs[runs.experiment == BASELINE]\n'
           'x = s.last("sel95", "test_100")\n')
    assert [line for line, _ in result_selections(src)] == [1, 2, 3]


def test_no_report_module_selects_results_by_a_name_typed_by_hand():
    found = {str(p.relative_to(REPO)): result_selections(p.read_text())
             for p in sorted((REPO / "selcore" / "report").rglob("*.py"))}
    assert {k: v for k, v in found.items() if v} == {}


def test_every_experiment_is_one_entry_with_what_it_is():
    assert ALL_EXPERIMENTS == tuple(s.name for s in registry.SPECS) and len(NAMES) == len(registry.SPECS)
    assert set(s.family for s in registry.SPECS) == set(registry.FAMILIES)
    assert BASELINE_SCHEDULE == registry.names(budgetable=True)
    for s in registry.SPECS:
        assert s.title and s.doc and s.needs <= {"curriculum", "baseline"}
        assert set(s.charge) <= {"scoring", "calibration"} and (not s.charge or "curriculum" in s.needs)
        assert set(s.calibration) <= set(Config.fields()) and set(s.fields) <= set(Config.fields())
        assert s.columns <= {"stage", "task", "signals", "forward_samples", "gamma", "comm"}
    assert Config.ONLY_FOR["world_size"] == registry.names("communication")


def _inputs(cfg, cifar_like, curriculum=None):
    y = cifar_like
    return PlanInputs(cfg, y, 10, epoch_flops=1e9, pass_flops=3e8, curriculum=curriculum)


def test_a_plan_is_pure_data_and_says_what_it_needs():
    y = torch.arange(200) % 10
    order = [torch.nonzero(y == c).flatten() for c in range(10)]
    cur = {"order": order, "gamma0": 0.01, "rules": {"calibration_mode": "eval"},
           "cost": {p: {"what": p, "exec_flops": 5.0, "samples": 100, "time_s": 1.0} for p in ("scoring", "calibration")}}
    cfg = tiny("sel95")
    a, b = spec("sel95").plan(_inputs(cfg, y, cur)), spec("sel95").plan(_inputs(cfg, y, cur))
    assert [p.name for p in a.phases] == [f"stage{s}" for s in range(1, 6)]
    assert all(torch.equal(p.data.indices, q.data.indices) and p.gradient == q.gradient and p.log == q.log
               for p, q in zip(a.phases, b.phases))  # the same inputs, the same plan
    assert [c.what for c in a.charges] == ["scoring", "calibration"] and a.info["gamma0"] == 0.01
    assert [p.gradient.gamma for p in a.phases] == pytest.approx([0.01 * (1 - 0.3 * s / 5) for s in range(5)])
    assert [c.what for c in spec("mask_only").plan(_inputs(tiny("mask_only"), y, cur)).charges] == ["calibration"]
    with pytest.raises(ValueError, match="sel95's plan needs curriculum"):
        spec("sel95").plan(_inputs(cfg, y))
    lottery = spec("lottery").plan(_inputs(tiny("lottery"), y)).phases
    assert [(p.name, p.log.logged, p.gradient.prune_and_rewind, p.log.reset_clock) for p in lottery] == \
        [("pretrain", False, False, False), ("retrain", True, True, True)]
    sb = spec("sb").plan(_inputs(tiny("sb", num_epochs=4, budget=0.5), y)).phases
    assert [(p.name, p.data.selector) for p in sb] == [("train-all", None), ("selective", "sb")]
    assert sb[1].epochs == int(0.5 * 4 * 1e9 // 3e8)  # cheapest epoch: a selection pass

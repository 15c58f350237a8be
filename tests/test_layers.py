"""The package's structure, read with ``ast`` (nothing of ``selcore`` is imported, so no torch):

* layers import downward only: a module imports modules of its own layer or of a layer below (``LAYERS``);
* no module imports another module's private name (``from .plots import _new``, or ``plots._new`` on an imported
  module): what two modules share is public, with a docstring;
* imports stand at the top of a module; one inside a function is allowed only with a comment saying why (on its
  line, or on a comment line right above its group of imports): a heavy dependency that a fast path (the CLI's
  ``--help``) must not load, say.
"""
from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = "selcore"

LAYERS = (
    ("schedules", "registry", "config", "paths", "procs", "profiles", "progress"),  # the ground: what each experiment is and
    # plans, hyperparameters, profiles, artifact paths
    ("engine",),                                # data, model, formulas, training, experiments
    ("studies",),                               # measurements beside the experiments: bench, sparsity study
    ("sweep",),                                 # grids of engine runs (plan.Job is what report reads of a sweep)
    ("report",),                                # statistics, tables, claims, figures of finished runs
    ("book",),                                  # what the chapters call, the papermill runner, provenance
    ("cli", "__main__", "__init__"),            # python -m selcore, and the package's face
)
"""The layers from the bottom up, by the first name under ``selcore/`` (a module or a sub-package)."""

def layer_of(module: str) -> int:
    """The index in ``LAYERS`` of a dotted module name of the package (``selcore.report.plots`` -> 3)."""
    parts = module.split(".")
    head = parts[1] if len(parts) > 1 else "__init__"
    for i, names in enumerate(LAYERS):
        if head in names:
            return i
    raise AssertionError(f"{module}: its layer is not in LAYERS (tests/test_layers.py); place it there")


def module_name(path: Path, root: Path) -> str:
    """``selcore/report/plots.py`` -> ``selcore.report.plots``; a package's ``__init__.py`` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[tuple[str, str, str]]:
    """(local name, package module, name taken or '') for what an import statement of ``module`` takes from the
    package: ``from M import a as b`` gives (b, M, a); ``import M`` and a sub-module taken from its package
    (``from . import sel``, ``from selcore import profiles``) give (name, the module, ''). Others' modules are
    left out."""
    if isinstance(node, ast.Import):
        return [(a.asname or a.name, a.name, "") for a in node.names if a.name.split(".")[0] == PACKAGE]
    if node.level:
        base = module.split(".")
        base = base[:len(base) - node.level + (1 if is_package else 0)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != PACKAGE:
        return []
    if not node.module or target == PACKAGE:  # sub-modules of a package
        return [(a.asname or a.name, f"{target}.{a.name}", "") for a in node.names]
    return [(a.asname or a.name, target, a.name) for a in node.names]


def comments(source: str) -> tuple[set[int], set[int]]:
    """(lines that hold a comment, lines that hold nothing but a comment)."""
    any_, only = set(), set()
    lines = source.splitlines()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            any_.add(tok.start[0])
            if lines[tok.start[0] - 1].lstrip().startswith("#"):
                only.add(tok.start[0])
    return any_, only


def _is_import(node: ast.AST) -> bool:
    return isinstance(node, (ast.Import, ast.ImportFrom))


def local_imports(tree: ast.Module) -> list[tuple[ast.stmt, ast.stmt]]:
    """(import statement, first statement of its group of consecutive imports) for every import inside a
    function."""
    out = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for field in ("body", "orelse", "finalbody", "handlers"):
            body = getattr(node, field, None)
            if not isinstance(body, list):
                continue
            first = previous = None
            for stmt in body:
                if _is_import(stmt):
                    if first is None or stmt.lineno != previous.end_lineno + 1:  # a blank or comment line: a new group
                        first = stmt
                    previous = stmt
                    if in_function:
                        out.append((stmt, first))
                else:
                    first = previous = None
                if isinstance(stmt, ast.AST):
                    visit(stmt, in_function or isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return out


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def check_source(rel: str, source: str, module: str, is_package: bool) -> dict[str, list[str]]:
    """What ``source`` (the file ``rel`` of module ``module``) breaks: {"upward": [...], "private": [...],
    "uncommented": [...]}, one message per finding."""
    tree = ast.parse(source)
    found: dict[str, list[str]] = {"upward": [], "private": [], "uncommented": []}
    mine = layer_of(module)
    modules_bound: dict[str, str] = {}  # local name -> what of the package it stands for
    for node in ast.walk(tree):
        if not _is_import(node):
            continue
        taken = imported(node, module, is_package)
        for target in sorted({t for _, t, _ in taken}):
            if layer_of(target) > mine:
                found["upward"].append(f"{rel}:{node.lineno} imports {target} ({LAYERS[layer_of(target)][0]} layer, "
                                       f"above {LAYERS[mine][0]})")
        for local, target, name in taken:
            modules_bound[local] = f"{target}.{name}" if name else target  # a module, or a name of one
            if _private(target.rsplit(".", 1)[-1]):
                found["private"].append(f"{rel}:{node.lineno} imports the private module {target}")
            elif _private(name):
                found["private"].append(f"{rel}:{node.lineno} imports the private {name} of {target}")
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules_bound
                and _private(node.attr)):
            found["private"].append(f"{rel}:{node.lineno} uses the private {modules_bound[node.value.id]}.{node.attr}")
    any_comment, comment_only = comments(source)
    for stmt, first in local_imports(tree):
        own = any(n in any_comment for n in range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
        if not own and first.lineno - 1 not in comment_only:
            found["uncommented"].append(f"{rel}:{stmt.lineno} {ast.unparse(stmt)}")
    return found


def package_findings() -> dict[str, dict[str, list[str]]]:
    """``check_source`` of every module of the package: {file relative to the repository: findings}."""
    out = {}
    for path in sorted((REPO / PACKAGE).rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        out[rel] = check_source(rel, path.read_text(), module_name(path, REPO), path.name == "__init__.py")
    return out


@pytest.fixture(scope="module")
def findings():
    return package_findings()


# ----------------------------------------------------------------------------- the checker itself
def _check(source: str, module: str = "selcore.engine.sel", is_package: bool = False):
    return check_source("x.py", source, module, is_package)


def test_upward_imports_are_caught_at_the_top_and_in_functions():
    assert _check("from ..config import Config\nfrom . import data\n") == {"upward": [], "private": [],
                                                                         "uncommented": []}
    found = _check("from ..report.plots import figure_axes\n\ndef f():\n    # heavy\n    from ..book import chapter\n")
    assert found["upward"] == ["x.py:1 imports selcore.report.plots (report layer, above engine)",
                               "x.py:5 imports selcore.book (book layer, above engine)"]
    assert _check("import selcore.cli\n")["upward"] == ["x.py:1 imports selcore.cli (cli layer, above engine)"]
    assert _check("from selcore import profiles\n")["upward"] == []
    assert _check("from .plan import Job\n", "selcore.sweep", is_package=True)["upward"] == []  # sweep/__init__.py


def test_private_names_of_other_modules_are_caught():
    found = _check("from .plots import _new, pareto_front\nfrom ..report import plots\nplots._spread(1)\n"
                   "from .x import __version__\n", "selcore.report.interactive")
    assert found["private"] == ["x.py:1 imports the private _new of selcore.report.plots",
                                "x.py:3 uses the private selcore.report.plots._spread"]


def test_a_function_local_import_needs_a_comment():
    source = ("def f():\n"
              "    import json\n"                              # 2: no comment
              "    # papermill is heavy on the CLI's path\n"
              "    import nbformat\n"                          # 4: the comment above its group
              "    import papermill\n"                         # 5: same group
              "    x = 1\n"
              "    import yaml  # heavy\n"                     # 7: its own comment
              "    import os\n"                                # 8: a group of its own, no comment
              "import re\n")                                   # 9: at the top
    assert _check(source)["uncommented"] == ["x.py:2 import json", "x.py:8 import os"]


# ----------------------------------------------------------------------------- the package
def test_layers_cover_the_package():
    heads = {p.relative_to(REPO / PACKAGE).parts[0].removesuffix(".py") for p in (REPO / PACKAGE).glob("*")
             if p.suffix == ".py" or (p / "__init__.py").exists()}
    assert heads <= {n for layer in LAYERS for n in layer}, heads - {n for layer in LAYERS for n in layer}


def test_no_module_imports_upward(findings):
    bad = [m for f in findings.values() for m in f["upward"]]
    assert not bad, "imports that run up the layers (LAYERS, bottom first: " + \
        " < ".join("/".join(layer) for layer in LAYERS) + "):\n" + "\n".join(bad)


def test_no_module_imports_another_modules_private_name(findings):
    bad = [m for f in findings.values() for m in f["private"]]
    assert not bad, "private names used across modules (make them public, with a docstring):\n" + "\n".join(bad)


def test_function_local_imports_say_why(findings):
    bad = [m for f in findings.values() for m in f["uncommented"]]
    assert not bad, ("imports inside functions without a comment saying why (move them to the top of the module, "
                     "or say why they must wait):\n" + "\n".join(bad))




# ----------------------------------------------------------------------------- sizes a reader can hold
def test_the_engine_loop_and_the_report_modules_stay_small():
    """The run loop and the reporting layer stay readable: ``Experiment`` at most 150 lines and its ``run`` at most
    40 (the rest lives in callbacks and the row schema); no report module over 300 lines."""
    tree = ast.parse((REPO / PACKAGE / "engine" / "experiments.py").read_text())
    [cls] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Experiment"]
    [run] = [f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "run"]
    assert cls.end_lineno - cls.lineno + 1 <= 150 and run.end_lineno - run.lineno + 1 <= 40
    long = {p.name: n for p in (REPO / PACKAGE / "report").glob("*.py")
            if (n := len(p.read_text().splitlines())) > 300}
    assert not long, long

"""A chapter's parameters: what its ``parameters`` cell declares, what a run may pass, and where a rerun with
other parameters writes.

``declared_parameters`` (the names of the cell), ``chapter_parameters`` (names, defaults and help, as papermill
reads them: ``python -m selcore chapters``), ``accept`` (called by every chapter right after its parameters:
a name papermill injected that the chapter does not declare fails there, before any training). Where a run's
results go is ``profiles.run_folder``'s rule, for the chapters as for every other command.
"""
from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..config import ConfigError, did_you_mean
from ..profiles import BOOK_ROOT, RERUN_ROOT, check_profile, parse_seeds

REPO_ROOT = Path(__file__).resolve().parents[2]
CHAPTERS_DIR = REPO_ROOT / "chapters"
DEFAULT_RESULTS_ROOT = BOOK_ROOT
"""The results every chapter reads (committed for the quick and wide profiles)."""
_PLAIN = (str, int, float, bool, list, tuple, dict, type(None))
_KERNEL_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}


@dataclass(frozen=True)
class Parameter:
    name: str
    default: str
    help: str


def _parameters_cell(nb_path: Path):
    import nbformat  # heavy (0.6 s): the CLI imports this module (through runbook) for every command, --help too
    nb = nbformat.read(nb_path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ConfigError(f"{nb_path.name}: needs exactly one cell tagged 'parameters', found {len(cells)}")
    return cells[0]


def source_notebook(chapter: str, chapters_dir: Path = CHAPTERS_DIR) -> Path:
    """``chapters/<chapter>.ipynb``; an unknown chapter fails naming the chapters there are."""
    path = Path(chapters_dir) / f"{chapter}.ipynb"
    if not path.exists():
        names = sorted(p.stem for p in Path(chapters_dir).glob("*.ipynb"))
        raise ConfigError(f"unknown chapter {chapter!r}{did_you_mean([chapter], names)}: the chapters are "
                          f"{', '.join(names)}")
    return path


def declared_parameters(nb_path: Path) -> set[str]:
    """The names a chapter's ``parameters`` cell assigns (plain or tuple assignments)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(_parameters_cell(Path(nb_path)).source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def chapter_parameters(chapter: str, chapters_dir: Path = CHAPTERS_DIR) -> list[Parameter]:
    """Each parameter of a chapter with its default and help text, as ``papermill --help-notebook`` reads them."""
    from papermill.translators import PythonTranslator  # heavy, as nbformat in _parameters_cell
    cell = _parameters_cell(source_notebook(chapter, chapters_dir))
    return [Parameter(p.name, p.default, p.help) for p in PythonTranslator.inspect(cell)]


def format_parameters(chapters: list[str], chapters_dir: Path = CHAPTERS_DIR) -> str:
    """The text of ``python -m selcore chapters``: one block per chapter, a line per parameter."""
    out = []
    for name in chapters:
        params = chapter_parameters(name, chapters_dir)
        width = max(len(p.name) for p in params)
        out.append(f"{name} (chapters/{name}.ipynb)")
        out += [f"  {p.name:<{width}} = {p.default:<10} {p.help}" for p in params]
    return "\n".join(out)


def undeclared(namespace: Mapping[str, Any], declared: set[str]) -> list[str]:
    """Names in a chapter's namespace that look like injected parameters (plain values, not imports, not the
    kernel's own names) but are not declared by its parameters cell."""
    return sorted(k for k, v in namespace.items()
                  if not k.startswith("_") and k not in _KERNEL_NAMES and k not in declared and isinstance(v, _PLAIN))


def check_declared(chapter: str, names, chapters_dir: Path = CHAPTERS_DIR,
                   declared: set[str] | None = None) -> set[str]:
    """The parameters ``chapter`` declares (``declared`` if already read); fails naming them if any of ``names``
    is not one of them."""
    if declared is None:
        declared = declared_parameters(source_notebook(chapter, chapters_dir))
    extra = sorted(set(names) - declared)
    if extra:
        raise ConfigError(f"chapter {chapter} has no parameter {', '.join(map(repr, extra))}"
                          f"{did_you_mean(extra, sorted(declared))}; it accepts "
                          f"{', '.join(sorted(declared))} (python -m selcore chapters {chapter})")
    return declared


SHUTDOWN_INTERRUPT = "KeyboardInterrupt caught in kernel"
"""What ipykernel logs when a SIGINT lands while it handles a message. jupyter_client sends every kernel a SIGINT just
before shutting it down, so a chapter that ran to the end can print it ('[IPKernelApp] ERROR | ...') as papermill
closes the kernel; a Ctrl-C during a cell is reported by the cell, not by this line."""


def quiet_shutdown_interrupt(kernel: Any = None) -> None:
    """Drop ``SHUTDOWN_INTERRUPT`` from the log of ``kernel`` (default: the running IPython kernel, if any), so that a
    successful papermill run ends without an error line; every other kernel log line stays."""
    if kernel is None:
        try:
            from IPython import get_ipython  # here: only a chapter's kernel has one, and the CLI must not import it
        except ImportError:
            return
        kernel = getattr(get_ipython(), "kernel", None)
    log = getattr(kernel, "log", None)
    if log is not None and not any(getattr(f, "__name__", "") == "drop_shutdown_interrupt" for f in log.filters):
        def drop_shutdown_interrupt(record) -> bool:
            return SHUTDOWN_INTERRUPT not in record.getMessage()
        log.addFilter(drop_shutdown_interrupt)


def accept(chapter: str, namespace: Mapping[str, Any], chapters_dir: Path = CHAPTERS_DIR) -> None:
    """A chapter's first step, before its data and engine are imported: fail at once if papermill passed a parameter
    that ``chapter`` does not declare (a typo such as ``-p percentil 70`` is only a warning in papermill), naming the
    parameters it does accept, or a profile or seeds that do not exist; then work from the repository root, so that
    the chapter's relative paths (``results_root``, ``book_dir``, ``runs/``) mean the same folders whichever folder
    papermill was started from, and say where its results go. Also keeps jupyter_client's shutdown interrupt out of
    the kernel's log (``quiet_shutdown_interrupt``)."""
    quiet_shutdown_interrupt()
    declared = declared_parameters(source_notebook(chapter, chapters_dir))
    check_declared(chapter, undeclared(namespace, declared), declared=declared)
    if "profile" in namespace:
        check_profile(namespace["profile"])
        if namespace.get("seeds") not in (None, ""):
            parse_seeds(namespace["seeds"], namespace["profile"])
    if Path.cwd().resolve() != chapters_dir.parent.resolve():
        os.chdir(chapters_dir.parent)  # the kernel's working folder: the chapter's relative paths
        root = namespace.get("results_root", DEFAULT_RESULTS_ROOT)
        print(f"{chapter}: relative paths are read from the repository, {chapters_dir.parent}: results under "
              f"{chapters_dir.parent / str(root)} (a rerun with other parameters: under "
              f"{chapters_dir.parent / RERUN_ROOT})")

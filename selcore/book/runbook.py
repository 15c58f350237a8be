"""Execute the book's chapters with papermill: ``python -m selcore run --profile P``.

Every chapter listed in ``_toc.yml`` that has a source notebook ``chapters/<name>.ipynb`` is executed
in the table of contents' order (the experiments before the analysis, the status page last) into
``<book_dir>/<name>.ipynb``, with the working directory at the repository root. A chapter already
executed under the same profile and data is skipped unless ``force``; experiments inside a chapter
resume from their last checkpoint on their own. Outputs are written to a temporary file and renamed,
so a killed run never leaves a half-written chapter in the book. One progress line per chapter (k of n,
elapsed, ETA from the recorded times) goes to the terminal, papermill's and the kernel's output to a log file
under ``runs/logs/``; Ctrl-C ends with one line saying how to resume. ``run_chapter`` executes one chapter with
other parameters into a place of its own (``python -m selcore chapter``).
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from pathlib import Path

import yaml

from ..config import ConfigError, did_you_mean
from ..paths import portable_path, setting_name
from ..procs import stderr_to
from ..profiles import RERUN_ROOT, check_profile
from .epochbar import EpochBar, clock
from .params import check_declared, declared_parameters, source_notebook

REPO_ROOT = Path(__file__).resolve().parents[2]


class ChapterFailed(RuntimeError):
    """A chapter raised while executing; the message names it and the error."""


def toc_files(repo: Path = REPO_ROOT) -> list[str]:
    """The page names of ``_toc.yml`` in reading order (root first)."""
    toc = yaml.safe_load((repo / "_toc.yml").read_text())
    names = [toc["root"]]

    def walk(entries):
        for e in entries or []:
            if "file" in e:
                names.append(e["file"])
            walk(e.get("sections"))

    walk(toc.get("chapters"))
    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    return names


def portable_metadata(nb, out: Path, repo: Path) -> None:
    """Rewrite the machine paths papermill records (``metadata.papermill.input_path``/``output_path``)
    relative to ``repo``, the output path naming the final notebook rather than its temporary file."""
    pm_meta = nb.metadata.get("papermill", {})
    if pm_meta.get("input_path"):
        pm_meta["input_path"] = portable_path(str(pm_meta["input_path"]), repo)
    if "output_path" in pm_meta:
        pm_meta["output_path"] = portable_path(str(Path(out).resolve()), repo)


def notebook_metadata(nb_path: Path) -> dict:
    """An executed chapter's notebook metadata (``selcore``: profile, data, complete; ``papermill``: duration ...);
    empty when the file is missing or unreadable."""
    import nbformat  # heavy (0.6 s): the CLI imports this module for every command, --help too
    try:
        return dict(nbformat.read(nb_path, as_version=4).metadata)
    except (OSError, ValueError):
        return {}


def is_current(nb_path: Path, profile: str, data: str) -> bool:
    """True if ``nb_path`` was executed to the end by this runner under ``profile`` and ``data``."""
    meta = notebook_metadata(nb_path).get("selcore", {})
    return meta.get("complete") is True and meta.get("profile") == profile and meta.get("data") == data


class Interrupted(RuntimeError):
    """Ctrl-C during a chapter: the message says how to resume."""


def recorded_seconds(book_dir: Path, name: str, profile: str) -> float | None:
    """How long ``name`` took when ``book_dir``'s copy was executed under ``profile`` (papermill's record)."""
    meta = notebook_metadata(Path(book_dir) / f"{name}.ipynb")
    if meta.get("selcore", {}).get("profile") != profile:
        return None
    duration = meta.get("papermill", {}).get("duration")
    return float(duration) if duration else None


def progress_line(k: int, n: int, name: str, elapsed: float, remaining: float | None) -> str:
    """``chapter k/n <name> | elapsed m:ss | ETA m:ss`` (ETA from the recorded times of the chapters left)."""
    eta = "unknown (no recorded times)" if remaining is None else clock(remaining)
    return f"chapter {k}/{n} {name} | elapsed {clock(elapsed)} | ETA {eta}"


def book_source(root: Path, repo: Path = REPO_ROOT) -> Path:
    """Write a complete book source into ``root`` (``_config.yml`` and ``book/`` with the pages, bibliography, table
    of contents and static files, no executed chapters) and return its ``book`` folder."""
    root = Path(root)
    (root / "book").mkdir(parents=True, exist_ok=True)
    shutil.copy(repo / "_config.yml", root / "_config.yml")
    for f in (repo / "book").iterdir():
        if f.suffix in (".md", ".bib", ".yml") or f.name == "_static":
            target = root / "book" / f.name
            if f.is_dir():
                shutil.copytree(f, target, dirs_exist_ok=True)
            else:
                shutil.copy(f.resolve(), target)
    return root / "book"


def separate_book_dir(profile: str, repo: Path = REPO_ROOT) -> Path:
    """``runs/book-<profile>/book`` (``book_source``), for a profile other than the committed book's, so that
    ``run`` never writes such chapters into ``book/``."""
    return book_source(repo / "runs" / f"book-{profile}", repo)


def committed_profile(book_dir: Path) -> str | None:
    """The profile the executed chapters in ``book_dir`` were produced with (None if there are none)."""
    profiles = (notebook_metadata(p).get("selcore", {}).get("profile") for p in sorted(Path(book_dir).glob("*.ipynb")))
    return next((p for p in profiles if p), None)


def leftovers_to_log(log_file: Path | None) -> None:
    """After Ctrl-C, send asyncio's reports of abandoned tasks to ``log_file`` (nowhere when None) instead of
    the terminal. Papermill's cleanup shuts the kernel down while nbclient's interrupted cell task still polls
    it; on a loaded machine that task sees the kernel gone and ends with ``DeadKernelError``, which asyncio
    prints with a traceback when the task is collected, after the one line that says how to resume."""
    logger = logging.getLogger("asyncio")
    logger.handlers[:] = [logging.FileHandler(log_file) if log_file else logging.NullHandler()]
    logger.propagate = False


def execute_chapter(name: str, out: Path, params: dict, repo: Path = REPO_ROOT, log_file: Path | None = None,
                    desc: str | None = None, meta: dict | None = None) -> None:
    """Execute ``chapters/<name>.ipynb`` into ``out`` with ``params`` (one the chapter does not declare fails
    before the kernel starts), the kernel's output going to ``log_file`` and one progress bar to the terminal, in
    training epochs (``EpochBar``; the runs' epoch log goes beside ``log_file``, or beside ``out`` without one).
    The result is written to a temporary file and renamed; a failed chapter goes to ``<out dir>/.failed/``."""
    import nbformat  # heavy (0.6 s): the CLI imports this module for every command, --help too
    import papermill as pm  # as nbformat
    from papermill.exceptions import PapermillExecutionError  # as nbformat
    source = repo / "chapters" / f"{name}.ipynb"
    check_declared(name, params, repo / "chapters")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.running.ipynb")
    t0 = time.perf_counter()
    sink = open(log_file, "a") if log_file else None
    try:
        epochs = Path(log_file).with_name(f"{Path(log_file).stem}-{name}.epochs.jsonl") if log_file else \
            out.parent / f".{out.stem}.epochs.jsonl"
        with stderr_to(sink), EpochBar(epochs, desc or name, sys.stdout):
            pm.execute_notebook(str(source), str(tmp), parameters=params,  # the kernel's output goes to the log
                                cwd=str(repo), kernel_name="python3", log_output=False, progress_bar=False,
                                stdout_file=sink, stderr_file=sink)
    except KeyboardInterrupt:
        leftovers_to_log(log_file)
        raise Interrupted(name) from None
    except Exception as err:
        if isinstance(err, PapermillExecutionError) and err.ename == "KeyboardInterrupt":
            leftovers_to_log(log_file)
            raise Interrupted(name) from None
        failed = out.parent / ".failed" / out.name
        failed.parent.mkdir(exist_ok=True)
        if tmp.exists():
            os.replace(tmp, failed)
        what = f"{err.ename}: {err.evalue}" if hasattr(err, "ename") else f"{type(err).__name__}: {err}"
        raise ChapterFailed(f"chapter {name} failed after {time.perf_counter() - t0:.0f}s ({what}); the executed "
                            f"notebook with the error is in {failed}") from None
    finally:
        if sink:
            sink.close()
    nb = nbformat.read(tmp, as_version=4)
    nb.metadata["selcore"] = {"complete": True, **(meta or {})}
    portable_metadata(nb, out, repo)
    nbformat.write(nb, tmp)
    os.replace(tmp, out)


def run_book(profile: str, data: str = "", only: list[str] | None = None, force: bool = False,
             book_dir: Path | str | None = None, results_root: Path | str = "results", repo: Path = REPO_ROOT,
             log=print) -> list[dict]:
    """Execute the chapters; returns one record per chapter (name, status, seconds). ``book_dir`` None: ``book/``
    when it holds this profile's chapters (or none), otherwise a separate book folder (``separate_book_dir``)."""
    check_profile(profile)
    repo = Path(repo).resolve()
    if book_dir is None:
        held = committed_profile(repo / "book")
        book_dir = repo / "book" if held in (None, profile) else separate_book_dir(profile, repo)
        if held not in (None, profile):
            log(f"[run] book/ holds the {held} profile's chapters: the {profile} chapters go to "
                f"{portable_path(str(book_dir), repo)} (--book-dir book writes over book/)")
    book_dir = Path(book_dir) if Path(book_dir).is_absolute() else repo / book_dir
    results_root = Path(results_root) if Path(results_root).is_absolute() else repo / results_root
    data = portable_path(data or os.environ.get("SELCORE_DATA", "torchvision"), repo)
    chapters = [n for n in toc_files(repo) if (repo / "chapters" / f"{n}.ipynb").exists()]
    unknown = sorted(set(only or []) - set(chapters))
    if unknown:
        raise ConfigError(f"unknown chapter {unknown[0]!r}{did_you_mean(unknown[:1], chapters)}: the chapters are "
                          f"{', '.join(chapters)}")
    params = {"profile": profile, "data": data, "results_root": portable_path(str(results_root), repo),
              "book_dir": portable_path(str(book_dir), repo)}
    book_dir.mkdir(parents=True, exist_ok=True)
    log_file = repo / "runs" / "logs" / f"run-{profile}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    todo = [n for n in chapters if not only or n in only]
    times = {n: recorded_seconds(repo / "book", n, profile) for n in todo}
    log(f"[run] {len(todo)} chapter{'s' * (len(todo) != 1)}, profile {profile}; papermill's and the kernels' output: "
        f"{portable_path(str(log_file), repo)}")
    records, start = [], time.perf_counter()
    for k, name in enumerate(todo, 1):
        out = book_dir / f"{name}.ipynb"
        if not force and is_current(out, profile, data):
            log(f"[run] {name}: already executed under profile {profile}, skipping (--force reruns)")
            records.append({"chapter": name, "status": "skipped", "seconds": 0.0})
            continue
        left = [times[n] for n in todo[k - 1:]]
        remaining = None if any(t is None for t in left) else sum(left)
        desc = progress_line(k, len(todo), name, time.perf_counter() - start, remaining)
        t0 = time.perf_counter()
        try:
            declared = declared_parameters(repo / "chapters" / f"{name}.ipynb")  # what this chapter takes of them
            execute_chapter(name, out, {k: v for k, v in params.items() if k in declared}, repo, log_file, desc,
                            {"profile": profile, "data": data})
        except Interrupted:
            raise Interrupted(f"interrupted in chapter {name}: finished chapters and epochs are kept; rerun the same "
                              f"command to resume") from None
        secs = time.perf_counter() - t0
        log(f"[run] {name}: done in {secs:.0f}s")
        records.append({"chapter": name, "status": "executed", "seconds": secs})
    return records


def chapter_notebook(name: str, params: dict, profile: str, repo: Path = REPO_ROOT) -> Path:
    """Where ``python -m selcore chapter`` puts a chapter's notebook by default:
    ``runs/<profile>/[<setting>/]<name>.ipynb``, the setting named by the parameters (``paths.setting_name``), so that
    a chapter rerun with a changed configuration keeps its notebook beside its results (``profiles.run_folder``:
    ``runs/<profile>/<setting>/seed<k>``)."""
    return Path(repo) / RERUN_ROOT / profile / setting_name(params) / f"{name}.ipynb"


def run_chapter(name: str, profile: str, data: str = "", params: dict | None = None, out: Path | str | None = None,
                repo: Path = REPO_ROOT, log=print) -> Path:
    """Execute one chapter with other parameters into a place of its own: ``out`` or
    ``chapter_notebook``; returns the executed notebook's path."""
    check_profile(profile)
    repo = Path(repo).resolve()
    source_notebook(name, repo / "chapters")  # an unknown chapter fails here, before anything is announced
    params = dict(params or {})
    data = portable_path(data or os.environ.get("SELCORE_DATA", "torchvision"), repo)
    if out is None:
        out = chapter_notebook(name, params, profile, repo)
    out = Path(out) if Path(out).is_absolute() else repo / out
    if out.resolve().parent == (repo / "book").resolve():
        raise ConfigError(f"{portable_path(str(out), repo)} is the committed book: choose another --out")
    log_file = out.with_suffix(".log")
    log(f"[chapter] {name} (profile {profile}) -> {portable_path(str(out), repo)}; kernel output: "
        f"{portable_path(str(log_file), repo)}")
    try:
        execute_chapter(name, out, {"profile": profile, "data": data, **params}, repo, log_file, name,
                        {"profile": profile, "data": data, "parameters": params})
    except Interrupted:
        raise Interrupted(f"interrupted in chapter {name}: finished epochs are kept; rerun the same command to "
                          f"resume") from None
    return out

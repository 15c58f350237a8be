"""Execute the book's chapters with papermill: ``python -m selcore run --profile P``.

Every chapter listed in ``_toc.yml`` that has a source notebook ``chapters/<name>.ipynb`` is executed
in the table of contents' order (the experiments before the analysis, the status page last) into
``<book_dir>/<name>.ipynb``, with the working directory at the repository root. A chapter already
executed under the same profile and data is skipped unless ``force``; experiments inside a chapter
resume from their last checkpoint on their own. Outputs are written to a temporary file and renamed,
so a killed run never leaves a half-written chapter in the book.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from .profiles import check_profile

REPO_ROOT = Path(__file__).resolve().parents[2]


class ChapterFailed(RuntimeError):
    """A chapter raised while executing; the message names it and the error."""


def toc_files(repo: Path = REPO_ROOT) -> list[str]:
    """The page names of ``_toc.yml`` in reading order (root first)."""
    import yaml
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


def portable_path(path: str, base: Path) -> str:
    """A path as the notebooks should record it: relative to ``base`` (the repository root), so that
    no machine-specific absolute path is written into the book."""
    if path in ("", "torchvision") or not os.path.isabs(path):
        return path
    return os.path.relpath(path, base)


def portable_metadata(nb, out: Path, repo: Path) -> None:
    """Rewrite the machine paths papermill records (``metadata.papermill.input_path``/``output_path``)
    relative to ``repo``, the output path naming the final notebook rather than its temporary file."""
    pm_meta = nb.metadata.get("papermill", {})
    if pm_meta.get("input_path"):
        pm_meta["input_path"] = portable_path(str(pm_meta["input_path"]), repo)
    if "output_path" in pm_meta:
        pm_meta["output_path"] = portable_path(str(Path(out).resolve()), repo)


def declared_parameters(nb_path: Path) -> set[str]:
    """The names a chapter's ``parameters`` cell assigns (plain or tuple assignments)."""
    import ast

    import nbformat
    nb = nbformat.read(nb_path, as_version=4)
    names: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
    return names


def is_current(nb_path: Path, profile: str, data: str) -> bool:
    """True if ``nb_path`` was executed to the end by this runner under ``profile`` and ``data``."""
    import nbformat
    if not nb_path.exists():
        return False
    try:
        meta = nbformat.read(nb_path, as_version=4).metadata.get("selcore", {})
    except Exception:
        return False
    return meta.get("complete") is True and meta.get("profile") == profile and meta.get("data") == data


def run_book(profile: str, data: str = "", only: list[str] | None = None, force: bool = False,
             book_dir: Path | str = "book", results_root: Path | str = "results", repo: Path = REPO_ROOT,
             log=print) -> list[dict]:
    """Execute the chapters; returns one record per chapter (name, status, seconds)."""
    import nbformat
    import papermill as pm

    check_profile(profile)
    repo = Path(repo).resolve()
    book_dir = Path(book_dir) if Path(book_dir).is_absolute() else repo / book_dir
    results_root = Path(results_root) if Path(results_root).is_absolute() else repo / results_root
    data = portable_path(data or os.environ.get("SELCORE_DATA", "torchvision"), repo)
    chapters = [n for n in toc_files(repo) if (repo / "chapters" / f"{n}.ipynb").exists()]
    unknown = sorted(set(only or []) - set(chapters))
    if unknown:
        from ..config import ConfigError
        raise ConfigError(f"unknown chapter {unknown[0]!r}: the chapters are {', '.join(chapters)}")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    params = {"profile": profile, "data": data, "results_root": portable_path(str(results_root), repo),
              "book_dir": portable_path(str(book_dir), repo)}
    book_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for name in chapters:
        out = book_dir / f"{name}.ipynb"
        if only and name not in only:
            continue
        if not force and is_current(out, profile, data):
            log(f"[run] {name}: already executed under profile {profile}, skipping (--force reruns)")
            records.append({"chapter": name, "status": "skipped", "seconds": 0.0})
            continue
        log(f"[run] {name}: executing chapters/{name}.ipynb (profile {profile})")
        tmp = out.with_name(f".{name}.running.ipynb")
        t0 = time.perf_counter()
        try:
            source = repo / "chapters" / f"{name}.ipynb"
            declared = declared_parameters(source)
            pm.execute_notebook(str(source), str(tmp), parameters={k: v for k, v in params.items() if k in declared},
                                cwd=str(repo), kernel_name="python3", log_output=True, progress_bar=False)
        except Exception as err:
            failed = book_dir / ".failed" / f"{name}.ipynb"
            failed.parent.mkdir(exist_ok=True)
            if tmp.exists():
                os.replace(tmp, failed)
            log(f"[run] {name}: FAILED after {time.perf_counter() - t0:.0f}s; the executed notebook with the "
                f"error is in {failed}")
            what = f"{err.ename}: {err.evalue}" if hasattr(err, "ename") else f"{type(err).__name__}: {err}"
            raise ChapterFailed(f"chapter {name} failed ({what}); the executed notebook with the error is "
                                f"in {failed}") from None
        nb = nbformat.read(tmp, as_version=4)
        nb.metadata["selcore"] = {"profile": profile, "data": data, "complete": True}
        portable_metadata(nb, out, repo)
        nbformat.write(nb, tmp)
        os.replace(tmp, out)
        secs = time.perf_counter() - t0
        log(f"[run] {name}: done in {secs:.0f}s")
        records.append({"chapter": name, "status": "executed", "seconds": secs})
    return records

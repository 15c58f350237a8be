"""A Sphinx extension for the HTML book: plotly.js shipped with the build, the results published beside it.

* plotly.js: the installed plotly package's ``plotly.min.js`` is copied into the build's ``_static`` and
  loaded (once, in the page's head, no CDN) on exactly the pages whose body holds a plotly figure (a
  ``plotly-graph-div``, as ``selcore.report.interactive`` renders); other pages do not load its 5 MB.
* Downloads: every file of the results folder that ``is_published`` accepts (the history CSVs and other
  CSVs, and the ``run_<name>.json`` files; never checkpoints, figures or anything else) is copied into
  ``<html>/results/`` under the same relative path, so that ``selcore.book.page.csv_link`` can link it with
  a relative URL that works in the built HTML opened from disk.

Which results folder: the Sphinx setting ``selcore_results_dir`` (``sphinx: config:`` in ``_config.yml``);
by default ``$SELCORE_RESULTS``, else ``results``, as the chapters' ``results_root``; a relative path is
taken from the working directory (the repository root, where the README builds the book). All profiles
under it are published. A missing folder is a build warning (the CSV links would be broken).

Enable it with ``sphinx: extra_extensions: [selcore.book.sphinx_ext]``. HTML builders only.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import plotly
from sphinx.util import logging

if TYPE_CHECKING:
    from sphinx.application import Sphinx

PUBLISHED_DIR = "results"
"""The folder of the built HTML (next to the pages) that holds the published results."""

PLOTLY_JS = "plotly.min.js"
"""plotly.js's file name, in the plotly package's ``package_data`` and in the build's ``_static``."""

PLOTLY_MARKER = 'class="plotly-graph-div"'
"""What a page's body holds where it shows a plotly figure."""

logger = logging.getLogger(__name__)


def is_published(path: Path) -> bool:
    """True for the results files the book publishes: ``*.csv`` and ``run_*.json``."""
    return path.suffix == ".csv" or (path.name.startswith("run_") and path.suffix == ".json")


def results_root(setting: str | Path | None = None) -> Path:
    """The results folder to publish: ``setting`` if given, else ``$SELCORE_RESULTS``, else ``results``."""
    return Path(setting or os.environ.get("SELCORE_RESULTS", "results"))


def plotly_js_source() -> Path:
    """``plotly.min.js`` of the installed plotly package (the version its Python side writes figures for)."""
    return Path(plotly.__file__).parent / "package_data" / PLOTLY_JS


def publish_results(root: Path, html_dir: Path) -> list[Path]:
    """Copy the published files (``is_published``) under ``root`` into ``html_dir/PUBLISHED_DIR``, keeping
    their paths relative to ``root``; returns the copies."""
    copies = []
    for src in sorted(p for p in root.rglob("*") if p.is_file() and is_published(p)):
        dst = html_dir / PUBLISHED_DIR / src.relative_to(root)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        copies.append(dst)
    return copies


def _on_builder_inited(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    shutil.copy2(plotly_js_source(), static / PLOTLY_JS)
    root = results_root(app.config.selcore_results_dir)
    if not root.is_dir():
        logger.warning(f"selcore: no results folder at {root.resolve()}: no CSVs published, their links are broken")
        return
    copies = publish_results(root, Path(app.outdir))
    logger.info(f"selcore: published {len(copies)} results files from {root} into {PUBLISHED_DIR}/")


def _on_html_page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if PLOTLY_MARKER in context.get("body", ""):
        app.add_js_file(PLOTLY_JS)


def setup(app: Sphinx) -> dict:
    app.add_config_value("selcore_results_dir", None, "html", [str])
    app.connect("builder-inited", _on_builder_inited)
    app.connect("html-page-context", _on_html_page_context)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}

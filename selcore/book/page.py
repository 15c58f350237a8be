"""What every chapter shows about how it was produced (profile, data, device), its numbered tables and its links
to the published results files."""
from __future__ import annotations

import html
import itertools
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import torch
from IPython.display import HTML, Markdown

from ..profiles import PROFILE_NOTES, check_profile
from .sphinx_ext import PUBLISHED_DIR, is_published, results_root


_TABLE_NUMBERS = itertools.count(1)
"""Tables are numbered in the order a chapter shows them (each chapter runs in a kernel of its own)."""


def table(data, caption: str):
    """``data`` (a DataFrame or a Styler) with the caption ``Table k. <caption>`` above it, ``k`` counting the
    tables of this page; the caption says what every row and column holds."""
    styler = data if hasattr(data, "set_caption") else data.style
    return styler.set_caption(f"Table {next(_TABLE_NUMBERS)}. {caption}").set_table_styles(
        [{"selector": "caption", "props": [("caption-side", "top"), ("text-align", "left"),
                                           ("font-weight", "normal"), ("padding-bottom", "0.4em")]}], overwrite=False)


def jobs_table(rows: list[dict], caption: str):
    """A sweep's jobs (rows of ``sweep.status.status_table``) as a table: job, state and the executor the chapter's
    sweep record ran it with ('-' where the job had finished before that record existed, so it never ran it)."""
    frame = pd.DataFrame(rows)[["job", "state", "executor"]].replace({"executor": {"": "-"}})
    return table(frame.style.hide(axis="index"), caption + " The executor is the one this chapter's sweep ran the "
                                                           "job with, in this or an earlier execution; '-' where the "
                                                           "job had finished before the sweep's record existed.")


def data_label(source: str) -> str:
    """How results on a data source must be labelled."""
    if source in ("", "torchvision") or "torchvision" in source:
        return "CIFAR-10 (torchvision download)"
    return f"CIFAR-10, JPEG copy ({source.rstrip('/').rsplit('/', 1)[-1]})"


def banner(profile: str, data: str = "", device: str = "auto"):
    """A Markdown note naming the profile, its reductions, the data and the device of this page."""
    check_profile(profile)
    dev = ("cuda" if torch.cuda.is_available() else "cpu") if device in ("auto", "", None) else device
    hw = torch.cuda.get_device_name(0) if dev.startswith("cuda") else "CPU"
    return Markdown(f"> **Profile `{profile}`**: {PROFILE_NOTES[profile]}.  \n"
                    f"> Data: {data_label(data)}. Device: {dev} ({hw}).")


def csv_link(path: str | Path, root: str | Path | None = None):
    """An HTML link to a results file (a CSV or a ``run_<name>.json``) where the built book publishes it
    (``selcore.book.sphinx_ext``): ``results/<path relative to root>``, a relative URL that works in the built
    HTML opened from disk (the book's pages sit at the top of its HTML folder), shown under a table.
    ``root`` is the results folder ``path`` lies in (default: ``$SELCORE_RESULTS``, else ``results``, as the
    extension's). Refuses a missing file, one outside ``root`` and one the book does not publish."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"{file}: no such results file")
    if not is_published(file):
        raise ValueError(f"{file}: the book publishes only *.csv and run_*.json results files")
    rel = file.resolve().relative_to(results_root(root).resolve()).as_posix()
    return HTML(f'<p class="selcore-download">Data: <a href="{quote(f"{PUBLISHED_DIR}/{rel}")}" download>'
                f"{html.escape(rel)}</a></p>")

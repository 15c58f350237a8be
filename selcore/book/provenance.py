"""Provenance of the book: which notebooks ran, how, where, with what, and on which results.

Everything the status chapter shows is read here from artifacts the runs leave behind:

* the executed notebooks of the book folder (papermill's metadata: start, end, duration, exception;
  the runner's ``metadata.selcore``: profile and data source),
* each experiment's ``run_<name>.json`` in every seed folder ``<results_root>/<profile>/seed<k>/`` (and in
  sub-studies such as ``<profile>/optimizersgd/seed<k>/``),
* the software versions and the hardware of the machine executing the status page, and the git commit (the
  environment capture of ``selcore.engine.results``, the one every run.json records).

Nothing here trains or writes; every function returns plain dicts or pandas DataFrames.
"""
from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Iterable

import pandas as pd

from ..engine.results import git_commit, hardware, package_versions  # noqa: F401 (the status page reads them here)
from ..paths import RUN_JSON_GLOB, run_json_experiment, seed_of
from .runbook import toc_files

FAILED_DIR = ".failed"
"""Sub-folder of the book folder where the runner keeps a chapter that raised."""


def toc_order(book_dir: str | Path) -> list[str]:
    """Page names in the order of ``_toc.yml`` (``runbook.toc_files``, looked up in ``book_dir``, then its
    parent); [] if there is none."""
    for folder in (Path(book_dir), Path(book_dir).resolve().parent):
        if (folder / "_toc.yml").exists():
            return toc_files(folder)
    return []


def short_time(iso: str | None) -> str | None:
    """An ISO-8601 time stamp as ``YYYY-MM-DD HH:MM:SS`` in UTC (unparsable values are returned unchanged)."""
    if not iso:
        return iso
    try:
        t = datetime.datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return iso
    if t.tzinfo is not None:
        t = t.astimezone(datetime.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S")


def short_commit(commit: str | None) -> str | None:
    """A git commit as its first 10 hex digits, keeping a ``-dirty`` mark."""
    if not commit or commit == "unknown":
        return commit
    head, _, rest = str(commit).partition("-")
    return head[:10] + (f"-{rest}" if rest else "")


def _first_error(nb: dict) -> str:
    """``ename: evalue`` of the first error output in a notebook, or ``""``."""
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            if out.get("output_type") == "error":
                lines = str(out.get("evalue") or "").splitlines()
                return f"{out.get('ename', 'Error')}: {lines[0] if lines else ''}"
    return ""


def _title(nb: dict, default: str) -> str:
    """The first Markdown heading of a notebook."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            src = "".join(cell.get("source", ""))
            for line in src.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return default


def notebook_record(path: str | Path) -> dict[str, object]:
    """One executed notebook: chapter, title, profile, data, papermill start/end/duration, slowest cell,
    and its status: ``ok``, ``exception: <ename: evalue>``, or ``not executed by papermill``."""
    path = Path(path)
    nb = json.loads(path.read_text())
    meta = nb.get("metadata", {})
    pm = meta.get("papermill") or {}
    sel = meta.get("selcore") or {}
    cell_secs = [float(c.get("metadata", {}).get("papermill", {}).get("duration") or 0.0)
                 for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    if not pm:
        status = "not executed by papermill"
    elif pm.get("exception") or _first_error(nb):
        status = "exception: " + (_first_error(nb) or "unknown error")
    elif pm.get("end_time") is None:
        status = "unfinished"
    else:
        status = "ok"
    return {
        "chapter": path.stem,
        "title": _title(nb, path.stem),
        "profile": sel.get("profile", pm.get("parameters", {}).get("profile", "")),
        "data": sel.get("data", pm.get("parameters", {}).get("data", "")),
        "started (UTC)": short_time(pm.get("start_time")),
        "ended (UTC)": short_time(pm.get("end_time")),
        "duration s": pm.get("duration"),
        "code cells": len(cell_secs),
        "slowest cell s": max(cell_secs) if cell_secs else None,
        "status": status,
    }


def executed_notebooks(book_dir: str | Path, exclude: Iterable[str] = ("status",)) -> pd.DataFrame:
    """A table of every executed notebook in ``book_dir`` (one row per chapter, table-of-contents order,
    then alphabetical), plus any chapter the runner set aside in ``<book_dir>/.failed``. Chapters named in
    ``exclude`` are left out (by default this status page, which is still executing when it reads)."""
    book_dir = Path(book_dir)
    exclude = set(exclude)
    rows = []
    if book_dir.is_dir():
        for p in sorted(book_dir.glob("*.ipynb")):
            if p.name.startswith(".") or p.stem in exclude:
                continue
            rows.append(notebook_record(p))
        failed = book_dir / FAILED_DIR
        if failed.is_dir():
            for p in sorted(failed.glob("*.ipynb")):
                rec = notebook_record(p)
                rec["status"] = f"set aside after failing ({rec['status']})"
                rows.append(rec)
    columns = ["chapter", "title", "profile", "data", "started (UTC)", "ended (UTC)", "duration s", "code cells",
               "slowest cell s", "status"]
    df = pd.DataFrame(rows, columns=columns)
    order = {name: i for i, name in enumerate(toc_order(book_dir))}
    if not df.empty:
        df["_k"] = [order.get(c, len(order)) for c in df["chapter"]]
        df = df.sort_values(["_k", "chapter"], kind="stable").drop(columns="_k").reset_index(drop=True)
    return df


def run_files(results_root: str | Path, profile: str) -> list[Path]:
    """Every ``run_<experiment>.json`` under ``<results_root>/<profile>``: the per-seed folders
    (``seed<k>/``), sub-studies holding their own seed folders (``optimizersgd/seed<k>/``), and a folder in the
    original single-seed layout (run files directly in ``<profile>/``). Checkpoint folders are skipped."""
    folder = Path(results_root) / profile
    if not folder.is_dir():
        return []
    found = [p for p in folder.rglob(RUN_JSON_GLOB) if "checkpoints" not in p.relative_to(folder).parts]
    return sorted(found, key=lambda p: (str(p.parent.relative_to(folder)), p.name))


RUN_COLUMNS = ["group", "seed", "experiment", "status", "device", "device name", "data source", "train images",
               "epochs logged", "started (UTC)", "last update (UTC)", "resumed", "git commit", "error", "folder"]
"""Columns of ``run_records``."""


def run_records(results_root: str | Path, profile: str) -> pd.DataFrame:
    """One row per (seed, experiment): each ``run_<experiment>.json`` found by ``run_files``, with its
    group (``main`` for the experiment chapters' ``seed<k>/`` folders, else the sub-folder, e.g. ``sgd``),
    seed (from the run.json, else the folder name), status, device, data source, training images, logged
    epochs, start and last-update times (UTC), short git commit, error, and the folder relative to
    ``<results_root>/<profile>``. Sorted by group, seed and experiment."""
    base = Path(results_root) / profile
    rows = []
    for p in run_files(results_root, profile):
        rel = p.parent.relative_to(base)
        seed_from_folder = seed_of(p.parent)
        group_parts = [part for part in rel.parts if seed_of(part) is None]
        common = {"group": "/".join(group_parts) or "main", "folder": rel.as_posix() or ".",
                  "experiment": run_json_experiment(p), "seed": seed_from_folder}
        try:
            info = json.loads(p.read_text())
        except (OSError, ValueError) as e:
            rows.append({**common, "status": f"unreadable run.json ({type(e).__name__})"})
            continue
        env = info.get("environment") or {}
        rows.append({
            **common,
            "experiment": info.get("experiment", run_json_experiment(p)),
            "status": info.get("status"),
            "seed": info.get("seed", seed_from_folder),
            "device": env.get("device"),
            "device name": env.get("device_name"),
            "data source": info.get("data_source"),
            "train images": info.get("train_images"),
            "epochs logged": info.get("epochs_logged"),
            "started (UTC)": short_time(info.get("started_utc")),
            "last update (UTC)": short_time(env.get("time_utc")),
            "resumed": info.get("resumed"),
            "git commit": short_commit(env.get("git_commit")),
            "error": info.get("error", ""),
        })
    df = pd.DataFrame(rows, columns=RUN_COLUMNS)
    if not df.empty:
        df["_main"] = df["group"] != "main"
        df["_seed"] = pd.to_numeric(df["seed"], errors="coerce")
        df = (df.sort_values(["_main", "group", "_seed", "experiment"], kind="stable")
              .drop(columns=["_main", "_seed"]).reset_index(drop=True))
    return df


def run_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """``run_records`` in a few rows: per study (``group``), its experiments, seeds, runs, the runs finished and the
    distinct commits they recorded; the status page shows it first and the full table folded below it."""
    rows = []
    for group, g in runs.groupby("group", sort=False):
        rows.append({"study": group, "experiments": g["experiment"].nunique(),
                     "seeds": ", ".join(str(s) for s in sorted(g["seed"].dropna().unique())),
                     "runs": len(g), "finished": int((g["status"] == "finished").sum()),
                     "commits": g["git commit"].nunique()})
    return pd.DataFrame(rows)


def split_constant(runs: pd.DataFrame, keep: tuple[str, ...] = ("group", "seed", "experiment", "status")
                   ) -> tuple[pd.DataFrame, dict[str, str]]:
    """``runs`` without the columns that hold one value in every row (``keep`` always stays), and those values by
    column: a table keeps only what tells its rows apart, and the page states the rest once."""
    same = {c: str(runs[c].iloc[0]) for c in runs.columns
            if c not in keep and len(runs) and runs[c].astype(str).nunique() == 1}
    return runs.drop(columns=list(same)), same


def folded(styler, summary: str) -> str:
    """A table as HTML folded under one line (``<details>``): the full table a page keeps below its summary."""
    return f"<details><summary>{summary}</summary>\n\n{styler.to_html()}\n</details>"


def as_table(mapping: dict, key: str = "item", value: str = "value") -> pd.DataFrame:
    """A two-column DataFrame of a dict (for display)."""
    return pd.DataFrame({key: list(mapping), value: [str(v) for v in mapping.values()]})

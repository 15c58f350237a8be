"""Results in the original release's CSV format, written atomically, plus run.json provenance."""
from __future__ import annotations

import csv
import io
import json
import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

import torch


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to ``path.tmp`` then rename: a reader never sees a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def write_csv(path: Path, cols: list[str], rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _fmt(r[k]) for k in cols})
    atomic_write_bytes(path, buf.getvalue().encode())


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return f"{v:.10g}"
    return v


def write_json(path: Path, obj: dict) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode())


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


OUTPUT_PATHSPECS = (":(top,exclude)book/*.ipynb", ":(top,exclude)results")
"""What a run itself rewrites (executed chapters, results): changes there do not make the code dirty."""


def git_commit(where: Path | str | None = None) -> str:
    """The HEAD commit of the code (the checkout holding ``where``, default this package), ``-dirty`` when
    tracked files other than the run's own outputs (:data:`OUTPUT_PATHSPECS`) differ from it; ``unknown``
    outside a git checkout."""
    try:
        here = Path(where) if where is not None else Path(__file__).resolve().parent
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10)
        if out.returncode == 0:
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                    ":(top)", *OUTPUT_PATHSPECS], cwd=here,
                                   capture_output=True, text=True, timeout=10).stdout.strip()
            return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


def dirty_warning(where: Path | str | None = None) -> str | None:
    """The one line a run prints when it starts from a checkout with uncommitted changes to its code (the commit
    :func:`git_commit` records ends in ``-dirty``), else None: such a run's numbers are what was measured, but its
    code state cannot be checked out again."""
    commit = git_commit(where)
    if not commit.endswith("-dirty"):
        return None
    return (f"warning: the working tree has uncommitted changes; this run records commit {commit} "
            f"(commit first for results the book can commit)")


PACKAGES = ("torch", "torchvision", "jupyter-book", "papermill", "pandas", "matplotlib", "seaborn",
            "numpy", "scipy", "nbformat", "sphinx", "submitit")
"""The distributions whose versions the status page lists (after Python itself)."""


def package_versions(packages: Iterable[str] = PACKAGES) -> dict[str, str]:
    """``{"python": ..., <package>: <installed version or "not installed">}``."""
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def cpu_name() -> str:
    """The CPU model as the operating system names it (Linux: ``model name`` of /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def hardware() -> dict[str, object]:
    """The machine executing this code: OS, CPU, logical cores, torch's intra-op threads, GPUs."""
    info: dict[str, object] = {
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "logical cores": os.cpu_count(),
        "usable cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch threads": torch.get_num_threads(),
        "cuda available": torch.cuda.is_available(),
    }
    if torch.cuda.is_available():
        info["gpus"] = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        info["cuda (torch build)"] = torch.version.cuda
        info["cudnn"] = torch.backends.cudnn.version()
    else:
        info["gpus"] = "none"
    return info


def environment(device: torch.device) -> dict:
    """The one environment capture, as a run.json records it: the versions of Python, torch and torchvision
    (``package_versions``), the machine (``hardware``: platform, CPU, torch threads), the device the run used,
    the code's git commit and the time (UTC). The status page shows ``package_versions`` and ``hardware`` of
    the machine executing it."""
    versions, hw = package_versions(("torch", "torchvision")), hardware()
    return {
        "python": versions["python"],
        "torch": versions["torch"],
        "torchvision": versions["torchvision"],
        "platform": hw["platform"],
        "processor": hw["cpu"],
        "cpu_threads": hw["torch threads"],
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU",
        "git_commit": git_commit(),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }

"""The commands of the README and the reproducing page, run once per test session in a copy of the repository
(the ``documented_run`` fixture of ``conftest.py``); ``test_documented_commands.py`` checks them and
``test_book.py`` reads the smoke book that the README's ``python -m selcore run`` executed there, instead of
executing every chapter a second time.

Substitutions, stated once: ``PATH`` / ``PATH/TO/cifar10`` become the real CIFAR-10 archive; the ``quick`` profile
becomes ``smoke`` for commands that train (``run``, ``experiment``, ``sweep``), and ``bench`` times ``--images 100
--repeats 1 --check-epochs 1`` (the smoke size: the command's code paths and every row of its table, not its timing
precision), so that the whole page runs in minutes. Install commands (``pip``, ``conda``) are exercised by CI's own install step
(checked against ``.ci/run``), and ``python -m pytest`` is the command running the tests.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGES = ("README.md", "book/reproducing.md")
TRAINING = ("run", "experiment", "sweep")
BENCH_SMOKE = ["--images", "100", "--repeats", "1", "--check-epochs", "1"]
TIMEOUT_S = 3000
"""Per command: the README's run executes every chapter of the smoke book (measured on this project's 2-core machine
while other processes loaded it: 1,110 s at load about 4, up to 1,646 s)."""
RUN_SMOKE_BOOK = "python -m selcore run --profile quick --data PATH/TO/cifar10"
"""The README's first command: in the copy it executes every chapter under the smoke profile into
``runs/book-smoke`` (the book ``test_book.py`` checks)."""


def documented_commands(text: str) -> list[str]:
    """The shell commands of a page's ``bash`` blocks: one per line or ``&&`` part, comments dropped."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = re.split(r"\s+#\s", line.strip(), maxsplit=1)[0].strip()
            if line and not line.startswith("#"):
                out += [part.strip() for part in line.split("&&") if part.strip()]
    return out


def adapted(command: str, data: Path) -> list[str] | None:
    """The argv the tests run for a documented command (None: not run here, see the module docstring)."""
    argv = shlex.split(command)
    if argv[0] in ("pip", "conda", "export") or argv[:3] == ["python", "-m", "pytest"]:
        return None
    argv = [str(data) if a in ("PATH", "PATH/TO/cifar10") else a for a in argv]
    if argv[:3] == ["python", "-m", "selcore"] and len(argv) > 3 and argv[3] in TRAINING:
        argv = ["smoke" if a == "quick" and argv[i - 1] == "--profile" else a for i, a in enumerate(argv)]
    if argv[:4] == ["python", "-m", "selcore", "bench"] and not {"--images", "--repeats"} & set(argv):
        argv += BENCH_SMOKE
    if argv[0] == "python":
        argv[0] = sys.executable
    return argv


def copy_of_repo(dest: Path) -> Path:
    """The repository's tracked and untracked (not ignored) files, committed in a fresh git repository at ``dest``."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name, follow_symlinks=False)
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "copy"]):
        subprocess.run(cmd, cwd=dest, check=True, capture_output=True)
    return dest


@dataclass
class DocumentedRun:
    repo: Path                                        # the copy the commands ran in
    env: dict                                         # their environment (the copy's selcore first)
    ran: list = field(default_factory=list)           # (page, command, CompletedProcess), in order
    seconds: list = field(default_factory=list)       # each one's wall time
    failed: str = ""                                  # the first failing command's report ('' if none)
    changed: str = ""                                 # `git status --porcelain -- book results` right after

    def result(self, command: str) -> subprocess.CompletedProcess:
        """The first run of a documented ``command`` (as written on its page); fails if it never ran."""
        for _, c, r in self.ran:
            if c == command:
                return r
        raise AssertionError(f"{command!r} did not run: {self.failed or [c for _, c, _ in self.ran]}")


def run_documented(dest: Path, data: Path) -> DocumentedRun:
    """Run every documented command, in page order, in a copy of the repository at ``dest``; stop at the first
    that fails (the later ones may need its output). A command that runs the same argv as one before it (the
    reproducing page repeats several of the README's) is recorded with that run's result, not run again."""
    repo = copy_of_repo(dest)
    run = DocumentedRun(repo, dict(os.environ, SELCORE_DATA=str(data), PYTHONPATH=str(repo)))
    seen: dict[tuple, subprocess.CompletedProcess] = {}
    for page in PAGES:
        for command in documented_commands((REPO / page).read_text()):
            argv = adapted(command, data)
            if argv is None:
                continue
            if tuple(argv) in seen:  # written on both pages (or twice on one): it ran above, with this result
                run.ran.append((page, command, seen[tuple(argv)]))
                run.seconds.append(0.0)
                continue
            t0 = time.perf_counter()
            r = subprocess.run(argv, cwd=repo, env=run.env, capture_output=True, text=True, timeout=TIMEOUT_S)
            run.ran.append((page, command, r))
            run.seconds.append(round(time.perf_counter() - t0, 1))
            seen[tuple(argv)] = r
            if r.returncode != 0:
                run.failed = f"{page}: {command}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
                return run
    run.changed = subprocess.run(["git", "status", "--porcelain", "--", "book", "results"], cwd=repo,
                                 capture_output=True, text=True, check=True).stdout
    return run

"""Every command in the README and the reproducing page is executed here, in a copy of the repository, and none
of them writes into ``book/`` or ``results/``.

Substitutions, stated once: ``PATH`` / ``PATH/TO/cifar10`` become the real CIFAR-10 archive; the ``quick`` profile
becomes ``smoke`` for commands that train (``run``, ``experiment``, ``sweep``), so that the whole page runs in minutes.
Install commands (``pip``, ``conda``) are exercised by CI's own install step (checked against ``.ci/run``), and
``python -m pytest`` is the command running this test.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = ("README.md", "book/reproducing.md")
TRAINING = ("run", "experiment", "sweep")


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
    """The argv this test runs for a documented command (None: not run here, see the module docstring)."""
    argv = shlex.split(command)
    if argv[0] in ("pip", "conda", "export") or argv[:3] == ["python", "-m", "pytest"]:
        return None
    argv = [str(data) if a in ("PATH", "PATH/TO/cifar10") else a for a in argv]
    if argv[:3] == ["python", "-m", "selcore"] and len(argv) > 3 and argv[3] in TRAINING:
        argv = ["smoke" if a == "quick" and argv[i - 1] == "--profile" else a for i, a in enumerate(argv)]
    if argv[0] == "python":
        argv[0] = sys.executable
    return argv


def test_every_page_documents_commands_and_the_install_matches_ci():
    commands = [c for page in PAGES for c in documented_commands((REPO / page).read_text())]
    assert any(c.startswith("python -m selcore run") for c in commands)
    assert any(c.startswith("python -m selcore chapter ") for c in commands)
    assert "python3 -m pip install --quiet -e '.[test]'" in (REPO / ".ci" / "run").read_text()
    assert all(adapted(c, Path("x")) is None or adapted(c, Path("x"))[0] in (sys.executable, "papermill",
                                                                           "jupyter-book") for c in commands)


def _copy_of_repo(dest: Path) -> Path:
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


@pytest.mark.slow
def test_documented_commands_run_and_leave_book_and_results_alone(tmp_path, data_tar):
    repo = _copy_of_repo(tmp_path / "repo")
    env = dict(os.environ, SELCORE_DATA=str(data_tar), PYTHONPATH=str(repo))
    ran = []
    for page in PAGES:
        for command in documented_commands((REPO / page).read_text()):
            argv = adapted(command, data_tar)
            if argv is None:
                continue
            r = subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True, timeout=1500)
            assert r.returncode == 0, f"{page}: {command}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
            ran.append(command)
    assert len(ran) >= 8, ran
    changed = subprocess.run(["git", "status", "--porcelain", "--", "book", "results"], cwd=repo,
                             capture_output=True, text=True, check=True).stdout
    assert changed == "", f"documented commands wrote into book/ or results/:\n{changed}"
    assert (repo / "runs" / "book-smoke" / "book" / "baseline.ipynb").exists()   # run --profile smoke: its own book

"""The exercises page: every chapter's exercises in one place, generated from the chapters' own ``## Exercises``
cells (``page``), so that the page and the chapters never disagree. ``python -m selcore run`` writes it to
``book/exercises.md``; a test checks that the committed page is the generated one."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

from .runbook import REPO_ROOT, toc_files

HEADING = "## Exercises"
"""The heading of a chapter's exercises cell."""
PAGE = "exercises.md"
GLUE = re.compile(r"(\{glue(?::\w+)?\}`)([A-Za-z0-9_]+)(:[^`]*)?`")
"""A glue role naming a key of its own page (no ``page.ipynb::``), which the exercises page must qualify (and give a
format: a role naming another page's key needs one; ``s`` for a text value)."""
"""The page's file in the book folder."""

INTRO = """(exercises)=
# Exercises

Every chapter's exercises, in the book's order. Each runs at the small `smoke` profile, in seconds to minutes on a
CPU, and writes into a folder of its own under `runs/`: the book and `results/` are never touched. Point the
commands at the CIFAR-10 images once, then run them as written:

```bash
export SELCORE_DATA=PATH/TO/cifar10    # an image-folder tree or a tar of one; here: ../shared/data/cifar10-jpeg.tar.gz
```

Each exercise has a hint, folded under it. The chapter's own page says what the exercise builds on.
"""


def chapter_exercises(name: str, repo: Path = REPO_ROOT) -> tuple[str, str] | None:
    """(the chapter's title, its exercises without their heading) from ``chapters/<name>.ipynb``; None where it has
    no exercises cell."""
    nb = nbformat.read(Path(repo) / "chapters" / f"{name}.ipynb", as_version=4)
    md = [c.source for c in nb.cells if c.cell_type == "markdown"]
    title = next((ln[2:].strip() for ln in md[0].splitlines() if ln.startswith("# ")), name) if md else name
    body = next((s[len(HEADING):].strip() for s in md if s.startswith(HEADING)), None)
    return (title, body) if body else None


def page(repo: Path = REPO_ROOT) -> str:
    """The exercises page: ``INTRO``, then per chapter with exercises (in the table of contents' order) its title,
    a link to it and its exercises as the chapter states them."""
    parts = [INTRO]
    for name in toc_files():
        if not (Path(repo) / "chapters" / f"{name}.ipynb").exists():
            continue
        found = chapter_exercises(name, repo)
        if found:
            title, body = found
            body = GLUE.sub(lambda m: f"{m.group(1)}{name}.ipynb::{m.group(2)}{m.group(3) or ':s'}`", body)
            parts.append(f"## {title}\n\nFrom {{doc}}`{name}`.\n\n{body}\n")
    return "\n".join(parts)


def write_page(book_dir: Path | str, repo: Path = REPO_ROOT) -> Path:
    """Write ``page()`` to ``<book_dir>/exercises.md`` and return its path."""
    out = Path(book_dir) / PAGE
    out.write_text(page(repo))
    return out

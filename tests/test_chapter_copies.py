"""CI check: the chapters do not copy code from one another.

The code cells of every ``chapters/*.ipynb`` are reduced to line *shapes*: each line is tokenized, identifiers
become ``N``, strings ``S`` and numbers ``0`` (keywords and operators stay); blank lines, comments, import
statements and IPython magics are skipped. Two chapters that share ``MIN_LINES`` (six) or more consecutive
lines of the same shape within a code cell hold a copy (renamed variables and changed numbers do not hide it):
the shared code belongs in ``selcore``, where one function can serve both chapters. A run does not cross a cell
boundary: a copy is a block of code, while consecutive one-call cells (``plots.gap_sel95(runs.mine)``, then the
next captioned figure) are the chapter's sequence of library calls, and every such call has the same shape.

The cell tagged ``parameters`` is left out: it is each chapter's declared interface (``profile``, ``data``,
``results_root`` ... one plain assignment per line, which papermill needs), documented once in
``book/reproducing.md``, and necessarily the same shape in every chapter.
"""
from __future__ import annotations

import io
import keyword
import tokenize
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import nbformat
from tests.conftest import REPO

MIN_LINES = 6
"""The fewest consecutive same-shape lines that count as a copy."""

_SKIP_TOKENS = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                tokenize.ENDMARKER, tokenize.ENCODING}
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python >= 3.12 splits f-strings into parts
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


@dataclass(frozen=True)
class Line:
    """One shaped source line: where it is (``cell`` index among the code cells, 1-based ``line`` in the
    cell), its text and its shape."""
    cell: int
    line: int
    text: str
    shape: str


def shape_lines(source: str, cell: int = 0) -> list[Line]:
    """The shaped lines of one cell's ``source`` (see the module docstring), in order."""
    # IPython magics and shell escapes are not Python: blank them (line numbers are kept)
    raw = source.splitlines()
    py = "\n".join("" if s.lstrip().startswith(("%", "!")) else s for s in raw) + "\n"
    shapes: dict[int, list[str]] = {}
    skipped: set[int] = set()
    statement: list[tokenize.TokenInfo] = []
    in_fstring = 0
    for tok in tokenize.generate_tokens(io.StringIO(py).readline):
        if tok.type == tokenize.NEWLINE or tok.type == tokenize.ENDMARKER:
            if statement and statement[0].type == tokenize.NAME and statement[0].string in ("import", "from"):
                skipped.update(range(statement[0].start[0], tok.start[0] + 1))
            statement = []
            continue
        if tok.type in _SKIP_TOKENS:
            continue
        statement.append(tok)
        if _FSTRING_START is not None and tok.type == _FSTRING_START:
            if not in_fstring:
                shapes.setdefault(tok.start[0], []).append("S")
            in_fstring += 1
            continue
        if _FSTRING_END is not None and tok.type == _FSTRING_END:
            in_fstring -= 1
            continue
        if in_fstring:
            continue
        if tok.type == tokenize.NAME:
            word = tok.string if keyword.iskeyword(tok.string) else "N"
        elif tok.type == tokenize.STRING:
            word = "S"
        elif tok.type == tokenize.NUMBER:
            word = "0"
        else:
            word = tok.string
        shapes.setdefault(tok.start[0], []).append(word)
    return [Line(cell, n, raw[n - 1].strip(), " ".join(words)) for n, words in sorted(shapes.items())
            if n not in skipped]


def notebook_lines(path: Path) -> list[Line]:
    """The shaped lines of a notebook's code cells, the ``parameters`` cell excepted, cell after cell."""
    nb = nbformat.read(path, as_version=4)
    out: list[Line] = []
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, c in enumerate(code, 1):
        if "parameters" in c.metadata.get("tags", []):
            continue
        try:
            out += shape_lines(c.source, i)
        except (tokenize.TokenError, IndentationError, SyntaxError) as e:
            raise AssertionError(f"{path.name}: code cell {i} cannot be tokenized ({e})") from None
    return out


def shared_runs(a: list[Line], b: list[Line], min_lines: int = MIN_LINES) -> list[tuple[int, int, int]]:
    """Maximal runs of consecutive lines of the same shape in ``a`` and ``b``: (start in a, start in b,
    length) for every run of at least ``min_lines``."""
    where: dict[str, list[int]] = {}
    for j, line in enumerate(b):
        where.setdefault(line.shape, []).append(j)
    def continues(i: int, j: int) -> bool:
        """Line i of a and line j of b have the same shape and continue the run of lines i-1 and j-1 (a run
        never crosses a code cell's boundary)."""
        return (i > 0 and j > 0 and a[i].shape == b[j].shape
                and a[i].cell == a[i - 1].cell and b[j].cell == b[j - 1].cell)

    runs = []
    for i, line in enumerate(a):
        for j in where.get(line.shape, ()):
            if continues(i, j) and a[i - 1].shape == b[j - 1].shape:
                continue  # not the start of a maximal run
            k = 1
            while i + k < len(a) and j + k < len(b) and continues(i + k, j + k):
                k += 1
            if k >= min_lines:
                runs.append((i, j, k))
    return runs


def _where(name: str, lines: list[Line]) -> str:
    first, last = lines[0], lines[-1]
    if first.cell == last.cell:
        return f"{name} code cell {first.cell}, lines {first.line}-{last.line}"
    return f"{name} code cell {first.cell} line {first.line} to code cell {last.cell} line {last.line}"


def copies(chapters: dict[str, list[Line]], min_lines: int = MIN_LINES) -> list[str]:
    """One message per copy between any two of ``chapters`` (name -> shaped lines), naming both chapters
    and the lines of each."""
    found = []
    for (na, a), (nb_, b) in combinations(sorted(chapters.items()), 2):
        for i, j, k in shared_runs(a, b, min_lines):
            la, lb = a[i:i + k], b[j:j + k]
            body = "\n".join(f"    {x.text:<60.60} | {y.text}" for x, y in zip(la, lb))
            found.append(f"{_where(na, la)} and {_where(nb_, lb)} share {k} lines of the same shape:\n{body}")
    return found


# ----------------------------------------------------------------------------- the detector itself
ORIGINAL = '''
import torch
from selcore.report import plots
runs = {}
for seed in seeds:  # every seed
    folder = seed_dir(profile, seed, results_root)
    runs[seed] = load_results(folder, partial=True)
table = plots.comparison_table(list(runs.values()))
glue("best", round(table["100/class"].max(), 1))
print(f"{len(runs)} seeds")
'''

RENAMED = '''
import numpy as np
histories = {}

for s in chosen_seeds:
    # the same loop under other names, strings and numbers
    d = folder_of(prof, s, root)
    histories[s] = read_all(d, strict=True)
summary = fig.other_table(tuple(histories.keys()))
show("worst", round(summary['full'].min(), 3))
print(f"{len(histories)} runs")
'''

ALTERED = '''
histories = {}
for s in chosen_seeds:
    d = folder_of(prof, s, root)
    histories[s] = read_all(d, strict=True, log=None)
summary = fig.other_table(tuple(histories.keys()))
show("worst", round(summary['full'].min(), 3))
print(f"{len(histories)} runs")
'''


def test_shape_replaces_names_strings_and_numbers_and_skips_imports_and_comments():
    lines = shape_lines(ORIGINAL)
    assert [x.shape for x in lines[:3]] == ["N = { }", "for N in N :", "N = N ( N , N , N )"]
    assert lines[0].line == 4 and lines[0].text == "runs = {}"  # lines 2-3 are imports: skipped
    assert lines[-2].shape == "N ( S , N ( N [ S ] . N ( ) , 0 ) )"
    assert lines[-1].shape == "N ( S )"  # an f-string is one string
    assert shape_lines("# a comment\n\n%matplotlib inline\nfrom a import (b,\n    c)\nx = 1\n") == \
        [Line(0, 6, "x = 1", "N = 0")]


def test_detector_catches_a_renamed_copy():
    found = copies({"a": shape_lines(ORIGINAL, 2), "b": shape_lines(RENAMED, 5)})
    assert len(found) == 1
    assert found[0].startswith("a code cell 2, lines 4-10 and b code cell 5, lines 3-11 share 7 lines")
    assert "runs[seed] = load_results(folder, partial=True)" in found[0]
    assert "histories[s] = read_all(d, strict=True)" in found[0]


def test_detector_ignores_a_run_broken_by_a_different_shape():
    # ALTERED has ORIGINAL's 7 lines but for one more argument in the fourth: 3 + 3 lines of the same shape
    a, b = shape_lines(ORIGINAL), shape_lines(ALTERED)
    assert len(a) == len(b) == 7 and shared_runs(a, b) == []
    assert [(i, j, k) for i, j, k in shared_runs(a, b, min_lines=3)] == [(0, 0, 3), (4, 4, 3)]
    assert len(copies({"a": a, "b": shape_lines(ALTERED.replace(", log=None", ""))})) == 1


def test_a_run_stops_at_a_cell_boundary():
    a = [x for cell, src in enumerate(ORIGINAL.split("table =")) for x in shape_lines(src, cell)]
    assert len(copies({"a": shape_lines(ORIGINAL, 0), "b": shape_lines(RENAMED, 0)})) == 1
    assert copies({"a": a, "b": shape_lines(RENAMED, 0)}, min_lines=6) == []   # 4 + 3 lines on either side


def test_detector_ignores_shared_imports():
    imports = "import os\nimport sys\nimport json\nimport re\nimport io\nimport math\nimport time\n"
    assert copies({"a": shape_lines(imports), "b": shape_lines(imports)}) == []


def _notebook(path: Path, cells: list[tuple[str, list[str]]]):
    nb = nbformat.v4.new_notebook()
    for source, tags in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def test_parameters_cell_is_left_out_and_other_cells_are_not(tmp_path):
    params = "profile = 'quick'\ndata = None\nresults_root = 'results'\nbook_dir = 'book'\nseeds = ''\nforce = False\n"
    a = _notebook(tmp_path / "a.ipynb", [(params, ["parameters"]), ("x = 1", [])])
    b = _notebook(tmp_path / "b.ipynb", [(params.replace("'quick'", "'paper'"), ["parameters"]), ("y = 2", [])])
    assert copies({p.stem: notebook_lines(p) for p in (a, b)}) == []
    assert [x.text for x in notebook_lines(a)] == ["x = 1"]
    c = _notebook(tmp_path / "c.ipynb", [("z = 3", ["parameters"]), (params, [])])
    assert copies({p.stem: notebook_lines(p) for p in (a, c)}) == []  # in a, the block is the parameters cell
    d = _notebook(tmp_path / "d.ipynb", [("w = 0", ["parameters"]), ("print(w)", []), (params, [])])
    found = copies({p.stem: notebook_lines(p) for p in (c, d)})
    assert len(found) == 1 and found[0].startswith("c code cell 2, lines 1-6 and d code cell 3, lines 1-6")


# ----------------------------------------------------------------------------- the project's chapters
def test_chapters_share_no_copied_code():
    paths = sorted((REPO / "chapters").glob("*.ipynb"))
    assert len(paths) >= 2, "no chapters found"
    chapters = {f"chapters/{p.name}": notebook_lines(p) for p in paths}
    assert all(chapters.values()), [n for n, lines in chapters.items() if not lines]
    found = copies(chapters)
    assert not found, (f"{len(found)} block(s) of code copied between chapters (move them into selcore):\n\n"
                       + "\n\n".join(found))

"""A chapter's finding with its numbers: on the terminal after ``python -m selcore chapter``, and as a cell's output
when the chapter is opened in Jupyter (where the ``{glue:text}`` roles of its opening paragraph stay unresolved).

Every chapter opens with a paragraph that starts ``**Finding.**`` and cites its numbers through ``{glue:text}``
roles. ``glue`` glues a value for the book (``myst_nb.glue``) and keeps it in this process, so that ``show`` can
write the paragraph with the numbers of the run that just executed; ``executed_finding`` does the same from an
executed notebook's outputs.
"""
from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path
from typing import Any, Mapping

import nbformat
from IPython.display import Markdown
from myst_nb import glue as myst_glue

from .params import source_notebook

GLUED: dict[str, Any] = {}
"""The values glued in this process, by name (what ``show`` substitutes)."""

GLUE_ROLE = re.compile(r"\{glue:text\}`([^`:]+)(?::([^`]*))?`")
OTHER_ROLE = re.compile(r"\{(numref|ref|cite|cite:p|cite:t|doc|eq)\}`([^`]*)`")
ROLE_TEXT = {"numref": "the figure", "eq": "the equation"}
"""How a role other than glue is written in plain text (the others: their target's text, or nothing for citations)."""


def glue(name: str, value: Any, display: bool = False) -> None:
    """``myst_nb.glue``, keeping ``value`` for ``show``."""
    GLUED[name] = value
    myst_glue(name, value, display=display)


def finding_source(name: str, chapters: Path | None = None) -> str | None:
    """The paragraph of ``chapters/<name>.ipynb``'s first markdown cell that starts ``**Finding.**`` (None if the
    chapter has none)."""
    nb = nbformat.read(source_notebook(name, chapters) if chapters else source_notebook(name), as_version=4)
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    return next((p.strip() for p in first.split("\n\n") if p.strip().startswith("**Finding.**")), None)


def value_text(value: Any, spec: str | None) -> str:
    """A glued value as its role writes it: ``format(value, spec)`` where a format is given and the value is a
    number (a value kept as text, as in an executed notebook, is read back as a number first), else its text."""
    if spec:
        try:
            return format(float(value), spec)
        except (TypeError, ValueError):
            pass
    text = str(value)
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":  # a str's repr, as text/plain keeps it
        try:
            return str(ast.literal_eval(text))
        except (ValueError, SyntaxError):
            pass
    return text


def render(markdown: str, values: Mapping[str, Any], width: int | None = None) -> str:
    """``markdown`` with each ``{glue:text}`` role replaced by its value (``[not computed: name]`` where the run did
    not glue it) and the other roles by plain words; ``width`` wraps the text for a terminal (emphasis removed)."""
    text = GLUE_ROLE.sub(lambda m: value_text(values[m[1]], m[2]) if m[1] in values else f"[not computed: {m[1]}]",
                         markdown)
    text = OTHER_ROLE.sub(lambda m: ROLE_TEXT.get(m[1], "" if m[1].startswith("cite") else m[2]), text)
    text = re.sub(r"(^|[.!?]\s+)the (figure|equation)", lambda m: f"{m[1]}The {m[2]}", text)  # a sentence's start
    text = re.sub(r" +([.,;)])", r"\1", text)
    if width:
        text = textwrap.fill(text.replace("**", "").replace("`", ""), width)
    return text


def show(name: str) -> Markdown | None:
    """The chapter's finding with the numbers glued in this process (a notebook cell's output)."""
    source = finding_source(name)
    return None if source is None else Markdown(render(source, GLUED))


def executed_values(nb) -> dict[str, str]:
    """The values glued in an executed notebook, by name (their plain-text form)."""
    out = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            key = o.get("metadata", {}).get("scrapbook", {}).get("name")
            data = o.get("data", {})
            text = data.get("application/papermill.record/text/plain", data.get("text/plain"))  # glue(display=False)
            if key and text is not None:
                out[key] = "".join(text) if isinstance(text, list) else text
    return out


def executed_finding(notebook: Path | str, name: str, width: int = 100) -> str | None:
    """The finding of ``name`` with the numbers of the executed ``notebook``, wrapped for a terminal."""
    source = finding_source(name)
    if source is None:
        return None
    return render(source, executed_values(nbformat.read(notebook, as_version=4)), width)

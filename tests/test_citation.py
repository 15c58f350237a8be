"""The citation record and the book's "cite this" block agree."""
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def test_citation_cff_is_valid_and_matches_the_book():
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    for key in ("title", "authors", "version", "date-released", "license", "message"):
        assert cff[key], key
    intro = (REPO / "book" / "intro.md").read_text()
    assert "## Cite this book" in intro and f"title   = {{{cff['title']}}}" in intro
    assert f"version = {{{cff['version']}}}" in intro
    project = (REPO / "pyproject.toml").read_text()
    assert f'version = "{cff["version"]}"' in project

"""A chapter's finding with its numbers: printed from an executed notebook, shown in a live kernel."""
import nbformat

from selcore.book import finding
from tests.conftest import REPO

WITH_FINDING = ("ablations", "analysis", "applications", "baseline", "claims", "equal_compute", "lottery", "sel95",
                "sparsity", "sweep", "warmup")


def test_every_chapter_with_a_finding_prints_it_with_numbers_from_its_committed_notebook():
    for name in WITH_FINDING:
        text = finding.executed_finding(REPO / "book" / f"{name}.ipynb", name)
        assert text.startswith("Finding. "), name
        assert "{" not in text and "[not computed" not in text and "`" not in text, (name, text)


def test_a_roles_format_and_a_missing_value_are_written_plainly():
    md = "**Finding.** It reached {glue:text}`acc:.1f`% ({glue:text}`ci`), see {numref}`fig-x`. {numref}`fig-y` too."
    text = finding.render(md, {"acc": "52.6666", "ci": "\'1 [0, 2]\'"})
    assert text == "**Finding.** It reached 52.7% (1 [0, 2]), see the figure. The figure too."
    assert "[not computed: ci]" in finding.render(md, {"acc": 1.0})


def test_a_live_kernel_shows_the_finding_with_the_values_glued_in_it():
    finding.GLUED.clear()
    finding.glue("sel95_finding_text", "At the paper's width (n = 2 seeds) SEL-95% classifies 20.0% of the images.")
    shown = finding.show("sel95").data
    assert shown.startswith("**Finding.** At the paper's width (n = 2 seeds) SEL-95% classifies 20.0% of the images.")
    finding.GLUED.clear()
    assert "[not computed: sel95_finding_text]" in finding.show("sel95").data


def test_every_chapter_with_a_finding_ends_with_the_cell_that_shows_it():
    for name in WITH_FINDING:
        last = nbformat.read(REPO / "chapters" / f"{name}.ipynb", as_version=4).cells[-1]
        assert f'finding.show("{name}")' in last.source and "remove-cell" in last.metadata["tags"], name

"""Browser tests: the figures of built HTML pages are present and load in a real (headless) Chromium.

* ``test_tiny_book_*`` build a throwaway Jupyter Book (a Markdown page with a saved figure and a notebook whose
  output is a real matplotlib figure) and check it, so the check itself is tested, including that it notices a
  missing image file.
* ``test_built_book_*`` check the project's own built book, found through the ``built_book_html`` fixture:
  ``$SELCORE_BOOK_HTML`` if set, else ``_build/html`` at the repository root; skipped when neither exists.

Without a system Chromium or the playwright package these tests are skipped with the reason, unless
``SELCORE_REQUIRE_BROWSER=1`` is set, which turns the absence into a failure (for CI after
``.ci/install-browser``).
"""
from __future__ import annotations

import base64
import io
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from browser_util import assert_page_images, browser_page, page_images, screenshot

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # builds Jupyter Books and drives a real browser

MIN_FIGURES = {"method.html": 5, "baseline.html": 1, "lottery.html": 1, "sel95.html": 1, "warmup.html": 1,
               "ablations.html": 3, "analysis.html": 15, "sweep.html": 1, "equal_compute.html": 1,
               "applications.html": 1, "sparsity.html": 1}
"""Pages of the project's book and the fewest figures each must show (extend as chapters gain figures)."""


def _png_of_figure() -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    fig = Figure(figsize=(4, 3))
    ax = fig.subplots()
    ax.plot([0, 1, 2, 3], [0, 1, 4, 9], marker="o")
    ax.set_title("a real matplotlib figure")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return buf.getvalue()


def _build_tiny_book(root: Path) -> Path:
    """Write and build a two-page Jupyter Book in ``root``; returns its HTML folder."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    png = _png_of_figure()
    (root / "_config.yml").write_text(textwrap.dedent("""\
        title: Tiny browser-test book
        only_build_toc_files: true
        execute:
          execute_notebooks: "off"
        """))
    (root / "_toc.yml").write_text("format: jb-book\nroot: index\nchapters:\n  - file: figure\n")
    (root / "plot.png").write_bytes(png)
    (root / "index.md").write_text("# Tiny book\n\nA page with a saved figure.\n\n![a saved figure](plot.png)\n")
    cell = new_code_cell("fig  # a matplotlib figure", execution_count=1)
    cell.outputs = [new_output("display_data", data={"image/png": base64.b64encode(png).decode(),
                                                      "text/plain": "<Figure size 320x240 with 1 Axes>"})]
    nb = new_notebook(cells=[new_markdown_cell("# A notebook with a figure"), cell],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, root / "figure.ipynb")
    proc = subprocess.run([sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
                           "build", str(root), "-W", "--keep-going"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"jupyter-book build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    html = root / "_build" / "html"
    assert (html / "figure.html").exists()
    return html


@pytest.fixture(scope="module")
def tiny_book_html(tmp_path_factory, browser_ready) -> Path:
    return _build_tiny_book(tmp_path_factory.mktemp("tinybook"))


def test_tiny_book_figures_load(tiny_book_html):
    records = assert_page_images(tiny_book_html / "figure.html", min_images=1)
    assert any(r["naturalWidth"] == 320 for r in records), records  # the 4 x 3 inch figure at 80 dpi


def test_tiny_book_markdown_figure(tiny_book_html):
    assert_page_images(tiny_book_html / "index.html", min_images=1)


def test_tiny_book_missing_figure_is_detected(tiny_book_html, tmp_path):
    broken = tmp_path / "html"
    shutil.copytree(tiny_book_html, broken)
    for png in (broken / "_images").glob("*.png"):
        png.unlink()
    with pytest.raises(AssertionError, match="failed to load"):
        assert_page_images(broken / "figure.html", min_images=1)


def test_tiny_book_too_few_figures_is_detected(tiny_book_html):
    with pytest.raises(AssertionError, match="expected at least 3"):
        assert_page_images(tiny_book_html / "figure.html", min_images=3)


def test_tiny_book_screenshot(tiny_book_html, tmp_path):
    from PIL import Image
    png = screenshot(tiny_book_html / "figure.html", tmp_path / "figure.png")
    with Image.open(png) as shot:
        rgb = shot.convert("RGB")
    assert rgb.width == 1280 and rgb.height >= 900  # the whole page at the browser's width
    # a rendered page, not a blank one: many colours (text, the figure's antialiased curve)
    assert len(rgb.getcolors(maxcolors=1 << 20)) > 50


# ----------------------------------------------------------------------------- the project's book
@pytest.fixture(scope="session")
def built_book_html(browser_ready, tmp_path_factory) -> Path:
    """The committed book built as a user would (`jupyter-book build book`), into a scratch folder."""
    if not (REPO / "book" / "analysis.ipynb").exists():
        pytest.fail("book/ holds no executed chapters: run `python -m selcore run --profile quick` and commit book/")
    out = tmp_path_factory.mktemp("committed-book")
    r = subprocess.run(["jupyter-book", "build", "book", "-W", "-n", "--keep-going", "--path-output", str(out)],
                       cwd=REPO, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out / "_build" / "html"


@pytest.mark.parametrize("page,min_images", sorted(MIN_FIGURES.items()))
def test_built_book_figures(built_book_html, page, min_images):
    if not (built_book_html / page).exists():
        pytest.skip(f"{page} is not part of this build")
    assert_page_images(built_book_html / page, min_images)


def test_built_book_every_image_loads(built_book_html):
    # index.html is Jupyter Book's redirect stub to the first page: it navigates away as it loads
    pages = sorted(p for p in built_book_html.glob("*.html") if p.stem not in ("genindex", "search", "index"))
    assert pages
    broken = {}
    with browser_page() as page:
        for html in pages:
            bad = [r["src"] for r in page_images(html, page=page) if not (r["complete"] and r["naturalWidth"] > 0)]
            if bad:
                broken[html.name] = bad
    assert not broken, f"images that failed to load: {broken}"


CHAPTER_PAGES = ("method", "baseline", "lottery", "sel95", "warmup", "sparsity", "ablations", "sweep",
                 "equal_compute", "applications", "analysis")  # claims: a table


def test_built_book_figures_are_numbered_captioned_with_alt_text(built_book_html):
    import re
    for name in CHAPTER_PAGES:
        html = (built_book_html / f"{name}.html").read_text()
        main = html[html.index("<main"):]
        alts = re.findall(r'<img[^>]*\balt="([^"]*)"', main)
        assert alts, name
        hashes = [a for a in alts if re.fullmatch(r"[0-9a-f]{16,}(\.png)?", a) or not a.strip()]
        assert not hashes, f"{name}: images without alt text: {hashes}"
        captions = re.findall(r'<span class="caption-number">Fig\. (\d+)', main)
        assert len(captions) >= len(re.findall(r"<figure", main)) > 0, name   # every figure numbered


def test_built_book_chapters_open_with_their_finding(built_book_html):
    import re
    for name in ("baseline", "lottery", "sel95", "warmup", "sparsity", "ablations", "sweep", "equal_compute", "applications",
                 "analysis", "claims"):
        main = (built_book_html / f"{name}.html").read_text()
        main = main[main.index("<main"):]
        text = re.sub(r"<[^>]+>", " ", main)
        first_screen = text[:3000]
        assert "Finding." in first_screen, name
        if name != "claims":  # the ledger's finding is its verdict counts
            assert "[" in first_screen.split("Finding.", 1)[1][:1500], f"{name}: no interval in the finding"


def test_built_book_table_captions_stay_within_the_visible_column(built_book_html):
    """A table wider than the text column scrolls sideways; its caption must still wrap within what is visible."""
    js = """() => [...document.querySelectorAll('div.cell_output .output.text_html')].map(d => {
        const t = d.querySelector('table'), c = d.querySelector('caption');
        return c ? [d.clientWidth, t.scrollWidth, c.getBoundingClientRect().width] : null; }).filter(x => x)"""
    wide, offending = 0, {}
    with browser_page() as page:
        for name in CHAPTER_PAGES + ("claims", "status"):
            page.goto((built_book_html / f"{name}.html").resolve().as_uri(), wait_until="load")
            boxes = page.evaluate(js)
            wide += sum(1 for visible, table, _ in boxes if table > visible + 1)
            bad = [b for b in boxes if b[2] > b[0] + 1]
            if bad:
                offending[name] = bad
    assert wide > 0  # the check meets at least one table wider than its column
    assert not offending, f"captions wider than their visible block [visible, table, caption]: {offending}"


def test_built_book_renders_math_and_interactive_figures_offline(built_book_html):
    from browser_util import open_offline
    seen = open_offline(built_book_html / "analysis.html", ".js-plotly-plot .scatterlayer", count=3)
    assert seen["aborted"] == [] and all(u.startswith("file://") for u in seen["requested"]), seen["aborted"]
    assert len(seen["plots"]) == 3 and all(p["svg"] >= 1 for p in seen["plots"])
    from urllib.parse import urlparse
    assert sum(1 for u in seen["requested"] if urlparse(u).path.endswith("/_static/plotly.min.js")) == 1
    seen = open_offline(built_book_html / "method.html", "mjx-container", count=20)
    assert seen["aborted"] == [] and "\\frac" not in seen["text"] and "\\gamma" not in seen["text"]
    seen = open_offline(built_book_html / "sel95.html", ".js-plotly-plot .scatterlayer", count=1)
    assert seen["aborted"] == [] and seen["links"] and all(u.startswith("file://") for u in seen["links"])


def test_built_book_first_screen_holds_the_verdict_table(built_book_html):
    """At 1400x900 the first page's first screen shows the abstract and the verdict table (its header row, with the
    verdict and 'decidable here' columns inside the window)."""
    js = """() => { const t = document.querySelector('main table'); if (!t) return null;
        const head = [...t.querySelectorAll('thead th')].map(h => [h.textContent.trim(), h.getBoundingClientRect().right,
                                                                   h.getBoundingClientRect().top]);
        return {top: t.getBoundingClientRect().top, head}; }"""
    with browser_page(1400, 900) as page:
        page.goto((built_book_html / "intro.html").resolve().as_uri(), wait_until="load")
        found = page.evaluate(js)
    assert found is not None, "the first page shows no table"
    head = {name: (right, top) for name, right, top in found["head"]}
    assert {"claim", "verdict", "decidable here"} <= set(head), head
    for name in ("claim", "verdict", "decidable here"):
        right, top = head[name]
        assert right <= 1400 and top < 900, f"{name} is off the first screen: right {right}, top {top}"


def test_built_book_key_columns_need_no_sideways_scroll(built_book_html):
    """On every page at 1,400 px, each table's first two columns lie inside the visible part of its output block,
    and the ledger's verdict table fits whole."""
    js = """() => [...document.querySelectorAll('main table')].map(t => {
        const box = (t.closest('.output') || t.parentElement).getBoundingClientRect();
        const cells = [...(t.querySelector('tr:last-child') || t).children].slice(0, 2);
        return [box.right, Math.max(0, ...cells.map(c => c.getBoundingClientRect().right)),
                t.getBoundingClientRect().right, (t.caption ? t.caption.textContent : '').slice(0, 60)]; })"""
    offending = {}
    pages = sorted(p for p in built_book_html.glob("*.html") if p.stem not in ("genindex", "search", "index"))
    with browser_page(1400, 900) as page:
        for html in pages:
            page.goto(html.resolve().as_uri(), wait_until="load")
            boxes = page.evaluate(js)
            bad = [b for b in boxes if b[1] > b[0] + 1]
            if html.stem == "claims" and boxes:
                assert boxes[0][2] <= 1400, f"the ledger's verdict table ends at {boxes[0][2]} px"
            if bad:
                offending[html.name] = bad
    assert not offending, f"tables whose first two columns need a sideways scroll: {offending}"

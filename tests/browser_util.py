"""Check built HTML pages in a real headless browser: are the figures there, and did they load?

The browser is the operating system's Chromium (Debian package ``chromium``), driven through the
``playwright`` Python package with ``executable_path``; playwright's own browser download is never used.
``.ci/install-browser`` installs both.

``assert_page_images(html_file, min_images)`` opens one page, waits until every image has either loaded or
failed, and asserts that the page's main content holds at least ``min_images`` images and that every image on
the page is complete with a non-zero natural width (a broken or missing file has width 0).
"""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
"""Flags for a sandbox-free, network-quiet, GPU-free headless Chromium (CI containers run as root)."""

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")

# Waits for every <img> to settle (loaded or failed; lazy images are made eager first), then reports each one.
_IMAGES_JS = """
async (timeoutMs) => {
  const imgs = Array.from(document.images);
  imgs.forEach(img => { if (img.loading === 'lazy') img.loading = 'eager'; });
  const settle = img => (img.complete ? Promise.resolve() :
      new Promise(resolve => { img.addEventListener('load', resolve, {once: true});
                               img.addEventListener('error', resolve, {once: true}); }));
  await Promise.race([Promise.all(imgs.map(settle)), new Promise(r => setTimeout(r, timeoutMs))]);
  const main = document.querySelector('main') || document.body;
  return imgs.map(img => ({src: img.getAttribute('src') || '', complete: img.complete,
                           naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
                           inMain: main.contains(img)}));
}
"""


def chromium_path() -> str | None:
    """The system Chromium's executable (``SELCORE_CHROMIUM`` overrides), or None if there is none."""
    explicit = os.environ.get("SELCORE_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found


def browser_missing_reason() -> str | None:
    """Why the browser checks cannot run here (None when they can)."""
    if chromium_path() is None:
        return "no system Chromium (install it with .ci/install-browser, or apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright; .ci/install-browser)"
    return None


@contextmanager
def browser_page(width: int = 1280, height: int = 900):
    """A fresh page of a headless system Chromium (closed on exit)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


def page_images(html_file: str | Path, timeout_ms: int = 15000, page=None) -> list[dict]:
    """Every <img> of a built page after loading: src, complete, naturalWidth/Height, inMain."""
    url = Path(html_file).resolve().as_uri()
    if page is None:
        with browser_page() as fresh:
            return page_images(html_file, timeout_ms, fresh)
    page.goto(url, wait_until="load", timeout=timeout_ms)
    return page.evaluate(_IMAGES_JS, timeout_ms)


def assert_page_images(html_file: str | Path, min_images: int, page=None) -> list[dict]:
    """Assert that ``html_file`` shows at least ``min_images`` images in its main content and that every image
    of the page loaded (complete, naturalWidth > 0). Returns the image records."""
    html_file = Path(html_file)
    assert html_file.is_file(), f"{html_file} does not exist (was the book built?)"
    images = page_images(html_file, page=page)
    broken = [im["src"] for im in images if not (im["complete"] and im["naturalWidth"] > 0)]
    assert not broken, f"{html_file.name}: {len(broken)} image(s) failed to load: {', '.join(broken[:5])}"
    shown = [im for im in images if im["inMain"]]
    assert len(shown) >= min_images, (f"{html_file.name}: {len(shown)} image(s) in the page's content, expected "
                                      f"at least {min_images}")
    return images


def screenshot(html_file: str | Path, png: str | Path, full_page: bool = True, width: int = 1280) -> Path:
    """Render ``html_file`` in the headless browser and save a PNG screenshot (after images have settled)."""
    png = Path(png)
    with browser_page(width=width) as page:
        page_images(html_file, page=page)
        page.screenshot(path=str(png), full_page=full_page)
    return png


def open_offline(page_file: Path, wait_for: str, count: int = 1) -> dict:
    """Open a built page from disk with every non-file:// request aborted, wait until ``count`` elements match
    ``wait_for`` (and a second more for late requests such as fonts); what it requested and shows."""
    requested, aborted = [], []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            aborted.append(r.request.url)
            r.abort()

    with browser_page() as page:
        page.context.route("**/*", route)
        page.on("request", lambda req: requested.append(req.url))
        page.goto(page_file.resolve().as_uri(), wait_until="load", timeout=30000)
        page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length >= n", arg=[wait_for, count],
                               timeout=30000)
        page.wait_for_timeout(1000)
        shown = page.evaluate("""() => ({
            text: (document.querySelector('main') || document.body).innerText,
            math: Array.from(document.querySelectorAll('mjx-container')).map(m => m.getAttribute('display') || ''),
            plots: Array.from(document.querySelectorAll('.js-plotly-plot')).map(p => ({
                points: p.querySelectorAll('.scatterlayer .trace .points path.point').length,
                legend: Array.from(p.querySelectorAll('.legend .legendtext')).map(t => t.textContent),
                svg: p.querySelectorAll('svg.main-svg').length})),
            links: Array.from(document.querySelectorAll('a[href$=".csv"]')).map(a => a.href)})""")
    return {"requested": requested, "aborted": aborted, **shown}

"""Print the single-page book (`make pdf`'s _build/singlehtml) to one A4 PDF with Chromium.

The page is served on 127.0.0.1 and printed offline by Debian's chromium through Playwright, as the
browser tests drive it. Before printing: every folded block is opened (as the browser's own Print
does), MathJax has typeset every equation, every image and web font has loaded, and no code
block, table or equation is wider than the printed column (_static/print.css wraps code), or it
stops with the list of those that are.
"""

import argparse
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from browsing import (  # noqa: E402
    chromium_args,
    chromium_path,
    failed_responses,
    is_local,
    serve,
)

SINGLEHTML = ROOT / "_build" / "singlehtml"
# Where _config.yml says the PDF edition is, for `make book` to publish it (_ext/pdf_edition.py).
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
PDF = ROOT / CONFIG["sphinx"]["config"]["pdf_edition"]
# A4 with 15 mm margins: the printed column is 180 mm, 680 CSS pixels (96 per inch).
MARGIN_MM = 15
COLUMN_PX = round((210 - 2 * MARGIN_MM) / 25.4 * 96)
FOOTER = ('<div style="font-size: 8px; width: 100%; text-align: center;">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')

# Opens what a reader would unfold: the solutions (sphinx-togglebutton's own `beforeprint`
# handler, which the browser's Print fires and page.pdf() does not) and the folded code cells.
OPEN_FOLDED = """() => {
  window.dispatchEvent(new Event("beforeprint"));
  document.querySelectorAll("details").forEach((details) => { details.open = true; });
}"""

# Resolves when every image has loaded (or failed) and the web fonts are ready; returns the
# sources of the images that did not load.
IMAGES_AND_FONTS = """async () => {
  const images = [...document.images];
  images.forEach((img) => { img.loading = "eager"; });
  await Promise.all(images.map((img) => img.complete ? null
    : new Promise((done) => { img.onload = img.onerror = done; })));
  await document.fonts.ready;
  return images.filter((img) => !img.naturalWidth).map((img) => img.src);
}"""

# MathJax 3 does not break lines: a display equation wider than its box is scaled down to fit.
# Returns each one scaled, with its factor.
FIT_EQUATIONS = """() => [...document.querySelectorAll("article mjx-container[display='true']")]
  .filter((el) => el.scrollWidth > el.clientWidth + 1)
  .map((el) => {
    const fit = el.clientWidth / el.scrollWidth;
    el.style.fontSize = `${parseFloat(getComputedStyle(el).fontSize) * fit}px`;
    return `${fit.toFixed(2)}: ${el.textContent.replace(/\\s+/g, " ").trim().slice(0, 60)}`;
  })"""

# Code blocks, tables, equations and images wider than their box, that is, cut off in print.
OVERFLOWING = """() => [...document.querySelectorAll(
    "article pre, article table, article mjx-container[display='true'], article img")]
  .filter((el) => el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0
    || el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .map((el) => `${el.tagName.toLowerCase()} (${el.scrollWidth} > ${el.clientWidth} px): `
    + el.textContent.replace(/\\s+/g, " ").trim().slice(0, 80))"""


# Boxes that Chromium prints in one piece and so cuts off at the foot of a sheet: those that
# scroll or clip, and flex boxes, taller than three lines (100 px), but for display equations
# and images, which no page break can split.
UNBREAKABLE = """() => [...document.querySelectorAll("article *")]
  .filter((el) => !el.closest(".math, mjx-container, img") && el.offsetHeight > 100)
  .filter((el) => {
    const style = getComputedStyle(el);
    return [style.overflowX, style.overflowY].some((value) => value !== "visible")
      || style.display.endsWith("flex");
  })
  .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join(".")}: `
    + el.textContent.replace(/\\s+/g, " ").trim().slice(0, 60))"""


def offline_only(route):
    """Let requests to 127.0.0.1 through; abort any other (the book needs none).

    The theme loads the site's search index on every page; the single page has none (and no
    search), so that request gets an empty script rather than a 404.
    """
    url = route.request.url
    if is_local(url) and url.endswith("/searchindex.js"):
        route.fulfill(status=200, content_type="text/javascript", body="")
    elif is_local(url):
        route.continue_()
    else:
        print(f"pdf.py: aborted a request off the machine: {url}", file=sys.stderr)
        route.abort()


def prepare(page, url):
    """Load the book, open its folded blocks, wait for math, images and fonts; the problems."""
    page.goto(url, wait_until="load")
    page.emulate_media(media="print", color_scheme="light")
    page.evaluate(OPEN_FOLDED)
    page.wait_for_function("() => window.MathJax?.startup?.promise")
    page.evaluate("() => MathJax.startup.promise")
    for fitted in page.evaluate(FIT_EQUATIONS):
        print(f"pdf.py: equation scaled to fit the column by {fitted}")
    missing = page.evaluate(IMAGES_AND_FONTS)
    problems = [f"image did not load: {src}" for src in missing]
    problems += [f"wider than the printed column: {el}" for el in page.evaluate(OVERFLOWING)]
    return problems + [f"cut off at a page break: {el}" for el in page.evaluate(UNBREAKABLE)]


def print_book(source=SINGLEHTML, target=PDF):
    """Print `source`/intro.html to `target`; raises RuntimeError listing what would print badly."""
    from playwright.sync_api import sync_playwright

    if not (source / "intro.html").is_file():
        raise RuntimeError(f"{source} has no intro.html: build it with `make pdf`")
    if not chromium_path():
        raise RuntimeError("Chromium not found: install Debian's `chromium` package")
    args = chromium_args()
    with serve(source) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=args)
        context = browser.new_context(viewport={"width": COLUMN_PX, "height": 1000})
        context.route("**/*", offline_only)
        page = context.new_page()
        problems = prepare(page, server.url + "intro.html") + failed_responses(server)
        if problems:
            browser.close()
            raise RuntimeError("the book would not print whole:\n" + "\n".join(problems))
        target.parent.mkdir(parents=True, exist_ok=True)
        margin = f"{MARGIN_MM}mm"
        page.pdf(path=target, format="A4", print_background=True, outline=True, tagged=True,
                 margin={"top": margin, "bottom": margin, "left": margin, "right": margin},
                 display_header_footer=True, header_template="<span></span>",
                 footer_template=FOOTER)
        browser.close()
    return target


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SINGLEHTML, help="singlehtml build folder")
    parser.add_argument("--output", type=Path, default=PDF, help="the PDF to write")
    options = parser.parse_args()
    start = time.perf_counter()
    try:
        written = print_book(options.source, options.output)
    except RuntimeError as error:
        sys.exit(f"pdf.py: {error}")
    print(f"PDF written: {written} ({time.perf_counter() - start:.0f} s)")

"""The PDF edition (`make pdf`, scripts/pdf.py): every chapter, real fonts, no line cut off.

Reads the PDF that `make pdf` wrote (or RNN_BOOK_PDF=/path/to/book.pdf); plain `pytest` leaves
this folder out (tests/conftest.py), as `make test` does not build the PDF.
"""

import json
import os
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
PDF = Path(os.environ.get("RNN_BOOK_PDF", ROOT / CONFIG["sphinx"]["config"]["pdf_edition"]))
# scripts/pdf.py prints on A4 with 15 mm margins: no text starts right of the printed column.
RIGHT_MARGIN_PT = 15 / 25.4 * 72
# 386 pages when this was written (24 chapters and pages of back matter, folded code and
# solutions printed open). Far fewer means content is missing; far more, a broken layout.
PAGES = range(300, 600)
RADICALS = str.maketrans({"\u2ed3": "\u957f"})  # ⻓ CJK RADICAL C-SIMPLIFIED LONG: 长
CJK = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af\u3400-\u4dbf\u4e00-\u9fff]")


def toc_files():
    """The pages of the book, in _toc.yml's order, as paths without suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


def title_of(name):
    """A page's first `# ` heading, as printed (code spans lose their backticks)."""
    path = ROOT / f"{name}.ipynb"
    if path.is_file():
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = (ROOT / f"{name}.md").read_text(encoding="utf-8")
    return re.search(r"^# (.+)$", text, re.MULTILINE).group(1).replace("`", "")


def squeeze(text):
    """Text without whitespace: a line break in the PDF falls where the page's width says."""
    return re.sub(r"\s+", "", text)


def font_name(font):
    """A font's name without its subset prefix (ABCDEF+), from the font or its descriptor."""
    font = font.get_object()
    descriptor = font.get("/FontDescriptor")
    name = font.get("/BaseFont") or (descriptor and descriptor.get_object().get("/FontName"))
    return str(name or "unnamed").lstrip("/").split("+")[-1]


def embedded(font):
    """Whether a font's glyphs are in the file (a Type 3 font draws them itself)."""
    font = font.get_object()
    if font.get("/Subtype") == "/Type3":
        return True
    if font.get("/Subtype") == "/Type0":
        font = font["/DescendantFonts"][0].get_object()
    descriptor = font.get("/FontDescriptor")
    return bool(descriptor) and any(
        key in descriptor.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3"))


@pytest.fixture(scope="module")
def book():
    """The PDF read once: its reader, and per page the text and the text runs (x, font, text)."""
    from pypdf import PdfReader

    if not PDF.is_file():
        pytest.fail(f"{PDF} is missing: run `make pdf`", pytrace=False)
    reader = PdfReader(PDF)
    texts, runs = [], []
    for page in reader.pages:
        page_runs = []

        def visit(text, cm, tm, font, size, page_runs=page_runs):
            if text.strip():
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                page_runs.append((x, font_name(font) if font else "none", text))

        text = page.extract_text(visitor_text=visit)
        # Without the footer ("7 / 409"), which may fall inside a code line broken by the page.
        footer = f"{len(texts) + 1} / {len(reader.pages)}"
        texts.append(re.sub(rf"^{footer}$", "", text, count=1, flags=re.MULTILINE))
        runs.append(page_runs)
    return reader, texts, runs


def test_page_count(book):
    reader, _, _ = book
    assert len(reader.pages) in PAGES, f"{len(reader.pages)} pages, expected within {PAGES}"


def test_every_page_of_the_book_opens_at_its_title(book):
    """Each page of _toc.yml is a bookmark that leads to a sheet showing its title."""
    reader, texts, _ = book
    bookmarks = {}

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                bookmarks.setdefault(squeeze(item.title), reader.get_destination_page_number(item))

    walk(reader.outline)
    problems = []
    for name in toc_files():
        title = squeeze(title_of(name))
        pages = [page for mark, page in bookmarks.items() if mark.endswith(title)]
        if not pages:
            problems.append(f"{name}: no bookmark ends with {title_of(name)!r}")
        elif title not in squeeze(texts[pages[0]]):
            problems.append(f"{name}: page {pages[0] + 1} does not show {title_of(name)!r}")
    assert not problems, problems


def test_fonts_are_embedded_and_include_cjk_and_math(book):
    reader, _, _ = book
    fonts = {}
    for page in reader.pages:
        resources = page.get("/Resources")
        for font in (resources.get_object().get("/Font", {}) if resources else {}).values():
            fonts.setdefault(font_name(font), []).append(embedded(font))
    missing = sorted(name for name, flags in fonts.items() if not all(flags))
    assert not missing, f"fonts not embedded: {missing}"
    assert any("CJK" in name for name in fonts), f"no CJK font among {sorted(fonts)}"
    # MathJax typeset the equations with its own fonts (raw TeX would be in the text fonts).
    assert any(name.startswith("MathJax_") for name in fonts), f"no MathJax font: {sorted(fonts)}"


def test_glossary_korean_and_chinese_are_drawn_in_a_cjk_font(book):
    _, _, runs = book
    wanted = set(CJK.findall((ROOT / "glossary.md").read_text(encoding="utf-8")))
    assert wanted, "glossary.md has no Korean or Chinese characters"
    # Chromium's text layer names a glyph that Noto CJK shares between a radical and an
    # ideograph by the radical: a Kangxi radical (U+2F12 for 力, U+529B), which NFKC maps back
    # as pdftotext does, or a CJK radical supplement, mapped by Unicode's
    # EquivalentUnifiedIdeograph.txt (those the glossary needs).
    drawn = {(char, font) for page_runs in runs for _, font, text in page_runs
             for char in CJK.findall(unicodedata.normalize("NFKC", text).translate(RADICALS))}
    wrong = sorted(f"{char} ({font})" for char, font in drawn if "CJK" not in font)
    assert not wrong, f"Korean or Chinese drawn in a non-CJK font: {wrong[:20]}"
    missing = wanted - {char for char, _ in drawn}
    assert not missing, f"glossary characters not in the PDF: {sorted(missing)}"


def printed_code_lines(name):
    """Each line of a notebook's code cells and printed output, as the book shows them."""
    path = ROOT / f"{name}.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"] if path.is_file() else []
    for cell in cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] != "code" or "remove-cell" in tags:
            continue
        if "remove-input" not in tags:
            yield from "".join(cell["source"]).splitlines()
        for output in cell["outputs"] if "remove-output" not in tags else []:
            if output["output_type"] == "stream" and f"remove-{output['name']}" not in tags:
                yield from "".join(output["text"]).splitlines()


def split_by_a_page_break(line, pages):
    """Whether `line` ends one page's text and goes on in the next one's."""
    return any(line[k:] in after for before, after in zip(pages, pages[1:], strict=False)
               for k in range(1, len(line)) if before.endswith(line[:k]))


def test_no_code_line_is_cut_off(book):
    """Every line of code and of printed output is in the PDF whole, as often as the book prints
    it. Chromium leaves out the glyphs that a box clips, so a line running past the column
    (_static/print.css wraps them) would lose its end, and a block cut off at the foot of a
    sheet its last lines. Lines are counted one by one, since Chromium may write the part of a
    block that runs on to the next sheet after the text that follows it there."""
    _, texts, _ = book
    pages = [squeeze(text) for text in texts]
    text = "".join(pages)
    lines = Counter(squeeze(line) for name in toc_files() for line in printed_code_lines(name))
    cut = [f"{line[:100]} (printed {count}, found {text.count(line)})"
           for line, count in lines.items() if line and text.count(line) < count
           and not (count == text.count(line) + 1 and split_by_a_page_break(line, pages))]
    assert not cut, f"{len(cut)} code or output lines not whole in the PDF: {cut[:10]}"


def test_no_text_starts_past_the_printed_column(book):
    """No text is drawn in the right margin (a box wider than the column)."""
    reader, _, runs = book
    right = float(reader.pages[0].mediabox.width) - RIGHT_MARGIN_PT
    past = [f"page {number}: {text[:60]!r} at x = {x:.0f} pt"
            for number, page_runs in enumerate(runs, 1)
            for x, _, text in page_runs if x > right]
    assert not past, f"text past the right margin ({right:.0f} pt): {past[:20]}"


def test_figures_and_equations_are_printed(book):
    """Every figure's caption is in the text, every raster figure is an image in the file, and
    the equations are numbered as on the site."""
    reader, texts, _ = book
    page = (ROOT / "_build" / "singlehtml" / "intro.html").read_text(encoding="utf-8")
    captions = re.findall(r'<span class="caption-number">(Fig\. [\d.]+) </span>', page)
    text = squeeze("".join(texts))
    assert captions, "the single page has no figure captions"
    assert not [c for c in captions if squeeze(c) not in text], f"captions missing: {captions}"
    rasters = len(re.findall(r'<img [^>]*src="[^"]+\.png"', page))
    images = {xobject.idnum for pdf_page in reader.pages
              for xobject in pdf_page["/Resources"].get_object().get("/XObject", {}).values()
              if xobject.get_object()["/Subtype"] == "/Image"}
    assert len(images) >= rasters, f"{len(images)} images in the PDF for {rasters} PNG figures"
    assert "(1.1)" in text, "the first equation's number (1.1) is missing"

"""The bibliography lists exactly what the book cites: no citation is missing, no entry uncited."""

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
CHAPTERS = ROOT / "chapters"
PAGES = [*ROOT.glob("*.md"), *CHAPTERS.glob("*.md"), *CHAPTERS.glob("*.ipynb")]
REPOSITORY_DOCS = {"README.md", "CONTRIBUTING.md", "CHANGELOG.md", "LICENSE-text.md"}  # not pages
PAGES = [page for page in PAGES if page.name not in REPOSITORY_DOCS]


def cited():
    """Every key cited with a {cite...} role on a page of the book."""
    keys = set()
    for page in PAGES:
        for group in re.findall(r"\{cite[a-z:]*\}`([^`]+)`", page.read_text(encoding="utf-8")):
            keys.update(key.strip() for key in group.split(","))
    return keys


def listed():
    """Every entry key of references.bib."""
    return set(re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "references.bib").read_text(), re.M))


def test_every_cited_key_is_in_the_bibliography():
    missing = cited() - listed()
    assert not missing, f"cited but not in references.bib: {sorted(missing)}"


def test_every_bibliography_entry_is_cited():
    uncited = listed() - cited()
    assert not uncited, f"in references.bib but cited nowhere (drop them): {sorted(uncited)}"

"""Sphinx extension: the website links the PDF edition when `make pdf` has written it.

`make pdf` prints the book to the file named by `pdf_edition` in _config.yml (scripts/pdf.py).
An html build that finds that file copies it into the site and gives the footer its link (the
templates' `pdf_edition`); a build that does not find it links nothing, so no link is a 404.
"""

import shutil
from datetime import datetime
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)


def edition(app):
    """The PDF to publish, or None: only the html builder publishes it, and only if it exists."""
    path = Path(app.srcdir) / app.config.pdf_edition
    wanted = app.builder.name == "html" and app.config.pdf_edition
    return path if wanted and path.is_file() else None


def link(app, pagename, templatename, context, doctree):
    if pdf := edition(app):
        context["pdf_edition"] = pdf.name


def publish(app, exception):
    if exception is None and (pdf := edition(app)):
        written = datetime.fromtimestamp(pdf.stat().st_mtime).isoformat(" ", "minutes")
        logger.info(f"PDF edition: {pdf} (written {written}) copied into the site")
        shutil.copy2(pdf, Path(app.outdir) / pdf.name)


def setup(app):
    app.add_config_value("pdf_edition", "", "html", types=[str])
    app.connect("html-page-context", link)
    app.connect("build-finished", publish)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

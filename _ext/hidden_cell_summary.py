"""Sphinx extension: a folded code cell's toggle is named by its visible label ("Show code ...").

MyST-NB writes `<summary aria-label="Toggle hidden content">` around the visible "Show code cell
source" label, so the accessible name does not contain the visible text (WCAG 2.5.3; axe-core:
label-content-name-mismatch, serious). This writes the same summary without the aria-label, for the
html builder and for singlehtml (`make pdf`), where MyST-NB registers the node for html only.
"""

from html import escape

from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput


def visit_hidden_cell(self, node):
    classes = " ".join(node["classes"])
    self.body.append(f'<details class="admonition hide {classes}">\n<summary>\n')
    self.body.append(f'<p class="collapsed admonition-title">{escape(node["prompt_show"])}</p>\n')
    self.body.append(f'<p class="expanded admonition-title">{escape(node["prompt_hide"])}</p>\n')
    self.body.append("</summary>\n")


def setup(app):
    app.setup_extension("myst_nb")
    visitors = (visit_hidden_cell, depart_HideCellInput)
    app.add_node(HideCodeCellNode, override=True, html=visitors, singlehtml=visitors)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

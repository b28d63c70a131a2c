"""Sphinx extension: the references page is a list of list items, as assistive technology expects.

Docutils 0.21 writes each citation as `<div role="doc-biblioentry">` inside `<div role="list">`;
DPUB-ARIA 1.1 deprecates that role, so the list has no items (axe-core: aria-required-children,
critical). This writes `role="listitem"` instead, on top of whatever HTML translator the theme set.
"""

import types


class CitationListItemMixin:
    def visit_citation(self, node):
        if not isinstance(node.previous_sibling(), type(node)):
            self.body.append('<div role="list" class="citation-list">\n')
        self.body.append(self.starttag(node, "div", classes=[node.tagname], role="listitem"))


def use_listitem_citations(app):
    if app.builder.format != "html":
        return
    base = app.registry.get_translator_class(app.builder)
    translator = types.new_class("CitationListItemTranslator", (CitationListItemMixin, base), {})
    app.set_translator(app.builder.name, translator, override=True)


def setup(app):
    # After pydata-sphinx-theme has installed its translator (builder-inited, default priority).
    app.connect("builder-inited", use_listitem_citations, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

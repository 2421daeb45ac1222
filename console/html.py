"""HTML from the plain text people type, escaped: one rule for the pages and the feeds."""

from __future__ import annotations

from markupsafe import Markup, escape

from console.domain.text import newlines


def paragraphs(text: str) -> Markup:
    """Plain text as escaped HTML paragraphs: blank lines split paragraphs, newlines break lines."""
    blocks = [block.strip() for block in newlines(text).split("\n\n") if block.strip()]
    return Markup("").join(
        Markup("<p>{}</p>").format(Markup("<br>").join(escape(line) for line in block.split("\n")))
        for block in blocks
    )

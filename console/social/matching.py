"""Is a post found on the account the one we meant to make?

Networks hand back text in their own form: X escapes `&<>` and swaps links for t.co ones
(giving the original in `entities.urls[].expanded_url`); Mastodon returns HTML. Each is
turned back into plain text and compared with the text we sent, whitespace collapsed.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

_TAG = re.compile(r"<[^>]*>")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_PARAGRAPH = re.compile(r"</p>\s*<p[^>]*>", re.IGNORECASE)


def normalized(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def same_text(sent: str, found: str) -> bool:
    return normalized(sent) == normalized(found)


def x_text(text: str, entities: Mapping[str, Any] | None) -> str:
    """A tweet's text as it was written: t.co links expanded, entities unescaped."""
    urls: Sequence[Mapping[str, Any]] = (entities or {}).get("urls") or []
    for url in urls:
        short, expanded = url.get("url"), url.get("expanded_url")
        if short and expanded:
            text = text.replace(short, expanded)
    return html.unescape(text)


def html_text(content: str) -> str:
    """A Mastodon status's HTML as plain text (links keep their full address in hidden spans)."""
    content = _PARAGRAPH.sub("\n\n", content)
    content = _BREAK.sub("\n", content)
    return html.unescape(_TAG.sub("", content))

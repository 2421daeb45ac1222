"""Hostile text, and how to tell that an output kept it inert.

"Inert" is judged on the parsed output, the way a browser or a feed reader would read it: no
script element that is not one of ours, no event-handler attribute, no `javascript:` URL, no
element the payload tried to create (`<img src=x>`, `<svg>`), and the text itself still there,
character for character, as text. XML must stay well-formed, JSON must round-trip, and no CSV
cell may start like a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

import lxml.etree
import lxml.html

# Short enough for a display name or token name (100 characters). Its right-to-left override is
# closed (U+202C) before the line ends: one left open is refused (console.domain.text).
NAME = (
    '=1+1 "><script>alert(1)</script><img src=x onerror=alert(2)>&amp;'
    "\u202e\u200b'; DROP TABLE incidents;--\u202c"
)
# For title, location and headline (200 characters).
LINE = NAME + ' <a href="javascript:alert(3)">j</a><svg onload=alert(4)>'
# For summary, body and reason: every trick, over several lines.
TEXT = "\n".join(
    [
        "=cmd|' /C calc'!A0",
        LINE,
        "</script><script>alert(5)</script><!--",
        '<iframe src="javascript:alert(6)"></iframe> <body onload=alert(7)>',
        "&lt;b&gt;not bold&lt;/b&gt; &#60;script&#62; ]]> {{7*7}} ${7*7}",
        "Robert'); DELETE FROM update_versions WHERE ('1'='1",
    ]
)
PAYLOADS = (NAME, LINE, TEXT)
# What each payload was trying to create; none of it may appear as markup.
HOSTILE_TAGS = {"img", "svg", "iframe"}
SCRIPT_MARK = "<script>alert(1)</script>"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def words(text: str) -> str:
    return " ".join(text.split())


def check_tree(root: Any, where: str) -> str:
    """Assert a parsed HTML tree runs nothing of ours; returns its text (whitespace collapsed)."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # comments, processing instructions
        tag = element.tag.lower()
        assert tag not in HOSTILE_TAGS, f"{where}: a <{tag}> element came from the text"
        if tag == "script":
            assert (element.get("src") or "").startswith(("/static/", "static/", "../")), (
                f"{where}: an inline or foreign <script>"
            )
            assert not (element.text or "").strip(), f"{where}: script with content"
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), f"{where}: event handler {name}={value!r}"
            assert not value.strip().lower().startswith(("javascript:", "data:text")), (
                f"{where}: {name}={value!r}"
            )
    return words(" ".join(root.itertext()))


def check_html(document: str, where: str, *, shows: Iterable[str] = ()) -> str:
    root = lxml.html.document_fromstring(document) if document.strip() else None
    assert root is not None, f"{where}: empty"
    text = check_tree(root, where)
    for payload in shows:
        assert words(payload) in text, f"{where}: the text did not come through as text: {text[:500]}"
    return text


def check_fragment(fragment: str, where: str, *, shows: Iterable[str] = ()) -> str:
    wrapper = lxml.html.fragment_fromstring(fragment, create_parent="div")
    text = check_tree(wrapper, where)
    for payload in shows:
        assert words(payload) in text, f"{where}: the text did not come through as text"
    return text


def check_xml(document: bytes, where: str, *, shows: Iterable[str] = ()) -> Any:
    """Well-formed XML whose text holds the payload; embedded HTML (Atom content, RSS
    description) is parsed and checked as HTML too."""
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True)
    root = lxml.etree.fromstring(document, parser)
    texts = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local = lxml.etree.QName(element).localname
        assert local.lower() not in HOSTILE_TAGS | {"script"}, f"{where}: <{local}> element in the XML"
        content = element.text or ""
        # HTML carried as text: Atom's type="html", RSS's description (Atom's default is text).
        carries_html = element.get("type") == "html" or (local == "description" and root.tag == "rss")
        if carries_html and "<" in content:
            content = check_fragment(content, f"{where} <{local}>")
        texts.append(content)
    text = words(" ".join(texts))
    for payload in shows:
        assert words(payload) in text, f"{where}: the text did not come through as text"
    return root


def json_strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_strings(item)


def check_json(body: str, where: str, *, shows: Iterable[str] = ()) -> Any:
    data = json.loads(body)
    strings = set(json_strings(data))
    for payload in shows:
        assert payload in strings, f"{where}: {payload[:40]!r} is not a value, exactly as typed"
    return data


def check_csv(body: str, where: str, *, shows: Iterable[str] = ()) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(body)))
    cells = [cell for row in rows for cell in row]
    for cell in cells:
        assert not cell.startswith(FORMULA_STARTS), f"{where}: a cell a spreadsheet would run: {cell[:40]!r}"
    kept = {cell.removeprefix("'") for cell in cells}
    for payload in shows:
        assert any(payload in cell for cell in kept), f"{where}: {payload[:40]!r} not in any cell"
    return rows

"""How X and Mastodon count a post's length, in time linear in the text whatever its shape.

X counts by the twitter-text v3 rules (`twitter_text.parse_tweet`): after NFC normalization
(and CR LF read as one line break), each URL weighs 23, each emoji sequence 2, each other code
point 1 in the ranges U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F, U+2032–U+2037 and 2 elsewhere;
the limit is 280. `parse_tweet` itself finds URLs with a backtracking regular expression that
takes quadratic time or worse on dotted text: 2 s on `"d." * 200`, 22 s on `"d." * 800`, held
with the interpreter, so one pasted body stalled the whole server. This module finds the same
URLs by one forward scan:

- a URL starts at `http://`, `https://` or (for X) a bare domain, not right after a letter,
  digit, `@`, `$`, `#`, `_`, `-` or a `.` that follows one of those;
- its host is dot-separated labels of ASCII letters, digits, Latin accented letters, `-` and
  `_` (not first or last in a label; no `_` in the label before the top-level domain); it ends
  at the last label that is a top-level domain twitter-text knows (its own lists, or `xn--…`);
- then an optional `:port`, a path (twitter-text's path characters and one level of balanced
  parentheses, ending on one of its path-ending characters) and a query likewise;
- the whole URL, with `https://` assumed when bare, is at most 4,096 characters and its host
  IDNA-encodes; a bare domain is not a URL after `-`, `_`, `.` or `/`.

Approximations, all outside everyday text (the property test in `tests/domain/test_post_length.py`
checks equal counts on sentences, links, emoji, CJK and accents): host names in other
scripts (`日本語.jp`, `пример.рф`) are not URLs here; a `t.co` link's path is not trimmed;
an `@…/` path segment is not special. Emoji are found with twitter-text's own emoji pattern,
an alternation of literal sequences at most a few code points long, so linear too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from twitter_text.regexp.emoji import emoji as _EMOJI
from twitter_text.regexp.emoji import emoji_list as _EMOJI_LIST
from twitter_text.regexp.valid_cctld import valid_cctld
from twitter_text.regexp.valid_gtld import valid_gtld

X_URL_WEIGHT = 23
MAX_URL = 4096  # twitter-text's longest URL, counting an assumed "https://"
# Code points outside twitter-text's light ranges (0-4351, 8192-8205, 8208-8223, 8242-8247)
# weigh 2, the others 1 (its weights 200 and 100 at scale 100).
_HEAVY = re.compile("[^\\u0000-\\u10ff\\u2000-\\u200d\\u2010-\\u201f\\u2032-\\u2037]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# twitter-text's emoji pattern is tried only where an emoji can start: trying it at every
# code point (as its own search does) costs about 4 µs each.
_EMOJI_SEQUENCES = ["".join(chr(int(point, 16)) for point in item.codepoint.split()) for item in _EMOJI_LIST]
# An emoji starts with one of these code points or (a digit's keycap, a flag…) these pairs.
_EMOJI_SINGLES = frozenset(sequence for sequence in _EMOJI_SEQUENCES if len(sequence) == 1)
_EMOJI_PAIRS = frozenset(sequence[:2] for sequence in _EMOJI_SEQUENCES if len(sequence) > 1)


def _tlds(pattern: re.Pattern[str]) -> frozenset[str]:
    """The top-level domains listed in one of twitter-text's alternations."""
    body = pattern.pattern.removeprefix("(?:(?:").split(")(?=", 1)[0]
    return frozenset(tld.lower() for tld in body.split("|"))


_TLDS = _tlds(valid_gtld) | _tlds(valid_cctld)
_ACCENTS = (
    "\xc0-\xd6\xd8-\xf6\xf8-\xff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263"
    "\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
)
_LABEL = f"[A-Za-z0-9_\\-{_ACCENTS}]"
# A possible URL start, never inside a run of host characters (so each character is looked at
# a bounded number of times), then the host run, possessively: no backtracking anywhere.
_CANDIDATE = re.compile(
    rf"(?<![A-Za-z0-9@＠$#＃\ufffe\ufeff\uffff_\-{_ACCENTS}])(?<!{_LABEL}\.)"
    rf"(?P<scheme>https?://)?(?P<host>{_LABEL}++(?:\.{_LABEL}++)++)",
    re.IGNORECASE,
)
_TLD_PREFIX = re.compile(r"[A-Za-z0-9-]*")
_PORT = re.compile(r":[0-9]++")
_PATH_CHAR = re.compile(rf"[a-z\u0400-\u04ff0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_ACCENTS}]", re.IGNORECASE)
_PATH_END = re.compile(rf"[+\-a-z\u0400-\u04ff0-9=_#/{_ACCENTS}]", re.IGNORECASE)
_QUERY_CHAR = re.compile(r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]", re.IGNORECASE)
_QUERY_END = re.compile(r"[a-z0-9\-_&=#/]", re.IGNORECASE)


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def url_spans(text: str, *, bare_domains: bool = True) -> list[Span]:
    """Where the URLs in `text` are, as twitter-text finds them (see the module's notes)."""
    if "." not in text or (not bare_domains and ":" not in text):
        return []
    spans: list[Span] = []
    at = 0
    while (found := _CANDIDATE.search(text, at)) is not None:
        span = _url_at(text, found, bare_domains)
        if span is None:
            at = found.end()
        else:
            spans.append(span)
            at = span.end
    return spans


def _url_at(text: str, found: re.Match[str], bare_domains: bool) -> Span | None:
    scheme = found.group("scheme")
    if not scheme and not bare_domains:
        return None
    host_start = found.start("host")
    labels = found.group("host").split(".")
    tld_index, tld_end = _top_level(text, labels, host_start)
    if tld_index is None:
        return None
    port_end = _port_end(text, tld_end)
    end = _path_end(text, port_end)
    if not scheme and (port_end >= len(text) or text[port_end] != "/"):
        end = tld_end  # as twitter-text: a bare domain keeps its port and query only with a path
    host = text[host_start:tld_end]
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    start = found.start()
    if len(scheme or "https://") + end - start + len(ascii_host) - len(host) > MAX_URL:
        return None
    if not scheme and start > 0 and text[start - 1] in "-_./":
        return None
    return Span(start, end)


def _top_level(text: str, labels: list[str], host_start: int) -> tuple[int | None, int]:
    """The index of the last label that ends the host as a top-level domain, and where it
    ends in `text`; labels up to it must be well formed."""
    valid = 0  # labels[:valid] are well formed, as twitter-text's host names need
    while valid < len(labels) and _well_formed(labels[valid]):
        valid += 1
    starts = []
    position = host_start
    for label in labels:
        starts.append(position)
        position += len(label) + 1
    for index in range(min(valid, len(labels) - 1), 0, -1):
        if "_" in labels[index - 1]:
            continue
        tld = _TLD_PREFIX.match(labels[index])
        assert tld is not None
        name = tld.group().lower()
        end = starts[index] + len(name)
        after = text[end] if end < len(text) else ""
        punycode = name.startswith("xn--") and len(name) > 4  # matched with no lookahead
        if punycode or (name in _TLDS and after not in ("@", "+")):
            return index, end
    return None, 0


def _well_formed(label: str) -> bool:
    return bool(label) and label[0] not in "_-" and label[-1] not in "_-"


def _port_end(text: str, at: int) -> int:
    port = _PORT.match(text, at)
    return port.end() if port else at


def _path_end(text: str, at: int) -> int:
    """Where the path and query after the host end (at `at` when there are none)."""
    if at < len(text) and text[at] == "/":
        end = at + 1  # the path so far, always ending on a path-ending character (or the "/")
        scan = at + 1
        while scan < len(text):
            char = text[scan]
            if char == "(":
                close = _balanced(text, scan)
                if close is None:
                    break
                scan = end = close
                continue
            if not _PATH_CHAR.match(char):
                break
            scan += 1
            if _PATH_END.match(char):
                end = scan
        at = end
    if at < len(text) and text[at] == "?":
        query_end: int | None = None
        scan = at + 1
        while scan < len(text) and _QUERY_CHAR.match(text[scan]):
            scan += 1
            if _QUERY_END.match(text[scan - 1]):
                query_end = scan
        if query_end is not None:
            at = query_end
    return at


def _balanced(text: str, at: int) -> int | None:
    """The end of the balanced parentheses opening at `at` (one level of nesting), or None."""
    depth, scan, inside = 0, at, False
    while scan < len(text):
        char = text[scan]
        if char == "(":
            if depth == 2:
                return None
            depth += 1
            inside = False
        elif char == ")":
            if not inside:
                return None
            depth -= 1
            if depth == 0:
                return scan + 1
        elif _PATH_CHAR.match(char):
            inside = True
        else:
            return None
        scan += 1
    return None


def _plain_weight(text: str) -> int:
    """`text`'s weight with no URL or emoji in it: 1 per light code point, 2 per other."""
    return len(text) + len(_HEAVY.findall(text))


def _emoji_spans(text: str) -> dict[int, int]:
    """Where twitter-text's emoji are, start to end (as its own `finditer` finds them)."""
    spans: dict[int, int] = {}
    at = 0
    for start, char in enumerate(text):
        if start < at:
            continue
        if text[start : start + 2] in _EMOJI_PAIRS:  # maybe a sequence: the pattern decides
            found = _EMOJI.match(text, start)
            if found is not None:
                spans[start] = at = found.end()
        elif char in _EMOJI_SINGLES:  # no sequence starts here, so the pattern's last choice
            spans[start] = at = start + 1
    return spans


def x_weight(text: str) -> int:
    """The weighted length X gives `text` (twitter-text v3), in linear time."""
    text = _LINE_BREAK.sub("\n", unicodedata.normalize("NFC", text))
    urls = {span.start: span.end for span in url_spans(text)}
    emoji = _emoji_spans(text)
    weight = 0
    at = 0  # as twitter-text: an emoji or URL starting inside an earlier one is not one
    for start in sorted(urls.keys() | emoji.keys()):
        if start < at:
            continue
        weight += _plain_weight(text[at:start]) + (X_URL_WEIGHT if start in urls else 2)
        at = urls[start] if start in urls else emoji[start]
    return weight + _plain_weight(text[at:])


def mastodon_weight(text: str, *, url_weight: int) -> int:
    """Length as Mastodon counts it: each http(s) URL counts `url_weight` whatever its length,
    everything else one per code point."""
    urls = url_spans(text, bare_domains=False)
    return len(text) - sum(span.end - span.start for span in urls) + url_weight * len(urls)

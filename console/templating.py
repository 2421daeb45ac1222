"""Jinja2 templates where one file renders both a page and its fragments (named blocks)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

from jinja2 import BytecodeCache, Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.bccache import Bucket
from jinja2.runtime import Context
from jinja2_fragments.starlette import Jinja2Blocks
from markupsafe import Markup

from console import agency, i18n
from console.domain import wording
from console.domain.alerting import (
    CERTAINTIES,
    EVENT_MAX,
    FORM_HELP,
    INSTRUCTION_MAX,
    RESPONSE_TYPES,
    SEVERITIES,
    URGENCIES,
    WEA_LONG_MAX,
    WEA_SHORT_MAX,
    is_spanish,
)
from console.domain.diff import Change, word_diff
from console.domain.rumors import CLAIM_MAX, SEEN_AT_MAX
from console.domain.text import BODY_MAX, HEADLINE_MAX, LOCATION_MAX, REASON_MAX, SUMMARY_MAX, TITLE_MAX
from console.feeds.paths import (
    CAP_INDEX,
    AlternateLink,
    Target,
    alternate_links,
    incident_atom,
    incident_rss,
    language_feed_links,
    updates_atom,
    updates_rss,
)
from console.html import paragraphs
from console.i18n import own_name
from console.languages import Languages
from console.settings import Settings

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"

Templates = Jinja2Blocks


# The services' length limits by the name a console form gives the field (a translation's
# "tr-es-body" is a "body"): console.js clears a length error only once the text fits.
FIELD_LIMITS = {
    "instruction": INSTRUCTION_MAX,
    "wea_short": WEA_SHORT_MAX,
    "wea_long": WEA_LONG_MAX,
    "cap_event": EVENT_MAX,
    "headline": HEADLINE_MAX,
    "body": BODY_MAX,
    "reason": REASON_MAX,
    "title": TITLE_MAX,
    "summary": SUMMARY_MAX,
    "location": LOCATION_MAX,
    "claim": CLAIM_MAX,
    "seen_at": SEEN_AT_MAX,
    "facts": BODY_MAX,
}

# The choices of the console's "Alert details" (issue 17)
CAP_CHOICES = {
    "urgency": URGENCIES,
    "severity": SEVERITIES,
    "certainty": CERTAINTIES,
    "response_types": RESPONSE_TYPES,
}

_DIFF_TAGS = {
    Change.SAME: Markup("{}"),
    Change.REMOVED: Markup("<del>{}</del>"),
    Change.ADDED: Markup("<ins>{}</ins>"),
}
_DIFF_SIDES = {
    None: set(Change),
    "before": {Change.SAME, Change.REMOVED},
    "after": {Change.SAME, Change.ADDED},
}


def diff_html(old: str | None, new: str | None, side: Literal["before", "after"] | None = None) -> Markup:
    """A word-level diff marked with <del> and <ins>, readable without colour: interleaved, or
    one `side` of it (the old text with removed words marked, or the new with added ones)."""
    shown = _DIFF_SIDES[side]
    return Markup("").join(
        _DIFF_TAGS[s.change].format(s.text) for s in word_diff(old or "", new or "") if s.change in shown
    )


@pass_context
def translated_label(context: Context, text: str) -> str:
    """A version label in the page's language. Taking the context keeps Jinja from folding
    `"ACTIVE"|label` into a constant when it compiles the template (in whatever language)."""
    return i18n.label(text)


@dataclass(frozen=True)
class LanguageLink:
    lang: str
    name: str  # the language's name in itself ("Español")
    href: str  # this page in that language
    chooser: str  # the same, relative: this page's own query (a search, a token) with `lang` set


@dataclass(frozen=True)
class PageFeeds:
    """The feeds a live page links, in the page's language: `atom` and `rss`, its own (the
    incident's on its page, every incident's on `/`), shown on the page; `links`, the feeds of
    `alternate_links` for its <head>; `other_languages`, the page's own feeds in each other
    language of LANGUAGES (with `hreflang`)."""

    atom: str
    rss: str
    links: list[AlternateLink]
    other_languages: list[AlternateLink]


def page_feeds(languages: Languages, lang: str, incident_slug: str | None = None) -> PageFeeds:
    """The feeds of a page in `lang`: the first feeds in the primary language; in another language
    of LANGUAGES, its feeds under `/feeds/{lang}/` (the CAP index is one for every language)."""
    feed_lang = lang if lang in languages.translated else None
    own = (
        [incident_atom(incident_slug, feed_lang), incident_rss(incident_slug, feed_lang)]
        if incident_slug is not None
        else []
    )
    targets: list[Target] = [*own, updates_atom(feed_lang), updates_rss(feed_lang), CAP_INDEX]
    # The same feeds, titles and order as `alternate_links`, in the page's language.
    links = [
        replace(link, href=target.url_path, hreflang=target.lang)
        for link, target in zip(alternate_links(incident_slug), targets, strict=True)
    ]
    others = [tag for tag in languages.tags if tag != lang] if len(languages.tags) > 1 else []
    return PageFeeds(
        atom=links[0].href,
        rss=links[1].href,
        links=links,
        other_languages=language_feed_links(others, incident_slug),
    )


def lang_attr(text_lang: str | None, page_lang: str | None) -> Markup:
    """` lang="…"` for text in `text_lang` on a page whose own words are in `page_lang` (its
    `ui_lang`); nothing when they agree or either is not known."""
    if not text_lang or not page_lang or text_lang == page_lang:
        return Markup("")
    return Markup(' lang="{}"').format(text_lang)


def page_context(
    settings: Settings, lang: str, *, path: str | None = None, query: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """What every public page rendered in `lang` needs: its language, the primary one, and
    (for a whole page at `path`, asked with `query`) the same page in every language of
    LANGUAGES."""
    languages = Languages(settings.languages)
    kept = {name: value for name, value in (query or {}).items() if name != "lang"}
    links = (
        [
            LanguageLink(
                tag,
                own_name(tag),
                f"{settings.public_url}{path}?{urlencode({'lang': tag})}",
                f"?{urlencode({**kept, 'lang': tag})}",
            )
            for tag in languages.tags
        ]
        if path is not None and len(languages.tags) > 1
        else []
    )
    return {
        "settings": settings,
        "lang": lang,
        # The language of the page's own words: a text in any other one is marked with its own.
        "ui_lang": i18n.interface_language(lang),
        "primary_lang": languages.primary,
        "language_links": links,
        "default_href": f"{settings.public_url}{path}" if path is not None else None,
    }


def is_date_value(text: str) -> bool:
    """A valid `<input type="date">` value (YYYY-MM-DD, a real day): browsers drop any other,
    so a form echoes only these back."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


class CompiledTemplates(BytecodeCache):
    """Templates compiled once per process, shared by every environment built here (the app,
    the worker's channels, the archive snapshot, each test's app). A template whose source
    changed compiles again: Jinja checks the source's checksum on every load."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


def make_templates(settings: Settings) -> Templates:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        bytecode_cache=COMPILED_TEMPLATES,
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # Interface strings in the language of the page being rendered (console.i18n.in_language);
    # English, the source language, wherever none is set (the console, the archive snapshot).
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext, npgettext=i18n.npgettext
    )
    zone = settings.zone

    def in_zone(moment: datetime | str | None) -> datetime | None:
        # JSON-shaped views carry ISO strings; ORM rows carry datetimes.
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        return moment.astimezone(zone) if moment else None

    def local(moment: datetime | str | None, fmt: str = "%H:%M") -> str:
        shown = in_zone(moment)
        if shown is None:
            return ""
        if "%b" in fmt and i18n.active_language() is not None:  # month names in the page's language
            fmt = fmt.replace("%b", i18n.format_local(shown, "MMM").replace("%", "%%"))
        return shown.strftime(fmt)

    def iso_local(moment: datetime | str | None) -> str:
        # HTML's valid date-time strings allow at most 3 fractional digits (milliseconds).
        shown = in_zone(moment)
        if shown is None:
            return ""
        return shown.isoformat(timespec="milliseconds" if shown.microsecond else "seconds")

    env.filters["local"] = local
    env.tests["date_value"] = is_date_value
    env.filters["paragraphs"] = paragraphs
    env.globals["diff_html"] = diff_html
    env.globals["alternate_links"] = alternate_links
    env.globals["language_feed_links"] = language_feed_links
    languages = Languages(settings.languages)
    env.globals["page_feeds"] = lambda lang, incident_slug=None: page_feeds(languages, lang, incident_slug)
    env.filters["iso_local"] = iso_local
    env.globals["labels"] = wording.labels
    env.filters["label"] = translated_label
    env.globals["language_name"] = i18n.language_name
    env.globals["interface_language"] = i18n.interface_language
    env.globals["lang_attr"] = lang_attr
    env.globals["verdict_word"] = i18n.verdict_word
    env.globals["settings"] = settings
    env.globals["field_limits"] = FIELD_LIMITS
    env.globals["cap_choices"] = CAP_CHOICES
    env.globals["alerting_help"] = FORM_HELP
    env.globals["is_spanish"] = is_spanish
    env.globals["emergency_notice"] = lambda: agency.emergency_notice(settings)
    env.globals["emergency_notice_translated"] = agency.notice_is_translated(settings)
    env.globals["agency_logo_path"] = agency.LOGO_PATH
    return Jinja2Blocks(env=env)

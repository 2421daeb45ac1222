"""Interface strings of the public pages in the reader's language (gettext catalogs, Babel).

The catalogs are `console/locale/{lang}/LC_MESSAGES/messages.po`, compiled in memory when
first used: nothing generated is committed, and a fresh clone works as it is (`make
messages` extracts new strings and updates the catalogs; see the README).

Which language a template renders in is never global: `in_language(lang)` sets it for the
current thread or task (a context variable) around one rendering, and the `_`/`gettext`
the templates call read it. Without one, templates render in English (the source strings).
"""

from __future__ import annotations

import contextlib
import functools
import gettext as gettext_module
import io
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"  # the msgids are English

_active: ContextVar[str | None] = ContextVar("console_i18n_language", default=None)


def N_(message: str) -> str:  # noqa: N802 (the gettext convention for "mark, translate later")
    """Mark a string for extraction where it is defined; it is translated where it is shown."""
    return message


# Strings that reach templates as values rather than literals: extracted from here.
LABELS = {
    "PRELIMINARY": N_("PRELIMINARY"),
    "CORRECTION": N_("CORRECTION"),
    "CONFIRMED": N_("CONFIRMED"),
    "CORRECTED": N_("CORRECTED"),
    "RETRACTED": N_("RETRACTED"),
    "EXERCISE": N_("EXERCISE"),
    "TEST": N_("TEST"),
    "ACTIVE": N_("ACTIVE"),
    "RESOLVED": N_("RESOLVED"),
    "REOPENED": N_("REOPENED"),
}
# Rumor control verdicts (issue 19), as `verdict_word` shows them.
VERDICTS = {"false": N_("FALSE"), "unconfirmed": N_("UNCONFIRMED"), "true": N_("TRUE")}


def verdict_word(verdict: str) -> str:
    return gettext(VERDICTS.get(verdict, verdict))


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / lang.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


def available_catalogs() -> list[str]:
    """Languages with a catalog (English, the source language, needs none but has one)."""
    return sorted(
        path.parent.parent.name.replace("_", "-") for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
    )


def compile_catalog(path: Path) -> Translations:
    """A .po file compiled in memory; fuzzy entries are left out, as `pybabel compile` does."""
    with path.open("rb") as po:
        catalog = read_po(po)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


@functools.cache
def translations(lang: str | None) -> gettext_module.NullTranslations:
    """The catalog of `lang` (or of its language without region), else the source strings."""
    for candidate in (lang, lang.split("-")[0] if lang else None):
        if candidate and candidate != SOURCE_LANGUAGE and catalog_path(candidate).is_file():
            return compile_catalog(catalog_path(candidate))
    return NullTranslations()


def interface_language(lang: str | None) -> str:
    """The language a page in `lang` speaks in its own words (headings, buttons, dates, names of
    languages): `lang` where a catalog translates it, else the source language, English. A
    page's `lang` attribute says this; text in another language (a translation shown on an
    English interface) carries its own."""
    if lang and isinstance(translations(lang), Translations):
        return lang
    return SOURCE_LANGUAGE


def active_language() -> str | None:
    return _active.get()


@contextlib.contextmanager
def in_language(lang: str | None) -> Iterator[None]:
    """Render in `lang` inside the block (None: English source strings)."""
    token = _active.set(lang)
    try:
        yield
    finally:
        _active.reset(token)


def gettext(message: str) -> str:
    return translations(_active.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return translations(_active.get()).ngettext(singular, plural, count)


def pgettext(context: str, message: str) -> str:
    return translations(_active.get()).pgettext(context, message)


def npgettext(context: str, singular: str, plural: str, count: int) -> str:
    return translations(_active.get()).npgettext(context, singular, plural, count)


def label(text: str) -> str:
    """A version label (PRELIMINARY, CORRECTION…) in the active language."""
    return gettext(LABELS.get(text, text))


@functools.cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang, sep="-")


def format_local(moment: datetime, pattern: str) -> str:
    """`moment` with a CLDR pattern in the active language (e.g. "d MMM" → "21 nov")."""
    return format_datetime(
        moment, pattern, tzinfo=moment.tzinfo, locale=_locale(interface_language(_active.get()))
    )


def language_name(tag: str) -> str:
    """The name of language `tag` in the active language ("inglés" on a Spanish page)."""
    name = _locale(tag).get_display_name(_locale(interface_language(_active.get())))
    return name or tag


def own_name(tag: str) -> str:
    """The language's name in itself, as a language chooser shows it ("español")."""
    name = _locale(tag).get_display_name(_locale(tag))
    return (name[:1].upper() + name[1:]) if name else tag

"""Language tags: one spelling for every tag the console stores, compares or sends.

Tags are BCP 47 in their usual case (`en`, `es`, `pt-BR`, `zh-Hant`), checked against the
languages Babel (CLDR) knows. LANGUAGES, `?lang=`, the API's `lang` and stored translations
all go through `canonical_language`, so `ES`, `es` and `es_es`-style spellings never differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from babel import Locale, UnknownLocaleError

# A BCP 47 tag's shape (not whether it is a known language: see `canonical_language`).
LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
LANGUAGE_TAG_MAX = 35  # BCP 47 recommends supporting at least 35 characters


class UnknownLanguage(ValueError):
    """Not a language tag, or one Babel does not know."""


def canonical_language(tag: str) -> str:
    """`tag` in canonical form, or UnknownLanguage saying why not."""
    text = tag.strip().replace("_", "-")  # pt_BR, as locales are often spelled, is pt-BR
    if len(text) > LANGUAGE_TAG_MAX or not LANGUAGE_TAG.fullmatch(text):
        raise UnknownLanguage(f"{tag!r} is not a language tag such as en, es or pt-BR")
    try:
        locale = Locale.parse(text, sep="-")
    except (UnknownLocaleError, ValueError) as exc:
        raise UnknownLanguage(f"{tag!r} is not a language the console knows") from exc
    parts = (locale.language, locale.script, locale.territory, locale.variant)
    return "-".join(part for part in parts if part)


@dataclass(frozen=True)
class Languages:
    """LANGUAGES: the primary language of every update first, then the languages it may be
    translated into."""

    tags: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.tags:
            raise ValueError("at least the primary language is needed")

    @property
    def primary(self) -> str:
        return self.tags[0]

    @property
    def translated(self) -> tuple[str, ...]:
        """The languages other than the primary one, in LANGUAGES order."""
        return self.tags[1:]

    def find(self, tag: str) -> str | None:
        """The configured spelling of `tag` (`ES`, `es` → `es`), or None if it is not configured."""
        try:
            canonical = canonical_language(tag)
        except UnknownLanguage:
            return None
        return canonical if canonical in self.tags else None

    def translation_language(self, tag: str | None, errors: dict[str, str], field: str) -> str | None:
        """Check `tag` as the language of a new translation; problems go into `errors`."""
        if tag is None or not tag.strip():
            errors[field] = "is required"
            return None
        found = self.find(tag)
        if found is None:
            errors[field] = (
                f"{tag.strip()[:40]!r} is not one of the languages updates are translated into "
                f"({', '.join(self.translated) or 'none: LANGUAGES names only the primary language'})"
            )
            return None
        if found == self.primary:
            errors[field] = f"{found} is the primary language: the update's own text is in {found}"
            return None
        return found

"""Every feed file: its public URL path, its place under FEEDS_DIR and its media type.

FEEDS_DIR mirrors the URL paths (`/feeds/updates.atom` is `FEEDS_DIR/feeds/updates.atom`),
so a web server in front can serve the directory as its document root for these paths.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from console.i18n import N_, own_name
from console.languages import LANGUAGE_TAG

ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
CAP_TYPE = "application/cap+xml"
# What incidents.slug can hold (see domain.incidents.slugify): also keeps paths inside FEEDS_DIR.
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SLUG_MAX = 80  # as the incidents table holds them; a longer name is no file (nor a valid path)


def is_slug(value: str) -> bool:
    """A slug the console could have made."""
    return len(value) <= SLUG_MAX and SLUG.fullmatch(value) is not None


class Kind(enum.Enum):
    UPDATES_ATOM = "updates.atom"
    UPDATES_RSS = "updates.rss"
    CAP_INDEX = "cap.atom"
    INCIDENT_ATOM = "feed.atom"
    INCIDENT_RSS = "feed.rss"
    CAP_MESSAGE = "cap"


MEDIA_TYPES = {
    Kind.UPDATES_ATOM: ATOM_TYPE,
    Kind.UPDATES_RSS: RSS_TYPE,
    Kind.CAP_INDEX: ATOM_TYPE,
    Kind.INCIDENT_ATOM: ATOM_TYPE,
    Kind.INCIDENT_RSS: RSS_TYPE,
    Kind.CAP_MESSAGE: CAP_TYPE,
}


# The feeds that exist once per language (CAP messages carry every language in one file).
LANGUAGE_KINDS = frozenset({Kind.UPDATES_ATOM, Kind.UPDATES_RSS, Kind.INCIDENT_ATOM, Kind.INCIDENT_RSS})


@dataclass(frozen=True)
class Target:
    """One feed file. Incident feeds name a slug; a CAP message also an update and version.
    An Atom or RSS feed with a `lang` is that feed in one of LANGUAGES, under /feeds/{lang}/.
    A CAP message with a `revision` n is its version re-sent with the n-th translation added
    after it was published (see `console.feeds.cap_history`)."""

    kind: Kind
    slug: str | None = None
    seq: int | None = None
    version: int | None = None
    lang: str | None = None
    revision: int | None = None

    def __post_init__(self) -> None:
        per_incident = self.kind in (Kind.INCIDENT_ATOM, Kind.INCIDENT_RSS, Kind.CAP_MESSAGE)
        if per_incident != (self.slug is not None) or (self.slug is not None and not is_slug(self.slug)):
            raise ValueError(
                f"{self.kind.name} needs {'a valid' if per_incident else 'no'} slug: {self.slug!r}"
            )
        if (self.kind is Kind.CAP_MESSAGE) != (self.seq is not None and self.version is not None):
            raise ValueError("a CAP message, and only a CAP message, names an update and a version")
        if self.revision is not None and (self.kind is not Kind.CAP_MESSAGE or self.revision < 1):
            raise ValueError(f"{self.kind.name} has no revision {self.revision!r}")
        if self.lang is not None and (
            self.kind not in LANGUAGE_KINDS or not LANGUAGE_TAG.fullmatch(self.lang)
        ):
            raise ValueError(f"{self.kind.name} has no language version {self.lang!r}")

    @property
    def url_path(self) -> str:
        if self.lang is not None:
            path = f"/feeds/{self.lang}"
            if self.slug is not None:
                path += f"/incidents/{self.slug}"
            return f"{path}/{self.kind.value}"
        if self.slug is None:
            return f"/feeds/{self.kind.value}"
        if self.kind is Kind.CAP_MESSAGE:
            revision = f"-r{self.revision}" if self.revision is not None else ""
            return f"/incidents/{self.slug}/cap/{self.seq}-{self.version}{revision}.xml"
        return f"/incidents/{self.slug}/{self.kind.value}"

    def file_in(self, directory: Path) -> Path:
        return directory / self.url_path.lstrip("/")

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.kind]


UPDATES_ATOM = Target(Kind.UPDATES_ATOM)
UPDATES_RSS = Target(Kind.UPDATES_RSS)
CAP_INDEX = Target(Kind.CAP_INDEX)


def incident_atom(slug: str, lang: str | None = None) -> Target:
    return Target(Kind.INCIDENT_ATOM, slug, lang=lang)


def incident_rss(slug: str, lang: str | None = None) -> Target:
    return Target(Kind.INCIDENT_RSS, slug, lang=lang)


def updates_atom(lang: str | None = None) -> Target:
    return Target(Kind.UPDATES_ATOM, lang=lang)


def updates_rss(lang: str | None = None) -> Target:
    return Target(Kind.UPDATES_RSS, lang=lang)


def cap_message(slug: str, seq: int, version: int, revision: int | None = None) -> Target:
    return Target(Kind.CAP_MESSAGE, slug, seq, version, revision=revision)


@dataclass(frozen=True)
class AlternateLink:
    """A `<link rel="alternate">` for a page's `<head>`."""

    href: str
    type: str
    title: str
    hreflang: str | None = None


def alternate_links(incident_slug: str | None = None) -> list[AlternateLink]:
    """The feeds a page advertises: an incident page its own feeds, every page the site's (their
    titles in English, marked for a page to translate)."""
    links = []
    if incident_slug is not None:
        links += [
            AlternateLink(incident_atom(incident_slug).url_path, ATOM_TYPE, N_("This incident (Atom)")),
            AlternateLink(incident_rss(incident_slug).url_path, RSS_TYPE, N_("This incident (RSS)")),
        ]
    return [
        *links,
        AlternateLink(UPDATES_ATOM.url_path, ATOM_TYPE, N_("All incident updates (Atom)")),
        AlternateLink(UPDATES_RSS.url_path, RSS_TYPE, N_("All incident updates (RSS)")),
        AlternateLink(CAP_INDEX.url_path, ATOM_TYPE, N_("CAP alerts (Atom index)")),
    ]


def language_feed_links(languages: Sequence[str], incident_slug: str | None = None) -> list[AlternateLink]:
    """The feeds in each of LANGUAGES (`hreflang` set), for a page's `<head>` or a language menu:
    an incident page's own feeds first when `incident_slug` is given, then the site's."""
    links = []
    for lang in languages:
        name = own_name(lang)
        if incident_slug is not None:
            links += [
                AlternateLink(incident_atom(incident_slug, lang).url_path, ATOM_TYPE, f"{name}: Atom", lang),
                AlternateLink(incident_rss(incident_slug, lang).url_path, RSS_TYPE, f"{name}: RSS", lang),
            ]
        else:
            links += [
                AlternateLink(updates_atom(lang).url_path, ATOM_TYPE, f"{name}: Atom", lang),
                AlternateLink(updates_rss(lang).url_path, RSS_TYPE, f"{name}: RSS", lang),
            ]
    return links

"""Every feed file: its public URL path, its place under FEEDS_DIR and its media type.

FEEDS_DIR mirrors the URL paths (`/feeds/updates.atom` is `FEEDS_DIR/feeds/updates.atom`),
so a web server in front can serve the directory as its document root for these paths.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from pathlib import Path

ATOM_TYPE = "application/atom+xml"
RSS_TYPE = "application/rss+xml"
CAP_TYPE = "application/cap+xml"
# What incidents.slug can hold (see domain.incidents.slugify): also keeps paths inside FEEDS_DIR.
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


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


@dataclass(frozen=True)
class Target:
    """One feed file. Incident feeds name a slug; a CAP message also an update and version."""

    kind: Kind
    slug: str | None = None
    seq: int | None = None
    version: int | None = None

    def __post_init__(self) -> None:
        per_incident = self.kind in (Kind.INCIDENT_ATOM, Kind.INCIDENT_RSS, Kind.CAP_MESSAGE)
        if per_incident != (self.slug is not None) or (
            self.slug is not None and not SLUG.fullmatch(self.slug)
        ):
            raise ValueError(
                f"{self.kind.name} needs {'a valid' if per_incident else 'no'} slug: {self.slug!r}"
            )
        if (self.kind is Kind.CAP_MESSAGE) != (self.seq is not None and self.version is not None):
            raise ValueError("a CAP message, and only a CAP message, names an update and a version")

    @property
    def url_path(self) -> str:
        if self.slug is None:
            return f"/feeds/{self.kind.value}"
        if self.kind is Kind.CAP_MESSAGE:
            return f"/incidents/{self.slug}/cap/{self.seq}-{self.version}.xml"
        return f"/incidents/{self.slug}/{self.kind.value}"

    def file_in(self, directory: Path) -> Path:
        return directory / self.url_path.lstrip("/")

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.kind]


UPDATES_ATOM = Target(Kind.UPDATES_ATOM)
UPDATES_RSS = Target(Kind.UPDATES_RSS)
CAP_INDEX = Target(Kind.CAP_INDEX)


def incident_atom(slug: str) -> Target:
    return Target(Kind.INCIDENT_ATOM, slug)


def incident_rss(slug: str) -> Target:
    return Target(Kind.INCIDENT_RSS, slug)


def cap_message(slug: str, seq: int, version: int) -> Target:
    return Target(Kind.CAP_MESSAGE, slug, seq, version)


@dataclass(frozen=True)
class AlternateLink:
    """A `<link rel="alternate">` for a page's `<head>`."""

    href: str
    type: str
    title: str


def alternate_links(incident_slug: str | None = None) -> list[AlternateLink]:
    """The feeds a page advertises: an incident page its own feeds, every page the site's."""
    links = []
    if incident_slug is not None:
        links += [
            AlternateLink(incident_atom(incident_slug).url_path, ATOM_TYPE, "This incident (Atom)"),
            AlternateLink(incident_rss(incident_slug).url_path, RSS_TYPE, "This incident (RSS)"),
        ]
    return [
        *links,
        AlternateLink(UPDATES_ATOM.url_path, ATOM_TYPE, "All incident updates (Atom)"),
        AlternateLink(UPDATES_RSS.url_path, RSS_TYPE, "All incident updates (RSS)"),
        AlternateLink(CAP_INDEX.url_path, ATOM_TYPE, "CAP alerts (Atom index)"),
    ]

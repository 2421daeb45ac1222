""" "Is this real?": whether a text (or a link) someone pasted was published by the agency.

A text matches a version or translation when they read the same once whitespace, case,
typographic variants (NFKC), links and label prefixes (PRELIMINARY:, CORRECTION:, RUMOR
CONTROL: …) are set aside: as a body alone, or headline and body together. Close but not
equal texts are near matches, shown as such. The work is bounded for any input: the text is
cut to `TEXT_MAX` characters, candidates come from the archive's full-text index and the
newest publications (at most `CANDIDATES_MAX` texts), and comparing stops at `BUDGET_SECONDS`.
Nothing pasted is stored: this module only reads.
"""

from __future__ import annotations

import difflib
import re
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.domain import search
from console.domain.rows import newest_version
from console.domain.versions import newest_first, versions_with_incident
from console.models import (
    Delivery,
    Incident,
    OutboxEvent,
    RumorTranslation,
    RumorVersion,
    Translation,
    Update,
    UpdateVersion,
    VersionKind,
)

TEXT_MAX = 6000
CANDIDATES_MAX = 2000
RECENT_VERSIONS = 500
SEARCH_INCIDENTS = 50
SEARCH_WORDS = 8
BUDGET_SECONDS = 0.5
NEAR_RATIO = 0.75
NEAR_SHOWN = 3

# Labels the console puts first on every channel, in the languages with a catalog, and words
# people put in front when they forward something; dropped wherever they lead the text.
LABEL_WORDS = (
    "preliminary", "correction", "corrected", "confirmed", "retracted", "exercise", "test", "update",
    "rumor control", "rumour control", "false", "unconfirmed", "true", "breaking",
    "preliminar", "corrección", "correccion", "confirmado", "retirado", "simulacro", "prueba",
    "actualización", "control de rumores", "falso", "sin confirmar", "verdadero",
)  # fmt: skip
_LABELS = re.compile(
    r"^\s*(?:\[?(?:" + "|".join(re.escape(word) for word in LABEL_WORDS) + r")\]?\s*[:\-–—]\s*)+",
    re.IGNORECASE,
)
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_EDGE = re.compile(r"^[\W_]+|[\W_]+$")
_WORD = re.compile(r"\w{4,}")


def normalize(text: str) -> str:
    """The text as compared: NFKC, links and leading labels dropped, one space, lower case."""
    text = unicodedata.normalize("NFKC", text[:TEXT_MAX])
    text = _URL.sub(" ", text)
    previous = None
    while previous != text:  # labels may be stacked: "CORRECTION: PRELIMINARY: …"
        previous, text = text, _LABELS.sub("", text)
    text = _SPACE.sub(" ", text).strip().casefold()
    return _EDGE.sub("", text)


@dataclass(frozen=True)
class Candidate:
    """One published text: a version (lang None) or a translation of one."""

    version: UpdateVersion
    seq: int
    incident: Incident
    translation: Translation | None = None

    @property
    def headline(self) -> str | None:
        return self.translation.headline if self.translation else self.version.headline

    @property
    def body(self) -> str:
        return self.translation.body if self.translation else self.version.body

    def forms(self) -> list[str]:
        forms = [normalize(self.body)]
        if self.headline:
            forms += [normalize(f"{self.headline} {self.body}"), normalize(f"{self.headline}\n\n{self.body}")]
        return [form for form in forms if form]


@dataclass(frozen=True)
class Match:
    candidate: Candidate
    exact: bool
    similarity: float  # 1.0 for an exact match


@dataclass(frozen=True)
class CheckResult:
    matches: list[Match]  # exact ones first, then near ones, closest first
    complete: bool  # False when the time budget ran out before every candidate was compared
    by_link: bool = False  # found through a link to the agency's page or post

    @property
    def exact(self) -> list[Match]:
        return [match for match in self.matches if match.exact]

    @property
    def near(self) -> list[Match]:
        return [match for match in self.matches if not match.exact]


def _candidates(session: Session, versions: Iterable[tuple[UpdateVersion, int, Incident]]) -> list[Candidate]:
    rows = list(versions)
    by_id = {version.id: (version, seq, incident) for version, seq, incident in rows}
    found = [Candidate(version, seq, incident) for version, seq, incident in rows]
    if by_id:
        for translation in session.scalars(
            select(Translation).where(Translation.version_id.in_(list(by_id)))
        ):
            version, seq, incident = by_id[translation.version_id]
            found.append(Candidate(version, seq, incident, translation))
    return found


def candidates_for(session: Session, normalized: str) -> list[Candidate]:
    """The texts worth comparing: those of incidents whose words the text shares (the archive's
    full-text index), and the newest publications (translations are not in that index)."""
    words = sorted(set(_WORD.findall(normalized)), key=len, reverse=True)[:SEARCH_WORDS]
    rows: dict[int, tuple[UpdateVersion, int, Incident]] = {}
    if words:
        terms = search.SearchTerms(groups=(tuple(words),))
        incidents = select(Incident.id).where(search.matches(session, terms))
        incidents = incidents.order_by(Incident.updated_at.desc()).limit(SEARCH_INCIDENTS)
        for version, seq, incident in session.execute(
            versions_with_incident().where(Incident.id.in_(incidents))
        ):
            rows[version.id] = (version, seq, incident)
    recent = newest_first(versions_with_incident(), RECENT_VERSIONS)
    for version, seq, incident in session.execute(recent):
        rows[version.id] = (version, seq, incident)
    ordered = sorted(rows.values(), key=lambda row: (row[0].published_at, row[0].id), reverse=True)
    return _candidates(session, ordered)[:CANDIDATES_MAX]


def check_text(session: Session, text: str) -> CheckResult:
    pasted = normalize(text)
    if not pasted:
        return CheckResult([], True)
    deadline = time.monotonic() + BUDGET_SECONDS
    exact: list[Match] = []
    near: list[Match] = []
    complete = True
    pasted_words = pasted.split(" ")
    for candidate in candidates_for(session, pasted):
        forms = candidate.forms()
        if pasted in forms:
            exact.append(Match(candidate, True, 1.0))
            continue
        if time.monotonic() > deadline:
            complete = False
            continue  # exact matches are cheap: keep looking for those, stop comparing closely
        best = 0.0
        for form in forms:
            matcher = difflib.SequenceMatcher(None, pasted_words, form.split(" "), autojunk=False)
            if matcher.real_quick_ratio() >= NEAR_RATIO and matcher.quick_ratio() >= NEAR_RATIO:
                best = max(best, matcher.ratio())
        if best >= NEAR_RATIO:
            near.append(Match(candidate, False, best))
    near.sort(key=lambda match: match.similarity, reverse=True)
    return CheckResult(_first_of_each(exact) + _first_of_each(near)[:NEAR_SHOWN], complete)


def _first_of_each(matches: list[Match]) -> list[Match]:
    """One match per update and language: its earliest version with the text (a confirmation or
    retraction repeats the text it confirms or withdraws; the status says what became of it)."""
    kept: dict[tuple[int, str | None], Match] = {}
    for match in matches:
        key = (
            match.candidate.version.update_id,
            match.candidate.translation.lang if match.candidate.translation else None,
        )
        earlier = kept.get(key)
        if earlier is None or (
            match.exact == earlier.exact
            and match.similarity == earlier.similarity
            and match.candidate.version.version < earlier.candidate.version.version
        ):
            kept[key] = match
    return list(kept.values())


_PAGE = re.compile(r"^/incidents/([a-z0-9][a-z0-9-]{0,79})(?:/history)?/?$")
_ANCHOR = re.compile(r"^update-(\d{1,9})(?:-v(\d{1,9}))?$")
_CAP = re.compile(r"^/incidents/([a-z0-9][a-z0-9-]{0,79})/cap/(\d{1,9})-(\d{1,9})\.xml$")
_UPDATE = re.compile(r"^/incidents/([a-z0-9][a-z0-9-]{0,79})/updates/(\d{1,9})/?$")  # an alert's link


def check_link(session: Session, link: str, public_url: str) -> CheckResult | None:
    """A link to one of the agency's update pages, CAP messages or social posts: the version it
    names. None when it is not a link at all (check it as text); no match when the agency never
    published at that address."""
    link = link.strip()
    if not re.match(r"^https?://\S+$", link) or len(link) > 2000:
        return None
    parts = urlsplit(link)
    ours = urlsplit(public_url)
    target: tuple[str, int, int | None] | None = None
    if (parts.hostname, parts.port) == (ours.hostname, ours.port):
        if page := _PAGE.match(parts.path):
            anchor = _ANCHOR.match(parts.fragment)
            if anchor:
                target = (
                    page.group(1),
                    int(anchor.group(1)),
                    int(anchor.group(2)) if anchor.group(2) else None,
                )
        elif cap := _CAP.match(parts.path):
            target = (cap.group(1), int(cap.group(2)), int(cap.group(3)))
        elif update := _UPDATE.match(parts.path):
            target = (update.group(1), int(update.group(2)), None)
    if target is not None:
        slug, seq, number = target
        query = versions_with_incident().where(Incident.slug == slug, Update.seq == seq)
        if number is not None:
            query = query.where(UpdateVersion.version == number)
        # Without a version, the update as first published: its status tells what became of it.
        rows = list(session.execute(query.order_by(UpdateVersion.version).limit(1)))
        return CheckResult([Match(Candidate(*rows[0]), True, 1.0)] if rows else [], True, by_link=True)
    # A post on a social network: the deliveries record every post the agency made.
    bare = link.split("?", 1)[0].rstrip("/")
    rows = list(
        session.execute(
            versions_with_incident()
            .join(OutboxEvent, OutboxEvent.version_id == UpdateVersion.id)
            .join(Delivery, Delivery.event_id == OutboxEvent.id)
            .where(Delivery.external_url.in_([link, bare]))
            .limit(1)
        )
    )
    return CheckResult([Match(Candidate(*rows[0]), True, 1.0)] if rows else [], True, by_link=True)


@dataclass(frozen=True)
class UpdateStatus:
    """What stands now for the update a match belongs to."""

    current: UpdateVersion
    matched_is_current: bool

    @property
    def retracted(self) -> bool:
        return self.current.kind is VersionKind.RETRACTION

    @property
    def corrected(self) -> bool:
        return not self.matched_is_current and not self.retracted

    @property
    def changed_at(self) -> datetime:
        return self.current.published_at


def status_of(session: Session, match: Match) -> UpdateStatus:
    of_update = UpdateVersion.update_id == match.candidate.version.update_id
    current = newest_version(session, UpdateVersion, of_update, UpdateVersion.version).one()
    same = current.id == match.candidate.version.id or (
        current.kind is VersionKind.CONFIRMATION
        and (current.headline, current.body)
        == (match.candidate.version.headline, match.candidate.version.body)
    )
    return UpdateStatus(current, same)


# --- rumor control ----------------------------------------------------------------------------

RUMORS_SCANNED = 1000
CLAIM_IN_TEXT_MIN = 20  # a recorded claim this long found inside a longer pasted text counts


@dataclass(frozen=True)
class RumorMatch:
    rumor_id: int
    exact: bool
    similarity: float


def check_rumors(session: Session, text: str) -> list[RumorMatch]:
    """Rumor responses whose recorded claim (or its translation) the pasted text repeats: the
    claim itself, a longer post containing it, or a close variant. The newest rumor versions
    only (`RUMORS_SCANNED`): bounded like the rest."""
    pasted = normalize(text)
    if not pasted:
        return []
    versions = list(
        session.scalars(select(RumorVersion).order_by(RumorVersion.published_at.desc()).limit(RUMORS_SCANNED))
    )
    claims: dict[int, list[str]] = {}
    for version in versions:
        claims.setdefault(version.rumor_id, []).append(normalize(version.claim))
    if versions:
        for translation in session.scalars(
            select(RumorTranslation).where(RumorTranslation.rumor_version_id.in_([v.id for v in versions]))
        ):
            claims[translation.rumor_version.rumor_id].append(normalize(translation.claim))
    found: list[RumorMatch] = []
    pasted_words = pasted.split(" ")
    for rumor_id, forms in claims.items():
        best, exact = 0.0, False
        for claim in filter(None, forms):
            if claim == pasted or (len(claim) >= CLAIM_IN_TEXT_MIN and claim in pasted):
                exact = True
                break
            matcher = difflib.SequenceMatcher(None, pasted_words, claim.split(" "), autojunk=False)
            if matcher.real_quick_ratio() >= NEAR_RATIO and matcher.quick_ratio() >= NEAR_RATIO:
                best = max(best, matcher.ratio())
        if exact or best >= NEAR_RATIO:
            found.append(RumorMatch(rumor_id, exact, 1.0 if exact else best))
    found.sort(key=lambda match: (match.exact, match.similarity), reverse=True)
    return found[:NEAR_SHOWN]

"""Full-text search of the archive: one query language, two engines.

People type what they would type into any search box: words (all must appear), "a
phrase", `-word` to exclude, `or` between alternatives. It is parsed here into quoted
phrases of words and rebuilt for each engine (FTS5 MATCH; PostgreSQL `websearch_to_tsquery`),
so no input can be a syntax error and both engines read the same words. One difference
remains: PostgreSQL drops English stop words ("the", "of") that SQLite matches. Both index
the same text with English stemming (see the `i7_archive_search` migration, whose triggers
keep the index current in the publishing transaction; translations of updates are indexed
too, by the `i13_search_translations` one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Integer, column, text
from sqlalchemy.orm import Session

from console.models import Incident

_TERM = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"\w+")
SEARCH_MAX = 200


@dataclass(frozen=True)
class SearchTerms:
    """Alternatives are OR-ed within a group; groups are AND-ed; excluded terms are NOT-ed."""

    groups: tuple[tuple[str, ...], ...] = ()
    excluded: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.groups and not self.excluded


def parse(query: str) -> SearchTerms:
    """Terms as phrases of words (`5th-ave` is the phrase "5th ave", as both engines read it)."""
    groups: list[list[str]] = []
    excluded: list[str] = []
    join_next = False
    for match in _TERM.finditer(query[:SEARCH_MAX]):
        negated, quoted, bare = match.groups()
        if bare is not None and bare.lower() == "or":
            join_next = bool(groups)
            continue
        if bare is not None and bare.startswith("-") and len(bare) > 1:
            negated, bare = "-", bare[1:]
        words = _WORD.findall(quoted if quoted is not None else bare)
        if not words:
            continue
        phrase = " ".join(words)
        if negated:
            excluded.append(phrase)
        elif join_next:
            groups[-1].append(phrase)
        else:
            groups.append([phrase])
        join_next = False
    return SearchTerms(tuple(tuple(g) for g in groups), tuple(excluded))


def _fts5_phrase(phrase: str) -> str:
    return '"' + phrase.replace('"', '""') + '"'


def fts5_expression(terms: SearchTerms) -> tuple[str | None, str | None]:
    """(what must match, what must not) as FTS5 MATCH expressions made of quoted phrases."""
    positive = " AND ".join("(" + " OR ".join(_fts5_phrase(p) for p in group) + ")" for group in terms.groups)
    negative = " OR ".join(_fts5_phrase(p) for p in terms.excluded)
    return positive or None, negative or None


def websearch_text(terms: SearchTerms) -> str:
    """The terms in PostgreSQL's websearch syntax, every term quoted: both engines then read
    exactly the same words (`5th-ave` would otherwise be a hyphenated word to PostgreSQL)."""
    groups = (" or ".join(f'"{p}"' for p in group) for group in terms.groups)
    return " ".join([*groups, *(f'-"{p}"' for p in terms.excluded)])


def matches(session: Session, terms: SearchTerms) -> ColumnElement[bool]:
    """A condition on `Incident.id`: the incident's document matches the terms."""
    if session.get_bind().dialect.name == "postgresql":
        found = text(
            "SELECT incident_id FROM archive_search "
            "WHERE (heading || content) @@ websearch_to_tsquery('english', :search_text)"
        ).bindparams(search_text=websearch_text(terms))
        return Incident.id.in_(found.columns(column("incident_id", Integer)))
    positive, negative = fts5_expression(terms)
    if positive and negative:  # one pass over the index: FTS5's own NOT
        positive, negative = f"({positive}) NOT ({negative})", None
    conditions = []
    if positive:
        hits = text("SELECT rowid FROM archive_search WHERE archive_search MATCH :search_hits").bindparams(
            search_hits=positive
        )
        conditions.append(Incident.id.in_(hits.columns(column("rowid", Integer))))
    if negative:
        misses = text(
            "SELECT rowid FROM archive_search WHERE archive_search MATCH :search_misses"
        ).bindparams(search_misses=negative)
        conditions.append(Incident.id.not_in(misses.columns(column("rowid", Integer))))
    condition: ColumnElement[bool] = conditions[0]
    for extra in conditions[1:]:
        condition = condition & extra
    return condition

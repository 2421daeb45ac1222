"""The all-clear on the feeds and CAP (issue 13.4): a RESOLVED: entry, and a valid CAP Update
with responseType AllClear that references every earlier message of the incident."""

from __future__ import annotations

import feedparser
from lxml import etree

from console.db import Database
from console.domain.outbox import Routing
from console.domain.resolution import reopen_incident, resolve_with_all_clear
from console.domain.updates import NO_TRANSLATIONS
from console.feeds.paths import cap_message, incident_atom
from console.settings import Settings
from tests.conftest import PIO
from tests.feeds.conftest import (
    CAP_NS,
    at,
    cap_text,
    correct,
    make_incident,
    publish,
    render,
    retract,
    valid_cap,
)

NS = {"cap": CAP_NS}


def test_the_all_clear_is_a_resolved_entry_and_a_cap_all_clear(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    slug = make_incident(db, routing, "Gas leak")
    publish(db, routing, slug, "Evacuate Elm St.", minute=1)
    publish(db, routing, slug, "Shelter at Station 4.", minute=2)
    with db.write() as session:
        resolve_with_all_clear(
            session,
            PIO,
            slug,
            "All clear: return home.",
            translations=NO_TRANSLATIONS,
            routing=routing,
            now=at(3),
        )
    earlier = [valid_cap(cap_schema, render(settings, db, cap_message(slug, seq, 1))) for seq in (1, 2)]
    all_clear = valid_cap(cap_schema, render(settings, db, cap_message(slug, 3, 1)))
    assert cap_text(all_clear, "cap:msgType") == "Update"
    assert cap_text(all_clear, "cap:info/cap:responseType") == "AllClear"
    assert cap_text(all_clear, "cap:info/cap:headline").startswith("RESOLVED: All clear")
    triples = [",".join(cap_text(m, f"cap:{f}") for f in ("sender", "identifier", "sent")) for m in earlier]
    assert cap_text(all_clear, "cap:references").split(" ") == triples

    feed = feedparser.parse(render(settings, db, incident_atom(slug)))
    assert feed.entries[0].title == "RESOLVED: All clear: return home."

    with db.write() as session:
        reopen_incident(session, PIO, slug, "A second leak was found.", routing=routing, now=at(4))
    feed = feedparser.parse(render(settings, db, incident_atom(slug)))
    assert feed.entries[0].title == "REOPENED: A second leak was found."


def test_a_corrected_all_clear_is_still_an_all_clear_in_cap_and_a_retracted_one_is_not(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    """A CAP Update replaces the message it references: one correcting the all-clear without
    AllClear would put the alert back in force for every reader of CAP."""
    slug = make_incident(db, routing, "Gas leak")
    publish(db, routing, slug, "Evacuate Elm St.", minute=1)
    with db.write() as session:
        all_clear = resolve_with_all_clear(
            session,
            PIO,
            slug,
            "All clear: return home.",
            translations=NO_TRANSLATIONS,
            routing=routing,
            now=at(2),
        ).all_clear.update.id
    correct(db, routing, all_clear, "All clear: return home by Oak Ave.", "Elm St stays closed", 1, minute=3)
    corrected = valid_cap(cap_schema, render(settings, db, cap_message(slug, 2, 2)))
    assert cap_text(corrected, "cap:msgType") == "Update"
    assert cap_text(corrected, "cap:info/cap:responseType") == "AllClear"
    retract(db, routing, all_clear, "Not over yet", minute=4)
    retracted = valid_cap(cap_schema, render(settings, db, cap_message(slug, 2, 3)))
    assert retracted.find("cap:info/cap:responseType", NS) is None

""" "What to do now" in the feeds and CAP (issue 13.6): it heads the incident's feeds, in each
feed's language, and is the `<instruction>` of every CAP message sent while it is pinned, as
the pinned update read then (a rebuild writes the same bytes)."""

from __future__ import annotations

from dataclasses import replace

import feedparser
import pytest
from lxml import etree

from console.db import Database
from console.domain.outbox import Routing
from console.domain.pins import pin_update
from console.domain.translation_drafts import TranslationDraft
from console.domain.translations import add_translation
from console.domain.updates import Draft, Translations, publish_update
from console.feeds.paths import cap_message, incident_atom
from console.languages import Languages
from console.settings import Settings
from tests.conftest import PIO
from tests.feeds.conftest import (
    CAP_NS,
    at,
    confirm,
    correct,
    make_incident,
    publish,
    render,
    reopen,
    resolve,
    retract,
    valid_cap,
)

NS = {"cap": CAP_NS}
LANGUAGES = Languages(("en", "es"))


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, languages=("en", "es"))


def pin(db: Database, routing: Routing, slug: str, seq: int | None, minute: int) -> None:
    with db.write() as session:
        pin_update(session, PIO, slug, seq, routing=routing, now=at(minute))


def instructions(settings: Settings, db: Database, slug: str, seq: int, version: int = 1) -> list[str]:
    root = etree.fromstring(render(settings, db, cap_message(slug, seq, version)))
    return [element.text or "" for element in root.iterfind("cap:info/cap:instruction", NS)]


def test_cap_messages_sent_while_an_update_is_pinned_carry_it_as_their_instruction(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    slug = make_incident(db, routing, "Chemical fire")
    first = publish(db, routing, slug, "Close your windows.", headline="Stay indoors", minute=1)
    publish(db, routing, slug, "Crews are on scene.", minute=2)
    pin(db, routing, slug, 1, minute=3)
    publish(db, routing, slug, "Smoke is drifting east.", minute=4)
    correct(db, routing, first, "Close windows and doors.", "Doors too", corrects=1, minute=5)
    publish(db, routing, slug, "Schools are closed.", minute=6)
    pin(db, routing, slug, None, minute=7)
    publish(db, routing, slug, "The fire is out.", minute=8)

    for seq in (1, 2, 3, 4, 5):
        valid_cap(cap_schema, render(settings, db, cap_message(slug, seq, 1)))
    assert instructions(settings, db, slug, 2) == []  # sent before the pin
    # Labelled as the live page shows the pinned update: PRELIMINARY while it is, though the
    # message carrying it is confirmed news (certainty Observed).
    assert instructions(settings, db, slug, 3) == ["PRELIMINARY: Stay indoors\n\nClose your windows."]
    # As the pinned update read when the message was sent: the correction (no headline), once published.
    assert instructions(settings, db, slug, 4) == ["PRELIMINARY: Close windows and doors."]
    assert instructions(settings, db, slug, 5) == []  # sent after the unpin
    root = valid_cap(cap_schema, render(settings, db, cap_message(slug, 1, 2)))
    first_info = root.find("cap:info", NS)
    assert first_info is not None
    info = [child.tag.split("}")[1] for child in first_info]
    assert info.index("description") + 1 == info.index("instruction")  # where CAP 1.2 puts it


def test_each_language_has_its_own_instruction_and_a_retracted_update_none(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    slug = make_incident(db, routing, "Chemical fire")
    first = publish(db, routing, slug, "Stay indoors.", minute=1)
    with db.write() as session:
        add_translation(
            session,
            PIO,
            first,
            TranslationDraft(lang="es", body="Quédese en casa."),
            version=1,
            languages=LANGUAGES,
            routing=routing,
            now=at(2),
        )
    pin(db, routing, slug, 1, minute=3)
    with db.write() as session:
        publish_update(
            session,
            PIO,
            slug,
            Draft(body="Smoke is drifting east."),
            translations=Translations(
                [TranslationDraft(lang="es", body="El humo va hacia el este.")], LANGUAGES
            ),
            routing=routing,
            now=at(4),
        )
    valid_cap(cap_schema, render(settings, db, cap_message(slug, 2, 1)))
    assert instructions(settings, db, slug, 2) == [
        "PRELIMINARY: Stay indoors.",
        "PRELIMINAR: Quédese en casa.",
    ]

    spanish = feedparser.parse(render(settings, db, incident_atom(slug, "es")))
    assert spanish.feed.subtitle.startswith("Qué hacer ahora: PRELIMINAR: Quédese en casa.")
    english = feedparser.parse(render(settings, db, incident_atom(slug)))
    assert english.feed.subtitle.startswith("What to do now: PRELIMINARY: Stay indoors.\n\n")
    # Confirmed, it says so by losing the label, as on the live page.
    confirm(db, routing, first, corrects=1, minute=5)
    english = feedparser.parse(render(settings, db, incident_atom(slug)))
    assert english.feed.subtitle.startswith("What to do now: Stay indoors.\n\n")

    retract(db, routing, first, "Wrong incident", minute=6)
    publish(db, routing, slug, "Roads reopen at noon.", minute=7)
    assert instructions(settings, db, slug, 3) == []
    assert not feedparser.parse(render(settings, db, incident_atom(slug))).feed.subtitle.startswith("What")


def test_a_message_sent_while_resolved_keeps_no_instruction_after_the_incident_is_reopened(
    settings: Settings, db: Database, routing: Routing
) -> None:
    """Resolving ends "What to do now" in CAP; the state is read as of each message's `sent`, so
    reopening (or resolving again later) does not change the bytes of a message already sent."""
    slug = make_incident(db, routing, "Chemical fire")
    first = publish(db, routing, slug, "Close your windows.", minute=1)
    pin(db, routing, slug, 1, minute=2)
    resolve(db, routing, slug, "All clear.", minute=3)
    correct(db, routing, first, "Close your windows and doors.", "Doors too", corrects=1, minute=4)
    while_resolved = {
        (seq, version): render(settings, db, cap_message(slug, seq, version))
        for seq, version in ((2, 1), (1, 2))
    }
    assert instructions(settings, db, slug, 2) == []  # the all-clear
    assert instructions(settings, db, slug, 1, version=2) == []  # a correction made while resolved
    reopen(db, routing, slug, "Flare-up", minute=5)
    assert instructions(settings, db, slug, 3) == [
        "PRELIMINARY: Close your windows and doors."
    ]  # pinned again
    resolve(db, routing, slug, "Out for good.", minute=6)
    for (seq, version), sent in while_resolved.items():
        assert render(settings, db, cap_message(slug, seq, version)) == sent, (seq, version)
    assert instructions(settings, db, slug, 3) == ["PRELIMINARY: Close your windows and doors."]

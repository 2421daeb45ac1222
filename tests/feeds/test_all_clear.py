"""The all-clear on the feeds and CAP (issue 13.4): a RESOLVED: entry, and a valid CAP Update
with responseType AllClear that references every earlier message of the incident."""

from __future__ import annotations

import feedparser
from lxml import etree
from sqlalchemy import select

from console.alerts.content import AlertSource
from console.db import Database
from console.domain import history, wording
from console.domain.events import event_from_row
from console.domain.outbox import Routing
from console.domain.previews import DraftText, preview
from console.domain.timeline import incident_cards
from console.feeds.paths import cap_message, incident_atom
from console.languages import Languages
from console.models import AlertStatus, Incident, OutboxEvent, UpdateVersion, VersionKind
from console.settings import Settings
from console.social import compose
from tests.feeds.conftest import (
    CAP_NS,
    at,
    cap_text,
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


def test_the_all_clear_is_a_resolved_entry_and_a_cap_all_clear(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    slug = make_incident(db, routing, "Gas leak")
    publish(db, routing, slug, "Evacuate Elm St.", minute=1)
    publish(db, routing, slug, "Shelter at Station 4.", minute=2)
    resolve(db, routing, slug, "All clear: return home.", minute=3)
    earlier = [valid_cap(cap_schema, render(settings, db, cap_message(slug, seq, 1))) for seq in (1, 2)]
    all_clear = valid_cap(cap_schema, render(settings, db, cap_message(slug, 3, 1)))
    assert cap_text(all_clear, "cap:msgType") == "Update"
    assert cap_text(all_clear, "cap:info/cap:responseType") == "AllClear"
    assert cap_text(all_clear, "cap:info/cap:headline").startswith("RESOLVED: All clear")
    triples = [",".join(cap_text(m, f"cap:{f}") for f in ("sender", "identifier", "sent")) for m in earlier]
    assert cap_text(all_clear, "cap:references").split(" ") == triples

    feed = feedparser.parse(render(settings, db, incident_atom(slug)))
    assert feed.entries[0].title == "RESOLVED: All clear: return home."

    reopen(db, routing, slug, "A second leak was found.", minute=4)
    feed = feedparser.parse(render(settings, db, incident_atom(slug)))
    assert feed.entries[0].title == "REOPENED: A second leak was found."


def test_a_corrected_all_clear_is_still_an_all_clear_in_cap_and_a_retracted_one_is_not(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    """A CAP Update replaces the message it references: one correcting the all-clear without
    AllClear would put the alert back in force for every reader of CAP."""
    slug = make_incident(db, routing, "Gas leak")
    publish(db, routing, slug, "Evacuate Elm St.", minute=1)
    all_clear = resolve(db, routing, slug, "All clear: return home.", minute=2)
    correct(db, routing, all_clear, "All clear: return home by Oak Ave.", "Elm St stays closed", 1, minute=3)
    corrected = valid_cap(cap_schema, render(settings, db, cap_message(slug, 2, 2)))
    assert cap_text(corrected, "cap:msgType") == "Update"
    assert cap_text(corrected, "cap:info/cap:responseType") == "AllClear"
    retract(db, routing, all_clear, "Not over yet", minute=4)
    retracted = valid_cap(cap_schema, render(settings, db, cap_message(slug, 2, 3)))
    assert retracted.find("cap:info/cap:responseType", NS) is None


def test_a_corrected_all_clear_is_labelled_resolved_on_every_channel(
    settings: Settings, db: Database, routing: Routing
) -> None:
    """As CAP keeps a corrected all-clear an AllClear, the feeds, the live page, the history,
    the social posts, the alerts and the console's preview say RESOLVED before CORRECTION; a
    retraction of the all-clear says only RETRACTED."""
    slug = make_incident(db, routing, "Gas leak")
    publish(db, routing, slug, "Evacuate Elm St.", minute=1)
    all_clear = resolve(db, routing, slug, "All clear: return home.", minute=2)
    correct(db, routing, all_clear, "All clear: return home by Oak Ave.", "Elm St stays closed", 1, minute=3)
    shown = ["RESOLVED", "CORRECTION"]

    feed = feedparser.parse(render(settings, db, incident_atom(slug)))
    assert feed.entries[0].title == "RESOLVED: CORRECTION: All clear: return home by Oak Ave."
    corrected = etree.fromstring(render(settings, db, cap_message(slug, 2, 2)))
    assert cap_text(corrected, "cap:info/cap:headline").startswith("RESOLVED: CORRECTION: All clear")
    with db.read() as session:
        incident = session.scalars(select(Incident).where(Incident.slug == slug)).one()
        assert incident_cards(session, incident)[0].labels == shown
        entries = history.incident_history(session, slug).updates[1].versions
        assert [list(entry.labels) for entry in entries] == [["RESOLVED"], shown]
        versions = list(
            session.scalars(
                select(UpdateVersion)
                .where(UpdateVersion.update_id == all_clear)
                .order_by(UpdateVersion.version)
            )
        )
        event = session.scalars(select(OutboxEvent).where(OutboxEvent.version_id == versions[1].id)).one()
        alert = AlertSource(session, event.id, Languages(("en",)), settings.public_url).content("en")
        assert alert.labels == shown
        post = compose.posts(session, event_from_row(event), settings.public_url, wording.X_RULES)[0]
        assert post.startswith("RESOLVED: CORRECTION: All clear: return home by Oak Ave.")
    shown_in_preview = preview(
        DraftText(body="All clear: return home by Ash St.", preliminary=False, reason="Oak Ave closed"),
        kind=VersionKind.CORRECTION,
        incident_slug=slug,
        alert_status=AlertStatus.ACTUAL,
        public_url=settings.public_url,
        seq=2,
        now=at(4),
        update_id=all_clear,
        earlier=versions,
    )
    assert shown_in_preview.entry_title.startswith("RESOLVED: CORRECTION: ")
    assert all(run.posts[0].text.startswith("RESOLVED: CORRECTION: ") for run in shown_in_preview.runs)
    assert shown_in_preview.card.labels == shown

    retract(db, routing, all_clear, "Not over yet", minute=5)
    feed = feedparser.parse(render(settings, db, incident_atom(slug)))
    assert feed.entries[0].title.startswith("RETRACTED: ")
    with db.read() as session:
        incident = session.scalars(select(Incident).where(Incident.slug == slug)).one()
        assert incident_cards(session, incident)[0].labels == ["RETRACTED"]

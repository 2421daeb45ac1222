"""The console's preview of a draft shows the SMS alert exactly as it is sent: "What to do"
first, the alert's own link, the messages numbered."""

from __future__ import annotations

from sqlalchemy import select

from console.alerts.content import AlertSource
from console.alerts.sms import render_alert
from console.db import Database
from console.domain import previews
from console.domain.alerting import Alerting
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.updates import Draft, correct_update, publish_update
from console.languages import Languages
from console.models import AlertStatus, UpdateVersion, VersionKind, utcnow
from console.settings import Settings
from tests.conftest import PIO

BODY = "Crews are on scene. " * 12  # several messages


def sent_and_previewed(
    settings: Settings, db: Database, routing: Routing, *, correct: bool
) -> tuple[list[str], tuple[str, ...]]:
    """The SMS messages sent for a version, and those the preview of the same draft showed."""
    instruction = "Leave the area now by Oak St and do not use elevators."
    with db.write() as session:
        incident, _ = create_incident(
            session, PIO, IncidentDraft(title="Gas leak", alert_status=AlertStatus.EXERCISE), routing=routing
        )
        slug = incident.slug
        published = publish_update(
            session,
            PIO,
            slug,
            Draft(headline="Leak at Oak St", body=BODY, preliminary=True),
            routing=routing,
            alerting=Alerting(instruction=instruction),
        )
        update_id, event_id = published.update.id, published.event.event_id
    draft = previews.DraftText(headline="Leak at Oak St", body=BODY, preliminary=True)
    alerting, earlier, kind = Alerting(instruction=instruction), [], VersionKind.ORIGINAL
    if correct:  # the correction sends no instruction: the update's own stays in force
        draft = previews.DraftText(
            headline="Leak at Elm St", body=BODY, preliminary=True, reason="Wrong street"
        )
        with db.write() as session:
            earlier = list(session.scalars(select(UpdateVersion).where(UpdateVersion.update_id == update_id)))
            session.expunge_all()
            corrected = correct_update(
                session,
                PIO,
                update_id,
                Draft(headline=draft.headline, body=BODY, preliminary=True),
                reason=draft.reason,
                corrects_version=1,
                routing=routing,
            )
            event_id = corrected.event.event_id
        alerting, kind = Alerting(), VersionKind.CORRECTION
    with db.read() as session:
        source = AlertSource(session, event_id, Languages(settings.languages), settings.public_url)
        sent = render_alert(source.content(settings.languages[0]))
    shown = previews.preview(
        draft,
        kind=kind,
        incident_slug=slug,
        alert_status=AlertStatus.EXERCISE,
        public_url=settings.public_url,
        seq=1,
        now=utcnow(),
        update_id=update_id,
        earlier=earlier,
        incident_title="Gas leak",
        alerting=alerting,
    )
    return sent, shown.sms.messages


def test_the_sms_preview_gives_what_to_do_and_equals_what_is_sent(
    settings: Settings, db: Database, routing: Routing
) -> None:
    sent, shown = sent_and_previewed(settings, db, routing, correct=False)
    assert "What to do: Leave the area now by Oak St" in shown[0]
    assert list(shown) == sent and len(sent) > 1


def test_a_corrections_sms_preview_keeps_the_instruction_in_force_as_sent(
    settings: Settings, db: Database, routing: Routing
) -> None:
    sent, shown = sent_and_previewed(settings, db, routing, correct=True)
    assert "What to do: Leave the area now by Oak St" in " ".join(shown)
    assert list(shown) == sent

"""X: threads, replies for corrections, text that fits, ids and URLs stored."""

from __future__ import annotations

from console.db import Database
from console.domain import wording
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.updates import Draft, confirm_update, correct_update, publish_update, retract_update
from console.models import DeliveryState
from console.settings import Settings
from tests.conftest import PIO
from tests.social.conftest import Lane, x_settings
from tests.social.fake_x import FakeX


def test_an_incident_becomes_one_thread_and_corrections_reply_to_what_they_correct(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    with db.write() as session:
        incident, _ = create_incident(
            session, PIO, IncidentDraft(title="Chemical spill"), routing=lane.routing
        )
        first = publish_update(session, PIO, incident.slug, Draft(body="Avoid Elm St."), routing=lane.routing)
        second = publish_update(
            session,
            PIO,
            incident.slug,
            Draft(body="Shelter in place east of Elm.", preliminary=False),
            routing=lane.routing,
        )
        correct_update(
            session,
            PIO,
            first.update.id,
            Draft(body="Avoid Oak St."),
            reason="Wrong street",
            corrects_version=1,
            routing=lane.routing,
        )
        third = publish_update(
            session, PIO, incident.slug, Draft(body="Road crews on scene."), routing=lane.routing
        )
        confirm_update(session, PIO, first.update.id, corrects_version=2, routing=lane.routing)
        retract_update(session, PIO, second.update.id, reason="Order lifted", routing=lane.routing)
        slug = incident.slug
    deliveries = lane.settle()
    assert [d.state for d in deliveries] == [DeliveryState.SENT] * 6
    tweets = fake_x_server.live_tweets()
    assert len(tweets) == 6 and fake_x_server.bad_signatures == 0
    by_id = {t.id: t for t in tweets}
    post = {n: by_id[d.external_id or ""] for n, d in enumerate(deliveries)}
    link = wording.update_url(lane.settings.public_url, slug, 1)
    assert post[0].text == f"PRELIMINARY: Avoid Elm St. {link}" and post[0].in_reply_to is None
    assert post[1].text.startswith("Shelter in place") and post[1].in_reply_to == post[0].id
    assert post[2].text == f"CORRECTION: PRELIMINARY: Avoid Oak St. (Why: Wrong street) {link}"
    assert post[2].in_reply_to == post[0].id, "a correction replies to the post it corrects"
    assert post[3].in_reply_to == post[2].id, "a new update replies to the incident's latest post"
    third_link = wording.update_url(lane.settings.public_url, slug, third.update.seq)
    assert post[3].text == f"PRELIMINARY: Road crews on scene. {third_link}"
    assert post[4].text == f"CONFIRMED: Avoid Oak St. {link}" and post[4].in_reply_to == post[2].id
    assert (
        post[5].text
        == f"RETRACTED: Order lifted {wording.update_url(lane.settings.public_url, slug, second.update.seq)}"
    )
    assert post[5].in_reply_to == post[1].id
    for delivery in deliveries:
        assert delivery.external_url == f"https://x.com/i/web/status/{delivery.external_id}"
        assert delivery.detail == by_id[delivery.external_id or ""].text
        assert delivery.note is None

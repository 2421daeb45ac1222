"""Images on X and Mastodon (issue 18): the first post of a version carries its images, each
uploaded with its alt text (X: v1.1 media upload, then metadata/create; Mastodon: media_post
with the description); a confirmation repeats none."""

from __future__ import annotations

import hashlib

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.media import MediaDraft
from console.domain.updates import Draft, confirm_update, correct_update, publish_update
from console.models import DeliveryState
from console.settings import Settings
from tests.conftest import PIO
from tests.social.conftest import Lane, mastodon_settings, x_settings
from tests.social.fake_mastodon import FakeMastodon
from tests.social.fake_x import FakeX
from tests.support.images import photo_with_gps, png
from tests.support.media import store_upload

LONG = "Evacuate Zone B now. " * 30  # a run of several posts on either network


def publish_with_images(lane: Lane, db: Database, settings: Settings) -> tuple[int, list[bytes]]:
    photo_id, photo = store_upload(db, settings, photo_with_gps(), "image/jpeg")
    map_id, map_png = store_upload(db, settings, png(), "image/png")
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Bridge fire"), routing=lane.routing)
        media = (MediaDraft(photo_id, "Smoke over the bridge"), MediaDraft(map_id, "Map of Zone B"))
        published = publish_update(
            session, PIO, incident.slug, Draft(body=LONG, media=media), routing=lane.routing
        )
        update_id = published.update.id
    with db.write() as session:
        confirm_update(session, PIO, update_id, corrects_version=1, routing=lane.routing)
    with db.write() as session:
        correct_update(
            session,
            PIO,
            update_id,
            Draft(body="Evacuate Zone B.", media=(MediaDraft(map_id, "New map of Zone B"),)),
            reason="Shorter",
            corrects_version=2,
            routing=lane.routing,
        )
    return update_id, [photo, map_png]


def test_x_receives_the_images_with_alt_text(settings: Settings, db: Database, fake_x_server: FakeX) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    _, [photo, map_png] = publish_with_images(lane, db, lane.settings)
    assert [d.state for d in lane.settle()] == [DeliveryState.SENT] * 3
    tweets = fake_x_server.live_tweets()
    first, *rest = tweets[: next(i for i, t in enumerate(tweets) if t.text.startswith("CONFIRMED"))]
    assert first.text.startswith("PRELIMINARY: Evacuate")
    assert rest, "the long text went out as a run"
    assert [(m.data, m.alt_text) for m in fake_x_server.attached(first)] == [
        (photo, "Smoke over the bridge"),
        (map_png, "Map of Zone B"),
    ]
    assert all(t.media_ids == () for t in rest), "only the first post of a run carries the images"
    confirmation = [t for t in tweets if t.text.startswith("CONFIRMED")]
    assert confirmation and confirmation[0].media_ids == ()
    [correction] = [t for t in tweets if t.text.startswith("CORRECTION")]
    assert [(m.data, m.alt_text) for m in fake_x_server.attached(correction)] == [
        (map_png, "New map of Zone B")
    ]
    assert fake_x_server.bad_signatures == 0


def test_mastodon_receives_the_images_with_their_descriptions(
    settings: Settings, db: Database, fake_mastodon_server: FakeMastodon
) -> None:
    lane = Lane(mastodon_settings(settings, fake_mastodon_server), db)
    _, [photo, map_png] = publish_with_images(lane, db, lane.settings)
    assert [d.state for d in lane.settle()] == [DeliveryState.SENT] * 3
    statuses = fake_mastodon_server.statuses
    first, *rest = statuses[: next(i for i, s in enumerate(statuses) if s.text.startswith("CONFIRMED"))]
    assert first.text.startswith("PRELIMINARY: Evacuate")
    assert rest
    attached = fake_mastodon_server.attached(first)
    assert [(m.data, m.content_type, m.description) for m in attached] == [
        (photo, "image/jpeg", "Smoke over the bridge"),
        (map_png, "image/png", "Map of Zone B"),
    ]
    assert all(s.media_ids == () for s in rest)
    [correction] = [s for s in statuses if s.text.startswith("CORRECTION")]
    assert [m.description for m in fake_mastodon_server.attached(correction)] == ["New map of Zone B"]


def test_a_failed_upload_posts_nothing_and_is_tried_again(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    photo_id, photo = store_upload(db, lane.settings, photo_with_gps(), "image/jpeg")
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Fire"), routing=lane.routing)
        publish_update(
            session,
            PIO,
            incident.slug,
            Draft(body="Smoke.", media=(MediaDraft(photo_id, "Smoke"),)),
            routing=lane.routing,
        )
    (lane.settings.media_dir / f"{hashlib.sha256(photo).hexdigest()}.jpg").unlink()  # MEDIA_DIR lost
    [delivery] = lane.settle()
    assert delivery.state is DeliveryState.FAILED and "cannot be read" in (delivery.last_error or "")
    assert fake_x_server.live_tweets() == []

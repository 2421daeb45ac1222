"""Rumor responses on X and Mastodon (issue 19): an original starts a thread of its own (never
in an incident's); a correction is labelled `CORRECTION:` before `RUMOR CONTROL:`, as an
update's correction is, and replies to the post of the version it corrects, so the agency
never seems to contradict itself with a second standalone post."""

from __future__ import annotations

from dataclasses import replace

from console.db import Database
from console.domain.outbox import Routing
from console.domain.rumors import RumorDraft, correct_rumor, publish_rumor
from console.languages import Languages
from console.models import DeliveryState
from console.settings import Settings
from tests.conftest import PIO
from tests.social.conftest import Lane, assert_whole, mastodon_settings, publish, run_of, x_settings
from tests.social.fake_mastodon import FakeMastodon
from tests.social.fake_x import FakeX

LANGUAGES = Languages(("en",))
BRIDGE = RumorDraft(
    claim="The bridge collapsed",
    verdict="False",
    facts="The Main St bridge is standing; it is closed for inspection.",
)
COLLAPSED = replace(BRIDGE, verdict="True", facts="Part of the Main St bridge collapsed at 14:10. Stay away.")
ENGINEERS = "New information from engineers"
CORRECTION_OPENING = "CORRECTION: RUMOR CONTROL: TRUE — “The bridge collapsed” "


def _publish(db: Database, routing: Routing, draft: RumorDraft, incident_slug: str | None) -> int:
    with db.write() as session:
        published = publish_rumor(
            session, PIO, draft, incident_slug=incident_slug, routing=routing, languages=LANGUAGES
        )
        return published.rumor.id


def _correct(db: Database, routing: Routing, rumor_id: int, draft: RumorDraft, corrects: int) -> None:
    with db.write() as session:
        correct_rumor(
            session,
            PIO,
            rumor_id,
            draft,
            reason=ENGINEERS,
            corrects_version=corrects,
            routing=routing,
            languages=LANGUAGES,
        )


def test_x_a_rumor_correction_is_labelled_and_replies_to_the_post_it_corrects(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    slug, _ = publish(db, lane.routing, "Avoid the Main St bridge.", title="Bridge incident")
    rumor = _publish(db, lane.routing, BRIDGE, slug)
    _correct(db, lane.routing, rumor, COLLAPSED, 1)
    other = _publish(db, lane.routing, replace(BRIDGE, claim="The river is poisoned"), slug)
    deliveries = lane.settle()
    assert [d.state for d in deliveries] == [DeliveryState.SENT] * 4
    update, false, correction, unrelated = fake_x_server.live_tweets()
    link = f"{lane.settings.public_url}/rumors#rumor-{rumor}"
    assert false.text.startswith("RUMOR CONTROL: FALSE — “The bridge collapsed”")
    assert false.in_reply_to is None, "an original rumor response stands alone, not in the incident's thread"
    assert correction.text == f"{CORRECTION_OPENING}{COLLAPSED.facts} (Why: {ENGINEERS}) {link}"
    assert correction.in_reply_to == false.id, "the correction replies to the FALSE post it corrects"
    assert unrelated.text.startswith("RUMOR CONTROL: FALSE — “The river is poisoned”")
    assert unrelated.in_reply_to is None, (
        f"another rumor response ({other}) starts its own thread, not the correction's nor the incident's"
    )
    assert update.in_reply_to is None


def test_mastodon_each_correction_replies_to_the_newest_earlier_version_posted(
    settings: Settings, db: Database, fake_mastodon_server: FakeMastodon
) -> None:
    lane = Lane(mastodon_settings(settings, fake_mastodon_server), db)
    rumor = _publish(db, lane.routing, BRIDGE, None)  # agency-wide
    lane.settle()
    _correct(db, lane.routing, rumor, COLLAPSED, 1)
    lane.settle()
    _correct(db, lane.routing, rumor, replace(COLLAPSED, verdict="Unconfirmed"), 2)
    deliveries = lane.settle()
    assert [d.state for d in deliveries] == [DeliveryState.SENT] * 3
    original, correction, second = fake_mastodon_server.statuses
    assert original.in_reply_to is None and original.text.startswith("RUMOR CONTROL: FALSE — ")
    assert correction.text.startswith(CORRECTION_OPENING) and correction.in_reply_to == original.id
    assert second.text.startswith("CORRECTION: RUMOR CONTROL: UNCONFIRMED — “The bridge collapsed” ")
    assert second.in_reply_to == correction.id, "the newest earlier version posted"


def test_x_a_correction_of_a_version_never_posted_replies_to_the_one_before_it(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    rumor = _publish(db, lane.routing, BRIDGE, None)
    lane.settle()
    fake_x_server.posts.add("403-duplicate")  # version 2's post fails for good
    _correct(db, lane.routing, rumor, COLLAPSED, 1)
    lane.settle()
    _correct(db, lane.routing, rumor, replace(COLLAPSED, facts="Two spans of the bridge fell."), 2)
    deliveries = lane.settle()
    assert [d.state for d in deliveries] == [DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.SENT]
    original, correction = fake_x_server.live_tweets()
    assert correction.text.startswith(CORRECTION_OPENING) and correction.in_reply_to == original.id


def test_x_a_long_rumor_correction_is_a_run_whose_first_post_is_labelled_and_replies_to_the_verdict(
    settings: Settings, db: Database, fake_x_server: FakeX
) -> None:
    lane = Lane(x_settings(settings, fake_x_server), db)
    long_facts = " ".join(["Engineers inspected every span of the Main St bridge this afternoon."] * 6)
    rumor = _publish(db, lane.routing, replace(BRIDGE, facts=long_facts), None)
    _correct(db, lane.routing, rumor, replace(COLLAPSED, facts=long_facts + " One span fell."), 1)
    first, correction = lane.settle()
    link = f"{lane.settings.public_url}/rumors#rumor-{rumor}"
    first_run, correction_run = run_of(db, first.id), run_of(db, correction.id)
    assert len(first_run) > 1 and len(correction_run) > 1
    texts = [text for text, _ in correction_run]
    corrected_text = f"“{BRIDGE.claim}” {long_facts} One span fell. (Why: {ENGINEERS})"
    assert_whole(texts, "CORRECTION: RUMOR CONTROL: TRUE — ", corrected_text, link)
    by_id = {t.id: t for t in fake_x_server.live_tweets()}
    posts = [by_id[post_id or ""] for _, post_id in correction_run]
    assert posts[0].in_reply_to == first_run[0][1], "to the post carrying the verdict it corrects"
    assert [p.in_reply_to for p in posts[1:]] == [p.id for p in posts[:-1]]

"""/incidents/{slug}/history and /corrections: every version in order, what changed word by
word, why, who and when, and where each version went."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from starlette.testclient import TestClient

from console.archive_views import CHANNEL_NAMES
from console.channels.registry import CHANNEL_TYPES
from console.db import Database
from console.domain import outbox
from console.domain.history import incident_history
from console.domain.outbox import Routing
from console.models import EventType, VersionKind
from console.settings import Settings
from console.web.app import create_app
from tests.archive.conftest import T0, Sample, make_incident, publish_history
from tests.archive.support import deliver_everything, element, text


def test_every_update_and_version_in_order_with_kind_reason_author_time_and_flags(
    client: TestClient, sample: Sample
) -> None:
    response = client.get(f"/incidents/{sample.slug}/history")
    assert response.status_code == 200
    page = response.text
    assert [m for m in re.findall(r'id="(update-\d+)"', page)] == ["update-1", "update-2", "update-3"]

    first = element(page, "update-1")
    assert re.findall(r'id="(update-1-v\d)"', first) == ["update-1-v1", "update-1-v2", "update-1-v3"]
    original, correction, confirmation = (text(element(first, f"update-1-v{n}")) for n in (1, 2, 3))
    assert original.startswith("Version 1: Original PRELIMINARY by Test PIO, 2026-03-01 14:01 UTC")
    assert "Evacuation Residents of Oak St are evacuated." in original
    assert correction.startswith(
        "Version 2: Correction CORRECTION PRELIMINARY by Test PIO, 2026-03-01 14:02 UTC"
    )
    assert "Reason: Wrong street named" in correction
    assert confirmation.startswith("Version 3: Confirmation CONFIRMED by Test PIO, 2026-03-01 14:03 UTC")
    assert "Text unchanged from version 2; no longer PRELIMINARY." in confirmation
    assert "Reason: Information confirmed" in confirmation
    assert '<time datetime="2026-03-01T14:02:00+00:00">2026-03-01 14:02 UTC</time>' in first

    retraction = element(page, "update-2-v2")
    assert text(retraction).startswith("Version 2: Retraction RETRACTED by Test PIO, 2026-03-01 14:05 UTC")
    assert "Reason: Issued in error" in text(retraction)
    withdrawn = element(retraction, "update-2-v2")
    assert re.search(
        r'<del class="version__withdrawn">\s*<span class="version__body diff">Shelter in place', withdrawn
    )

    third = text(element(page, "update-3-v1"))
    assert third.startswith("Version 1: Original by Test PIO") and "PRELIMINARY" not in third


def test_a_correction_shows_its_word_level_diff_marked_with_ins_and_del(
    client: TestClient, sample: Sample
) -> None:
    correction = element(client.get(f"/incidents/{sample.slug}/history").text, "update-1-v2")
    assert (
        '<div class="version__body diff">Residents of <del>Oak</del><ins>Elm</ins> St are evacuated.</div>'
        in (correction)
    )
    assert "Changes from version 1 (removed words struck through, added words underlined)" in text(correction)
    # the unchanged headline is shown as it is, with no change marks
    assert '<div class="version__headline diff">Evacuation</div>' in correction


def test_diffs_escape_markup_and_mark_a_headline_change(
    db: Database, routing: Routing, client: TestClient
) -> None:
    from console.domain.updates import Draft, correct_update, publish_update
    from tests.conftest import PIO

    slug = make_incident(db, routing, "Markup", at=T0, body="x")
    with db.write() as session:
        published = publish_update(
            session, PIO, slug, Draft(headline="Road <b>closed</b>", body="a < b"), routing=routing
        )
        correct_update(
            session,
            PIO,
            published.update.id,
            Draft(headline="Road open", body="a > b", preliminary=False),
            reason="Reopened",
            corrects_version=1,
            routing=routing,
        )
    version = element(client.get(f"/incidents/{slug}/history").text, "update-2-v2")
    assert "Road <del>&lt;b&gt;closed&lt;/b&gt;</del><ins>open</ins>" in version
    assert "a <del>&lt;</del><ins>&gt;</ins> b" in version
    assert "no longer PRELIMINARY" in text(version)
    assert "<b>" not in version


def test_each_version_lists_the_channels_it_reached_when_and_the_post_link(
    settings: Settings, db: Database, client: TestClient
) -> None:
    # The two built-in channels deliver for real; a social channel's outcomes are recorded
    # through the outbox as its adapter would record them.
    social = Routing(
        {
            **{"live": frozenset(EventType), "archive": frozenset(EventType)},
            "x": frozenset({EventType.VERSION_PUBLISHED}),
        }
    )
    sample = publish_history(db, social)
    deliver_everything(replace(settings, channels=("live", "archive")), db)
    now = T0 + timedelta(hours=1)
    outcomes = iter(
        [
            ("sent", "https://x.com/agency/status/111"),
            ("sent", "javascript:alert(1)"),
            ("failed", "HTTP 401 from api.x.com: invalid token ick_leaked_secret"),
        ]
    )
    with db.write() as session:
        while claim := outbox.claim_next(session, "x", ordered=True, lease_seconds=30, now=now):
            state, value = next(outcomes, ("sent", None))
            if state == "failed":
                outbox.fail(session, claim, value or "", retry_at=None, now=now)
            else:
                outbox.settle(
                    session, claim, outbox.DeliveryState.SENT, external_id="111", external_url=value, now=now
                )
    page = client.get(f"/incidents/{sample.slug}/history").text

    first = element(page, "update-1-v1")
    assert "Archive file: reached" in text(first) and "Live page: reached" in text(first)
    assert re.search(r'X</span>:\s*reached <time datetime="2026-03-01T15:00:00\+00:00">', first)
    assert '<a href="https://x.com/agency/status/111" rel="nofollow noopener">see the post</a>' in first
    second = element(page, "update-1-v2")
    assert "javascript:" not in page, "only web addresses are linked"
    assert "X: reached" in text(second) and "(post 111)" in text(second)
    failed = text(element(page, "update-1-v3"))
    assert "X: not delivered" in failed
    assert "HTTP 401 from" not in page and "ick_leaked_secret" not in page


def test_times_are_shown_in_the_agency_time_zone(settings: Settings, sample: Sample) -> None:
    with TestClient(create_app(replace(settings, timezone="America/Chicago"))) as chicago:
        page = chicago.get(f"/incidents/{sample.slug}/history").text
    assert '<time datetime="2026-03-01T08:01:00-06:00">2026-03-01 08:01 CST</time>' in page


def test_an_unknown_incident_is_a_404_page(client: TestClient) -> None:
    response = client.get("/incidents/no-such-thing/history")
    assert response.status_code == 404
    assert "no incident at this address" in text(response.text)


def test_the_domain_history_links_each_version_to_the_one_before(db: Database, sample: Sample) -> None:
    with db.read() as session:
        record = incident_history(session, sample.slug)
    first = record.updates[0]
    assert [v.kind for v in first.versions] == [
        VersionKind.ORIGINAL,
        VersionKind.CORRECTION,
        VersionKind.CONFIRMATION,
    ]
    assert first.versions[0].previous is None
    assert first.versions[1].previous == first.versions[0]
    assert (first.versions[1].body_changed, first.versions[1].headline_changed) == (True, False)
    assert (first.versions[2].body_changed, first.versions[2].preliminary_changed) == (False, True)
    assert record.version_count == 6


def test_corrections_log_lists_every_correction_and_retraction_newest_first(
    db: Database, routing: Routing, client: TestClient
) -> None:
    older = publish_history(db, routing, title="Older incident", at=T0)
    newer = publish_history(db, routing, title="Newer incident", at=T0 + timedelta(days=1))
    page = client.get("/corrections").text
    entries = re.findall(r'<a href="/incidents/([a-z-]+)/history#(update-\d-v\d)">', page)
    assert entries == [
        (newer.slug, "update-2-v2"),
        (newer.slug, "update-1-v2"),
        (older.slug, "update-2-v2"),
        (older.slug, "update-1-v2"),
    ]
    assert "4 in all." in text(page)
    assert "Residents of <del>Oak</del><ins>Elm</ins> St are evacuated." in page
    assert "Reason: Issued in error" in text(page)
    assert "Confirmation" not in text(page)


def test_corrections_log_pages(db: Database, routing: Routing, client: TestClient) -> None:
    for day in range(13):  # 2 per incident: 26, so two pages of 25
        publish_history(db, routing, title=f"Incident {day}", at=T0 + timedelta(days=day))
    first, second = client.get("/corrections").text, client.get("/corrections?page=2").text
    assert first.count('class="correction"') == 25 and second.count('class="correction"') == 1
    assert 'href="/corrections?page=2" rel="next"' in first and "Page 1 of 2" in first
    assert 'href="/corrections" rel="prev"' in second
    assert "incident-0/history#update-1-v2" in second
    beyond, malformed = client.get("/corrections?page=3"), client.get("/corrections?page=x")
    assert beyond.status_code == 404 and "<h1>Not found</h1>" in beyond.text
    assert "there are only 2 pages of corrections" in beyond.text
    # A malformed page number is a bad request, as /archive answers it, and says what is wrong.
    assert malformed.status_code == 400 and "<h1>Cannot show this page</h1>" in malformed.text
    assert "page: must be a page number (1, 2, 3 …)" in malformed.text


def test_every_channel_has_a_name_readers_understand() -> None:
    """The history lists the channels each version reached: by a name, never the setting's word."""
    assert set(CHANNEL_TYPES) <= set(CHANNEL_NAMES), set(CHANNEL_TYPES) - set(CHANNEL_NAMES)


def test_the_correction_record_is_cached_no_longer_than_the_live_page(
    settings: Settings, db: Database, routing: Routing
) -> None:
    """The live page links a new correction in its history at once: a shared cache must not
    keep the history, or /corrections, from before it for longer than it keeps the live page."""
    sample = publish_history(db, routing, title="Gas leak", at=T0)
    with TestClient(create_app(replace(settings, public_cache_seconds=7))) as client:
        for path in (f"/incidents/{sample.slug}/history", "/corrections", "/archive"):
            answer = client.get(path)
            assert answer.status_code == 200 and answer.headers["cache-control"] == "public, max-age=7", path
        live = client.get(f"/incidents/{sample.slug}")
    assert live.headers["cache-control"].startswith("public, max-age=7")

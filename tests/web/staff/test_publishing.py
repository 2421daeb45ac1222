"""Compose with previews, publish, correct with a diff, confirm, retract, and conflicts between
two PIOs, through the console's forms (as with JavaScript off) and its htmx fragments."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import replace

import lxml.html
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from console.db import Database
from console.domain import sms_text, wording
from console.domain.incidents import IncidentDraft, create_incident, get_incident, resolve_incident
from console.domain.outbox import Routing
from console.domain.resolution import resolve_with_all_clear
from console.domain.updates import NO_TRANSLATIONS, Draft, publish_update
from console.models import AuditEvent, IncidentStatus, UpdateVersion, VersionKind
from console.settings import Settings
from console.web.app import create_app
from tests.conftest import PIO
from tests.social.conftest import assert_whole
from tests.web.staff.conftest import colleague_corrects, email_of, row_counts, sent_fields, sign_in

HTMX = {"HX-Request": "true"}


@pytest.fixture
def incident(db: Database, routing: Routing, people: dict[str, int]) -> str:
    with db.write() as session:
        created, _ = create_incident(
            session, PIO, IncidentDraft(title="Gas leak", category="Fire"), routing=routing
        )
        return created.slug


@pytest.fixture
def published(db: Database, routing: Routing, incident: str) -> int:
    """Update 1 of the incident, version 1: preliminary."""
    with db.write() as session:
        result = publish_update(
            session, PIO, incident, Draft(headline="Evacuation", body="Evacuate Elm St now."), routing=routing
        )
        return result.update.id


def versions(db: Database, update_id: int) -> list[UpdateVersion]:
    with db.read() as session:
        query = (
            select(UpdateVersion).where(UpdateVersion.update_id == update_id).order_by(UpdateVersion.version)
        )
        return list(session.scalars(query))


def textarea(page: str, field_id: str) -> str:
    found = re.search(rf'<textarea id="{field_id}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found, f"no textarea {field_id}"
    return html.unescape(found.group(1))


def post_text_shown(page: str) -> str:
    found = re.search(r'<p class="post-text">(.*?)</p>', page, re.S)
    assert found
    return html.unescape(found.group(1))


def count_shown(page: str) -> int:
    found = re.search(r'data-count="(\d+)"', page)
    assert found
    return int(found.group(1))


@pytest.fixture
def https_client(settings: Settings) -> Iterator[TestClient]:
    """The app with a real-looking public URL, so the link in posts counts as a URL (23)."""
    with TestClient(
        create_app(replace(settings, public_url="https://alerts.example.gov")), base_url="https://testserver"
    ) as client:
        yield client


def posts_shown(page: str, network: str) -> list[tuple[str, str]]:
    """(text, count as shown) of each post the preview shows for `network`."""
    tree = lxml.html.fragment_fromstring(page, create_parent="div")
    [run] = tree.xpath(f'//div[contains(@class, "preview__post")][@data-network="{network}"]')
    shown = []
    for post in run.xpath('.//li[contains(@class, "post-run__post")]'):
        [text] = post.xpath('.//p[@class="post-text"]')
        [count] = post.xpath('.//p[contains(@class, "count")]')
        shown.append((text.text_content(), " ".join(count.text_content().split())))
    return shown


def test_the_preview_shows_each_networks_posts_exactly_as_sent_each_with_its_count(
    https_client: TestClient, incident: str
) -> None:
    token = sign_in(https_client, email_of("pio"))
    body = "Fire 🔥 near 東京駅 see https://example.org/map"
    response = https_client.post(
        f"/console/incidents/{incident}/preview",
        data={"headline": "", "body": body, "preliminary": "on", "csrf_token": token},
        headers=HTMX,
    )
    assert response.status_code == 200 and "<html" not in response.text
    link = "https://alerts.example.gov/incidents/gas-leak#update-1"
    [expected] = wording.post_run(VersionKind.ORIGINAL, True, None, body, None, link)
    assert expected == f"PRELIMINARY: {body} {link}"
    # "PRELIMINARY: " 13, "Fire " 5, emoji 2, " near " 6, three CJK 6, " see " 5, URL 23, " " 1, link 23
    assert posts_shown(response.text, "x") == [(expected, "84 / 280")] and wording.x_weight(expected) == 84
    # Mastodon: a code point each (the emoji and CJK too), each link 23, of the default 500
    assert posts_shown(response.text, "mastodon") == [
        (expected, f"{wording.mastodon_weight(expected)} / 500")
    ]
    assert wording.mastodon_weight(expected) == 13 + 5 + 1 + 6 + 3 + 5 + 23 + 1 + 23
    assert "PRELIMINARY: Fire 🔥 near 東京駅 see https://example.org/map" in html.unescape(
        response.text
    )  # feed title
    assert 'class="update update--preliminary" id="update-1"' in response.text  # the live card

    long_body = "Residents of Elm St should leave now. " * 14  # 532 characters
    response = https_client.post(
        f"/console/incidents/{incident}/preview",
        data={"body": long_body, "csrf_token": token},  # preliminary unticked
        headers=HTMX,
    )
    for network, rules, count in (("x", wording.X_RULES, 3), ("mastodon", wording.MASTODON_DEFAULT_RULES, 2)):
        shown = posts_shown(response.text, network)
        posts = wording.post_run(VersionKind.ORIGINAL, False, None, long_body, None, link, rules=rules)
        assert [text for text, _ in shown] == posts and len(posts) == count, network
        assert [c for _, c in shown] == [f"{rules.measure(post)} / {rules.limit}" for post in posts]
        assert all(rules.measure(post) <= rules.limit for post in posts)
        assert_whole(posts, "", long_body, link)
        assert f"thread of {count} posts" in response.text
    assert "PRELIMINARY" not in response.text.split('id="preview"')[1].split("Feed entry title")[0]
    assert "over" not in " ".join(c for _, c in posts_shown(response.text, "x"))


def test_the_preview_shows_the_sms_alert_as_sent_each_message_one_segment(
    https_client: TestClient, incident: str
) -> None:
    token = sign_in(https_client, email_of("pio"))
    long_body = "Residents of Elm St should leave now. " * 14
    response = https_client.post(
        f"/console/incidents/{incident}/preview",
        data={"body": long_body, "preliminary": "on", "csrf_token": token},
        headers=HTMX,
    )
    tree = lxml.html.fragment_fromstring(response.text, create_parent="div")
    [sms] = tree.xpath('//div[contains(@class, "preview__post")][@data-network="sms"]')
    shown = [text.text_content() for text in sms.xpath('.//p[@class="post-text"]')]
    link = "https://alerts.example.gov/incidents/gas-leak/updates/1"
    expected = sms_text.alert_messages(
        labels=["PRELIMINARY"],
        title="Gas leak",
        headline=None,
        body=long_body.strip(),
        kind=VersionKind.ORIGINAL,
        reason=None,
        translation_pending=False,
        link=link,
    )
    assert shown == expected and len(expected) == 5
    assert shown[0].startswith("(1/5) PRELIMINARY: Gas leak: Residents of Elm St")
    assert shown[-1].endswith(f"{link} Reply STOP to stop.")
    assert all(sms_text.segments(text).count == 1 for text in shown)
    assert "SMS 5 messages (GSM-7)" in " ".join(sms.text_content().split())


def test_the_preview_marks_a_post_that_cannot_be_split_as_over(
    https_client: TestClient, incident: str
) -> None:
    token = sign_in(https_client, email_of("pio"))
    zalgo = "a" + "\u0301" * 300  # one grapheme cluster: no cut can make it fit
    response = https_client.post(
        f"/console/incidents/{incident}/preview",
        data={"body": f"Avoid {zalgo} street.", "preliminary": "on", "csrf_token": token},
        headers=HTMX,
    )
    shown = posts_shown(response.text, "x")
    assert [count.endswith("— over") for _, count in shown] == [False, True, False]
    assert shown[1][1] == "306 / 280 — over" and zalgo in shown[1][0]
    assert "Nothing of this update will be posted to X until that part is shortened" in response.text
    # Mastodon's 500 holds it: one post, not over
    [(_, count)] = posts_shown(response.text, "mastodon")
    assert count == f"{wording.mastodon_weight(f'PRELIMINARY: Avoid {zalgo} street. ') + 23} / 500"


def test_publishing_asks_once_then_publishes(client: TestClient, db: Database, incident: str) -> None:
    token = sign_in(client, email_of("pio"))
    page = client.get(f"/console/incidents/{incident}").text
    assert re.search(r'<input id="compose-preliminary" name="preliminary" type="checkbox" checked>', page)
    form = {"headline": "Shelter", "body": "Stay indoors.\r\n\r\nClose windows.", "preliminary": "on"}
    before = row_counts(db)
    review = client.post(
        f"/console/incidents/{incident}/updates", data={**form, "step": "review", "csrf_token": token}
    )
    assert review.status_code == 200
    assert "Check before publishing" in review.text and 'value="publish"' in review.text
    assert row_counts(db) == before  # the check writes nothing
    response = client.post(
        f"/console/incidents/{incident}/updates",
        data={**form, "step": "publish", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/console/incidents/{incident}?notice=published#update-1"
    [version] = versions(db, 1)
    assert (version.headline, version.body, version.preliminary) == (
        "Shelter",
        "Stay indoors.\n\nClose windows.",
        True,
    )
    assert version.author_name == "Pio Person"
    page = client.get(response.headers["location"]).text
    assert "Published. Delivery to each channel is shown below" in page
    assert 'data-channel="live" data-state="pending"' in page

    htmx = client.post(
        f"/console/incidents/{incident}/updates",
        data={"body": "Second.", "step": "publish", "csrf_token": token},
        headers=HTMX,
    )
    assert htmx.status_code == 200 and htmx.headers["HX-Redirect"].endswith("#update-2")
    assert versions(db, 2)[0].preliminary is False  # the box was unticked


def test_a_reviewed_form_sent_twice_publishes_once(client: TestClient, db: Database, incident: str) -> None:
    """A double click on "Publish now", or the form sent again after a lost answer."""
    token = sign_in(client, email_of("pio"))
    form = {"headline": "", "body": "Avoid Main St.", "preliminary": "on", "csrf_token": token}
    review = client.post(f"/console/incidents/{incident}/updates", data={**form, "step": "review"})
    match = re.search(r'name="submission" value="([^"]+)"', review.text)
    assert match, "the review step carries a submission token"
    sent = {**form, "step": "publish", "submission": html.unescape(match.group(1))}
    first = client.post(f"/console/incidents/{incident}/updates", data=sent, follow_redirects=False)
    counts = row_counts(db)
    again = client.post(f"/console/incidents/{incident}/updates", data=sent, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert (
        again.headers["location"]
        == first.headers["location"]
        == (f"/console/incidents/{incident}?notice=published#update-1")
    )
    assert row_counts(db) == counts and len(versions(db, 1)) == 1
    # The same token with other text is refused (a reviewed form cannot be swapped), nothing written.
    swapped = client.post(
        f"/console/incidents/{incident}/updates",
        data={**sent, "body": "Avoid Oak St."},
        follow_redirects=False,
    )
    assert swapped.status_code == 409 and "already used" in html.unescape(swapped.text)
    assert row_counts(db) == counts
    # A new review gives a new token: publishing again on purpose is a new update.
    review = client.post(f"/console/incidents/{incident}/updates", data={**form, "step": "review"})
    token2 = re.search(r'name="submission" value="([^"]+)"', review.text)
    assert token2 and token2.group(1) != match.group(1)


def test_bad_input_is_shown_beside_the_field_with_everything_kept(
    client: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(client, email_of("pio"))
    body = "Ａ" * 5001
    headline = "H" * 201
    before = row_counts(db)
    for step in ("review", "publish"):
        response = client.post(
            f"/console/incidents/{incident}/updates",
            data={"headline": headline, "body": body, "step": step, "csrf_token": token},
            headers=HTMX,
        )
        assert response.status_code == 422
        assert response.text.lstrip().startswith('<section id="compose"')  # the fragment only
        assert textarea(response.text, "compose-body") == body
        assert f'value="{headline}"' in response.text
        error = "<strong>Update</strong> is 5,001 characters; the limit is 5,000</p>"
        assert f'<p class="field-error" id="compose-body-error">{error}' in response.text
        assert (
            'id="compose-headline-error"><strong>Headline</strong> is 201 characters; the limit is 200'
            in response.text
        )
        assert 'aria-invalid="true"' in response.text
    assert row_counts(db) == before
    blank = client.post(
        f"/console/incidents/{incident}/updates", data={"body": "   ", "step": "review", "csrf_token": token}
    )
    assert blank.status_code == 422 and "is required and must not be blank" in blank.text
    assert "<html" in blank.text  # without JavaScript: the whole page, with the form in place


def test_a_resolved_incident_takes_no_new_update_and_keeps_the_text(
    client: TestClient, db: Database, routing: Routing, incident: str
) -> None:
    token = sign_in(client, email_of("pio"))
    with db.write() as session:
        resolve_incident(session, PIO, incident, routing=routing)
    response = client.post(
        f"/console/incidents/{incident}/updates",
        data={"body": "Late news.", "step": "publish", "csrf_token": token},
        headers=HTMX,
    )
    assert response.status_code == 409
    assert "is resolved" in response.text and textarea(response.text, "compose-body") == "Late news."
    page = client.post(  # without JavaScript: the whole page, with the refusal and the text
        f"/console/incidents/{incident}/updates",
        data={"body": "Late news.", "step": "publish", "csrf_token": token},
    )
    assert page.status_code == 409 and "<html" in page.text
    assert "is resolved" in page.text and textarea(page.text, "compose-body") == "Late news."


def test_resolving_asks_first(client: TestClient, db: Database, incident: str) -> None:
    token = sign_in(client, email_of("pio"))
    ask = client.post(f"/console/incidents/{incident}/resolve", data={"csrf_token": token}, headers=HTMX)
    assert ask.status_code == 200 and "Publish the all-clear and resolve" in ask.text
    assert textarea(ask.text, "resolve-message") == "All clear: "  # the console pre-fills it
    with db.read() as session:
        assert get_incident(session, incident).status is IncidentStatus.ACTIVE  # asking wrote nothing
    done = client.post(
        f"/console/incidents/{incident}/resolve",
        data={"csrf_token": token, "confirmed": "yes", "message": "All clear: the leak is fixed."},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "This incident was resolved" in client.get(done.headers["location"]).text


def test_a_correction_starts_from_the_current_text_and_shows_the_diff(
    client: TestClient, db: Database, published: int
) -> None:
    token = sign_in(client, email_of("pio"))
    page = client.get(f"/console/updates/{published}").text
    assert textarea(page, "correct-body") == "Evacuate Elm St now."
    assert 'id="correct-headline" name="headline" type="text" value="Evacuation"' in page
    form = {
        "headline": "Evacuation",
        "body": "Evacuate Oak St now.",
        "preliminary": "on",
        "corrects_version": "1",
        "csrf_token": token,
    }
    missing_reason = client.post(f"/console/updates/{published}/corrections", data={**form, "step": "review"})
    assert missing_reason.status_code == 422
    assert (
        'id="correct-reason-error"><strong>Reason for the correction</strong> is required'
        in missing_reason.text
    )
    assert textarea(missing_reason.text, "correct-body") == "Evacuate Oak St now."

    form["reason"] = "Wrong street"
    live = client.post(f"/console/updates/{published}/preview", data=form, headers=HTMX)
    assert "Evacuate <del>Elm</del><ins>Oak</ins> St now." in live.text
    assert post_text_shown(live.text).startswith("CORRECTION: PRELIMINARY: Evacuation — Evacuate Oak St now.")

    review = client.post(
        f"/console/updates/{published}/corrections", data={**form, "step": "review"}, headers=HTMX
    )
    assert review.status_code == 200 and "Check the correction before publishing" in review.text
    assert "Evacuate <del>Elm</del><ins>Oak</ins> St now." in review.text
    assert len(versions(db, published)) == 1
    done = client.post(
        f"/console/updates/{published}/corrections", data={**form, "step": "publish"}, follow_redirects=False
    )
    assert (
        done.status_code == 303
        and done.headers["location"] == f"/console/updates/{published}?notice=corrected"
    )
    current = versions(db, published)[-1]
    assert (current.version, current.kind, current.body, current.reason) == (
        2,
        VersionKind.CORRECTION,
        "Evacuate Oak St now.",
        "Wrong street",
    )
    history = client.get(done.headers["location"]).text
    assert "Correction published" in history and "Reason: Wrong street" in history
    assert "Evacuate <del>Elm</del><ins>Oak</ins> St now." in history

    same = client.post(
        f"/console/updates/{published}/corrections",
        data={**form, "corrects_version": "2", "step": "review"},
    )
    assert same.status_code == 422 and "is the same as the current version" in same.text


def test_a_conflict_shows_the_newer_text_and_keeps_what_was_typed(
    client: TestClient, console_client: TestClient, db: Database, published: int
) -> None:
    mine = sign_in(client, email_of("pio"))
    sign_in(console_client, email_of("admin"))
    assert 'name="corrects_version" value="1"' in client.get(f"/console/updates/{published}").text
    colleague_corrects(
        console_client,
        published,
        headline="Evacuation",
        body="Evacuate Elm St and Pine St now.",
        preliminary="on",
        reason="Pine St too",
    )
    assert len(versions(db, published)) == 2
    my_form = {
        "headline": "Evacuation",
        "body": "Evacuate Oak St now.",
        "preliminary": "on",
        "reason": "Wrong street",
        "corrects_version": "1",
        "csrf_token": mine,
    }
    before = row_counts(db)
    for step in ("review", "publish"):
        response = client.post(
            f"/console/updates/{published}/corrections", data={**my_form, "step": step}, headers=HTMX
        )
        assert response.status_code == 409
        assert "A newer version was published meanwhile" in response.text
        assert "Version 2 (correction) was published by <strong>Admin Person</strong>" in response.text
        assert "Evacuate Elm St <ins>and Pine St </ins>now." in response.text  # what they changed
        assert textarea(response.text, "correct-body") == "Evacuate Oak St now."  # what I typed, kept
        assert textarea(response.text, "correct-reason") == "Wrong street"
        assert 'name="corrects_version" value="2"' in response.text  # now aimed at the newer version
    assert row_counts(db) == before
    # The publishing service itself refuses a stale version too (two PIOs racing past the check).
    response = client.post(
        f"/console/updates/{published}/corrections",
        data={**my_form, "corrects_version": "2", "step": "publish"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert [v.body for v in versions(db, published)] == [
        "Evacuate Elm St now.",
        "Evacuate Elm St and Pine St now.",
        "Evacuate Oak St now.",
    ]


def form_fields(page: str, form_id: str) -> dict[str, str]:
    """What the browser would send from the form: its inputs (ticked boxes only) and textareas."""
    return sent_fields(lxml.html.fromstring(page).get_element_by_id(form_id))


def test_going_on_after_a_conflict_names_the_colleagues_change_it_reverts_and_needs_a_tick(
    client: TestClient, console_client: TestClient, db: Database, incident: str, routing: Routing
) -> None:
    """Issue 13.1: B started on version 1; A moved the shelter in version 2; B's text, written
    against version 1, would put the old shelter back. Every review step says so in words, and
    publishing it needs an explicit tick, which the audit event records."""
    with db.write() as session:
        update_id = publish_update(
            session, PIO, incident, Draft(body="Shelter at Station 4, 310 Birch St."), routing=routing
        ).update.id
    sign_in(client, email_of("pio"))
    sign_in(console_client, email_of("admin"))
    page = client.get(f"/console/updates/{update_id}").text
    my_form = form_fields(page, "correct-form")
    assert (my_form["corrects_version"], my_form["started_from"]) == ("1", "1")
    colleague_corrects(
        console_client, update_id, body="Shelter at Fire Station 7, 55 Cedar St.", reason="Shelter moved"
    )
    my_form |= {"body": "Shelter at Station 4, 310 Birch St. Open until 6 am.", "reason": "Added hours"}
    conflict = client.post(
        f"/console/updates/{update_id}/corrections", data={**my_form, "step": "review"}, headers=HTMX
    )
    assert conflict.status_code == 409
    again = form_fields(conflict.text, "correct-form")
    assert (again["corrects_version"], again["started_from"]) == ("2", "1"), "started from 1, aimed at 2"

    review = client.post(
        f"/console/updates/{update_id}/corrections", data={**again, "step": "review"}, headers=HTMX
    )
    assert review.status_code == 200 and "Check the correction before publishing" in review.text
    reverts = lxml.html.fromstring(review.text).xpath("//*[@data-testid='reverts']")
    assert len(reverts) == 1
    said = " ".join(reverts[0].text_content().split())
    assert re.search(r"reverts Admin Person's correction of \d\d:\d\d: 'Fire Station 7, 55 Cedar'", said), (
        said
    )
    reviewed = form_fields(review.text, "correct-form")
    assert "confirm_revert" not in reviewed, "never ticked for the PIO"

    before = row_counts(db)
    unticked = client.post(
        f"/console/updates/{update_id}/corrections", data={**reviewed, "step": "publish"}, headers=HTMX
    )
    assert unticked.status_code == 422 and "Tick the box to publish the revert" in unticked.text
    assert "reverts Admin Person's correction" in lxml.html.fromstring(unticked.text).text_content()
    assert row_counts(db) == before, "an unticked revert publishes nothing"

    ticked = client.post(
        f"/console/updates/{update_id}/corrections",
        data={**reviewed, "confirm_revert": "yes", "step": "publish"},
        follow_redirects=False,
    )
    assert ticked.status_code == 303
    assert versions(db, update_id)[-1].body == "Shelter at Station 4, 310 Birch St. Open until 6 am."
    with db.read() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "version.published").order_by(AuditEvent.seq.desc())
        ).first()
        assert event is not None
        data = json.loads(event.data)
        assert data["version"] == 3 and data["revert_confirmed"] is True
        assert data["reverts"] == [
            {"version": 2, "author": "Admin Person", "text": "Fire Station 7, 55 Cedar", "restores": False}
        ]


def test_a_correction_that_keeps_the_colleagues_change_names_no_revert(
    client: TestClient, console_client: TestClient, db: Database, published: int
) -> None:
    mine = sign_in(client, email_of("pio"))
    theirs = sign_in(console_client, email_of("admin"))
    my_form = form_fields(client.get(f"/console/updates/{published}").text, "correct-form")
    console_client.post(
        f"/console/updates/{published}/corrections",
        data={
            **form_fields(console_client.get(f"/console/updates/{published}").text, "correct-form"),
            "body": "Evacuate Elm St and Pine St now.",
            "reason": "Pine St too",
            "step": "publish",
            "csrf_token": theirs,
        },
    )
    my_form |= {
        "body": "Evacuate Elm St and Pine St now. Go north.",
        "reason": "Direction",
        "csrf_token": mine,
    }
    conflict = client.post(f"/console/updates/{published}/corrections", data={**my_form, "step": "review"})
    assert conflict.status_code == 409
    again = form_fields(conflict.text, "correct-form")
    review = client.post(f"/console/updates/{published}/corrections", data={**again, "step": "review"})
    assert review.status_code == 200 and 'data-testid="reverts"' not in review.text
    done = client.post(
        f"/console/updates/{published}/corrections", data={**again, "step": "publish"}, follow_redirects=False
    )
    assert done.status_code == 303


def test_confirm_is_one_action_and_one_confirmation(
    client: TestClient, console_client: TestClient, db: Database, published: int
) -> None:
    token = sign_in(client, email_of("pio"))
    ask = client.post(
        f"/console/updates/{published}/confirmation",
        data={"corrects_version": "1", "csrf_token": token},
        headers=HTMX,
    )
    assert ask.status_code == 200 and "Confirm update 1?" in ask.text and "Yes, confirm" in ask.text
    assert post_text_shown(ask.text).startswith("CONFIRMED: Evacuation — Evacuate Elm St now.")
    assert len(versions(db, published)) == 1

    other = sign_in(console_client, email_of("admin"))
    console_client.post(
        f"/console/updates/{published}/retraction",
        data={"reason": "Issued in error", "corrects_version": "1", "confirmed": "yes", "csrf_token": other},
    )
    stale = client.post(
        f"/console/updates/{published}/confirmation",
        data={"corrects_version": "1", "confirmed": "yes", "csrf_token": token},
        headers=HTMX,
    )
    assert stale.status_code == 409 and "Version 2 (retraction) was published by" in stale.text
    assert [v.kind for v in versions(db, published)] == [VersionKind.ORIGINAL, VersionKind.RETRACTION]


def test_a_retraction_started_on_an_older_version_shows_the_conflict_and_retracts_nothing(
    client: TestClient, console_client: TestClient, db: Database, published: int
) -> None:
    token = sign_in(client, email_of("pio"))
    form = client.get(f"/console/updates/{published}").text
    retract_form = lxml.html.fromstring(form).get_element_by_id("retract")
    assert retract_form.xpath(".//input[@name='corrects_version']/@value") == ["1"]

    other = sign_in(console_client, email_of("admin"))
    console_client.post(
        f"/console/updates/{published}/corrections",
        data={
            "body": "Evacuate Elm St and Oak St now.",
            "reason": "Oak St too",
            "corrects_version": "1",
            "step": "publish",
            "csrf_token": other,
        },
    )
    stale = client.post(
        f"/console/updates/{published}/retraction",
        data={"corrects_version": "1", "reason": "Issued in error", "confirmed": "yes", "csrf_token": token},
        headers=HTMX,
    )
    assert stale.status_code == 409 and "Version 2 (correction) was published by" in stale.text
    assert [v.kind for v in versions(db, published)] == [VersionKind.ORIGINAL, VersionKind.CORRECTION]
    again = lxml.html.fromstring(stale.text)
    assert again.xpath(".//input[@name='corrects_version']/@value") == ["2"], "aimed at the newer version"
    assert again.xpath(".//textarea[@name='reason']/text()") == ["Issued in error"], "the reason is kept"


def test_confirming(client: TestClient, db: Database, published: int) -> None:
    token = sign_in(client, email_of("pio"))
    done = client.post(
        f"/console/updates/{published}/confirmation",
        data={"corrects_version": "1", "confirmed": "yes", "reason": "", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    confirmed = versions(db, published)[-1]
    assert (confirmed.kind, confirmed.preliminary, confirmed.reason) == (
        VersionKind.CONFIRMATION,
        False,
        "Information confirmed",
    )
    page = client.get(done.headers["location"]).text
    assert 'id="confirm"' not in page  # nothing left to confirm
    again = client.post(
        f"/console/updates/{published}/confirmation",
        data={"corrects_version": "2", "confirmed": "yes", "csrf_token": token},
    )
    assert again.status_code == 409 and "already confirmed" in again.text


def test_the_retract_step_of_the_standing_all_clear_says_the_incident_becomes_active(
    client: TestClient, db: Database, routing: Routing, incident: str, published: int
) -> None:
    with db.write() as session:
        all_clear = resolve_with_all_clear(
            session, PIO, incident, "All clear.", translations=NO_TRANSLATIONS, routing=routing
        ).all_clear.update.id
    token = sign_in(client, email_of("pio"))
    ask = {"corrects_version": "1", "reason": "Not over yet", "csrf_token": token}
    review = client.post(f"/console/updates/{all_clear}/retraction", data=ask, headers=HTMX)
    assert "retracting it makes the incident active again" in review.text
    other = client.post(f"/console/updates/{published}/retraction", data=ask, headers=HTMX)
    assert "Retract update 1?" in other.text and "active again" not in other.text
    done = client.post(
        f"/console/updates/{all_clear}/retraction", data={**ask, "confirmed": "yes"}, follow_redirects=False
    )
    assert done.status_code == 303
    with db.read() as session:
        assert get_incident(session, incident).status is IncidentStatus.ACTIVE


def test_retract_needs_a_reason_and_one_confirmation(
    client: TestClient, db: Database, published: int
) -> None:
    token = sign_in(client, email_of("pio"))
    blank = client.post(
        f"/console/updates/{published}/retraction",
        data={"corrects_version": "1", "reason": " ", "csrf_token": token},
    )
    assert blank.status_code == 422
    assert 'id="retract-reason-error"><strong>Reason for the retraction</strong> is required' in blank.text
    ask = client.post(
        f"/console/updates/{published}/retraction",
        data={"corrects_version": "1", "reason": "Issued in error", "csrf_token": token},
        headers=HTMX,
    )
    assert ask.status_code == 200 and "Retract update 1?" in ask.text and "Yes, retract" in ask.text
    assert post_text_shown(ask.text).startswith("RETRACTED: Issued in error")
    assert '<del class="update__withdrawn">' in ask.text
    assert len(versions(db, published)) == 1
    done = client.post(
        f"/console/updates/{published}/retraction",
        data={"corrects_version": "1", "reason": "Issued in error", "confirmed": "yes", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert versions(db, published)[-1].kind is VersionKind.RETRACTION
    page = client.get(done.headers["location"]).text
    assert 'id="correct-form"' not in page and 'id="retract"' not in page
    late = client.post(
        f"/console/updates/{published}/corrections",
        data={"body": "x", "reason": "y", "corrects_version": "2", "step": "review", "csrf_token": token},
    )
    assert late.status_code == 409 and "retracted" in late.text


def test_a_submission_token_too_long_to_keep_still_publishes(
    client: TestClient, db: Database, incident: str
) -> None:
    """A token longer than the key column holds (a hand-made form) is not kept: the update is
    published as a form without one is, never a database error."""
    token = sign_in(client, email_of("pio"))
    form = {"headline": "", "body": "Avoid Main St.", "preliminary": "on", "csrf_token": token}
    sent = {**form, "step": "publish", "submission": "x" * 255}
    answer = client.post(f"/console/incidents/{incident}/updates", data=sent, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].endswith("#update-1")
    assert len(versions(db, 1)) == 1

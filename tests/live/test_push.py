"""Real websocket clients against the served app: what is pushed, and resume."""

from __future__ import annotations

import re
import socket
import urllib.request
from contextlib import ExitStack
from dataclasses import replace

from console.db import Database
from console.domain import stream
from console.settings import Settings
from tests.live.support import (
    api,
    correct,
    new_incident,
    nothing_more,
    publish,
    receive,
    retract,
    subscribe,
)
from tests.support.live_server import LiveServer, serve


def head(db: Database) -> int:
    with db.read() as session:
        return stream.head(session)


def test_new_corrected_and_retracted_updates_are_pushed_in_order(
    live: LiveServer, db: Database, pio_token: str
) -> None:
    slug = new_incident(live.url, pio_token, "Gas leak on Elm St")
    with subscribe(live.ws_url, head(db), incident=slug) as ws:
        first = publish(
            live.url, pio_token, slug, "Residents of Elm St should leave now.", headline="Evacuate"
        )
        [new] = receive(ws, 1)
        assert new.event_id == first["event_id"]
        assert '<ol data-hx-swap-oob="afterbegin:#timeline">' in new.html
        assert '<li class="timeline__item" id="item-update-1">' in new.html
        assert "Residents of Elm St should leave now." in new.html
        assert '<strong class="badge badge--preliminary">PRELIMINARY</strong>' in new.html
        assert 'data-hx-swap-oob="beforeend:#live-announcer"><p>New update' in new.html
        assert 'id="timeline-empty" class="timeline-empty" hidden data-hx-swap-oob="true"' in new.html
        # times in TIMEZONE (America/Chicago is UTC-6 or UTC-5)
        assert re.search(r'<time datetime="[^"]+-0[56]:00">', new.html)

        second = correct(
            live.url, pio_token, first["id"], "Residents of Elm and Oak St should leave.", "Oak St too", 1
        )
        [corrected] = receive(ws, 1)
        assert corrected.event_id == second["event_id"] > new.event_id
        assert '<li class="timeline__item" id="item-update-1" data-hx-swap-oob="true">' in corrected.html
        assert "Residents of Elm and Oak St should leave." in corrected.html
        assert "Corrected <time" in corrected.html and "— Oak St too" in corrected.html
        assert f'href="/incidents/{slug}/history#update-1-v2">What changed</a>' in corrected.html

        third = retract(live.url, pio_token, first["id"], "Sent in error", 2)
        [retracted] = receive(ws, 1)
        assert retracted.event_id == third["event_id"]
        assert 'id="item-update-1" data-hx-swap-oob="true"' in retracted.html
        assert '<del class="update__withdrawn">' in retracted.html
        assert "Retracted <time" in retracted.html and "— Sent in error" in retracted.html
        assert "Update 1 retracted" in retracted.html

        api_resolve(live.url, pio_token, slug)
        [all_clear, resolved] = receive(ws, 2)  # the all-clear is published as an update first
        assert (
            '<ol data-hx-swap-oob="afterbegin:#timeline">' in all_clear.html
            and "All clear." in all_clear.html
        )
        status = '<p id="incident-status" class="incident-status incident-status--resolved"'
        assert f'{status} data-hx-swap-oob="true">' in resolved.html
        assert "RESOLVED" in resolved.html
        # shown first, in place of the summary, the moment the incident is resolved
        summary = resolved.html.split('<div id="incident-summary" data-hx-swap-oob="true">', 1)[1]
        assert summary.split("</div>", 1)[0].count("All clear.") == 1
        assert nothing_more(ws)


def api_resolve(base: str, token: str, slug: str) -> None:
    from tests.live.support import api

    api(base, token, f"/incidents/{slug}/resolve", {"message": "All clear."})


def test_the_all_incidents_stream_shows_new_incidents_and_their_updates(
    live: LiveServer, db: Database, pio_token: str
) -> None:
    with subscribe(live.ws_url, head(db)) as ws:
        slug = new_incident(live.url, pio_token, "Storm damage")
        [created] = receive(ws, 1)
        assert '<ol data-hx-swap-oob="afterbegin:#incidents">' in created.html
        assert f'id="incident-{slug}"' in created.html and "Storm damage" in created.html
        assert "New incident" in created.html
        # An exercise is said to be one in the announcement too, as on every other channel.
        drill = api(live.url, pio_token, "/incidents", {"title": "Flood drill", "alert_status": "exercise"})
        [exercise] = receive(ws, 1)
        assert re.search(r"New incident [^<]*: EXERCISE: Flood drill</p>", exercise.html), exercise.html
        assert drill["slug"] in exercise.html
        publish(live.url, pio_token, slug, "Trees down on Route 9.")
        [updated] = receive(ws, 1)
        assert f'id="incident-{slug}" data-hx-swap-oob="true"' in updated.html
        assert "Trees down on Route 9." in updated.html and "Storm damage: New update" in updated.html
        api_resolve(live.url, pio_token, slug)
        [all_clear, resolved] = receive(ws, 2)
        assert "All clear." in all_clear.html
        # `/` lists the active incidents only: the list pushed is the one a fresh load shows.
        assert '<ol id="incidents" class="incidents" data-hx-swap-oob="true">' in resolved.html
        assert f'id="incident-{slug}"' not in resolved.html
        assert f'id="incident-{drill["slug"]}"' in resolved.html
        assert "Storm damage: Resolved" in resolved.html


def test_a_client_only_gets_its_own_incidents_events(live: LiveServer, db: Database, pio_token: str) -> None:
    mine = new_incident(live.url, pio_token, "Mine")
    other = new_incident(live.url, pio_token, "Other")
    with subscribe(live.ws_url, head(db), incident=mine) as ws:
        publish(live.url, pio_token, other, "Not for you.")
        published = publish(live.url, pio_token, mine, "For you.")
        [frame] = receive(ws, 1)
        assert frame.event_id == published["event_id"] and "For you." in frame.html
        assert nothing_more(ws)


def test_resume_after_a_forced_disconnect_has_no_gap_and_no_duplicate(
    live: LiveServer, db: Database, pio_token: str
) -> None:
    slug = new_incident(live.url, pio_token)
    with subscribe(live.ws_url, head(db), incident=slug) as ws:
        first = [publish(live.url, pio_token, slug, f"Update {n}") for n in range(2)]
        seen = receive(ws, 2)
        assert [f.event_id for f in seen] == [p["event_id"] for p in first]
        # The network drops: no closing handshake at all.
        ws.socket.shutdown(socket.SHUT_RDWR)
    missed = [publish(live.url, pio_token, slug, f"Update {n}") for n in range(2, 5)]
    missed.append(correct(live.url, pio_token, first[0]["id"], "Update 0, corrected", "typo", 1))
    with subscribe(live.ws_url, seen[-1].event_id, incident=slug) as again:
        replayed = receive(again, 4)
        assert [f.event_id for f in replayed] == [p["event_id"] for p in missed]
        assert all(not f.reset for f in replayed)
        assert "Update 4" in replayed[2].html and "Update 0, corrected" in replayed[3].html
        assert nothing_more(again)
        later = publish(live.url, pio_token, slug, "After the resume")
        [live_frame] = receive(again, 1)
        assert live_frame.event_id == later["event_id"]


def test_resuming_from_the_start_replays_everything(live: LiveServer, db: Database, pio_token: str) -> None:
    slug = new_incident(live.url, pio_token)
    published = [publish(live.url, pio_token, slug, f"Update {n}") for n in range(3)]
    with subscribe(live.ws_url, 0, incident=slug) as ws:
        frames = receive(ws, 4)  # the incident's creation, then its three updates
        assert [f.event_id for f in frames[1:]] == [p["event_id"] for p in published]
        assert nothing_more(ws)


def test_a_client_too_far_behind_gets_a_fresh_render(live_settings, pio_token: str, db: Database) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from tests.support.live_server import serve

    with serve(replace(live_settings, live_resume_max_events=3)) as server:
        slug = new_incident(server.url, pio_token)
        for n in range(5):
            publish(server.url, pio_token, slug, f"Update number {n}")
        with subscribe(server.ws_url, 1, incident=slug) as ws:
            [reset] = receive(ws, 1)
            assert reset.reset and reset.event_id == head(db)
            assert '<ol id="timeline" class="timeline" data-hx-swap-oob="true">' in reset.html
            assert all(f"Update number {n}" in reset.html for n in range(5))
            assert "brought up to date" in reset.html
            assert nothing_more(ws)
            after = publish(server.url, pio_token, slug, "Next one")
            [frame] = receive(ws, 1)
            assert frame.event_id == after["event_id"] and not frame.reset


def test_a_fresh_render_of_a_long_incident_says_it_shows_only_the_newest(
    live_settings: Settings, pio_token: str, db: Database
) -> None:
    with serve(replace(live_settings, live_resume_max_events=3, public_timeline_limit=4)) as server:
        slug = new_incident(server.url, pio_token)
        for n in range(5):
            publish(server.url, pio_token, slug, f"Update number {n}")
        with subscribe(server.ws_url, 1, incident=slug) as ws:
            [reset] = receive(ws, 1)
        assert reset.reset and reset.html.count('class="timeline__item"') == 4
        assert (
            '<p id="timeline-more" class="timeline-more" data-hx-swap-oob="true">'
            "This page shows the newest 4 of 5 updates."
        ) in reset.html


def test_a_new_update_beyond_the_limit_takes_the_oldest_shown_off_and_counts_them(
    live_settings: Settings, pio_token: str, db: Database
) -> None:
    with serve(replace(live_settings, public_timeline_limit=2)) as server:
        slug = new_incident(server.url, pio_token)
        publish(server.url, pio_token, slug, "Update number 1")
        with subscribe(server.ws_url, head(db), incident=slug) as ws:
            publish(server.url, pio_token, slug, "Update number 2")
            [second] = receive(ws, 1)
            publish(server.url, pio_token, slug, "Update number 3")
            [third] = receive(ws, 1)
        # Within the limit nothing is taken off, and the note stays hidden.
        assert 'data-hx-swap-oob="delete"' not in second.html
        assert '<p id="timeline-more" class="timeline-more" hidden data-hx-swap-oob="true">' in second.html
        # Update 3 pushes update 1 off a page of two, as a fresh load would not show it.
        assert '<div id="item-update-1" data-hx-swap-oob="delete"></div>' in third.html
        assert (
            '<p id="timeline-more" class="timeline-more" data-hx-swap-oob="true">'
            "This page shows the newest 2 of 3 updates."
        ) in third.html


def test_a_cursor_ahead_of_the_database_gets_a_fresh_render(
    live: LiveServer, db: Database, pio_token: str
) -> None:
    slug = new_incident(live.url, pio_token)
    publish(live.url, pio_token, slug, "Only update")
    with subscribe(live.ws_url, 10**12, incident=slug) as ws:
        [reset] = receive(ws, 1)
        assert reset.reset and reset.event_id == head(db) and "Only update" in reset.html
        later = publish(live.url, pio_token, slug, "Then this")
        [frame] = receive(ws, 1)
        assert frame.event_id == later["event_id"] and "Then this" in frame.html


def test_many_clients_resuming_from_one_point_get_the_same_frames(
    live: LiveServer, db: Database, pio_token: str
) -> None:
    slug = new_incident(live.url, pio_token)
    start = head(db)
    published = [publish(live.url, pio_token, slug, f"Update {n}") for n in range(3)]
    with ExitStack() as stack:
        clients = [stack.enter_context(subscribe(live.ws_url, start, incident=slug)) for _ in range(20)]
        received = [[f.html for f in receive(ws, 3)] for ws in clients]
        assert all(frames == received[0] for frames in received)
        assert [parse_id(html) for html in received[0]] == [p["event_id"] for p in published]


def parse_id(html: str) -> int:
    from tests.live.support import parse

    return parse(html).event_id


def test_a_rumor_response_about_the_incident_is_pushed_to_its_page_and_shown_on_it(
    live: LiveServer, db: Database, pio_token: str
) -> None:
    from tests.live.support import api

    slug = new_incident(live.url, pio_token, "Mall shooting")
    page = urllib.request.urlopen(f"{live.url}/incidents/{slug}", timeout=15).read().decode()
    assert '<section id="rumors" class="rumors" aria-labelledby="rumors-heading" hidden>' in page
    with subscribe(live.ws_url, head(db), incident=slug) as ws, subscribe(live.ws_url, head(db)) as index:
        claim = {
            "claim": "There is a second shooter",
            "verdict": "false",
            "facts": "One suspect, in custody.",
        }
        first = api(live.url, pio_token, "/rumors", {"incident": slug, **claim})
        [pushed] = receive(ws, 1)
        assert pushed.event_id == first["event_id"]
        section = (
            '<section id="rumors" class="rumors" aria-labelledby="rumors-heading" data-hx-swap-oob="true">'
        )
        assert section in pushed.html
        assert '<strong class="rumor__verdict">FALSE</strong>' in pushed.html
        assert '<q class="rumor__claim" dir="auto">There is a second shooter</q>' in pushed.html
        assert "Rumor control " in pushed.html and "FALSE — “There is a second shooter”" in pushed.html
        # The index has no rumor section: its clients only move their cursor.
        [moved] = receive(index, 1)
        assert moved.event_id == first["event_id"] and "rumor" not in moved.html
        corrected = api(
            live.url,
            pio_token,
            f"/rumors/{first['id']}/corrections",
            {**claim, "verdict": "unconfirmed", "reason": "Second report", "corrects_version": 1},
        )
        [again] = receive(ws, 1)
        assert again.event_id == corrected["event_id"]
        assert (
            '<strong class="rumor__verdict">UNCONFIRMED</strong>' in again.html
            and "Second report" in again.html
        )
        # An agency-wide rumor response is not an event of any incident page.
        api(live.url, pio_token, "/rumors", {**claim, "claim": "The water is poisoned"})
        assert nothing_more(ws)
    page = urllib.request.urlopen(f"{live.url}/incidents/{slug}", timeout=15).read().decode()
    assert '<section id="rumors" class="rumors" aria-labelledby="rumors-heading">' in page
    assert (
        '<strong class="rumor__verdict">UNCONFIRMED</strong>' in page and "The water is poisoned" not in page
    )


def test_a_correction_is_announced_at_the_top_until_the_next_update(
    live: LiveServer, db: Database, pio_token: str
) -> None:
    slug = new_incident(live.url, pio_token, "Shelter")
    first = publish(live.url, pio_token, slug, "Shelter at Station 4, 310 Birch St.")

    def page() -> str:
        return urllib.request.urlopen(f"{live.url}/incidents/{slug}", timeout=15).read().decode()

    assert '<p id="latest-change" class="latest-change" role="note" hidden>' in page()
    with subscribe(live.ws_url, head(db), incident=slug) as ws:
        correct(
            live.url, pio_token, first["id"], "Shelter at Fire Station 7, 55 Cedar St.", "Shelter moved", 1
        )
        [corrected] = receive(ws, 1)
        notice = re.search(r'<p id="latest-change"[^>]*>(.*?)</p>', corrected.html, re.S)
        assert notice is not None and 'data-hx-swap-oob="true"' in notice.group(0)
        assert re.search(
            r"Update 1 was corrected at [^<]+:</strong>\s*<span>Shelter moved</span>", notice.group(1)
        )
        assert '<a href="#update-1">See the update</a>' in notice.group(1)
        assert '<strong class="badge badge--corrected">CORRECTED</strong>' in corrected.html
        assert "latest-change--correction" in page()

        publish(live.url, pio_token, slug, "Buses leave from the shelter at 10:00.")
        [newer] = receive(ws, 1)
        hidden = '<p id="latest-change" class="latest-change" role="note" hidden data-hx-swap-oob="true">'
        assert hidden in newer.html

        retract(live.url, pio_token, first["id"], "Shelter closed", 2)
        [retracted] = receive(ws, 1)
        assert "Update 1 was retracted at" in retracted.html and "latest-change--retraction" in retracted.html
        # The retracted update collapses to one struck-through line that expands to its text.
        assert re.search(
            r'<details class="update__withdrawn-text"><summary>'
            r'<s dir="auto">Shelter at Fire Station 7, 55 Cedar St.</s>'
            r'</summary><del class="update__withdrawn">',
            retracted.html,
        )
        assert "badge--corrected" not in retracted.html.split('id="item-update-1"')[1].split("</li>")[0]


def test_a_details_correction_is_pushed_in_place(live: LiveServer, db: Database, pio_token: str) -> None:
    from tests.live.support import api

    slug = new_incident(live.url, pio_token, "Gas laek")
    with subscribe(live.ws_url, head(db), incident=slug) as ws:
        api(
            live.url,
            pio_token,
            f"/incidents/{slug}/details",
            {"title": "Gas leak", "location": "Elm St and Oak St", "reason": "Typo", "corrects_version": 1},
        )
        [changed] = receive(ws, 1)
        assert (
            '<h1 id="incident-title" class="incident__title" data-hx-swap-oob="true">Gas leak</h1>'
            in changed.html
        )
        assert '<p class="incident__where">Elm St and Oak St</p>' in changed.html
        assert nothing_more(ws)


def test_what_to_do_now_is_pushed_first_and_goes_when_retracted(
    live: LiveServer, db: Database, pio_token: str
) -> None:
    from tests.live.support import api

    slug = new_incident(live.url, pio_token, "Chemical fire")
    first = publish(live.url, pio_token, slug, "Stay indoors and close your windows.")
    publish(live.url, pio_token, slug, "Crews are on scene.")

    def page(path: str) -> str:
        return urllib.request.urlopen(f"{live.url}{path}", timeout=15).read().decode()

    assert '<section id="what-to-do-now" class="what-to-do-now" hidden>' in (page(f"/incidents/{slug}"))
    with subscribe(live.ws_url, head(db), incident=slug) as ws:
        api(live.url, pio_token, f"/incidents/{slug}/pin", {"seq": 1})
        [pinned] = receive(ws, 1)
        box = re.search(r'<section id="what-to-do-now"[^>]*>(.*?)</section>', pinned.html, re.S)
        assert box is not None and 'data-hx-swap-oob="true"' in box.group(0) and "hidden" not in box.group(0)
        assert "<p>Stay indoors and close your windows.</p>" in box.group(1)
        assert '<a href="#update-1">Update 1</a>' in box.group(1)
        assert "What to do now, " in pinned.html  # said in the live region
        retract(live.url, pio_token, first["id"], "Wrong incident", 1)
        [retracted] = receive(ws, 1)
        box = re.search(r'<section id="what-to-do-now"[^>]*>', retracted.html)
        assert box is not None and " hidden" in box.group(0)
    # The incident page shows it first (before the status and the timeline), and so does `/`.
    api(live.url, pio_token, f"/incidents/{slug}/pin", {"seq": 2})
    incident_page = page(f"/incidents/{slug}")
    assert incident_page.index('id="what-to-do-now"') < incident_page.index('id="incident-status"')
    assert (
        "<p>Crews are on scene.</p>" in incident_page.split('id="what-to-do-now"')[1].split("</section>")[0]
    )
    index = page("/")
    entry = index.split(f'id="{slug}-what-to-do-now"')[1].split("</section>")[0]
    assert "<p>Crews are on scene.</p>" in entry and f'href="/incidents/{slug}#update-2"' in entry

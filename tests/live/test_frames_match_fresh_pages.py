"""What an open page shows after a change must be what a fresh load shows: the EXERCISE/TEST
labels after a switch between real and exercise, and `/`'s list of active incidents after an
incident is resolved, reopened or its all-clear retracted."""

from __future__ import annotations

import re
import urllib.request

from console.db import Database
from console.domain import stream
from tests.live.support import api, correct, new_incident, nothing_more, publish, receive, retract, subscribe
from tests.support.live_server import LiveServer

TIMELINE = re.compile(
    r'<ol id="timeline" class="timeline"(?: data-hx-swap-oob="true")?>(.*?)\n\s*</ol>', re.S
)
INCIDENTS = re.compile(
    r'<ol id="incidents" class="incidents"(?: data-hx-swap-oob="true")?>(.*?)\n\s*</ol>', re.S
)
EMPTY = re.compile(r'<p id="incidents-empty" class="timeline-empty"( hidden)?[^>]*>')


def tab_title(text: str) -> str:
    """What a frame carries to set the browser tab's title to `text` (htmx swaps it in)."""
    return f'<div data-hx-swap-oob="innerHTML:head &gt; title">{text}</div>'


def head(db: Database) -> int:
    with db.read() as session:
        return stream.head(session)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        text: str = response.read().decode()
        return text


def timeline(html: str) -> str:
    match = TIMELINE.search(html)
    assert match, "the timeline is there"
    return match.group(1)


def listed(html: str) -> str:
    match = INCIDENTS.search(html)
    assert match, "the list of active incidents is there"
    return match.group(1)


def empty_notice_shown(html: str) -> bool:
    match = EMPTY.search(html)
    assert match, "the 'no active incidents' notice is there"
    return match.group(1) is None


def test_switching_to_an_exercise_relabels_every_update_of_an_open_page(
    live: LiveServer, db: Database, pio_token: str
) -> None:
    slug = new_incident(live.url, pio_token, "Gas leak")
    publish(live.url, pio_token, slug, "Residents of Elm St should leave now.")
    publish(live.url, pio_token, slug, "A shelter is open at Oak St school.")
    assert "badge--exercise" not in timeline(get(f"{live.url}/incidents/{slug}"))
    with subscribe(live.ws_url, head(db), incident=slug) as ws:
        change = {"alert_status": "exercise", "reason": "This is the county drill", "corrects_version": 1}
        api(live.url, pio_token, f"/incidents/{slug}/details", change)
        [switched] = receive(ws, 1)
        fresh = get(f"{live.url}/incidents/{slug}")
        # Every update as a fresh load shows it: each one labelled EXERCISE.
        assert timeline(fresh).count('<strong class="badge badge--exercise">EXERCISE</strong>') == 2
        assert '<ol id="timeline" class="timeline" data-hx-swap-oob="true">' in switched.html
        assert timeline(switched.html) == timeline(fresh)
        # and the tab's title, as the page's <title> says it
        assert "<title>EXERCISE: Gas leak · Incident updates</title>" in fresh
        assert tab_title("EXERCISE: Gas leak · Incident updates") in switched.html

        # A change that keeps the alert status leaves the updates alone (no timeline pushed),
        # and still retitles the tab.
        api(
            live.url,
            pio_token,
            f"/incidents/{slug}/details",
            {"title": "Gas leak drill", "reason": "Clearer title", "corrects_version": 2},
        )
        [retitled] = receive(ws, 1)
        assert 'id="timeline"' not in retitled.html
        assert tab_title("EXERCISE: Gas leak drill · Incident updates") in retitled.html

        # Back to real: the labels go, on the open page as on a fresh load.
        back = {"alert_status": "actual", "reason": "A real leak", "corrects_version": 3}
        api(live.url, pio_token, f"/incidents/{slug}/details", back)
        [real] = receive(ws, 1)
        fresh = get(f"{live.url}/incidents/{slug}")
        assert timeline(real.html) == timeline(fresh)
        assert "badge--exercise" not in timeline(real.html)
        assert tab_title("Gas leak drill · Incident updates") in real.html
        assert nothing_more(ws)


def test_an_open_index_lists_what_a_fresh_load_lists_through_resolving_and_reopening(
    live: LiveServer, db: Database, pio_token: str
) -> None:
    slug = new_incident(live.url, pio_token, "Gas leak")
    first = publish(live.url, pio_token, slug, "Residents of Elm St should leave now.")
    resolved = api(live.url, pio_token, f"/incidents/{slug}/resolve", {"message": "All clear."})
    loaded = head(db)  # `/` as loaded now: no active incidents
    assert empty_notice_shown(get(f"{live.url}/")) and f'id="incident-{slug}"' not in get(f"{live.url}/")
    with subscribe(live.ws_url, loaded) as ws:
        # An event of a resolved incident adds nothing to `/` and leaves its notice as it is.
        correct(
            live.url, pio_token, first["id"], "Residents of Elm and Oak St should leave.", "Oak St too", 1
        )
        [corrected] = receive(ws, 1)
        assert f'id="incident-{slug}"' not in corrected.html
        assert 'id="incidents-empty"' not in corrected.html
        assert "Gas leak: Update 1 corrected" in corrected.html  # still said in the live region

        # Reopened: it is listed again, at the top, as a fresh load lists it.
        api(live.url, pio_token, f"/incidents/{slug}/reopen", {"reason": "Gas detected again"})
        [reopened] = receive(ws, 1)
        fresh = get(f"{live.url}/")
        assert f'id="incident-{slug}"' in listed(fresh)
        assert '<ol id="incidents" class="incidents" data-hx-swap-oob="true">' in reopened.html
        assert listed(reopened.html) == listed(fresh)
        assert not empty_notice_shown(reopened.html) and not empty_notice_shown(fresh)

        # Resolved again: it leaves the list, and the notice comes back, as on a fresh load.
        again = api(live.url, pio_token, f"/incidents/{slug}/resolve", {"message": "All clear again."})
        [all_clear, over] = receive(ws, 2)
        assert 'id="incidents-empty"' not in all_clear.html  # the all-clear of a resolved incident
        fresh = get(f"{live.url}/")
        assert f'id="incident-{slug}"' not in listed(fresh)
        assert listed(over.html) == listed(fresh)
        assert empty_notice_shown(over.html) and empty_notice_shown(fresh)
        assert "Gas leak: Resolved" in over.html

        # Its all-clear retracted, it is active again: back on the list.
        all_clear_update = again["all_clear"]
        retract(live.url, pio_token, all_clear_update["id"], "Sent too early", all_clear_update["version"])
        [withdrawn] = receive(ws, 1)
        fresh = get(f"{live.url}/")
        assert f'id="incident-{slug}"' in listed(fresh)
        assert listed(withdrawn.html) == listed(fresh)
        assert not empty_notice_shown(withdrawn.html)
        assert nothing_more(ws)
    assert resolved["status"] == "resolved"


def test_a_reopened_incident_goes_back_among_the_other_active_ones(
    live: LiveServer, db: Database, pio_token: str
) -> None:
    """Another incident stays active meanwhile: the list pushed is the whole one, newest change first."""
    other = new_incident(live.url, pio_token, "Flooding on Route 9")
    publish(live.url, pio_token, other, "Route 9 closed at the river.")
    slug = new_incident(live.url, pio_token, "Gas leak")
    api(live.url, pio_token, f"/incidents/{slug}/resolve", {"message": "All clear."})
    with subscribe(live.ws_url, head(db)) as ws:
        publish(live.url, pio_token, other, "Route 9 reopened northbound.")
        [updated] = receive(ws, 1)  # an active incident's entry is replaced where it is
        entry = f'<li class="incident-entry incident-entry--active" id="incident-{other}"'
        assert f'{entry} data-hx-swap-oob="true">' in updated.html
        api(live.url, pio_token, f"/incidents/{slug}/reopen", {"reason": "Gas detected again"})
        [reopened] = receive(ws, 1)
        fresh = get(f"{live.url}/")
        assert listed(reopened.html) == listed(fresh)
        entries = re.findall(r'<li class="incident-entry[^"]*" id="incident-([^"]+)"', listed(reopened.html))
        assert entries == [slug, other]
        assert nothing_more(ws)

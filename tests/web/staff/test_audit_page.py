"""/console/audit: reviewers and admins read the audit log, filter it, export it, and see
whether the chain holds; a PIO does not get in."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from console.db import Database
from console.domain.outbox import Routing
from tests.support.records import claim_one_delivery, publish_sample
from tests.web.staff.conftest import email_of, sign_in

HTMX = {"HX-Request": "true"}


@pytest.fixture
def record(db: Database, routing: Routing, people: dict[str, int]) -> str:
    return publish_sample(db, routing)


def seqs(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-seq="(\d+)">', page)]


def test_a_reviewer_filters_the_log_and_downloads_it(client: TestClient, record: str) -> None:
    sign_in(client, email_of("reviewer"))
    page = client.get("/console/audit")
    assert page.status_code == 200
    assert '<a href="/console/audit">Audit log</a>' in page.text
    everything = seqs(page.text)
    assert everything == sorted(everything, reverse=True) and len(everything) > 5  # newest first

    published = client.get("/console/audit", params={"action": "version.published", "incident": record})
    assert len(seqs(published.text)) == 4 and "<code>version.published</code>" in published.text
    assert "<code>incident.created</code>" not in published.text

    href = re.search(r'<a href="([^"]+)" download>', published.text)
    assert href and href.group(1) == f"/console/audit.csv?action=version.published&amp;incident={record}"
    download = client.get(href.group(1).replace("&amp;", "&"))
    assert download.status_code == 200 and download.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert [int(r["seq"]) for r in rows] == seqs(published.text)
    assert {r["action"] for r in rows} == {"version.published"}


def test_the_filter_form_refreshes_itself_and_the_results_with_htmx(client: TestClient, record: str) -> None:
    sign_in(client, email_of("admin"))
    fragment = client.get("/console/audit", params={"action": "incident.*"}, headers=HTMX).text
    assert fragment.startswith('<div id="audit-search"') and "<html" not in fragment
    assert 'data-hx-target="#audit-search"' in fragment and 'value="incident.*"' in fragment
    assert "<code>incident.created</code>" in fragment


def test_a_refused_field_is_marked_and_its_error_goes_once_fixed(client: TestClient, record: str) -> None:
    sign_in(client, email_of("reviewer"))
    wrong = client.get("/console/audit", params={"actor": "", "since": "soon"}, headers=HTMX)
    assert wrong.status_code == 422
    since = re.search(r'<input id="audit-since"[^>]*>', wrong.text)
    assert since and 'aria-invalid="true"' in since.group(0) and 'value="soon"' in since.group(0)
    assert 'id="audit-since-error"' in wrong.text and "<table" not in wrong.text
    actor = re.search(r'<input id="audit-actor"[^>]*>', wrong.text)
    assert actor and "aria-invalid" not in actor.group(0)  # only the refused field is marked

    fixed = client.get("/console/audit", params={"actor": "", "since": "2020-01-01"}, headers=HTMX)
    assert fixed.status_code == 200
    assert "aria-invalid" not in fixed.text and "field--invalid" not in fixed.text
    assert 'id="audit-since-error"' not in fixed.text and seqs(fixed.text)


def test_empty_filter_fields_filter_nothing(client: TestClient, record: str) -> None:
    sign_in(client, email_of("reviewer"))
    everything = seqs(client.get("/console/audit").text)
    empty = {name: "" for name in ("actor", "action", "incident", "since", "until", "hide_deliveries")}
    page = client.get("/console/audit", params=empty)
    assert page.status_code == 200 and seqs(page.text) == everything
    download = client.get("/console/audit.csv", params=empty)
    assert download.status_code == 200
    assert [int(row["seq"]) for row in csv.DictReader(io.StringIO(download.text))] == everything


def test_delivery_events_can_be_hidden(client: TestClient, record: str, db: Database) -> None:
    claim_one_delivery(db)
    sign_in(client, email_of("reviewer"))
    everything = client.get("/console/audit").text
    assert "<code>delivery.attempted</code>" in everything
    hidden = client.get("/console/audit", params={"hide_deliveries": "true"})
    assert hidden.status_code == 200 and "<code>delivery.attempted</code>" not in hidden.text
    box = re.search(r'<input id="audit-hide_deliveries"[^>]*>', hidden.text)
    assert box and "checked" in box.group(0)
    assert len(seqs(hidden.text)) == len(seqs(everything)) - 1
    href = re.search(r'<a href="([^"]+)" download>', hidden.text)
    assert href and "hide_deliveries=true" in href.group(1)
    rows = list(csv.DictReader(io.StringIO(client.get(href.group(1).replace("&amp;", "&")).text)))
    assert rows and not [row for row in rows if row["action"].startswith("delivery.")]
    refused = client.get("/console/audit", params={"hide_deliveries": "maybe"})
    assert refused.status_code == 422 and 'id="audit-hide_deliveries-error"' in refused.text


def test_each_row_links_to_its_update_and_version_and_lists_its_data(client: TestClient, record: str) -> None:
    sign_in(client, email_of("reviewer"))
    page = client.get("/console/audit", params={"action": "version.published", "incident": record}).text
    links = re.findall(r'<a class="audit__update" href="/console/updates/(\d+)#version-(\d+)">', page)
    assert sorted(int(version) for _, version in links) == [1, 2, 3, 4] and len({u for u, _ in links}) == 1
    update_id = links[0][0]
    assert client.get(f"/console/updates/{update_id}").status_code == 200
    data = re.search(r'<dl class="audit__data">(.*?)</dl>', page, re.S)
    assert data and "<dt>content_hash</dt>" in data.group(1) and "<dt>version</dt>" in data.group(1)
    assert "{&#34;" not in page and '{"' not in data.group(1)  # a list, not a JSON dump


def test_an_update_is_named_by_its_number_in_its_incident_not_its_database_id(
    client: TestClient, record: str, db: Database, routing: Routing
) -> None:
    second = publish_sample(db, routing)  # its one update is the database's second
    sign_in(client, email_of("reviewer"))
    page = client.get("/console/audit", params={"action": "version.published", "incident": second}).text
    links = re.findall(
        r'<a class="audit__update" href="/console/updates/(\d+)#version-\d+">([^<]+)</a>', page
    )
    assert {update_id for update_id, _ in links} == {"2"}
    assert sorted(name for _, name in links) == [f"Update 1 of {second}, version {n}" for n in (1, 2, 3, 4)]


def test_the_chain_verdict_arrives_by_itself_and_names_a_broken_row(
    client: TestClient, tampered_db: Database, routing: Routing, people: dict[str, int]
) -> None:
    publish_sample(tampered_db, routing)
    sign_in(client, email_of("reviewer"))
    page = client.get("/console/audit").text
    # fetched once the page is up
    assert 'data-hx-get="/console/audit?verify=1" data-hx-trigger="load"' in page
    verdict = client.get("/console/audit?verify=1", headers=HTMX).text
    assert verdict.startswith('<section id="chain"') and "Chain verified</strong> through event" in verdict

    with tampered_db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'someone else' WHERE seq = 3"))
    broken = client.get("/console/audit?verify=1").text  # without JavaScript: the whole page
    assert "<strong>CHAIN BROKEN</strong> at event 3" in broken and '<table class="audit">' in broken


def test_wrong_filters_are_shown_beside_the_field(client: TestClient, record: str) -> None:
    sign_in(client, email_of("reviewer"))
    response = client.get("/console/audit", params={"since": "last tuesday", "incident": "no-such-incident"})
    assert response.status_code == 422
    assert 'value="last tuesday"' in response.text and 'value="no-such-incident"' in response.text
    assert "field--invalid" in response.text and "<table" not in response.text
    assert client.get("/console/audit.csv", params={"since": "soon"}).status_code == 422


def test_pages_go_back_in_time(client: TestClient, record: str, db: Database, routing: Routing) -> None:
    for _ in range(30):
        publish_sample(db, routing)
    sign_in(client, email_of("admin"))
    first = client.get("/console/audit").text
    older = re.search(r'<a href="(/console/audit\?before=\d+)">Older events</a>', first)
    assert older
    second = client.get(older.group(1)).text
    assert seqs(second) and max(seqs(second)) < min(seqs(first))


def test_a_pio_may_not_read_the_audit_log(client: TestClient, record: str) -> None:
    sign_in(client, email_of("pio"))
    assert client.get("/console/audit").status_code == 403
    assert client.get("/console/audit.csv").status_code == 403
    assert "Audit log</a>" not in client.get("/console").text


def test_a_blank_actor_is_marked_but_an_empty_one_filters_nothing(client: TestClient, record: str) -> None:
    sign_in(client, email_of("reviewer"))
    assert client.get("/console/audit", params={"actor": ""}).status_code == 200
    blank = client.get("/console/audit", params={"actor": "  "}, headers=HTMX)
    assert blank.status_code == 422 and 'id="audit-actor-error"' in blank.text
    actor = re.search(r'<input id="audit-actor"[^>]*>', blank.text)
    assert actor and 'aria-invalid="true"' in actor.group(0)

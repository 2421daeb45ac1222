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
from tests.support.records import publish_sample
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


def test_the_filter_form_refreshes_only_the_results_with_htmx(client: TestClient, record: str) -> None:
    sign_in(client, email_of("admin"))
    fragment = client.get("/console/audit", params={"action": "incident.*"}, headers=HTMX).text
    assert fragment.startswith('<section id="audit-results"') and "<html" not in fragment
    assert "<code>incident.created</code>" in fragment


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

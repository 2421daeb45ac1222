"""The reviewer audit: GET /api/v1/audit (filters, pages), /api/v1/audit.csv, the chain status
at /api/v1/audit/chain, and `console audit verify --against HEAD_HASH`."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from starlette.testclient import TestClient

from console.cli import main
from console.db import Database
from console.domain.audit import chain_head
from console.domain.outbox import Routing
from console.models import AuditEvent
from console.settings import Settings
from tests.archive.conftest import T0, Sample, make_incident, publish_history
from tests.support.factories import bearer
from tests.support.records import claim_one_delivery


def events(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/audit", params=params, headers=headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["events"]
    return found


def test_only_reviewers_and_admins_read_the_audit_log(
    client: TestClient, reviewer: dict[str, str], admin: dict[str, str], pio: dict[str, str]
) -> None:
    for path in ("/api/v1/audit", "/api/v1/audit.csv", "/api/v1/audit/chain"):
        assert client.get(path, headers=reviewer).status_code == 200, path
        assert client.get(path, headers=admin).status_code == 200, path
        refused = client.get(path, headers=pio)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden", path
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers=bearer("ick_not_a_token")).status_code == 401, path


def test_events_newest_first_with_their_hashes_and_incident(
    client: TestClient, reviewer: dict[str, str], sample: Sample
) -> None:
    body = client.get("/api/v1/audit", headers=reviewer).json()
    listed = body["events"]
    assert [e["seq"] for e in listed] == sorted((e["seq"] for e in listed), reverse=True)
    assert body["head"] == {"event": listed[0]["seq"], "hash": listed[0]["hash"]}
    for newer, older in zip(listed, listed[1:], strict=False):
        assert newer["prev_hash"] == older["hash"]
    published = [e for e in listed if e["action"] == "version.published"]
    assert len(published) == 6 and all(e["incident"] == sample.slug for e in published)
    assert published[-1]["data"]["kind"] == "original" and published[-1]["actor"] == "Test PIO via api"


def test_filters_by_actor_action_incident_and_time(
    db: Database, routing: Routing, client: TestClient, reviewer: dict[str, str]
) -> None:
    first = publish_history(db, routing, title="First", at=T0)
    second = publish_history(db, routing, title="Second", at=T0 + timedelta(days=1))
    assert {e["incident"] for e in events(client, reviewer, incident=first.slug)} == {first.slug}
    assert len(events(client, reviewer, incident=second.slug, action="version.published")) == 6
    assert {e["action"] for e in events(client, reviewer, action="incident.*")} == {"incident.created"}
    assert {e["actor"] for e in events(client, reviewer, actor="test pio")} == {"Test PIO via api"}
    assert {e["action"] for e in events(client, reviewer, actor="OPERATOR")} == {
        "user.created",
        "token.created",
    }
    assert events(client, reviewer, actor="Rita") == [], "the actor, not the subject"
    assert events(client, reviewer, actor="%") == [], "no wildcards"
    day_one = events(client, reviewer, since="2026-03-01", until="2026-03-01")
    assert {e["incident"] for e in day_one} == {first.slug} and len(day_one) == 7
    window = events(client, reviewer, since="2026-03-02T14:01:00Z", until="2026-03-02T14:03:00Z")
    assert [e["occurred_at"] for e in window] == ["2026-03-02T14:02:00+00:00", "2026-03-02T14:01:00+00:00"]
    local = events(client, reviewer, since="2026-03-02T15:01:00+01:00", until="2026-03-02T15:03:00+01:00")
    assert local == window
    assert events(client, reviewer, since="2026-03-05", until="2026-03-01") == []


def test_bad_filters_are_refused_with_the_field_named(client: TestClient, reviewer: dict[str, str]) -> None:
    cases = {
        "action=DROP%20TABLE": "action",
        "since=yesterday": "since",
        "until=2026-02-30": "until",
        "since=20260301": "since",
        "limit=0": "limit",
        "limit=1001": "limit",
        "before=x": "before",
        "before=%D9%A3": "before",  # an Arabic-Indic digit is not a number here
        "hide_deliveries=maybe": "hide_deliveries",
        "hide_deliveries=": "hide_deliveries",  # in the API an empty filter is a mistake, not "no"
    }
    for query, field in cases.items():
        response = client.get(f"/api/v1/audit?{query}", headers=reviewer)
        assert response.status_code == 422, query
        assert field in response.json()["error"]["fields"], query
    unknown = client.get("/api/v1/audit?incident=no-such-incident", headers=reviewer)
    message = unknown.json()["error"]["message"]
    assert unknown.status_code == 404 and "`incident`" in message and "no-such-incident" not in message


def test_delivery_events_can_be_left_out(
    db: Database, client: TestClient, reviewer: dict[str, str], sample: Sample
) -> None:
    claim_one_delivery(db)
    everything = events(client, reviewer)
    assert "delivery.attempted" in {e["action"] for e in everything}
    for flag in ("true", "1"):
        kept = events(client, reviewer, hide_deliveries=flag)
        assert kept == [e for e in everything if not e["action"].startswith("delivery.")], flag
        download = client.get("/api/v1/audit.csv", params={"hide_deliveries": flag}, headers=reviewer)
        assert [int(row["seq"]) for row in csv.DictReader(io.StringIO(download.text))] == [
            e["seq"] for e in kept
        ]
    for flag in ("false", "0"):
        assert events(client, reviewer, hide_deliveries=flag) == everything, flag


def test_pages_follow_next_before(
    db: Database, routing: Routing, client: TestClient, reviewer: dict[str, str]
) -> None:
    for n in range(5):
        make_incident(db, routing, f"Incident {n}", at=T0 + timedelta(minutes=n))
    seen: list[int] = []
    before = None
    while True:
        params = {"limit": 3, **({"before": before} if before else {})}
        body = client.get("/api/v1/audit", params=params, headers=reviewer).json()
        seen += [e["seq"] for e in body["events"]]
        before = body["next_before"]
        if before is None:
            break
    with db.read() as session:
        head, _ = chain_head(session)
    assert seen == list(range(head, 0, -1))


def test_csv_export_has_every_matching_event(
    db: Database,
    routing: Routing,
    client: TestClient,
    reviewer: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("console.web.audit_api.CSV_BATCH", 4)  # several batches
    sample = publish_history(db, routing)
    make_incident(db, routing, "Other", at=T0)
    response = client.get("/api/v1/audit.csv", params={"incident": sample.slug}, headers=reviewer)
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    listed = events(client, reviewer, incident=sample.slug)
    assert [int(r["seq"]) for r in rows] == [e["seq"] for e in listed] and len(rows) == 7
    assert [json.loads(r["data"]) for r in rows] == [e["data"] for e in listed]
    assert {r["incident"] for r in rows} == {sample.slug}
    assert list(rows[0]) == [
        "seq",
        "occurred_at",
        "actor",
        "actor_user_id",
        "action",
        "incident",
        "subject",
        "data",
        "prev_hash",
        "hash",
    ]
    assert client.get("/api/v1/audit.csv?since=nope", headers=reviewer).status_code == 422


def test_chain_status_says_verified_through_event_n(
    db: Database, client: TestClient, reviewer: dict[str, str], sample: Sample
) -> None:
    status = client.get("/api/v1/audit/chain", headers=reviewer).json()
    with db.read() as session:
        seq, digest = chain_head(session)
    assert status["ok"] is True and status["broken_at"] is None
    assert (status["verified_through"], status["head_hash"], status["versions_checked"]) == (seq, digest, 6)
    assert status["summary"].startswith(f"audit chain verified through event {seq}")


def test_chain_status_reports_the_first_tampered_row(
    tampered_db: Database, routing: Routing, client: TestClient, reviewer: dict[str, str]
) -> None:
    publish_history(tampered_db, routing)
    with tampered_db.read() as session:
        target = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "version.published")
            .order_by(AuditEvent.seq)
            .offset(1)
        ).first()
    assert target is not None
    with tampered_db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'someone else' WHERE id = :id"), {"id": target.id})
    status = client.get("/api/v1/audit/chain", headers=reviewer).json()
    assert status["ok"] is False
    assert (status["broken_at"], status["verified_through"]) == (target.seq, target.seq - 1)
    assert status["problem"] == "its content does not match its hash (the row was edited)"
    assert f"audit chain broken at event {target.seq}" in status["summary"]


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SIGNING_KEY_FILE", str(settings.signing_key_file))
    return settings


def test_verify_against_a_kept_head_passes_while_the_log_only_grows(
    cli_env: Settings, db: Database, routing: Routing, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_history(db, routing)
    assert main(["archive", "export", str(tmp_path / "kept")]) == 0
    kept = json.loads((tmp_path / "kept" / "manifest.json").read_text())["audit_head"]
    publish_history(db, routing, title="Later incident", at=T0 + timedelta(days=1))
    capsys.readouterr()
    assert main(["audit", "verify", "--against", kept["hash"].upper()]) == 0
    out = capsys.readouterr().out
    assert f"kept head {kept['hash']} is event {kept['event']}: the log up to it is unchanged" in out


def test_verify_against_finds_a_rewritten_log(
    cli_env: Settings, tampered_db: Database, routing: Routing, capsys: pytest.CaptureFixture[str]
) -> None:
    """An attacker edits an early row and recomputes every hash after it, so the chain itself
    verifies again; only the head published before gives the rewrite away."""
    publish_history(tampered_db, routing)
    with tampered_db.read() as session:
        kept_seq, kept_hash = chain_head(session)
    rewrite_chain_from(tampered_db, 2, actor="someone else via api")
    capsys.readouterr()
    assert main(["audit", "verify"]) == 0, "the rewritten chain is internally consistent"
    assert main(["audit", "verify", "--against", kept_hash]) == 1
    assert f"kept head {kept_hash} is not in the audit chain" in capsys.readouterr().err


def test_verify_against_a_head_past_the_break_cannot_be_proven(
    cli_env: Settings, tampered_db: Database, routing: Routing, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_history(tampered_db, routing)
    with tampered_db.read() as session:
        _, kept_hash = chain_head(session)
    with tampered_db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET subject = 'edited' WHERE seq = 3"))
    assert main(["audit", "verify", "--against", kept_hash]) == 1
    err = capsys.readouterr().err
    assert "audit chain broken at event 3" in err and "cannot be proven" in err


def test_verify_against_needs_a_sha256_hex_digest(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_code:
        main(["audit", "verify", "--against", "not-a-hash"])
    assert exit_code.value.code == 2
    assert "must be a 64-character SHA-256 hex digest" in capsys.readouterr().err


def rewrite_chain_from(db: Database, seq: int, *, actor: str) -> None:
    """Edit event `seq` and re-hash it and every later event, as a careful attacker would."""
    from console.domain.audit import row_canonical
    from console.domain.canonical import chain_hash

    with db.read() as session:
        rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    prev = next(r.hash for r in rows if r.seq == seq - 1)
    with db.engine.begin() as conn:
        for row in (r for r in rows if r.seq >= seq):
            new_actor = actor if row.seq == seq else row.actor
            digest = chain_hash(
                prev,
                row_canonical(
                    seq=row.seq,
                    occurred_at=row.occurred_at,
                    actor_user_id=row.actor_user_id,
                    actor=new_actor,
                    action=row.action,
                    incident_id=row.incident_id,
                    subject=row.subject,
                    data=row.data,
                ),
            )
            conn.execute(
                text(
                    "UPDATE audit_events SET actor = :actor, prev_hash = :prev, hash = :hash WHERE id = :id"
                ),
                {"actor": new_actor, "prev": prev, "hash": digest, "id": row.id},
            )
            prev = digest


def test_an_empty_limit_or_before_is_refused_in_the_api(client: TestClient, reviewer: dict[str, str]) -> None:
    """The OpenAPI says integer: an empty value is a mistake in the caller's script, not "default"."""
    for query in ("limit=", "before="):
        refused = client.get(f"/api/v1/audit?{query}", headers=reviewer)
        assert refused.status_code == 422, query
        assert query.rstrip("=") in refused.json()["error"]["fields"], query


@pytest.mark.parametrize("path", ["/api/v1/audit", "/api/v1/audit.csv"])
@pytest.mark.parametrize("name", ["actor", "incident"])
@pytest.mark.parametrize("value", ["", "%20%20", "%09"])
def test_an_empty_or_blank_actor_or_incident_is_refused_in_the_api(
    client: TestClient, reviewer: dict[str, str], sample: Sample, path: str, name: str, value: str
) -> None:
    """Not "every actor" nor "no incident": like any other empty filter, a mistake in the
    caller's script."""
    refused = client.get(f"{path}?{name}={value}", headers=reviewer)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "invalid_input" and list(error["fields"]) == [name]
    assert client.get(f"{path}?actor=%20pio", headers=reviewer).status_code == 200  # spaces in a label


def test_the_csv_export_refuses_a_malformed_before_or_limit_like_the_json(
    client: TestClient, reviewer: dict[str, str], sample: Sample
) -> None:
    for query in ("before=x", "before=0", "before=", "limit=0", "limit=1001", "limit=ten", "limit="):
        field = query.split("=")[0]
        for path in ("/api/v1/audit", "/api/v1/audit.csv"):
            refused = client.get(f"{path}?{query}", headers=reviewer)
            assert refused.status_code == 422, (path, query)
            assert list(refused.json()["error"]["fields"]) == [field], (path, query)
    # well-formed ones page nothing: the export is every matching event
    exported = client.get("/api/v1/audit.csv?before=3&limit=1", headers=reviewer)
    assert exported.status_code == 200
    assert len(list(csv.DictReader(io.StringIO(exported.text)))) == len(events(client, reviewer, limit=1000))

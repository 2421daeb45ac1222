"""Approvers emailed (issue 18, "the approvers are notified"): a version sent for approval and
one published with an emergency bypass each reach every other pio or admin once, by a real SMTP
server (aiosmtpd), and never the author, a disabled account or a reviewer; a worker running
twice sends nothing twice, a failed recipient is retried alone, and in preview the messages are
.eml files."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.datastructures import Secret
from starlette.testclient import TestClient

from console.channels.approvers import ApproversChannel
from console.channels.registry import routing as routing_for
from console.db import Database
from console.dispatcher import Dispatcher
from console.domain import stream
from console.domain.account_controls import disable_user
from console.domain.actors import OPERATOR
from console.models import (
    STAFF_EVENT_TYPES,
    ApprovalNotice,
    ApprovalNoticeRecipient,
    Delivery,
    DeliveryState,
    OutboxEvent,
    utcnow,
)
from console.settings import APPROVAL_KINDS, Settings
from console.web.app import create_app
from tests.alerts.support import Inbox, parse, smtp_server, text_of
from tests.support.factories import bearer, make_token, make_user
from tests.web.staff.conftest import sign_in

AUTHOR = "casey@example.org"
APPROVERS = ["robin@example.org", "alex@example.org"]  # another pio, an admin
NOT_TOLD = [AUTHOR, "dana@example.org", "riley@example.org"]  # the author, disabled, reviewer


class RefusingInbox(Inbox):
    """An inbox whose server refuses the addresses in `refuse` once each (a 450 per recipient)."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse: set[str] = set()

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            self.refuse.discard(address)
            return "450 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing() -> RefusingInbox:
    return RefusingInbox()


@pytest.fixture
def smtp(refusing: RefusingInbox) -> Iterator[tuple[Inbox, int]]:
    yield from smtp_server(refusing)


@pytest.fixture
def mail_settings(settings: Settings, smtp: tuple[Inbox, int]) -> Settings:
    return dataclasses.replace(
        settings,
        channels=(),  # APPROVAL_REQUIRED alone enables the approvers channel
        approval_required=APPROVAL_KINDS,
        smtp_url=Secret(f"smtp://127.0.0.1:{smtp[1]}"),
        mail_from="console@police.example",
        public_url="https://console.police.example",
    )


@pytest.fixture
def author(db: Database) -> dict[str, str]:
    """The author's API token, and the accounts around them."""
    token = make_token(db, "pio", AUTHOR, "Casey Park")
    make_user(db, "pio", APPROVERS[0], "Robin Lee")
    make_user(db, "admin", APPROVERS[1], "Alex Kim")
    make_user(db, "pio", "dana@example.org", "Dana Cruz")
    make_user(db, "reviewer", "riley@example.org", "Riley Fox")
    with db.write() as session:
        disable_user(session, OPERATOR, email="dana@example.org")
    return bearer(token)


def drain(settings: Settings, db: Database, *, later: timedelta = timedelta(0)) -> None:
    """One worker run (its clock `later` than now): deliver what is due on the approvers channel."""
    channel = ApproversChannel.from_settings(settings, db)
    dispatcher = Dispatcher.from_settings(settings, db, {channel.name: channel})
    dispatcher.clock = lambda: utcnow() + later
    asyncio.run(dispatcher.drain())


def new_incident(client: TestClient, headers: dict[str, str]) -> str:
    created = client.post("/api/v1/incidents", json={"title": "Gas leak on Elm St"}, headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["slug"])


def received_by(inbox: Inbox) -> list[str]:
    return sorted(inbox.recipients())


def only_message_to(inbox: Inbox, address: str) -> EmailMessage:
    (message,) = inbox.to(address)
    return message


def deliveries(db: Database) -> list[Delivery]:
    with db.read() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def test_a_version_sent_for_approval_is_emailed_to_every_other_approver_once(
    mail_settings: Settings, db: Database, author: dict[str, str], smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    with TestClient(create_app(mail_settings)) as client:
        slug = new_incident(client, author)
        waiting = client.post(
            f"/api/v1/incidents/{slug}/updates",
            json={"headline": "Evacuate Elm St", "body": "Leave the area now.\nGo north."},
            headers=author,
        )
        assert waiting.status_code == 202, waiting.text
        pending_id = waiting.json()["id"]

    # Written with the submission: one notice, one recipient row per approver, one delivery.
    with db.read() as session:
        notice = session.scalars(select(ApprovalNotice)).one()
        assert (notice.kind, notice.pending_version_id, notice.version_number) == ("submitted", pending_id, 1)
        assert sorted(r.address for r in notice.recipients) == sorted(APPROVERS)
    assert [(d.channel, d.state) for d in deliveries(db)] == [("approvers", DeliveryState.PENDING)]
    assert inbox.count() == 0  # sent by the worker, not by the request

    drain(mail_settings, db)
    drain(mail_settings, db)  # a second worker run sends nothing again
    assert received_by(inbox) == sorted(APPROVERS)
    message = only_message_to(inbox, APPROVERS[0])
    assert message["Subject"] == "Waiting for your approval: Gas leak on Elm St: Evacuate Elm St"
    assert message["From"] == "console@police.example"
    text = text_of(message)
    assert "Casey Park sent a version for approval" in text
    assert "Incident: Gas leak on Elm St" in text
    assert "Version: 1 (original)" in text
    assert "Headline: Evacuate Elm St" in text
    assert "First line: Leave the area now." in text
    assert "Go north." not in text
    assert f"https://console.police.example/console/pending/{pending_id}" in text
    html = text_of(message, "html")
    assert f'href="https://console.police.example/console/pending/{pending_id}"' in html
    assert "Evacuate Elm St" in html
    for address in NOT_TOLD:
        assert inbox.to(address) == []

    [delivery] = deliveries(db)
    assert (delivery.state, delivery.attempts, delivery.note) == (DeliveryState.SENT, 1, None)
    assert delivery.detail == f"emailed 2 approvers: {', '.join(APPROVERS)}"
    with db.read() as session:
        recipients = list(session.scalars(select(ApprovalNoticeRecipient)))
    assert all(r.sent_at is not None and r.attempts == 1 for r in recipients)
    assert {r.message_id for r in recipients} == {message["Message-ID"] for message in inbox.messages}


def test_an_emergency_bypass_is_emailed_with_its_reason(
    mail_settings: Settings, db: Database, author: dict[str, str], smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    with TestClient(create_app(mail_settings)) as client:
        slug = new_incident(client, author)
        published = client.post(
            f"/api/v1/incidents/{slug}/updates",
            json={"body": "Gas cloud moving east. Shelter in place.", "bypass_approval": "Cloud moving fast"},
            headers=author,
        )
        assert published.status_code == 201, published.text
        update_id = published.json()["id"]

    drain(mail_settings, db)
    drain(mail_settings, db)
    assert received_by(inbox) == sorted(APPROVERS)
    message = only_message_to(inbox, APPROVERS[1])
    assert message["Subject"] == (
        "Published without approval: Gas leak on Elm St: Gas cloud moving east. Shelter in place."
    )
    text = text_of(message)
    assert "Casey Park published a version WITHOUT APPROVAL (emergency bypass)." in text
    assert "Version: 1 (original)" in text
    assert "Reason for publishing without approval: Cloud moving fast" in text
    assert f"https://console.police.example/console/updates/{update_id}" in text
    assert "When: " in text


def test_a_recipient_the_server_refused_is_retried_alone(
    mail_settings: Settings, db: Database, author: dict[str, str], refusing: RefusingInbox
) -> None:
    inbox = refusing
    inbox.refuse = {APPROVERS[1]}
    # A retry is due a minute later: the first run cannot retry it at once.
    mail_settings = dataclasses.replace(
        mail_settings, outbox_backoff_base_seconds=60.0, outbox_backoff_max_seconds=60.0
    )
    with TestClient(create_app(mail_settings)) as client:
        slug = new_incident(client, author)
        assert client.post(f"/api/v1/incidents/{slug}/updates", json={"body": "Road closed."}, headers=author)

    drain(mail_settings, db)
    assert received_by(inbox) == [APPROVERS[0]]
    [delivery] = deliveries(db)
    assert delivery.state is DeliveryState.PENDING and "1 of 2 approvers not reached" in (
        delivery.last_error or ""
    )
    with db.read() as session:
        refused = session.scalars(
            select(ApprovalNoticeRecipient).where(ApprovalNoticeRecipient.address == APPROVERS[1])
        ).one()
        assert refused.sent_at is None and "450" in (refused.last_error or "")

    drain(mail_settings, db, later=timedelta(minutes=2))  # past the retry's backoff
    assert received_by(inbox) == sorted(APPROVERS)  # the first approver got it once, not twice
    [delivery] = deliveries(db)
    assert (delivery.state, delivery.attempts) == (DeliveryState.SENT, 2)
    assert delivery.detail == f"emailed 1 approver (1 reached earlier): {APPROVERS[1]}"


def test_approval_events_are_on_no_public_stream(
    mail_settings: Settings, db: Database, author: dict[str, str]
) -> None:
    with TestClient(create_app(mail_settings)) as client:
        slug = new_incident(client, author)
        client.post(f"/api/v1/incidents/{slug}/updates", json={"body": "Road closed."}, headers=author)
        client.post(
            f"/api/v1/incidents/{slug}/updates",
            json={"body": "Open.", "bypass_approval": "Now"},
            headers=author,
        )
    with db.read() as session:
        staff = list(session.scalars(select(OutboxEvent).where(OutboxEvent.type.in_(STAFF_EVENT_TYPES))))
        assert len(staff) == 2 and all(event.incident_id is None for event in staff)
        assert not [e for e in stream.events_after(session, 0) if e.type in STAFF_EVENT_TYPES]


def test_without_smtp_url_each_approver_email_is_an_eml_file(
    mail_settings: Settings, db: Database, author: dict[str, str], tmp_path: Path
) -> None:
    preview = dataclasses.replace(mail_settings, smtp_url=None, mail_preview_dir=tmp_path / "mail")
    with TestClient(create_app(preview)) as client:
        slug = new_incident(client, author)
        client.post(f"/api/v1/incidents/{slug}/updates", json={"body": "Road closed."}, headers=author)
    drain(preview, db)
    drain(preview, db)
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 2
    messages = [parse(path.read_bytes()) for path in files]
    assert sorted(str(message["To"]) for message in messages) == sorted(APPROVERS)
    assert all(message["Subject"].startswith("Waiting for your approval: ") for message in messages)
    [delivery] = deliveries(db)
    assert (delivery.state, delivery.note) == (DeliveryState.SENT, "email in preview: SMTP_URL not set")


def test_without_approval_required_nobody_is_emailed(
    mail_settings: Settings, db: Database, author: dict[str, str], smtp: tuple[Inbox, int]
) -> None:
    settings = dataclasses.replace(mail_settings, approval_required=())
    assert "approvers" not in routing_for(settings).routes
    with TestClient(create_app(settings)) as client:
        slug = new_incident(client, author)
        assert (
            client.post(f"/api/v1/incidents/{slug}/updates", json={"body": "x"}, headers=author).status_code
            == 201
        )
    with db.read() as session:
        assert session.scalars(select(ApprovalNotice)).all() == []


def test_the_console_forms_email_the_approvers_too(
    mail_settings: Settings, db: Database, author: dict[str, str], smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    with TestClient(create_app(mail_settings), base_url=mail_settings.public_url) as client:
        slug = new_incident(client, author)
        token = sign_in(client, AUTHOR)
        review = client.post(
            f"/console/incidents/{slug}/updates",
            data={"body": "Evacuate now.", "step": "review", "csrf_token": token},
        )
        assert "shown to every PIO and emailed to the approvers" in review.text
        form = {"body": "Evacuate now.", "step": "publish", "csrf_token": token}
        bypassed = {**form, "bypass_approval": "yes", "bypass_reason": "Gas cloud moving"}
        for data in (form, bypassed):  # sent for approval, then published at once
            sent = client.post(f"/console/incidents/{slug}/updates", data=data, follow_redirects=False)
            assert sent.status_code == 303, sent.text
    drain(mail_settings, db)
    subjects = sorted(message["Subject"].split(":")[0] for message in inbox.to(APPROVERS[0]))
    assert subjects == ["Published without approval", "Waiting for your approval"]
    assert sorted(inbox.recipients()) == sorted(APPROVERS * 2)


def test_a_correction_sent_for_approval_carries_its_reason(
    mail_settings: Settings, db: Database, author: dict[str, str], smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    with TestClient(create_app(mail_settings)) as client:
        slug = new_incident(client, author)
        first = client.post(
            f"/api/v1/incidents/{slug}/updates",
            json={"body": "Road closed.", "bypass_approval": "Now"},
            headers=author,
        )
        update_id = first.json()["id"]
        waiting = client.post(
            f"/api/v1/updates/{update_id}/corrections",
            json={"body": "Road closed until 6 pm.", "reason": "Time known", "corrects_version": 1},
            headers=author,
        )
        assert waiting.status_code == 202, waiting.text
    drain(mail_settings, db)
    [message] = [m for m in inbox.to(APPROVERS[0]) if m["Subject"].startswith("Waiting")]
    text = text_of(message)
    assert "Version: 2 (correction)" in text and "Reason for the change: Time known" in text
    assert "First line: Road closed until 6 pm." in text


def test_an_approver_disabled_before_the_worker_runs_is_not_emailed(
    mail_settings: Settings, db: Database, author: dict[str, str], smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    with TestClient(create_app(mail_settings)) as client:
        slug = new_incident(client, author)
        client.post(f"/api/v1/incidents/{slug}/updates", json={"body": "Road closed."}, headers=author)
    with db.write() as session:
        disable_user(session, OPERATOR, email=APPROVERS[0])
    drain(mail_settings, db)
    assert received_by(inbox) == [APPROVERS[1]]
    [delivery] = deliveries(db)
    assert (delivery.state, delivery.detail) == (DeliveryState.SENT, f"emailed 1 approver: {APPROVERS[1]}")

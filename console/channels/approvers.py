"""The `approvers` channel (issue 18): each approval notice emailed to every other account able
to approve, from templates/approvals/, over the SMTP transport the subscriber alerts use
(`console.mail`: SMTP_URL, or .eml files under MAIL_PREVIEW_DIR in preview).

Each approver is marked sent as soon as the mail server took the message, so a retry (after a
failure, or a worker that died mid-send) emails only the approvers not reached yet. A message
has one Message-ID per (event, approver): a copy sent again because a worker died between the
server's answer and the record is recognisable as the same message.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from jinja2 import Environment

from console import mail
from console.channels.base import Outcome, RetryLater, Sent, Skipped
from console.db import Database
from console.domain import approver_notices
from console.domain.approver_notices import NoticeText
from console.domain.events import ApprovalBypassed, ApprovalRequested
from console.domain.outbox import Claim
from console.models import EventType, utcnow
from console.settings import Settings
from console.templating import make_templates

SUBJECTS = {
    approver_notices.SUBMITTED: "Waiting for your approval",
    approver_notices.BYPASSED: "Published without approval",
}


def render_notice(env: Environment, text: NoticeText, *, public_url: str) -> mail.Rendered:
    """The email every approver of a notice receives (nothing in it is per recipient)."""
    summary = text.headline or text.first_line
    subject = " ".join(f"{SUBJECTS[text.kind]}: {text.incident_title}: {summary}".split())[:200]
    context = {"notice": text, "console_url": public_url + text.console_path, "subject": subject}
    rendered_text = env.get_template("approvals/notice.txt").render(context)
    html = env.get_template("approvals/notice.html").render(context)
    return mail.Rendered(subject, rendered_text, html, "en")


def _approvers(count: int) -> str:
    return f"{count} approver" if count == 1 else f"{count} approvers"


class ApproversChannel:
    name: ClassVar[str] = "approvers"
    accepts: ClassVar[frozenset[EventType]] = frozenset(
        {EventType.APPROVAL_REQUESTED, EventType.APPROVAL_BYPASSED}
    )
    ordered: ClassVar[bool] = False
    timeout_seconds: ClassVar[float] = 60.0

    def __init__(self, db: Database, settings: Settings, env: Environment, mailer: mail.Mailer) -> None:
        self.db = db
        self.settings = settings
        self.env = env
        self.mailer = mailer

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> ApproversChannel:
        return cls(db, settings, make_templates(settings).env, mail.mailer_from_settings(settings))

    @property
    def preview_note(self) -> str | None:
        return "email in preview: SMTP_URL not set" if self.mailer.preview else None

    async def deliver(self, claim: Claim) -> Outcome:
        event = claim.event
        if not isinstance(event, ApprovalRequested | ApprovalBypassed):
            raise TypeError(f"the approvers channel got a {event.type} event")
        return await asyncio.to_thread(self._send, event.event_id, event.notice_id)

    def _message_id(self, event_id: int, recipient_id: int) -> str:
        return f"<approval-{event_id}-{recipient_id}@{self.settings.public_host or 'localhost'}>"

    def _send(self, event_id: int, notice_id: int) -> Outcome:
        with self.db.read() as session:
            work = approver_notices.to_send(session, notice_id)
        if not work.addressees:
            if work.reached:
                return Sent(detail=f"emailed {_approvers(work.reached)}", note=self.preview_note)
            dropped = f"{work.dropped} disabled or no longer approvers" if work.dropped else None
            return Skipped("no other account can approve", detail=dropped)
        template = mail.MailTemplate(
            render_notice(self.env, work.text, public_url=self.settings.public_url),
            mail_from=self.settings.mail_from,
        )
        messages = [
            template.stamp(
                to=addressee.address,
                unsubscribe_url=None,
                message_id=self._message_id(event_id, addressee.recipient_id),
            )
            for addressee in work.addressees
        ]
        failures: list[str] = []

        def record(index: int, error: str | None) -> None:
            # Recorded at once, in its own transaction: a crash later re-sends none of these.
            addressee = work.addressees[index]
            with self.db.write() as session:
                if error is None:
                    approver_notices.mark_sent(
                        session, addressee.recipient_id, message_id=messages[index].message_id, now=utcnow()
                    )
                else:
                    approver_notices.mark_failed(session, addressee.recipient_id, error)
                    failures.append(f"{addressee.address}: {error}")

        try:
            self.mailer.send(messages, record)
        finally:
            self.mailer.close()  # a notice is rare: no connection is kept open between them
        if failures:
            raise RetryLater(
                f"{len(failures)} of {_approvers(len(messages))} not reached: {'; '.join(failures)}"
            )
        sent = [addressee.address for addressee in work.addressees]
        earlier = f" ({work.reached} reached earlier)" if work.reached else ""
        return Sent(
            detail=f"emailed {_approvers(len(sent))}{earlier}: {', '.join(sent)}", note=self.preview_note
        )

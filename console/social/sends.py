"""The record of a post request whose outcome is unknown (`social_sends`)."""

from __future__ import annotations

from datetime import datetime

from console.db import Database
from console.models import SocialSend


def pending(db: Database, delivery_id: int) -> SocialSend | None:
    with db.read() as session:
        return session.get(SocialSend, delivery_id)


def mark(
    db: Database, delivery_id: int, attempt: int, text: str, reply_to: str | None, now: datetime
) -> None:
    """Committed before the request goes out: if the answer never comes, the next attempt knows."""
    with db.write() as session:
        session.merge(
            SocialSend(delivery_id=delivery_id, attempt=attempt, text=text, in_reply_to=reply_to, sent_at=now)
        )


def clear(db: Database, delivery_id: int) -> None:
    with db.write() as session:
        row = session.get(SocialSend, delivery_id)
        if row is not None:
            session.delete(row)

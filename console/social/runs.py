"""The run of posts a social delivery makes (`social_posts`): its texts, written once at the
first attempt, and each post's id as it is made."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from console.db import Database
from console.models import SocialPost, SocialSend, utcnow
from console.social.network import Posted


@dataclass(frozen=True)
class RunPost:
    position: int  # 1, 2, … in the run
    text: str
    posted: Posted | None  # None until made


def load(db: Database, delivery_id: int) -> list[RunPost]:
    with db.read() as session:
        rows = session.scalars(
            select(SocialPost).where(SocialPost.delivery_id == delivery_id).order_by(SocialPost.position)
        )
        return [
            RunPost(
                row.position,
                row.text,
                Posted(row.external_id, row.external_url or "") if row.external_id is not None else None,
            )
            for row in rows
        ]


def start(db: Database, delivery_id: int, texts: list[str]) -> list[RunPost]:
    """Fix the run's texts before its first post goes out: every later attempt sends these."""
    with db.write() as session:
        session.add_all(
            SocialPost(delivery_id=delivery_id, position=position, text=text)
            for position, text in enumerate(texts, 1)
        )
    return [RunPost(position, text, None) for position, text in enumerate(texts, 1)]


def record(db: Database, delivery_id: int, position: int, posted: Posted) -> None:
    """The post is made: keep its id and forget the request (one transaction, so a worker
    killed at any moment leaves either the request to look for or the id, never neither)."""
    with db.write() as session:
        row = session.get_one(SocialPost, (delivery_id, position))
        row.external_id, row.external_url, row.posted_at = posted.id, posted.url, utcnow()
        pending = session.get(SocialSend, delivery_id)
        if pending is not None:
            session.delete(pending)

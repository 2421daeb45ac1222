"""Every post a social delivery made (its run, in order), for the console, the API and the
public history. A delivery that is not a social one, or made no post, has none."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.models import SocialPost


@dataclass(frozen=True)
class PostLink:
    position: int  # 1, 2, … in the run
    external_id: str
    external_url: str | None

    def view(self) -> dict[str, Any]:
        return {"position": self.position, "external_id": self.external_id, "external_url": self.external_url}


def by_delivery(session: Session, delivery_ids: Iterable[int]) -> dict[int, tuple[PostLink, ...]]:
    """The posts made so far by each of these deliveries (only those with any), in run order."""
    ids = sorted(set(delivery_ids))
    found: dict[int, list[PostLink]] = defaultdict(list)
    for start in range(0, len(ids), 500):  # stay well under any backend's bound-parameter limit
        rows = session.scalars(
            select(SocialPost)
            .where(SocialPost.delivery_id.in_(ids[start : start + 500]), SocialPost.external_id.is_not(None))
            .order_by(SocialPost.delivery_id, SocialPost.position)
        )
        for row in rows:
            found[row.delivery_id].append(PostLink(row.position, row.external_id or "", row.external_url))
    return {delivery_id: tuple(links) for delivery_id, links in found.items()}

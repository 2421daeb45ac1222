"""Reading one row: by its id, or the newest version of something versioned."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import ColumnElement, ScalarResult, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from console.domain.errors import NotFound
from console.domain.incidents import ID_MAX

Row = TypeVar("Row")


def row_by_id(session: Session, model: type[Row], row_id: int, what: str) -> Row:
    """The `model` row `row_id`; NotFound ("no `what` with id ...") when there is none, or when
    the id could not be one (out of range: PostgreSQL would refuse the query)."""
    row = session.get(model, row_id) if 1 <= row_id <= ID_MAX else None
    if row is None:
        raise NotFound(f"no {what} with id {row_id}")
    return row


def newest_version(
    session: Session, model: type[Row], of: ColumnElement[bool], version: InstrumentedAttribute[int]
) -> ScalarResult[Row]:
    """The `model` row with the highest `version` among those `of` selects (none, or one)."""
    return session.scalars(select(model).where(of).order_by(version.desc()).limit(1))

"""Small helpers to put accounts and tokens in a test database."""

from __future__ import annotations

from console.db import Database
from console.domain import accounts
from console.domain.actors import OPERATOR

PASSWORD = "correct horse battery staple"


def make_user(db: Database, role: str, email: str | None = None, name: str | None = None) -> int:
    with db.write() as session:
        user = accounts.create_user(
            session,
            OPERATOR,
            email=email or f"{role}@example.org",
            display_name=name or f"{role.title()} Person",
            role=role,
            password=PASSWORD,
        )
        return user.id


def make_token(db: Database, role: str, email: str | None = None, name: str | None = None) -> str:
    address = email or f"{role}@example.org"
    make_user(db, role, address, name)
    with db.write() as session:
        return accounts.create_token(session, OPERATOR, email=address).secret


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}

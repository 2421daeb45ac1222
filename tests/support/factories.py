"""Small helpers to put accounts and tokens in a test database."""

from __future__ import annotations

import functools
from unittest import mock

from console.db import Database
from console.domain import accounts
from console.domain.actors import OPERATOR

PASSWORD = "correct horse battery staple"


# Test accounts share a password: its argon2id hash (made with the product's parameters, so
# signing in costs what it does in production) is made once per run, not once per account,
# which was most of what making an account cost.
_password_hash = functools.cache(accounts.hash_password)


def make_user(db: Database, role: str, email: str | None = None, name: str | None = None) -> int:
    with db.write() as session, mock.patch.object(accounts, "hash_password", _password_hash):
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

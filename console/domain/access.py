"""Access levels and the one rule of which role reaches which level."""

from __future__ import annotations

import enum

from console.models import Role


class Access(enum.Enum):
    PUBLIC = "public"  # anyone; signed-in readers may get more detail
    READER = "reader"  # any account: reviewer, pio or admin
    AUDITOR = "auditor"  # reviewer or admin: the audit log
    PUBLISHER = "publisher"  # pio or admin
    ADMIN = "admin"


# The one table: every level each role reaches. No role (anonymous, the system) is PUBLIC only.
_LEVELS: dict[Role, frozenset[Access]] = {
    Role.ADMIN: frozenset(Access),
    Role.PIO: frozenset({Access.PUBLIC, Access.READER, Access.PUBLISHER}),
    Role.REVIEWER: frozenset({Access.PUBLIC, Access.READER, Access.AUDITOR}),
}

# Who a level needs, in words, for the message that refuses everyone else.
NEEDS: dict[Access, str] = {
    Access.PUBLIC: "no account",
    Access.READER: "any account",
    Access.AUDITOR: "a reviewer or admin account",
    Access.PUBLISHER: "a pio or admin account",
    Access.ADMIN: "an admin account",
}


def permits(role: Role | None, level: Access) -> bool:
    if role is None:
        return level is Access.PUBLIC
    return level in _LEVELS[role]

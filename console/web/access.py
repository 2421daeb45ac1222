"""Who may reach each route, declared on the endpoint itself.

Every endpoint carries an `Access` level; `tests/test_access.py` walks the router and fails
for any route without one, so a new route cannot ship without a rule. Enforcement happens
where the caller is identified (API bearer tokens in `api.py`, console sessions in the
console's own module); the authorization matrix (`tests/faults/test_authorization_matrix.py`,
every route × anonymous, each role's session and each role's API token, against a table of
every route's level) checks the two agree.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "__console_access__"


class Access(enum.Enum):
    PUBLIC = "public"  # anyone; signed-in readers may get more detail
    READER = "reader"  # any account: reviewer, pio or admin
    AUDITOR = "auditor"  # reviewer or admin: the audit log
    PUBLISHER = "publisher"  # pio or admin
    ADMIN = "admin"


def access(level: Access) -> Callable[[F], F]:
    def mark(endpoint: F) -> F:
        setattr(endpoint, ATTRIBUTE, level)
        return endpoint

    return mark


def access_of(endpoint: object) -> Access | None:
    level = getattr(endpoint, ATTRIBUTE, None)
    return level if isinstance(level, Access) else None

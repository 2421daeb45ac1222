"""Who is acting, and what their role lets them do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from console.domain.access import Access, permits
from console.domain.errors import PermissionDenied
from console.models import Role, User


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    name: str
    role: Role | None
    via: str  # "api", "console", "cli" or "system": recorded in the audit trail

    @classmethod
    def of_user(cls, user: User, via: str) -> Actor:
        return cls(user_id=user.id, name=user.display_name, role=user.role, via=via)

    @property
    def authorship(self) -> dict[str, Any]:
        """The columns that name this actor as the author of a row it writes."""
        return {"author_id": self.user_id, "author_name": self.name}

    @property
    def label(self) -> str:
        who = f"{self.name} (user {self.user_id})" if self.user_id is not None else self.name
        return f"{who} via {self.via}"

    @property
    def can_publish(self) -> bool:
        return permits(self.role, Access.PUBLISHER)

    @property
    def can_audit(self) -> bool:
        return permits(self.role, Access.AUDITOR)

    @property
    def can_manage_accounts(self) -> bool:
        return permits(self.role, Access.ADMIN)

    @property
    def can_read_internal(self) -> bool:
        return permits(self.role, Access.READER)


SYSTEM = Actor(user_id=None, name="system", role=None, via="system")
# The operator at the command line already holds the database, so acts as an admin.
OPERATOR = Actor(user_id=None, name="operator", role=Role.ADMIN, via="cli")


def require_publisher(actor: Actor) -> None:
    if not actor.can_publish:
        raise PermissionDenied("your role may read but not publish")


def require_admin(actor: Actor) -> None:
    if not actor.can_manage_accounts:
        raise PermissionDenied("only an admin may manage accounts and tokens")

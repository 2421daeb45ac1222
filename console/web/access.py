"""Who may reach each route: one decorator declares the level on the endpoint and enforces it.

`@access(level, gate)` marks the endpoint with its level and runs it behind `gate`, which
identifies the caller its own way (API bearer tokens: `console/web/bearer.py`; console
sessions: `console/web/staff/auth.py`), refuses anyone the level does not admit (by
`permits(role, level)`, the one rule), and hands the endpoint the caller. Only a PUBLIC
route may go without a gate: a level above PUBLIC with nothing to enforce it is refused when
the module loads. `tests/web/test_access.py` walks the router and fails for any route without a
level or, above PUBLIC, without a gate; the authorization matrix
(`tests/security/test_authorization_matrix.py`) checks every route against every caller.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar, overload

from starlette.requests import Request
from starlette.responses import Response

from console.domain.access import Access, permits

__all__ = ["Access", "Gate", "access", "access_of", "gate_of", "permits"]

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C")
C_co = TypeVar("C_co", covariant=True)
ATTRIBUTE = "__console_access__"
GATE_ATTRIBUTE = "__console_gate__"

Endpoint = Callable[[Request], Awaitable[Response]]
GuardedEndpoint = Callable[[Request, C], Awaitable[Response]]  # gets the caller its gate identified


class Gate(Protocol[C_co]):
    """Identifies the caller of a request, refuses those below `level`, else runs `endpoint`."""

    def admits(self, level: Access) -> bool:
        """Whether this gate can guard routes of `level` (checked once, at declaration)."""
        ...

    async def enter(
        self, request: Request, level: Access, endpoint: Callable[[Request, C_co], Awaitable[Response]]
    ) -> Response: ...


@overload
def access(level: Access) -> Callable[[F], F]: ...


@overload
def access(level: Access, gate: Gate[C]) -> Callable[[GuardedEndpoint[C]], Endpoint]: ...


def access(level: Access, gate: Gate[Any] | None = None) -> Callable[[Any], Any]:
    if gate is None:
        if level is not Access.PUBLIC:
            raise TypeError(f"a {level.value} route needs a gate that enforces it")

        def mark(endpoint: F) -> F:
            setattr(endpoint, ATTRIBUTE, level)
            return endpoint

        return mark
    if not gate.admits(level):
        raise TypeError(f"{gate!r} cannot guard a {level.value} route")
    guard = gate

    def enforce(endpoint: Callable[[Request, Any], Awaitable[Response]]) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            return await guard.enter(request, level, endpoint)

        setattr(guarded, ATTRIBUTE, level)
        setattr(guarded, GATE_ATTRIBUTE, guard)
        return guarded

    return enforce


def access_of(endpoint: object) -> Access | None:
    level = getattr(endpoint, ATTRIBUTE, None)
    return level if isinstance(level, Access) else None


def gate_of(endpoint: object) -> object | None:
    """The gate enforcing the endpoint's level (None for a PUBLIC route without one)."""
    return getattr(endpoint, GATE_ATTRIBUTE, None)

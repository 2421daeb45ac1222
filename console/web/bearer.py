"""The JSON API's door: bearer tokens identify the caller, the route's level admits or refuses
them, and every expected failure becomes a clear JSON error (nothing was written)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from console.domain import idempotency
from console.domain.access import NEEDS, Access, permits
from console.domain.accounts import actor_for_token
from console.domain.actors import Actor
from console.domain.errors import (
    DomainError,
    Gone,
    InvalidInput,
    NotAllowed,
    NotFound,
    PermissionDenied,
    VersionConflict,
)
from console.web.access import GuardedEndpoint
from console.web.jsonio import BadRequest, error_response
from console.web.state import app_state

DOMAIN_STATUS: dict[type[DomainError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Gone: 410,
    NotAllowed: 409,
    PermissionDenied: 403,
    VersionConflict: 409,
    idempotency.KeyReused: 422,
}


class Unauthenticated(Exception):
    pass


def domain_error_response(exc: DomainError) -> JSONResponse:
    status = DOMAIN_STATUS.get(type(exc), 400)
    if isinstance(exc, VersionConflict):
        return error_response(
            status,
            exc.code,
            exc.message,
            extra={"current_version": exc.current["version"], "current": exc.current},
        )
    fields = exc.fields if isinstance(exc, InvalidInput) else None
    return error_response(status, exc.code, exc.message, fields=fields)


async def request_actor(request: Request) -> Actor | None:
    """The token's account, None without an Authorization header; a wrong token is a 401."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("send the token as 'Authorization: Bearer <token>'")
    actor = await app_state(request).read(lambda session: actor_for_token(session, secret.strip()))
    if actor is None:
        raise Unauthenticated("the token is not valid or was revoked")
    return actor


async def _admitted(request: Request, level: Access) -> Actor | None:
    actor = await request_actor(request)  # wrong credentials get a 401, even on public routes
    if level is Access.PUBLIC:
        return actor
    if actor is None:
        raise Unauthenticated(f"this needs a bearer token of {NEEDS[level]}")
    if not permits(actor.role, level):
        role = actor.role.value if actor.role else "no"
        raise PermissionDenied(f"a {role} token may not do this: it needs {NEEDS[level]}")
    return actor


async def answer(work: Callable[[], Awaitable[Response]]) -> Response:
    """Run `work`; map every expected failure to its JSON error."""
    try:
        return await work()
    except BadRequest as exc:
        return error_response(exc.status, exc.code, exc.message)
    except Unauthenticated as exc:
        return error_response(
            401, "unauthenticated", str(exc), headers={"WWW-Authenticate": 'Bearer realm="api"'}
        )
    except DomainError as exc:
        return domain_error_response(exc)


class TokenGate:
    """Routes above PUBLIC: a token of a role the level admits; the endpoint gets its Actor."""

    def admits(self, level: Access) -> bool:
        return level is not Access.PUBLIC

    async def enter(self, request: Request, level: Access, endpoint: GuardedEndpoint[Actor]) -> Response:
        async def work() -> Response:
            actor = await _admitted(request, level)
            assert actor is not None  # _admitted refuses anonymous callers above PUBLIC
            return await endpoint(request, actor)

        return await answer(work)

    def __repr__(self) -> str:
        return "TOKEN"


class AnyCallerGate:
    """Public API routes: everyone is answered, but a wrong token is still refused (401); the
    endpoint gets the Actor or None."""

    def admits(self, level: Access) -> bool:
        return level is Access.PUBLIC

    async def enter(
        self,
        request: Request,
        level: Access,
        endpoint: GuardedEndpoint[Actor | None],
    ) -> Response:
        async def work() -> Response:
            return await endpoint(request, await _admitted(request, level))

        return await answer(work)

    def __repr__(self) -> str:
        return "ANY_CALLER"


TOKEN = TokenGate()
ANY_CALLER = AnyCallerGate()

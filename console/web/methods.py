"""The `Allow` header of a 405: every method the path answers to.

Starlette routes one method set per `Route`, and a path served by two routes (GET and POST
/api/v1/incidents) would otherwise advertise only the first route's methods.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Scope


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> set[str]:
    methods: set[str] = set()
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            methods |= allowed_methods(route.routes, {**scope, **child})
        elif isinstance(route, Route) and route.methods:
            methods |= route.methods
    return methods


def allow_header(routes: Sequence[BaseRoute], path: str) -> str:
    # A fresh scope: routing has already rewritten the request's own (root_path of a mount).
    scope: Scope = {"type": "http", "path": path, "root_path": "", "method": "\x00"}
    return ", ".join(sorted(allowed_methods(routes, scope)))

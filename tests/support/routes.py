"""Every route of the app, flattened, with its declared access level."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from console.web.access import Access, access_of


@dataclass(frozen=True)
class RouteInfo:
    path: str
    methods: frozenset[str]  # empty for websockets and mounted apps
    access: Access | None
    websocket: bool = False
    endpoint: object = None  # what the route runs: its gate is read from it

    def example_path(self) -> str:
        """The path with each parameter filled in with a plausible value."""
        return re.sub(r"\{(\w+)(?::(\w+))?\}", lambda m: "1" if m.group(2) == "int" else "example", self.path)


def walk(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[RouteInfo]:
    for route in routes:
        if isinstance(route, Route):
            methods = frozenset(route.methods or ())
            yield RouteInfo(prefix + route.path, methods, access_of(route.endpoint), endpoint=route.endpoint)
        elif isinstance(route, WebSocketRoute):
            yield RouteInfo(
                prefix + route.path,
                frozenset(),
                access_of(route.endpoint),
                websocket=True,
                endpoint=route.endpoint,
            )
        elif isinstance(route, Mount):
            if route.routes:
                yield from walk(route.routes, prefix + route.path)
            else:
                yield RouteInfo(prefix + route.path, frozenset(), access_of(route.app), endpoint=route.app)

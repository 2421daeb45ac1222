"""What a resident's open `/live` connection keeps in the server, once it follows: no
handshake, no middleware waiting above it, a light inbox (issue 20: memory per subscriber)."""

from __future__ import annotations

import asyncio
import gc
import inspect
from typing import Any

from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol

from console.live.render import Frame
from console.web.resident_sockets import Inbox, ResidentSockets
from tests.live.support import new_incident, publish, receive, subscribe
from tests.support.live_server import LiveServer


def waiting_for_websockets() -> set[str]:
    """The coroutines suspended while serving a websocket (the lifespan, too, waits in every
    middleware)."""
    gc.collect()
    return {
        o.cr_code.co_qualname
        for o in gc.get_objects()
        if inspect.iscoroutine(o)
        and inspect.getcoroutinestate(o) == inspect.CORO_SUSPENDED
        and _scope_type(o.cr_frame.f_locals) == "websocket"
    }


def _scope_type(local_variables: dict[str, Any]) -> str | None:
    connection = local_variables.get("websocket") or local_variables.get("self")
    scope = local_variables.get("scope") or getattr(connection, "scope", None)
    return scope.get("type") if isinstance(scope, dict) else None


def test_a_following_resident_keeps_neither_the_handshake_nor_the_middleware(
    live: LiveServer, pio_token: str
) -> None:
    slug = new_incident(live.url, pio_token)
    with subscribe(live.ws_url, 0, incident=slug) as ws:
        receive(ws, 1)  # the incident's creation: the client follows
        [protocol] = [p for p in live.uvicorn.server_state.connections if isinstance(p, ResidentSockets)]
        assert type(protocol.queue) is Inbox
        kept = list(vars(protocol).values())
        assert not [value for value in kept if isinstance(value, (Request, Response, asyncio.Queue))]

        waiting = waiting_for_websockets()
        assert "_listen" in waiting  # the connection's rest, awaited by the outermost layer
        assert "LastingConnections.__call__" in waiting
        stack = {
            "live_socket",
            "RefusedHandshakes.__call__",
            "SecurityHeadersMiddleware.__call__",
            "BodySizeLimitMiddleware.__call__",
            "ExceptionMiddleware.__call__",
            "Router.app",
        }
        assert not waiting & stack

        publish(live.url, pio_token, slug, "Crews are on site.")
        [update] = receive(ws, 1)
        assert "Crews are on site." in update.html


def test_a_push_is_written_to_the_socket_as_bytes_serialized_once(live: LiveServer, pio_token: str) -> None:
    slug = new_incident(live.url, pio_token)
    with subscribe(live.ws_url, 0, incident=slug) as ws:
        receive(ws, 1)
        [protocol] = [p for p in live.uvicorn.server_state.connections if isinstance(p, ResidentSockets)]
        through_send: list[bytes] = []
        send_text = protocol.conn.send_text

        def recorded(data: bytes, fin: bool = True) -> None:
            through_send.append(data)
            send_text(data, fin)

        protocol.conn.send_text = recorded  # type: ignore[method-assign]

        publish(live.url, pio_token, slug, "Crews are on site.")
        [update] = receive(ws, 1)
        assert "Crews are on site." in update.html  # the client read a well-formed frame
        assert through_send == []  # not serialized for this connection: written as it was

        protocol.writable.clear()  # as uvicorn's pause_writing: the socket is full
        assert protocol.write_frame(b"never written") is False  # the frame takes send's turn
        protocol.writable.set()


def test_a_frames_wire_bytes_are_what_the_websocket_protocol_sends() -> None:
    frame = Frame.of(7, "<p>Évacuez la rue Oak.</p>" * 200)  # past 125 bytes: an extended length
    protocol = ServerProtocol(state=State.OPEN)
    protocol.send_text(frame.html.encode())
    assert frame.wire == b"".join(protocol.data_to_send())

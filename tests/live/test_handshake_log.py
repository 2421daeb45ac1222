"""A refused websocket handshake is an ordinary event: logged at INFO, never at ERROR."""

from __future__ import annotations

import logging
import time

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from console.web.handshakes import UVICORN_LINE, RefusedHandshakeFilter
from tests.support.live_server import LiveServer

REFUSED = (("/live?incident=no-such-incident", 404), ("/live?incident=%00", 400), ("/no-socket-here", 403))


def settled(server: LiveServer) -> None:
    """Wait until uvicorn is done with every connection: each app call has returned and uvicorn
    has logged what it logs after it (its connection tasks and connections are all gone)."""
    state = server.uvicorn.server_state
    deadline = time.monotonic() + 10
    while state.tasks or state.connections:
        assert time.monotonic() < deadline, "uvicorn never finished with its connections"
        time.sleep(0.005)


def test_refused_handshakes_are_logged_at_info_and_uvicorn_logs_no_error(
    live: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    uvicorn_log = logging.getLogger("uvicorn.error")  # it does not propagate to the root logger
    uvicorn_log.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="console.web.handshakes"):
            for path, status in REFUSED:
                with pytest.raises(InvalidStatus) as refused:
                    connect(live.ws_url + path, open_timeout=10).close()
                assert refused.value.response.status_code == status
            settled(live)  # uvicorn logs after the app has returned
            with connect(live.ws_url + "/live", open_timeout=10):
                pass  # an accepted socket is not a refusal
            settled(live)
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    infos = [r.getMessage() for r in caplog.records if r.name == "console.web.handshakes"]
    assert infos == [
        "websocket handshake refused: 404 /live",
        "websocket handshake refused: 400 /live",
        "websocket handshake refused: 403 /no-socket-here",
    ]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "console.web.handshakes")


def test_an_app_that_never_answers_a_handshake_is_still_an_error() -> None:
    """Outside a refused connection's context, uvicorn's line goes through."""
    record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, UVICORN_LINE, None, None)
    assert RefusedHandshakeFilter().filter(record)

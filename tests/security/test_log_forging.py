"""Forging lines in the server's log through a websocket handshake's path.

A refused handshake is logged at INFO with its path (console/web/handshakes.py). The path is
the URL's, percent-decoded: `/x%0a2026-12-07 ... ERROR ...` put a line break and then any
line the attacker liked into the log, such as a fake ERROR that pages whoever is on call, or
a fake record of who did what. Operators read these logs (`console serve` writes plain text
lines), so a line must be one line, and say only what the server saw."""

from __future__ import annotations

import logging

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.live.test_handshake_log import settled
from tests.support.live_server import LiveServer

FORGED = "2026-12-07 03:14:15,926 ERROR console.web: signing key replaced by admin@example.org"


@pytest.mark.parametrize("separator", ["%0a", "%0d", "%0d%0a", "%e2%80%a8", "%1b[2K%0d"])
def test_a_handshake_path_cannot_write_a_line_of_its_own(
    live: LiveServer, caplog: pytest.LogCaptureFixture, separator: str
) -> None:
    path = f"/no-socket-here{separator}{FORGED.replace(' ', '%20')}"
    with caplog.at_level(logging.INFO, logger="console.web.handshakes"):
        with pytest.raises(InvalidStatus):
            connect(live.ws_url + path, open_timeout=10).close()
        settled(live)
    logged = [r.getMessage() for r in caplog.records if r.name == "console.web.handshakes"]
    assert len(logged) == 1
    line = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s").format(caplog.records[-1])
    assert line.isprintable(), repr(line)  # one line, no control or separator characters
    assert logged[0].startswith("websocket handshake refused: 403 /no-socket-here")

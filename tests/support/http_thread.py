"""Local HTTP servers the tests stand up (fake X, Mastodon, Twilio, push services, hubs, tile
servers), served from a thread of their own."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from socketserver import BaseServer

# serve_forever looks for shutdown() once per poll interval, 0.5 s by default: every test that
# stood a server up would wait that long in its teardown.
POLL_SECONDS = 0.01


def serve_in_thread(server: BaseServer) -> Callable[[], None]:
    """Serves from a thread of its own; returns what stops it and closes the server."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True
    )
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return stop


@contextmanager
def serving(server: BaseServer) -> Iterator[BaseServer]:
    stop = serve_in_thread(server)
    try:
        yield server
    finally:
        stop()

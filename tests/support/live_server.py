"""The app served by a real uvicorn in a background thread, for socket-level and browser tests."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import uvicorn

from console.settings import Settings
from console.web.app import SHUTDOWN_GRACE_SECONDS, create_app, uvicorn_options
from tests.support.server import free_port


@dataclass(frozen=True)
class LiveServer:
    url: str
    settings: Settings
    uvicorn: uvicorn.Server

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http")


@contextmanager
def serve(settings: Settings, *, port: int | None = None) -> Iterator[LiveServer]:
    port = port or free_port()
    settings = replace(settings, public_url=f"http://127.0.0.1:{port}", outbox_in_process=True)
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        **uvicorn_options(settings),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", settings, server)
    finally:
        server.should_exit = True
        # Open connections get SHUTDOWN_GRACE_SECONDS, then the app stops (5 s at most for its
        # database work). A server still running would go on dispatching into later tests' rows.
        thread.join(SHUTDOWN_GRACE_SECONDS + 20)
        if thread.is_alive():
            loop = server.servers[0].get_loop() if server.servers else None
            running = sorted(task.get_name() for task in asyncio.all_tasks(loop)) if loop else []
            raise RuntimeError(f"the test server on port {port} did not stop; still running: {running}")

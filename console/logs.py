"""How every process of the console logs: time, level, logger and message, from INFO up.

`console` commands and the Procfile's `web:` process (uvicorn configures only its own
loggers) both call `configure`: without it the app's INFO lines (a refused websocket
handshake, a broadcast reconnected) are lost and its warnings print bare."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure() -> None:
    logging.basicConfig(level=logging.INFO, format=FORMAT)
    logging.getLogger("alembic").setLevel(logging.WARNING)

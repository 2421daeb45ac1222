"""A restarting database: residents get a page saying so, in their language, and when to retry."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from console.settings import Settings
from console.web.app import create_app


def test_the_unavailable_page_speaks_the_readers_language(settings: Settings) -> None:
    async def restarting(*_args: Any, **_kwargs: Any) -> None:
        raise OperationalError("SELECT 1", {}, Exception("the database system is starting up"))

    app = create_app(dataclasses.replace(settings, languages=("en", "es")))
    with TestClient(app, raise_server_exceptions=False) as client:
        client.app_state["app_state"].live.pages.incident = restarting  # type: ignore[attr-defined]
        spanish = client.get("/incidents/gas-leak", headers={"Accept-Language": "es"})
        english = client.get("/incidents/gas-leak")
    assert spanish.status_code == 503 and spanish.headers["retry-after"] == "5"
    assert spanish.headers["content-language"] == "es" and '<html lang="es">' in spanish.text
    assert "<h1>Temporalmente no disponible</h1>" in spanish.text
    assert "Temporarily unavailable" not in spanish.text
    assert english.headers["content-language"] == "en" and "<h1>Temporarily unavailable</h1>" in english.text

"""Reading our own HTML in tests: one element by id, and its text as a reader sees it."""

from __future__ import annotations

import asyncio
import html
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from console.channels.registry import build_channels
from console.db import Database
from console.dispatcher import Dispatcher
from console.domain.incident_details import DetailsDraft, change_details
from console.domain.outbox import Routing
from console.live.bus import LiveBus
from console.settings import Settings
from tests.archive.conftest import T0
from tests.conftest import PIO


def element(page: str, element_id: str) -> str:
    """The outer HTML of the element with this id (our archive markup never nests a tag in itself)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"[^>]*>', page)
    assert match, f"no element with id {element_id!r}"
    tag = match.group(1)
    end = page.index(f"</{tag}>", match.end())
    return page[match.start() : end + len(tag) + 3]


def text(fragment: str) -> str:
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())
    return re.sub(r" ([:;,.)])", r"\1", words)  # "<b>Elm</b>, " reads "Elm,"


def deliver_everything(settings: Settings, db: Database) -> None:
    """Run the real dispatcher until nothing is due (in its own thread: a browser test's
    Playwright already runs an event loop in this one)."""
    with ThreadPoolExecutor(1) as pool:
        channels = build_channels(settings, db, LiveBus.from_settings(settings))
        pool.submit(asyncio.run, Dispatcher.from_settings(settings, db, channels).drain()).result()


def map_area(db: Database, routing: Routing, slug: str, area: dict[str, Any]) -> None:
    """The incident's details version 2, an hour after T0: `area` mapped ("Mapped")."""
    with db.write() as session:
        change_details(
            session,
            PIO,
            slug,
            DetailsDraft(area=area),
            reason="Mapped",
            corrects_version=1,
            routing=routing,
            now=T0 + timedelta(hours=1),
        )

"""Reading our own HTML in tests: one element by id, and its text as a reader sees it."""

from __future__ import annotations

import asyncio
import html
import re
from concurrent.futures import ThreadPoolExecutor

from console.channels.registry import build_channels
from console.db import Database
from console.dispatcher import Dispatcher
from console.live.bus import LiveBus
from console.settings import Settings


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

"""Right after a publication the crowd finds its page changed at once: the first reader waits
for the new rendering, readers arriving while it runs get the page as it was a moment before
(issue 20), and nothing that must be current (a socket's reset frame, a 404 that became a
page) is ever served late."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

from console.live.pages import CachedPage, PublicPages, _page
from console.live.reading import Threads

SLUG = "gas-leak"


class GatedRendering:
    """Stands in for the database read and the rendering: each one waits for `gate`."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.cursor = 1
        self.status = 200
        self.calls = 0

    def __call__(self, scope: str | None, lang: str) -> CachedPage:
        self.calls += 1
        self.gate.wait(5)
        html = f"<p>{scope} as of event {self.cursor}</p>"
        model = SimpleNamespace() if self.status == 200 else None
        return _page(scope, lang, self.status, html, self.cursor, None, model)  # type: ignore[arg-type]


def pages_with(rendering: GatedRendering) -> PublicPages:
    settings = SimpleNamespace(public_timeline_limit=50, languages=("en",))
    pages = PublicPages(None, None, settings, Threads())  # type: ignore[arg-type]
    pages._read_and_render = rendering  # type: ignore[method-assign]
    pages._render_reset = lambda model, lang: f"reset of {model}"  # type: ignore[assignment,method-assign,return-value]
    return pages


async def settled(task: asyncio.Task[CachedPage]) -> bool:
    await asyncio.sleep(0.05)
    return task.done()


def test_readers_arriving_while_a_changed_page_renders_get_the_one_before_it() -> None:
    rendering = GatedRendering()
    pages = pages_with(rendering)

    async def scenario() -> None:
        rendering.gate.set()
        first = await pages.incident(SLUG)
        assert first.body == b"<p>gas-leak as of event 1</p>"

        rendering.gate.clear()
        rendering.cursor = 2
        pages.changed(SLUG, 2)
        waiting = asyncio.ensure_future(pages.incident(SLUG))
        assert not await settled(waiting)  # the first reader after the change waits for it
        assert (await pages.incident(SLUG)) is first  # the next ones get the page before it
        rendering.gate.set()
        newer = await waiting
        assert newer.body == b"<p>gas-leak as of event 2</p>" and newer.cursor == 2
        assert (await pages.incident(SLUG)) is newer
        assert rendering.calls == 2  # one rendering per change, however many readers

    asyncio.run(scenario())
    pages.threads.close()


def test_a_sockets_reset_frame_always_waits_for_the_current_page() -> None:
    rendering = GatedRendering()
    pages = pages_with(rendering)

    async def scenario() -> None:
        rendering.gate.set()
        await pages.incident(SLUG)
        rendering.gate.clear()
        rendering.cursor = 2
        pages.changed(SLUG, 2)
        reader = asyncio.ensure_future(pages.incident(SLUG))
        reset = asyncio.ensure_future(pages.reset_frame(SLUG))
        assert not await settled(reader) and not await settled(reset)
        rendering.gate.set()
        newer = await reader
        assert await reset == f"reset of {newer.model}" and newer.cursor == 2

    asyncio.run(scenario())
    pages.threads.close()


def test_a_missing_incident_that_appears_is_never_served_as_a_404_late() -> None:
    rendering = GatedRendering()
    rendering.status = 404
    pages = pages_with(rendering)

    async def scenario() -> None:
        rendering.gate.set()
        assert (await pages.incident(SLUG)).status == 404
        rendering.gate.clear()
        rendering.status, rendering.cursor = 200, 2
        pages.changed(SLUG, 2)
        first = asyncio.ensure_future(pages.incident(SLUG))
        second = asyncio.ensure_future(pages.incident(SLUG))
        assert not await settled(first) and not await settled(second)
        rendering.gate.set()
        assert (await first).status == (await second).status == 200

    asyncio.run(scenario())
    pages.threads.close()

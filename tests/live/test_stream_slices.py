"""The live stream offers an event's frame to its clients in slices, returning to the event loop
between them (issue 20): requests that arrive during a push to thousands of clients are answered
in between, not after the last client; every client is still offered the frame once."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from console.languages import Languages
from console.live.render import EventFrames, Frame, PageFrames
from console.live.stream import OFFER_SLICE, LiveStream

CLIENTS = 2 * OFFER_SLICE + 200


class FakeClient:
    def __init__(self, offered: list[tuple[FakeClient, Frame]]) -> None:
        self.topic, self.lang = "gas-leak", "en"
        self._offered = offered

    def offer(self, frame: Frame) -> None:
        self._offered.append((self, frame))


def test_a_push_to_many_clients_lets_other_work_run_between_slices() -> None:
    offered: list[tuple[FakeClient, Frame]] = []
    pages = SimpleNamespace(threads=None, changed=lambda slug, event_id: None)
    renderer = SimpleNamespace(languages=Languages(("en",)))
    live = LiveStream(
        None,  # type: ignore[arg-type]  # no database or bus: only the fan-out runs
        None,  # type: ignore[arg-type]
        renderer,  # type: ignore[arg-type]
        pages,  # type: ignore[arg-type]
        poll_seconds=1,
        resume_max_events=10,
        send_buffer=10,
        keepalive_seconds=20,
    )
    clients = [FakeClient(offered) for _ in range(CLIENTS)]
    for client in clients:
        live.attach(client)  # type: ignore[arg-type]
    event = SimpleNamespace(event_id=7, incident_slug="gas-leak")
    incident, index = Frame.of(7, "<p>incident</p>"), Frame.of(7, "<p>index</p>")
    frames = EventFrames(event, {"en": PageFrames(incident=incident, index=index)})  # type: ignore[arg-type]

    async def push_while_a_request_waits() -> list[int]:
        seen_by_requests: list[int] = []

        async def request() -> None:  # what a page request would see of the push, when it runs
            seen_by_requests.append(len(offered))

        # The request arrives as the push starts: it runs when the push first lets go.
        push = asyncio.create_task(live._handled(event, frames))  # type: ignore[arg-type]
        await asyncio.gather(push, asyncio.create_task(request()))
        return seen_by_requests

    [seen] = asyncio.run(push_while_a_request_waits())
    assert seen == OFFER_SLICE  # answered after one slice, not after all the clients
    assert [client for client, _ in offered] == clients  # each once, in the order they came
    assert all(frame is incident for _, frame in offered)
    assert live.position == 7

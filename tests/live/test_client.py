"""The per-connection send logic, with a socket we control: sends that complete at once, and
sends that have to wait."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from console.live.client import LiveClient
from console.live.eager import start_eagerly
from console.live.render import Frame


class FakeSocket:
    """Completes sends at once while `writable` is set, like uvicorn's send."""

    def __init__(self) -> None:
        self.writable = asyncio.Event()
        self.writable.set()
        self.sent: list[dict[str, Any]] = []
        self.broken = False

    async def send(self, message: dict[str, Any]) -> None:
        await self.writable.wait()
        if self.broken:
            raise OSError("connection reset")
        self.sent.append(message)

    @property
    def event_ids(self) -> list[int]:
        return [int(m["text"]) for m in self.sent if m["type"] == "websocket.send"]

    @property
    def closes(self) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["type"] == "websocket.close"]


def frame(event_id: int, *, reset: bool = False) -> Frame:
    return Frame.of(event_id, str(event_id), reset=reset)


def client(socket: FakeSocket, max_buffered: int = 3) -> tuple[LiveClient, list[LiveClient]]:
    dropped: list[LiveClient] = []
    return LiveClient(socket.send, topic=None, max_buffered=max_buffered, on_drop=dropped.append), dropped


def test_frames_to_a_writable_socket_are_sent_in_place() -> None:
    async def run() -> None:
        socket = FakeSocket()
        live, _ = client(socket)
        await live.replay(5, [], timeout=1)
        for event_id in (6, 7, 8):
            live.offer(frame(event_id))
            assert socket.event_ids[-1] == event_id, "sent before offer() returned"
        assert asyncio.all_tasks() == {asyncio.current_task()}, "no task was needed"

    asyncio.run(run())


def test_replay_then_the_frames_held_meanwhile_each_once_in_order() -> None:
    async def run() -> None:
        socket = FakeSocket()
        live, _ = client(socket, max_buffered=10)
        live.offer(frame(11))  # live frames arriving while the client resumes
        live.offer(frame(12))
        assert socket.sent == []
        await live.replay(8, [frame(9), frame(10), frame(11)], timeout=1)
        assert socket.event_ids == [9, 10, 11, 12]
        live.offer(frame(12))  # never twice
        live.offer(frame(7))  # never backwards
        assert socket.event_ids == [9, 10, 11, 12]

    asyncio.run(run())


def test_a_reset_frame_is_sent_whatever_the_cursor() -> None:
    async def run() -> None:
        socket = FakeSocket()
        live, _ = client(socket)
        await live.replay(10**12, [frame(40, reset=True)], timeout=1)
        live.offer(frame(41))
        assert socket.event_ids == [40, 41]

    asyncio.run(run())


def test_a_socket_that_waits_gets_a_writer_and_later_frames_queue_behind_it() -> None:
    async def run() -> None:
        socket = FakeSocket()
        live, dropped = client(socket)
        await live.replay(0, [], timeout=1)
        socket.writable.clear()  # the socket is full
        for event_id in (1, 2, 3):
            live.offer(frame(event_id))
        assert socket.event_ids == [] and live.buffered == 2
        await asyncio.sleep(0.01)  # still full: the writer task waits
        assert socket.event_ids == [] and live.buffered == 2
        socket.writable.set()
        await asyncio.sleep(0.01)
        assert socket.event_ids == [1, 2, 3] and live.buffered == 0
        live.offer(frame(4))
        assert socket.event_ids == [1, 2, 3, 4], "back to sending in place"
        assert dropped == []

    asyncio.run(run())


def test_a_client_that_cannot_keep_up_is_dropped_with_1013() -> None:
    async def run() -> None:
        socket = FakeSocket()
        live, dropped = client(socket, max_buffered=3)
        await live.replay(0, [], timeout=1)
        socket.writable.clear()
        for event_id in range(1, 6):  # one waiting to be written, then more than 3 queued
            live.offer(frame(event_id))
        assert dropped == [live] and live.dropped
        assert live.drop_reason == "more than 3 frames waiting to be sent" and live.too_slow
        live.offer(frame(6))  # ignored from now on
        socket.writable.set()
        await asyncio.sleep(0.01)
        assert socket.event_ids == []
        assert socket.closes == [{"type": "websocket.close", "code": 1013, "reason": "reconnect to resume"}]

    asyncio.run(run())


def test_too_many_frames_held_while_resuming_drops_the_client() -> None:
    async def run() -> None:
        socket = FakeSocket()
        live, dropped = client(socket, max_buffered=2)
        for event_id in (1, 2, 3):
            live.offer(frame(event_id))
        assert dropped == [live]
        await live.replay(0, [frame(1)], timeout=1)
        assert socket.event_ids == []

    asyncio.run(run())


def test_a_broken_socket_drops_the_client() -> None:
    async def run() -> None:
        socket = FakeSocket()
        live, dropped = client(socket)
        await live.replay(0, [], timeout=1)
        socket.broken = True
        live.offer(frame(1))
        assert dropped == [live] and live.drop_reason == "disconnected" and not live.too_slow

    asyncio.run(run())


def test_a_replay_the_client_cannot_take_in_time_drops_it() -> None:
    async def run() -> None:
        socket = FakeSocket()
        live, dropped = client(socket)
        socket.writable.clear()
        await live.replay(0, [frame(1), frame(2)], timeout=0.05)
        assert dropped == [live] and live.drop_reason == "too slow to take the missed events"

    asyncio.run(run())


# --- start_eagerly -------------------------------------------------------------------------


def test_start_eagerly_runs_a_coroutine_that_never_waits_to_the_end() -> None:
    async def run() -> None:
        done: list[str] = []

        async def work() -> None:
            done.append("ran")

        assert start_eagerly(work()) is None
        assert done == ["ran"]

    asyncio.run(run())


def test_start_eagerly_hands_a_waiting_coroutine_to_a_task() -> None:
    async def run() -> None:
        gate = asyncio.Event()
        steps: list[str] = []

        async def work() -> None:
            steps.append("started")
            await gate.wait()
            await asyncio.sleep(0)  # a bare yield too
            steps.append("finished")

        task = start_eagerly(work())
        assert task is not None and steps == ["started"]
        await asyncio.sleep(0.01)  # the task now waits on the pending future
        assert not task.done()
        gate.set()
        await task
        assert steps == ["started", "finished"]

    asyncio.run(run())


def test_start_eagerly_propagates_errors_before_and_after_waiting() -> None:
    async def run() -> None:
        async def fails_at_once() -> None:
            raise OSError("gone")

        with pytest.raises(OSError, match="gone"):
            start_eagerly(fails_at_once())

        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def fails_later() -> None:
            await gate

        task = start_eagerly(fails_later())
        assert task is not None
        gate.set_exception(OSError("reset"))
        with pytest.raises(OSError, match="reset"):
            await task

    asyncio.run(run())


def test_cancelling_the_task_cancels_the_coroutine() -> None:
    async def run() -> None:
        cleaned: list[str] = []

        async def work() -> None:
            try:
                await asyncio.Event().wait()
            finally:
                cleaned.append("cleaned up")

        task = start_eagerly(work())
        assert task is not None
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert cleaned == ["cleaned up"]

    asyncio.run(run())


def test_start_eagerly_finishes_coroutines_waiting_on_futures_tasks_and_bare_yields() -> None:
    """What a coroutine yields to its driver (a Future, a Task, or None) is awaited with a plain
    `await`: no private asyncio flag is involved, so this holds across Python versions."""

    async def run() -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        results: list[str] = []

        async def helper() -> str:
            await asyncio.sleep(0)
            return "task"

        async def work() -> None:
            results.append(await future)
            results.append(await asyncio.ensure_future(helper()))
            await asyncio.sleep(0)
            results.append("done")

        task = start_eagerly(work())
        assert task is not None and results == []
        loop.call_later(0.01, future.set_result, "future")
        await asyncio.wait_for(task, 5)
        assert results == ["future", "task", "done"]

    asyncio.run(run())


def test_the_private_asyncio_protocol_start_eagerly_relies_on_still_holds() -> None:
    """`start_eagerly` drives a coroutine's first step itself, so it clears the mark asyncio puts
    on the future that step waits on, as asyncio.Task does. If asyncio renames or drops
    `_asyncio_future_blocking`, or stops refusing to await a marked future, this fails and
    console/live/eager.py must be revisited."""

    async def run() -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def work() -> None:
            await future

        coroutine = work()
        yielded = coroutine.send(None)
        assert yielded is future and future._asyncio_future_blocking is True

        async def await_marked() -> None:
            await future

        with pytest.raises(RuntimeError, match="await wasn't used with future"):
            await await_marked()
        future._asyncio_future_blocking = False  # what start_eagerly does, as Task.__step does
        future.set_result(None)
        await await_marked()
        coroutine.close()

    asyncio.run(run())


class FramesWriter:
    """A socket's `write_frame`: takes wire bytes at once while `open`, else says to use send."""

    def __init__(self) -> None:
        self.open = True
        self.written: list[bytes] = []

    def __call__(self, wire: bytes) -> bool:
        if self.open:
            self.written.append(wire)
        return self.open


def test_a_socket_that_takes_frames_whole_is_written_to_directly_and_in_order() -> None:
    async def run() -> None:
        socket, writer = FakeSocket(), FramesWriter()
        live = LiveClient(socket.send, topic=None, max_buffered=3, write=writer)
        await live.replay(5, [], timeout=1)
        live.offer(frame(6))
        assert writer.written == [frame(6).wire] and socket.sent == []  # no ASGI message at all

        writer.open = False  # its writes are paused: the frame takes the send's turn
        socket.writable.clear()
        live.offer(frame(7))
        writer.open = True  # frames after it queue behind the waiting send, never overtake it
        live.offer(frame(8))
        assert socket.event_ids == [] and writer.written == [frame(6).wire]
        socket.writable.set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert socket.event_ids == [7]
        assert writer.written == [frame(6).wire, frame(8).wire]

    asyncio.run(run())

"""The inbox of a resident's websocket: what asyncio.Queue did for uvicorn, for one reader."""

from __future__ import annotations

import asyncio

import pytest

from console.web.resident_sockets import Inbox


async def _messages_come_out_in_order_and_a_reader_waits_for_the_next() -> None:
    inbox = Inbox()
    assert inbox.empty()
    inbox.put_nowait("connect")
    inbox.put_nowait("hello")
    assert inbox.qsize() == 2
    assert (await inbox.get(), await inbox.get(), inbox.empty()) == ("connect", "hello", True)

    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not reader.done()
    inbox.put_nowait("disconnect")
    assert await asyncio.wait_for(reader, 1) == "disconnect"


async def _a_reader_that_gave_up_loses_nothing() -> None:
    inbox = Inbox()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await inbox.get()
    inbox.put_nowait("late")
    assert await asyncio.wait_for(inbox.get(), 1) == "late"


async def _a_second_reader_at_once_is_refused() -> None:
    inbox = Inbox()
    first = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="one reader at a time"):
        await inbox.get()
    inbox.put_nowait("for the first")
    assert await asyncio.wait_for(first, 1) == "for the first"


def test_messages_come_out_in_order_and_a_reader_waits_for_the_next() -> None:
    asyncio.run(_messages_come_out_in_order_and_a_reader_waits_for_the_next())


def test_a_reader_that_gave_up_loses_nothing() -> None:
    asyncio.run(_a_reader_that_gave_up_loses_nothing())


def test_a_second_reader_at_once_is_refused() -> None:
    asyncio.run(_a_second_reader_at_once_is_refused())

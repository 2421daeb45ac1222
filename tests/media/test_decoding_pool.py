"""Decoding an upload is slow and memory-heavy, so at most two run at once per process. The
others must wait for their turn without holding a worker thread: the event loop's default
thread pool (a handful of threads on a small server) also resolves the host of every push
subscription and webhook, checks push keys and sends confirmation emails and SMS codes. A
PIO sending ten large images at once (or a stolen pio token) used to fill that pool with
uploads waiting for their turn, and stalled all of that for residents until they were done."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from console.web import media

DECODE_SECONDS = 0.4
UPLOADS = 8


def test_uploads_waiting_to_be_decoded_hold_no_thread_of_the_default_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lock = threading.Lock()
    running, most, finished = 0, 0, 0

    def slow_reencode(data: bytes, content_type: str) -> Any:
        nonlocal running, most, finished
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(DECODE_SECONDS)  # a 50-megapixel photo
        with lock:
            running -= 1
            finished += 1
        return data

    monkeypatch.setattr(media, "reencode", slow_reencode)

    async def scenario() -> tuple[int, list[Any]]:
        # A small server's default pool: min(32, CPUs + 4) threads on 2 CPUs is 6.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=4))
        uploads = [asyncio.create_task(media.decode(b"%d" % n, "image/png")) for n in range(UPLOADS)]
        await asyncio.sleep(0.05)  # every upload has reached its turn to decode, or its wait
        # A resident's subscription resolving its host: how many uploads were done by the time
        # it got a thread (with the pool held by waiting uploads, it waited for one to finish).
        done_before = await asyncio.to_thread(lambda: finished)
        return done_before, await asyncio.gather(*uploads)

    done_before, decoded = asyncio.run(scenario())
    assert decoded == [b"%d" % n for n in range(UPLOADS)]
    assert most == 2  # still two at once, no more
    assert done_before == 0, f"a job of the default pool waited for {done_before} uploads to finish"

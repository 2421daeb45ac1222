"""Start a coroutine at once, and only make a task of it if it has to wait.

Pushing one frame to 10,000 websockets must not mean 10,000 task switches: a send to a
socket that can take it completes without ever waiting (uvicorn writes to the transport
and returns), so the fan-out runs each send in place. Only a send that must wait, because
that client's socket is full, becomes a task, and then only that client waits.
Python 3.12's eager task factory does this; Python 3.11 does not have it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


def start_eagerly(coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run `coroutine` until it finishes (None) or first waits (a task that finishes it).

    An exception it raises before waiting propagates to the caller.
    """
    try:
        awaited = coroutine.send(None)
    except StopIteration:
        return None
    return asyncio.get_running_loop().create_task(_finish(coroutine, awaited))


async def _finish(coroutine: Coroutine[Any, Any, None], awaited: Any) -> None:
    # What the coroutine yielded is what it is waiting for, as a Task would see it: a future,
    # or None for a bare yield (asyncio.sleep(0)). Wait for it here, then resume the
    # coroutine with the outcome, exactly as asyncio.Task does.
    while True:
        if getattr(awaited, "_asyncio_future_blocking", False):
            # Taken over from the coroutine, as a Task does, so that it can be awaited here.
            # `_asyncio_future_blocking` is private but it is the protocol every Future-like
            # object follows (asyncio.Future, the C Future, other loops' futures): a future
            # yielded by an `await` is marked, and a marked future cannot be awaited again
            # ("await wasn't used with future") until its driver clears the mark. Python 3.11
            # offers no public way to drive one step of a coroutine; 3.12's eager task factory
            # replaces all of this. tests/live/test_client.py fails if the protocol changes.
            awaited._asyncio_future_blocking = False
        try:
            if awaited is None:
                await asyncio.sleep(0)
            else:
                await awaited
        except BaseException as exc:  # includes our own cancellation: hand it to the coroutine
            try:
                awaited = coroutine.throw(exc)
            except StopIteration:
                return
            continue
        try:
            awaited = coroutine.send(None)
        except StopIteration:
            return

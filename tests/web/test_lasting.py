"""An endpoint hands the rest of its connection to the outermost layer."""

from __future__ import annotations

import asyncio
import gc
import warnings

import pytest
from starlette.types import Receive, Scope, Send

from console.web.lasting import LastingConnections, continue_outside

SCOPE_TYPE = "websocket"


async def nothing() -> dict[str, str]:
    return {}


async def ignore(message: object) -> None:
    return None


async def _the_rest_runs_after_the_stack_has_returned() -> None:
    steps: list[str] = []

    async def rest() -> None:
        steps.append("rest")

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        continue_outside(scope, rest())
        steps.append("endpoint returned")

    scope: Scope = {"type": SCOPE_TYPE}
    await LastingConnections(endpoint)(scope, nothing, ignore)
    assert steps == ["endpoint returned", "rest"]
    assert scope == {"type": SCOPE_TYPE}


async def _a_stack_that_fails_after_leaving_a_rest_never_starts_it() -> None:
    started: list[bool] = []

    async def rest() -> None:
        started.append(True)

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        continue_outside(scope, rest())
        raise ValueError("a layer failed")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="a layer failed"):
            await LastingConnections(endpoint)({"type": SCOPE_TYPE}, nothing, ignore)
        gc.collect()
    assert started == []
    assert not [w for w in caught if "never awaited" in str(w.message)]  # it was closed


def test_the_rest_runs_after_the_stack_has_returned() -> None:
    asyncio.run(_the_rest_runs_after_the_stack_has_returned())


def test_a_stack_that_fails_after_leaving_a_rest_never_starts_it() -> None:
    asyncio.run(_a_stack_that_fails_after_leaving_a_rest_never_starts_it())

"""Channel health in the JSON API: which channels run, which are paused and why, and resuming."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from console.domain import channel_health
from console.domain.actors import Actor
from console.domain.errors import NotFound
from console.web.access import Access, access
from console.web.bearer import TOKEN
from console.web.jsonio import read_no_body
from console.web.state import app_state


@access(Access.READER, TOKEN)
async def list_channels(request: Request, _reader: Actor) -> Response:
    state = app_state(request)
    enabled = state.enabled_channels()
    body = await state.read(lambda session: channel_health.channel_report(session, enabled))
    return JSONResponse({"channels": body})


@access(Access.PUBLISHER, TOKEN)
async def resume_channel(request: Request, actor: Actor) -> Response:
    await read_no_body(request)
    state = app_state(request)
    name = request.path_params["channel"]
    enabled = dict(state.enabled_channels())
    if name not in enabled:
        raise NotFound(f"no enabled channel of that name; enabled: {sorted(enabled)}")

    def work(session: Session) -> dict[str, Any]:
        channel_health.resume(session, actor, name)
        [report] = channel_health.channel_report(session, [(name, enabled[name])])
        return report

    return JSONResponse(await state.write(work))


def routes() -> list[BaseRoute]:
    return [
        Route("/channels", list_channels, methods=["GET"]),
        Route("/channels/{channel}/resume", resume_channel, methods=["POST"]),
    ]

"""GET /healthz: 200 when the database answers, 503 when it does not."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from console.web.access import Access, access
from console.web.state import app_state


@access(Access.PUBLIC)
async def healthz(request: Request) -> Response:
    try:
        await run_in_threadpool(app_state(request).db.ping)
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "database": "not answering"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"}, headers={"Cache-Control": "no-store"})

"""GET /healthz: 200 when the database answers and its schema is the one this version runs on,
503 when it does not answer, was never migrated, or is at an older migration (the release step
skipped, an older backup restored): the console could then neither publish nor serve a page."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from console.migrate import schema_problem, schema_revision_quickly
from console.web.access import Access, access
from console.web.state import app_state

NO_STORE = {"Cache-Control": "no-store"}


@access(Access.PUBLIC)
async def healthz(request: Request) -> Response:
    try:
        revision = await run_in_threadpool(schema_revision_quickly, app_state(request).db)
    except SQLAlchemyError:
        return JSONResponse(
            {"status": "unavailable", "database": "not answering"}, status_code=503, headers=NO_STORE
        )
    problem = schema_problem(revision)
    if problem is not None:
        return JSONResponse({"status": "unavailable", "database": problem}, status_code=503, headers=NO_STORE)
    return JSONResponse({"status": "ok", "database": "ok"}, headers=NO_STORE)

"""The reference for the crowd: a minimal Starlette app answering each path with fixed bytes.

The bytes and headers are the console's own answers, captured before the run (so the
reference sends exactly as much); served by uvicorn with the same command line and number
of workers, it is the least a Python server can do for that crowd: no middleware, no
cache lookups, no validators.

    uvicorn --factory bench.load.reference:create_app   (REFERENCE_ANSWERS=answers.json)
"""

from __future__ import annotations

import base64
import json
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def create_app() -> Starlette:
    with open(os.environ["REFERENCE_ANSWERS"]) as handle:
        stored = json.load(handle)
    answers = {path: (base64.b64decode(body), headers) for path, (body, headers) in stored.items()}

    async def answer(request: Request) -> Response:
        path = request.url.path
        if request.url.query:
            path += "?" + request.url.query
        found = answers.get(path)
        if found is None:
            return Response(b"not found", status_code=404)
        body, headers = found
        return Response(body, headers=headers)

    return Starlette(routes=[Route("/{path:path}", answer)])

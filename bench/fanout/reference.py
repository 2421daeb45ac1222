"""The reference: the least a websocket fan-out server can do.

The websockets library's own asyncio server; each connection is added to a set; an HTTP
request `GET /publish?i=N&size=S` calls `websockets.broadcast()` on the set directly with a
message of S bytes carrying the marker `fanout-N-end`, then answers 200. No database, no
rendering, no buffering policy: what our console is measured against.

Usage (run by run.py): reference.py PORT
"""

from __future__ import annotations

import asyncio
import http
import resource
import sys
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Request, Response, ServerConnection, broadcast, serve

CONNECTIONS: set[ServerConnection] = set()


async def handler(connection: ServerConnection) -> None:
    CONNECTIONS.add(connection)
    try:
        await connection.wait_closed()
    finally:
        CONNECTIONS.discard(connection)


def process_request(connection: ServerConnection, request: Request) -> Response | None:
    parts = urlsplit(request.path)
    if parts.path != "/publish":
        return None  # a websocket handshake
    query = parse_qs(parts.query)
    index, size = int(query["i"][0]), int(query["size"][0])
    marker = f"fanout-{index}-end "
    broadcast(CONNECTIONS, marker + "x" * max(size - len(marker), 0))
    return connection.respond(http.HTTPStatus.OK, f"sent to {len(CONNECTIONS)}\n")


async def main(port: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    async with serve(
        handler,
        "127.0.0.1",
        port,
        process_request=process_request,
        compression=None,
        ping_interval=20,
        ping_timeout=20,
        max_size=1024,
        backlog=4096,
    ) as server:
        print("ready", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))

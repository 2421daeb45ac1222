"""A map tile server on 127.0.0.1 for the console's drawing map (MAP_TILES_URL): one PNG for
any /{z}/{x}/{y}.png, and a list of the paths asked for."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.http_thread import serve_in_thread

TILE_PATH = re.compile(r"^/(\d+)/(\d+)/(\d+)\.png$")


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


TILE = png(256, 256, (222, 235, 210))


class TileServer:
    """Serves one PNG for any /{z}/{x}/{y}.png, and remembers what was asked."""

    def __init__(self) -> None:
        self.requested: list[str] = []
        tiles = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                tiles.requested.append(self.path)
                if not TILE_PATH.match(self.path):
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(TILE)))
                self.end_headers()
                self.wfile.write(TILE)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._stop_serving: Callable[[], None] | None = None

    def __enter__(self) -> TileServer:
        self._stop_serving = serve_in_thread(self.server)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop_serving is not None:
            self._stop_serving()

    @property
    def tiles_url(self) -> str:
        """What MAP_TILES_URL is set to."""
        return self.url + "/{z}/{x}/{y}.png"

"""A light websocket subscriber swarm: one process holding many connections.

Raw asyncio protocols (no websockets library) so that thousands of clients cost the
benchmark machine as little CPU as possible and the server's cost dominates what is
measured. Each connection sends the hello the console expects ({"last_event_id": N};
the reference server reads and ignores it), answers pings, and records when each text
frame carrying a marker `fanout-<i>-end` arrived (time.monotonic(), comparable across
processes on Linux).

Usage (run by harness.start_subscribers): subscribers.py URL COUNT HELLO_ID
Prints "ready <open> <failed>" once connected, then on "stop" (or end of stdin) prints one
JSON line: {"receipts": {"<i>": [t, ...]}, "duplicates": n, "closed": n, "open": n}.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import resource
import struct
import sys
import time
from collections import defaultdict
from urllib.parse import urlsplit

MARKER = re.compile(rb"fanout-(\d+)-end")
CONCURRENT_CONNECTS = 200


def masked_frame(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    header = bytes([0x80 | opcode])
    length = len(payload)
    if length < 126:
        header += bytes([0x80 | length])
    elif length < 65536:
        header += bytes([0x80 | 126]) + struct.pack("!H", length)
    else:
        header += bytes([0x80 | 127]) + struct.pack("!Q", length)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + body


class Swarm:
    def __init__(self) -> None:
        self.receipts: dict[int, list[float]] = defaultdict(list)
        self.duplicates = 0
        self.closed = 0
        self.open = 0


class Subscriber(asyncio.Protocol):
    def __init__(self, swarm: Swarm, request: bytes, hello: bytes, connected: asyncio.Future[bool]) -> None:
        self.swarm = swarm
        self.request = request
        self.hello = hello
        self.connected = connected
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.upgraded = False
        self.seen: set[int] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.upgraded:
            self.swarm.closed += 1
            self.swarm.open -= 1
        if not self.connected.done():
            self.connected.set_result(False)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = self.buffer[:end].split(b"\r\n", 1)[0]
            self.buffer = self.buffer[end + 4 :]
            if b" 101 " not in status + b" ":
                assert self.transport is not None
                self.transport.close()
                return
            self.upgraded = True
            self.swarm.open += 1
            assert self.transport is not None
            self.transport.write(self.hello)
            self.connected.set_result(True)
        self._frames(now)

    def _frames(self, now: float) -> None:
        buffer = self.buffer
        while len(buffer) >= 2:
            opcode = buffer[0] & 0x0F
            length = buffer[1] & 0x7F
            offset = 2
            if length == 126:
                if len(buffer) < 4:
                    break
                length = struct.unpack("!H", buffer[2:4])[0]
                offset = 4
            elif length == 127:
                if len(buffer) < 10:
                    break
                length = struct.unpack("!Q", buffer[2:10])[0]
                offset = 10
            if len(buffer) < offset + length:
                break
            payload = buffer[offset : offset + length]
            buffer = buffer[offset + length :]
            if opcode == 0x1:
                match = MARKER.search(payload)
                if match:
                    index = int(match.group(1))
                    if index in self.seen:
                        self.swarm.duplicates += 1
                    else:
                        self.seen.add(index)
                        self.swarm.receipts[index].append(now)
            elif opcode == 0x9 and self.transport is not None:  # ping: answer, or the server drops us
                self.transport.write(masked_frame(0xA, payload))
            elif opcode == 0x8 and self.transport is not None:
                self.transport.close()
        self.buffer = buffer


async def main(url: str, count: int, hello_id: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    hello = masked_frame(0x1, json.dumps({"last_event_id": hello_id}).encode())
    loop = asyncio.get_running_loop()
    swarm = Swarm()
    transports: list[asyncio.BaseTransport] = []
    gate = asyncio.Semaphore(CONCURRENT_CONNECTS)
    failed = 0

    async def open_one() -> None:
        nonlocal failed
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        async with gate:
            connected: asyncio.Future[bool] = loop.create_future()
            try:
                transport, _ = await loop.create_connection(
                    lambda: Subscriber(swarm, request, hello, connected), host, port
                )
                transports.append(transport)
                if not await asyncio.wait_for(connected, 60):
                    failed += 1
            except (OSError, TimeoutError):
                failed += 1

    await asyncio.gather(*(open_one() for _ in range(count)))
    print(f"ready {swarm.open} {failed}", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # "stop", or end of input
    print(
        json.dumps(
            {
                "receipts": {str(i): times for i, times in swarm.receipts.items()},
                "duplicates": swarm.duplicates,
                "closed": swarm.closed,
                "open": swarm.open,
            }
        ),
        flush=True,
    )
    for transport in transports:
        transport.abort()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))

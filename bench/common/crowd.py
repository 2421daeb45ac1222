"""A light HTTP crowd: one process running many keep-alive clients that fetch pages in a loop.

Raw asyncio protocols speaking just enough HTTP/1.1 (Content-Length framing, as the
console and the reference send), so that thousands of clients cost the benchmark machine
little CPU and the server's cost dominates what is measured. Each client walks the path
list from its own starting point, sends `Accept-Encoding: gzip` like a browser, and waits
a random think time (uniform, mean THINK seconds) between requests. Latency is from the
request (including a new connection when one was needed) to the last byte of the answer.
A status other than 200/304, a timeout, or a connection refused or dropped is an error.

Usage: crowd.py HOST PORT CLIENTS THINK TIMEOUT PATHS_JSON   (PATHS_JSON: [[kind, path], ...])
Prints "ready" once its clients exist; starts on a "go" line; on "stop" (or end of stdin)
prints one JSON line: {"latencies": {kind: [ms, ...]}, "errors": {reason: n}}.
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import sys
import time
from collections import defaultdict

CONCURRENT_CONNECTS = 100


class Failed(Exception):
    pass


class Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bool]] | None = None
        self.status = 0
        self.close_after = False
        self.needed = -1  # bytes of the whole answer, once its head is in
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(Failed("connection dropped"))

    def request(self, data: bytes) -> asyncio.Future[tuple[int, bool]]:
        assert self.transport is not None
        self.buffer.clear()
        self.needed = -1
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        if self.needed < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            try:
                self.status = int(head[9:12])
            except ValueError:
                self.waiter.set_exception(Failed("malformed answer"))
                return
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding":
                    self.waiter.set_exception(Failed("chunked answer"))
                    return
            if self.status in (204, 304) or 100 <= self.status < 200:
                length = 0
            self.close_after = b"connection: close" in head
            self.needed = end + 4 + length
        if len(self.buffer) >= self.needed:
            self.waiter.set_result((self.status, self.close_after))


class Crowd:
    def __init__(self, host: str, port: int, think: float, timeout: float, paths: list[list[str]]) -> None:
        self.host, self.port = host, port
        self.think, self.timeout = think, timeout
        self.kinds = [kind for kind, _ in paths]
        self.requests = [
            (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: bench-crowd\r\n"
                "Accept: */*\r\nAccept-Encoding: gzip\r\n\r\n"
            ).encode()
            for _, path in paths
        ]
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.running = True
        self.gate = asyncio.Semaphore(CONCURRENT_CONNECTS)

    async def _connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        async with self.gate:
            _, connection = await asyncio.wait_for(
                loop.create_connection(Connection, self.host, self.port), self.timeout
            )
        return connection

    async def client(self, number: int) -> None:
        connection: Connection | None = None
        step = number
        # Spread the first requests over one think time, as a crowd arrives.
        await asyncio.sleep(random.uniform(0, self.think))
        while self.running:
            which = step % len(self.requests)
            step += 1
            started = time.monotonic()
            try:
                if connection is None or connection.closed:
                    connection = await self._connect()
                status, close = await asyncio.wait_for(connection.request(self.requests[which]), self.timeout)
                elapsed = (time.monotonic() - started) * 1000
                if not self.running:
                    break
                if status in (200, 304):
                    self.latencies[self.kinds[which]].append(elapsed)
                else:
                    self.errors[f"{self.kinds[which]}: HTTP {status}"] += 1
                if close:
                    assert connection.transport is not None
                    connection.transport.close()
                    connection = None
            except (TimeoutError, OSError, Failed) as exc:
                if not self.running:
                    break
                reason = "timeout" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
                self.errors[f"{self.kinds[which]}: {reason}"] += 1
                if connection is not None and connection.transport is not None:
                    connection.transport.abort()
                connection = None
            if self.think:
                await asyncio.sleep(random.uniform(0, 2 * self.think))
        if connection is not None and connection.transport is not None:
            connection.transport.abort()


async def main(
    host: str, port: int, clients: int, think: float, timeout: float, paths: list[list[str]]
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    loop = asyncio.get_running_loop()
    crowd = Crowd(host, port, think, timeout, paths)
    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # "go"
    tasks = [asyncio.create_task(crowd.client(number)) for number in range(clients)]
    await loop.run_in_executor(None, sys.stdin.readline)  # "stop", or end of input
    crowd.running = False
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps({"latencies": crowd.latencies, "errors": crowd.errors}), flush=True)


if __name__ == "__main__":
    host, port, clients, think, timeout, paths = sys.argv[1:7]
    asyncio.run(main(host, int(port), int(clients), float(think), float(timeout), json.loads(paths)))

"""An SMTP sink on 127.0.0.1 (aiosmtpd) in its own process: accepts and counts messages.

    python bench/subscribers/sink.py PORT

Prints `ready` once listening; each line read on stdin is answered with the count so far.
"""

from __future__ import annotations

import sys
from typing import Any

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.count += len(envelope.rcpt_tos)
        return "250 OK"


def main() -> None:
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=int(sys.argv[1]), server_hostname="localhost")
    controller.start()
    print("ready", flush=True)
    for _ in sys.stdin:
        print(counter.count, flush=True)
    controller.stop()


if __name__ == "__main__":
    main()

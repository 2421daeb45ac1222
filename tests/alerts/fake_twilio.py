"""A fake of Twilio's Messages API on 127.0.0.1 that behaves like the real one for what the
console uses: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic auth with
the account SID and auth token, `To`, `From` and `Body` required, 201 and a message
resource in Twilio's shape; told to, it answers with errors (429, 500, 400 with code 21610)
before recovering."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from tests.support.http_thread import serving

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fake-auth-token-0123456789abcdef"
FROM = "+15550000000"


@dataclass(frozen=True)
class Sent:
    to: str
    from_: str
    body: str


@dataclass
class FakeTwilio:
    sent: list[Sent] = field(default_factory=list)
    # (status, Twilio error code) answered to the next requests, in order, before recovering
    failures: list[tuple[int, int]] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def to(self, phone: str) -> list[str]:
        with self.lock:
            return [sent.body for sent in self.sent if sent.to == phone]

    def answer(self, path: str, authorization: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests += 1
            expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
            if path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
                return 404, error(20404, "The requested resource was not found", 404)
            if authorization != expected:
                return 401, error(20003, "Authenticate", 401)
            for name, code in (("To", 21604), ("From", 21603), ("Body", 21602)):
                if not form.get(name):
                    return 400, error(code, f"A '{name}' parameter is required.", 400)
            if self.failures:
                status, code = self.failures.pop(0)
                return status, error(code, "Attempt to send to unsubscribed recipient", status)
            self.sent.append(Sent(form["To"], form["From"], form["Body"]))
            return 201, message_resource(form)


def error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def message_resource(form: dict[str, str]) -> dict[str, Any]:
    sid = "SM" + secrets.token_hex(16)
    return {
        "account_sid": ACCOUNT_SID,
        "api_version": "2010-04-01",
        "body": form["Body"],
        "date_created": "Sat, 05 Dec 2026 18:00:00 +0000",
        "date_sent": None,
        "date_updated": "Sat, 05 Dec 2026 18:00:00 +0000",
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form["From"],
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json"},
        "to": form["To"],
        "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
    }


def fake_twilio_server() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8")
            form = {key: values[0] for key, values in parse_qs(raw).items()}
            status, payload = fake.answer(self.path, self.headers.get("Authorization", ""), form)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.port = server.server_address[1]
    with serving(server):
        yield fake

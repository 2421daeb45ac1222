"""A Web Push service on 127.0.0.1 in its own process, for the subscribers benchmark: accepts
`POST /push/{id}`, checks the VAPID `Authorization: vapid t=…,k=…` header (RFC 8292: k is the
applicationServerKey, t an ES256 JWT signed by it, for this origin, unexpired, from the
subject), decrypts the aes128gcm body (RFC 8291, `http_ece`) with browser `id`'s private key
and auth secret, and counts.

    python bench/subscribers/push_service.py PORT SEED APPLICATION_SERVER_KEY SUBJECT

Every subscriber plays its own browser: its P-256 key pair and auth secret are derived from
SEED and its id (`browser_keys`), so the service decrypts without a database. A request it
refuses (bad VAPID, unknown id, wrong encoding) or cannot decrypt (to JSON) counts as failed
and is answered 4xx. Multi-threaded (a thread per connection, HTTP/1.1 keep-alive), so it
takes PUSH_CONCURRENCY requests at once.

Prints `ready` once listening; each line read on stdin is answered with
`received decrypted failed` so far.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

# The order of the P-256 group: a private scalar is in [1, N - 1].
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def browser_keys(seed: str, subscriber: int) -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    """Browser `subscriber`'s private key and auth secret, the same for the same seed. Not
    cached: the console's run and the reference, which follows it, pay the same per push."""
    digest = hashlib.sha256(f"push-key:{seed}:{subscriber}".encode()).digest()
    scalar = int.from_bytes(digest, "big") % (P256_ORDER - 1) + 1
    auth = hashlib.sha256(f"push-auth:{seed}:{subscriber}".encode()).digest()[:16]
    return ec.derive_private_key(scalar, ec.SECP256R1()), auth


def subscription_keys(seed: str, subscriber: int) -> dict[str, str]:
    """What PushSubscription.toJSON() gives as `keys` for browser `subscriber`."""
    private_key, auth = browser_keys(seed, subscriber)
    point = private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"p256dh": b64url(point), "auth": b64url(auth)}


class Service:
    def __init__(self, origin: str, seed: str, server_key: str, subject: str) -> None:
        self.origin, self.seed, self.server_key, self.subject = origin, seed, server_key, subject
        self.public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(server_key))
        self.lock = threading.Lock()
        self.received = self.decrypted = self.failed = 0

    def check_vapid(self, header: str) -> str | None:
        """None when the Authorization header is a valid VAPID one, else why not."""
        scheme, _, params = header.partition(" ")
        if scheme != "vapid":
            return f"scheme {scheme!r}"
        fields = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
        if fields.get("k") != self.server_key:
            return "k is not the applicationServerKey"
        head, claims_part, signature = fields.get("t", "..").split(".")
        if json.loads(unb64url(head)) != {"typ": "JWT", "alg": "ES256"}:
            return "JWT header"
        raw = unb64url(signature)
        if len(raw) != 64:
            return "signature length"
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        try:
            self.public_key.verify(der, f"{head}.{claims_part}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return "signature"
        claims = json.loads(unb64url(claims_part))
        if claims.get("aud") != self.origin:
            return f"aud {claims.get('aud')!r}"
        if not time.time() < claims.get("exp", 0) <= time.time() + 24 * 3600:
            return "exp"
        if claims.get("sub") != self.subject:
            return f"sub {claims.get('sub')!r}"
        return None

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.received += 1
        status = self._handle(path, headers, body)
        with self.lock:
            if status == 201:
                self.decrypted += 1
            else:
                self.failed += 1
        return status

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        try:
            problem = self.check_vapid(headers.get("authorization", ""))
        except ValueError:  # malformed base64 or JSON
            problem = "malformed"
        if problem is not None:
            return 403
        name = path.removeprefix("/push/")
        if not name.isdigit() or headers.get("content-encoding") != "aes128gcm" or "ttl" not in headers:
            return 404
        private_key, auth = browser_keys(self.seed, int(name))
        try:
            json.loads(http_ece.decrypt(body, private_key=private_key, auth_secret=auth))
        except Exception:  # noqa: BLE001 (any failure to decrypt is the count's business)
            return 400
        return 201


def main() -> None:
    port, seed, server_key, subject = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    service = Service(f"http://127.0.0.1:{port}", seed, server_key, subject)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: each sender lane keeps its connection

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = service.handle(self.path, headers, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 256
        daemon_threads = True

    server = Server(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    for _ in sys.stdin:
        with service.lock:
            print(service.received, service.decrypted, service.failed, flush=True)
    server.shutdown()


if __name__ == "__main__":
    main()

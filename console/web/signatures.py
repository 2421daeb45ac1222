"""The agency's public keys and its signed audit chain head, for anyone to verify with.

`GET /.well-known/incident-console/keys.json`: every key it ever signed with (a JWKS,
RFC 7517/8037), cached long with an ETag. `GET /audit/head.json`: the audit chain head,
signed (see `console.signed_head`). `GET /.well-known/incident-console/cap-signing.pem`: the
X.509 certificate CAP messages are signed with (404 when they are not signed).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from console.feeds.cap_signing import CERT_PATH
from console.signed_head import HEAD_PATH, KEYS_PATH
from console.web.access import Access, access
from console.web.state import app_state

# Long, but not so long that a verifier behind a cache misses a key rotated in today: one hour.
KEYS_CACHE = "public, max-age=3600"
HEAD_CACHE = "public, max-age=1"


def json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def etagged(request: Request, content: bytes, media_type: str, cache: str) -> Response:
    """`content` with a strong ETag (its SHA-256); 304 when the client already holds it."""
    etag = f'"{hashlib.sha256(content).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": cache}
    candidates = {
        tag.strip().removeprefix("W/") for tag in request.headers.get("if-none-match", "").split(",")
    }
    if etag in candidates or "*" in candidates:
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=media_type, headers=headers)


@access(Access.PUBLIC)
async def keys_json(request: Request) -> Response:
    jwks = app_state(request).keys.keys.jwks()
    return etagged(request, json_bytes(jwks), "application/jwk-set+json", KEYS_CACHE)


@access(Access.PUBLIC)
async def audit_head_json(request: Request) -> Response:
    state = app_state(request)
    head = await state.read(state.heads.current)
    return etagged(request, json_bytes(head.view()), "application/json", HEAD_CACHE)


@access(Access.PUBLIC)
async def cap_certificate(request: Request) -> Response:
    signer = app_state(request).cap_signer
    if signer is None:
        return PlainTextResponse(
            "CAP messages are not signed here (CAP_SIGNING_KEY and CAP_SIGNING_CERT are not set)",
            status_code=404,
        )
    return etagged(request, signer.certificate_pem, "application/x-pem-file", KEYS_CACHE)


def routes() -> list[BaseRoute]:
    return [
        Route(KEYS_PATH, keys_json, methods=["GET"]),
        Route(HEAD_PATH, audit_head_json, methods=["GET"]),
        Route(CERT_PATH, cap_certificate, methods=["GET"]),
    ]

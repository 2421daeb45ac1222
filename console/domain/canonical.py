"""Canonical JSON and hashing, shared by the audit chain and version content hashes."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with microseconds: one spelling for one instant, on every backend."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain_hash(prev_hash: str, canonical: str) -> str:
    return sha256_hex(prev_hash + canonical)

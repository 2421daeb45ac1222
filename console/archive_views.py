"""What the archive templates share on the web and in the offline snapshot: the layout, how
a page links to another, and the words for channels and version kinds.

On the web a link is the path itself. In a snapshot (`console archive export`) each page
is a file, so every link is relative to the page it is on and points at another file:
the snapshot opens from a disk or a USB stick, with no server and no absolute link.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from console.domain.incidents import CATEGORIES
from console.signed_head import HEAD_PATH, KEYS_PATH

WEB_LAYOUT = "public/base.html"
SNAPSHOT_LAYOUT = "archive/snapshot_base.html"
DATE_TIME = "%Y-%m-%d %H:%M %Z"
DATE = "%Y-%m-%d"

KIND_NAMES = {
    "original": "Original",
    "correction": "Correction",
    "confirmation": "Confirmation",
    "retraction": "Retraction",
    "resolution": "All clear",
    "reopening": "Reopened",
}
# Channels added later show under their own name until they get a friendlier one here.
CHANNEL_NAMES = {
    "live": "Live page",
    "archive": "Archive file",
    "feeds": "RSS/Atom feeds",
    "x": "X",
    "mastodon": "Mastodon",
}
CATEGORY_NAMES = {
    "Geo": "Geophysical",
    "Met": "Weather",
    "Safety": "Public safety",
    "Security": "Security and law enforcement",
    "Rescue": "Rescue and recovery",
    "Fire": "Fire",
    "Health": "Health",
    "Env": "Environment",
    "Transport": "Transport",
    "Infra": "Infrastructure and utilities",
    "CBRNE": "Chemical, biological, radiological, nuclear or explosive",
    "Other": "Other",
}
assert set(CATEGORY_NAMES) == set(CATEGORIES)


def web_link(path: str) -> str:
    return path


class SnapshotLinks:
    """Server paths mapped to files of the snapshot, relative to a page `depth` folders down."""

    _HISTORY = re.compile(r"^/incidents/([a-z0-9-]+)(/history)?$")

    def __init__(self, depth: int) -> None:
        self.prefix = "../" * depth

    def file_for(self, path: str) -> str:
        if path in ("/", "/archive"):
            return "index.html"
        if path == "/corrections":
            return "corrections.html"
        if path.startswith(("/static/", "/incidents/")) and path.endswith((".css", ".json", ".csv")):
            return path.lstrip("/")
        if path == "/archive.jsonl":
            return "archive.jsonl"
        if path == KEYS_PATH:  # the snapshot carries the keys and a signed head of its own
            return "keys.json"
        if path == HEAD_PATH:
            return "audit-head.json"
        match = self._HISTORY.match(path)
        if match:  # the live page is not part of a snapshot: its history stands in for it
            return f"incidents/{match.group(1)}/history.html"
        raise ValueError(f"the snapshot has no file for {path}")

    def __call__(self, path: str) -> str:
        path, hash_mark, fragment = path.partition("#")
        return self.prefix + self.file_for(path) + hash_mark + fragment


def base_context(*, snapshot: bool, depth: int = 0, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "layout": SNAPSHOT_LAYOUT if snapshot else WEB_LAYOUT,
        "snapshot": snapshot,
        "link": SnapshotLinks(depth) if snapshot else web_link,
        "kind_names": KIND_NAMES,
        "channel_names": CHANNEL_NAMES,
        "category_names": CATEGORY_NAMES,
        "categories": CATEGORIES,
        "date_time": DATE_TIME,
        "date_only": DATE,
        "keys_path": KEYS_PATH,
        "head_path": HEAD_PATH,
        **(extra or {}),
    }

"""What the archive templates share on the web and in the offline snapshot: the layout, how
a page links to another, and the words for channels and version kinds (marked for
translation: the templates show them through `_()` in the reader's language).

On the web a link is the path itself. In a snapshot (`console archive export`) each page
is a file, so every link is relative to the page it is on and points at another file:
the snapshot opens from a disk or a USB stick, with no server and no absolute link.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from console.domain.history import DETAIL_LABELS
from console.domain.incidents import CATEGORIES
from console.i18n import N_
from console.signed_head import HEAD_PATH, KEYS_PATH

WEB_LAYOUT = "public/base.html"
SNAPSHOT_LAYOUT = "archive/snapshot_base.html"
DATE_TIME = "%Y-%m-%d %H:%M %Z"
DATE = "%Y-%m-%d"

KIND_NAMES = {
    "original": N_("Original"),
    "correction": N_("Correction"),
    "confirmation": N_("Confirmation"),
    "retraction": N_("Retraction"),
    "resolution": N_("All clear"),
    "reopening": N_("Reopened"),
}
# What readers of a history call each channel (tests/archive/test_history.py checks that every
# channel has a name here).
CHANNEL_NAMES = {
    "live": N_("Live page"),
    "archive": N_("Archive file"),
    "feeds": N_("RSS/Atom feeds"),
    "x": N_("X"),
    "mastodon": N_("Mastodon"),
    "subscribers": N_("Alerts to subscribers (email, web push, SMS, webhooks)"),
    "websub": N_("Notice to feed readers (WebSub)"),
    "approvers": N_("Email to the approvers"),
}
CATEGORY_NAMES = {
    "Geo": N_("Geophysical"),
    "Met": N_("Weather"),
    "Safety": N_("Public safety"),
    "Security": N_("Security and law enforcement"),
    "Rescue": N_("Rescue and recovery"),
    "Fire": N_("Fire"),
    "Health": N_("Health"),
    "Env": N_("Environment"),
    "Transport": N_("Transport"),
    "Infra": N_("Infrastructure and utilities"),
    "CBRNE": N_("Chemical, biological, radiological, nuclear or explosive"),
    "Other": N_("Other"),
}
assert set(CATEGORY_NAMES) == set(CATEGORIES)
# The names history gives the fields of an incident's details, for `_()` to translate.
DETAIL_NAMES = (
    N_("Title"),
    N_("Summary"),
    N_("Location"),
    N_("Category"),
    N_("Alert status"),
    N_("Mapped area"),
    N_("CAP defaults"),
)
assert set(DETAIL_NAMES) == set(DETAIL_LABELS.values())


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
        if path.startswith("/media/"):  # images (issue 18), copied by the export
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

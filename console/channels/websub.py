"""The `websub` channel: tells the WebSub hub (WEBSUB_HUB) that the feeds changed, so
subscribers get a correction in seconds instead of at their next poll.

Routed only when WEBSUB_HUB is set. It pings after the `feeds` channel has written the
files for the same event (otherwise the hub would fetch the old feed), one `hub.mode=publish`
request per feed URL, the convention hubs share. A translation of an update changes the feeds
of its language (/feeds/{lang}/...) and, as it adds a CAP revision message of the version
(console.feeds.cap_history), the CAP index (/feeds/cap.atom) while that lists the version: only
those are pinged for it.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.parse
import urllib.request
from typing import ClassVar

from sqlalchemy import select

from console.channels.base import GiveUp, Outcome, RetryLater, Sent
from console.db import Database
from console.domain.events import ChannelEvent, TranslationAdded, VersionPublished
from console.domain.outbox import Claim
from console.feeds.paths import (
    CAP_INDEX,
    Target,
    incident_atom,
    incident_rss,
    updates_atom,
    updates_rss,
)
from console.feeds.writer import FeedFiles
from console.models import Delivery, DeliveryState, EventType
from console.settings import Settings, SettingsError

REQUEST_TIMEOUT_SECONDS = 10.0


class WebSubChannel:
    name: ClassVar[str] = "websub"
    # Every event that adds a feed entry: a version (the all-clear and reopening included), a
    # later translation, a correction of the incident's details, a new "What to do now" (it
    # heads the incident's feeds), a rumor response.
    accepts: ClassVar[frozenset[EventType]] = frozenset(
        {
            EventType.VERSION_PUBLISHED,
            EventType.TRANSLATION_ADDED,
            EventType.INCIDENT_DETAILS_CHANGED,
            EventType.INCIDENT_PINNED,
            EventType.RUMOR_PUBLISHED,
        }
    )
    ordered: ClassVar[bool] = False
    timeout_seconds: ClassVar[float] = 60.0

    def __init__(self, db: Database, hub_url: str, public_url: str, files: FeedFiles) -> None:
        self.db = db
        self.hub_url = hub_url
        self.public_url = public_url
        self.files = files  # what the feeds channel writes

    @property
    def languages(self) -> tuple[str, ...]:
        """Those whose /feeds/{lang}/ files the feeds channel writes: asked at each delivery, as
        with one language they are written only once a reader has asked for one of them."""
        return self.files.languages

    @classmethod
    def from_settings(cls, settings: Settings, db: Database) -> WebSubChannel:
        if settings.websub_hub is None:
            raise SettingsError("the websub channel needs WEBSUB_HUB")
        return cls(db, settings.websub_hub, settings.public_url, FeedFiles(settings))

    def _feeds(self, incident_slug: str | None, lang: str | None = None) -> list[Target]:
        """The all-updates feeds in `lang`, after the incident's when there is one."""
        incident = (
            [incident_atom(incident_slug, lang), incident_rss(incident_slug, lang)] if incident_slug else []
        )
        return [*incident, updates_atom(lang), updates_rss(lang)]

    def topics(self, event: ChannelEvent) -> list[str]:
        slug = event.incident_slug
        if isinstance(event, TranslationAdded):
            targets = self._feeds(slug, event.lang) if event.lang in self.languages else []
            with self.db.read() as session:
                if self.files.cap_index_lists(session, event):  # it lists the new revision
                    targets.append(CAP_INDEX)
        else:
            targets = self._feeds(slug) + ([CAP_INDEX] if isinstance(event, VersionPublished) else [])
            for lang in self.languages:
                targets += self._feeds(slug, lang)
        return [self.public_url + target.url_path for target in targets]

    def _feeds_written(self, event_id: int) -> bool:
        with self.db.read() as session:
            state = session.scalar(
                select(Delivery.state).where(Delivery.event_id == event_id, Delivery.channel == "feeds")
            )
        return state is DeliveryState.SENT

    def _ping(self, topic: str) -> None:
        body = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": topic}).encode()
        request = urllib.request.Request(
            self.hub_url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            exc.close()
            message = f"the hub answered {exc.code} for {topic}"
            if exc.code == 429 or exc.code >= 500:
                retry_after = exc.headers.get("Retry-After", "")
                raise RetryLater(
                    message,
                    retry_after=float(retry_after)
                    if retry_after.isascii() and retry_after.isdigit()
                    else None,
                ) from exc
            raise GiveUp(message) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RetryLater(f"could not reach the hub: {reason}") from exc

    def _deliver(self, claim: Claim) -> list[str]:
        if not self._feeds_written(claim.event.event_id):
            raise RetryLater("waiting for the feeds channel to write the files first")
        topics = self.topics(claim.event)
        for topic in topics:
            self._ping(topic)
        return topics

    async def deliver(self, claim: Claim) -> Outcome:
        topics = await asyncio.to_thread(self._deliver, claim)
        if not topics:  # a translation into a language no longer in LANGUAGES, of a version not listed
            return Sent(detail="no feed changed: nothing to ping")
        return Sent(external_url=self.hub_url, detail="pinged the hub for " + " ".join(topics))

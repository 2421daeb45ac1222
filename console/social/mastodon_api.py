"""Mastodon through Mastodon.py.

The post limit and the weight of a link come from the instance's own configuration
(`/api/v2/instance`, or `/api/v1/instance` on older servers), cached for an hour. Posts go
out public with an `Idempotency-Key` derived from the delivery id, so the server itself
turns a retried request into the same post; the delivery steps still look for the post
after an unknown outcome, since servers keep those keys for a limited time only.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from console.domain import wording
from console.domain.post_runs import TextRules
from console.settings import Settings
from console.social import matching, network

PREVIEW_RULES = wording.MASTODON_DEFAULT_RULES
RULES_TTL_SECONDS = 3600.0
# After the configuration could not be read, ask again no sooner than this (a preview is
# made at every pause in typing: it must not wait on an instance that is down each time).
RULES_RETRY_SECONDS = 60.0
LOOKUP_PAGE = 40  # the most Mastodon returns per page
ASSUMED_VERSION = (4, 0, 0)
# An image Mastodon is still processing (202, no `url`): asked after this often, this far apart.
MEDIA_POLLS = 5
MEDIA_POLL_SECONDS = 1.0


@functools.lru_cache(maxsize=16)
def rules_for(limit: int, url_weight: int) -> TextRules:
    return TextRules(functools.partial(wording.mastodon_weight, url_weight=url_weight), limit)


class MastodonNetwork:
    label = "Mastodon"

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> None:
        assert settings.mastodon_base_url and settings.mastodon_access_token
        self.client = Mastodon(
            access_token=str(settings.mastodon_access_token),
            api_base_url=settings.mastodon_base_url,
            ratelimit_method="throw",  # never sleep inside a delivery: the outbox waits instead
            request_timeout=settings.social_request_timeout_seconds,
            version_check_mode="none",
            # Assumed, never asked: `media_post` checks the version, and Mastodon.py 2.3 recurses
            # without end when the instance does not say it. 3.1.4 and later take images at
            # /api/v2/media (issue 18).
            mastodon_version=".".join(map(str, ASSUMED_VERSION)),
            user_agent="incident-console",
        )
        # With version_check_mode "none", Mastodon.py 2.3 keeps `mastodon_version` unparsed.
        self.client.mastodon_major, self.client.mastodon_minor, self.client.mastodon_patch = ASSUMED_VERSION
        self.clock = clock
        self.media_dir = settings.media_dir
        self._rules: tuple[TextRules, float] | None = None
        self._failed: tuple[str, float] | None = None  # why and when the configuration was not read
        self._account_id: str | None = None

    def rules(self) -> TextRules:
        """The instance's limit and link weight: cached for an hour; kept beyond that while the
        instance cannot be asked."""
        now = self.clock()
        if self._rules is not None and now - self._rules[1] <= RULES_TTL_SECONDS:
            return self._rules[0]
        if self._failed is not None and now - self._failed[1] < RULES_RETRY_SECONDS:
            if self._rules is not None:
                return self._rules[0]
            raise network.NotSent(f"the instance's configuration could not be read: {self._failed[0]}")
        try:
            self._rules = (self._instance_rules(), now)
        except Exception as exc:
            error = self._mapped(exc)
            self._failed = (str(error), now)
            if self._rules is not None:
                return self._rules[0]
            raise error from exc
        self._failed = None
        return self._rules[0]

    def _instance_rules(self) -> TextRules:
        try:
            instance: Any = self.client.instance_v2()
        except MastodonNotFoundError:  # before Mastodon 4.0
            instance = self.client.instance_v1()
        configuration = instance.get("configuration") or {}
        statuses = configuration.get("statuses") or {}
        limit = statuses.get("max_characters") or instance.get("max_toot_chars") or wording.MASTODON_LIMIT
        url_weight = statuses.get("characters_reserved_per_url") or wording.MASTODON_URL_WEIGHT
        return rules_for(int(limit), int(url_weight))

    def upload(self, image: network.Attachment) -> str:
        """The media id of `image` uploaded with its alt text as the description (issue 18).
        An image still being processed is asked after a few times: a status cannot attach it
        before."""
        data = network.read_image(self.media_dir, image)
        try:
            media: Any = self.client.media_post(
                data,
                mime_type=image.content_type,
                description=image.alt,
                file_name=image.file_name,
            )
            for _ in range(MEDIA_POLLS):
                if media.get("url"):
                    break
                time.sleep(MEDIA_POLL_SECONDS)
                media = self.client.media(media["id"])
        except Exception as exc:
            raise network.before_posting(self._mapped(exc)) from exc
        return str(media["id"])

    def post(
        self, text: str, reply_to: str | None, key: str, images: Sequence[network.Attachment] = ()
    ) -> network.Posted:
        media_ids = [self.upload(image) for image in images] or None
        try:
            status: Any = self.client.status_post(
                text, in_reply_to_id=reply_to, media_ids=media_ids, visibility="public", idempotency_key=key
            )
        except Exception as exc:
            raise self._mapped(exc, replying=reply_to is not None) from exc
        return network.Posted(str(status["id"]), str(status.get("url") or status["uri"]))

    def find(self, text: str, since: datetime) -> network.Posted | None:
        try:
            if self._account_id is None:
                self._account_id = str(self.client.account_verify_credentials()["id"])
            statuses: Any = self.client.account_statuses(
                self._account_id, limit=LOOKUP_PAGE, exclude_reblogs=True
            )
        except Exception as exc:
            raise self._mapped(exc, lookup=True) from exc
        for status in statuses:
            created = status.get("created_at")
            if isinstance(created, datetime) and created < since:
                continue
            if matching.same_text(text, matching.html_text(str(status.get("content") or ""))):
                return network.Posted(str(status["id"]), str(status.get("url") or status["uri"]))
        return None

    def _mapped(self, exc: Exception, *, replying: bool = False, lookup: bool = False) -> network.SocialError:
        message = " ".join(str(exc).split())
        if isinstance(exc, MastodonNetworkError):
            cause = exc.__cause__ or exc.__context__
            if cause is not None:
                return network.transport_error("Mastodon", cause)
            return network.Unknown(f"could not reach Mastodon: {message}", check_now=True)
        if isinstance(exc, MastodonRatelimitError):
            reset = self.client.ratelimit_reset
            wait = max(float(reset) - time.time(), 1.0) if reset else None
            return network.NotSent(f"Mastodon rate limit reached ({message})", retry_after=wait)
        if isinstance(exc, MastodonUnauthorizedError):
            return network.AuthRejected(f"Mastodon rejected the access token: {message}")
        if isinstance(exc, MastodonServerError):
            return network.Unknown(f"Mastodon server error ({message})", check_now=False)
        if isinstance(exc, MastodonNotFoundError) and replying:
            return network.ReplyGone(message)
        if isinstance(exc, MastodonAPIError):
            status = exc.args[1] if len(exc.args) > 1 else None
            if status == 403 and not lookup:
                return network.AuthRejected(f"Mastodon does not let this account or token post: {message}")
            return network.Rejected(f"Mastodon refused the request: {message}")
        if isinstance(exc, MastodonError):
            return network.Rejected(f"Mastodon.py refused the request: {message}")
        return network.Unknown(
            f"unexpected error talking to Mastodon: {type(exc).__name__}: {message}", check_now=False
        )

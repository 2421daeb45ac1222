"""X (API v2) through tweepy's `Client`, OAuth 1.0a user context; images (issue 18) through
tweepy's v1.1 `API` (`simple_upload`, then `create_media_metadata` for the alt text).

tweepy builds every URL from the fixed hosts `https://api.twitter.com` and
`https://upload.twitter.com`. `XSession` (the `requests.Session` tweepy sends through) moves
those hosts to `X_API_BASE_URL` when it is set
and gives every request a timeout (tweepy sets none). The rest of tweepy's path is
unchanged: OAuth 1.0a signs the URL actually requested, and tweepy maps the status codes to
its exceptions, which `_mapped` turns into what they mean for a post.
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import requests
import tweepy

from console.domain import wording
from console.domain.post_runs import TextRules
from console.settings import Settings
from console.social import matching, network

X_HOST = "https://api.twitter.com"
UPLOAD_HOST = "https://upload.twitter.com"
X_RULES = wording.X_RULES
CONNECT_TIMEOUT = 5.0
LOOKUP_PAGE = 100  # the most X returns per page; the ordered lane posts one at a time


class XSession(requests.Session):
    def __init__(self, base_url: str | None, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if self.base_url and isinstance(url, str):
            for host in (X_HOST, UPLOAD_HOST):
                if url.startswith(host):
                    url = self.base_url + url[len(host) :]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


def post_url(tweet_id: str) -> str:
    return f"https://x.com/i/web/status/{tweet_id}"


class XNetwork:
    label = "X"

    def __init__(self, settings: Settings) -> None:
        assert settings.x_api_key and settings.x_api_secret
        assert settings.x_access_token and settings.x_access_token_secret
        self.client = tweepy.Client(
            consumer_key=str(settings.x_api_key),
            consumer_secret=str(settings.x_api_secret),
            access_token=str(settings.x_access_token),
            access_token_secret=str(settings.x_access_token_secret),
        )
        read_timeout = settings.social_request_timeout_seconds
        timeout = (min(CONNECT_TIMEOUT, read_timeout), read_timeout)
        self.client.session = XSession(settings.x_api_base_url, timeout)
        auth = tweepy.OAuth1UserHandler(
            str(settings.x_api_key),
            str(settings.x_api_secret),
            str(settings.x_access_token),
            str(settings.x_access_token_secret),
        )
        self.uploads = tweepy.API(auth, timeout=read_timeout)
        self.uploads.session = XSession(settings.x_api_base_url, timeout)
        self.media_dir = settings.media_dir
        self._user_id: str | None = None

    def rules(self) -> TextRules:
        return X_RULES

    def upload(self, image: network.Attachment) -> str:
        """The media id of `image` uploaded with its alt text. `simple_upload`, not
        `media_upload`: that one sniffs the type with `imghdr` (deprecated; we know the type)."""
        data = network.read_image(self.media_dir, image)
        try:
            media = self.uploads.simple_upload(image.file_name, file=io.BytesIO(data))
            media_id = str(media.media_id_string)
            self.uploads.create_media_metadata(media_id, image.alt)
        except Exception as exc:
            raise network.before_posting(_mapped(exc)) from exc
        return media_id

    def post(
        self, text: str, reply_to: str | None, key: str, images: Sequence[network.Attachment] = ()
    ) -> network.Posted:
        # X has no idempotency key: `key` is unused, the delivery steps look before re-sending.
        media_ids = [self.upload(image) for image in images] or None
        try:
            response = self.client.create_tweet(
                text=text, in_reply_to_tweet_id=reply_to, media_ids=media_ids, user_auth=True
            )
        except Exception as exc:
            raise _mapped(exc, replying=reply_to is not None) from exc
        tweet_id = str(response.data["id"])
        return network.Posted(tweet_id, post_url(tweet_id))

    def find(self, text: str, since: datetime) -> network.Posted | None:
        try:
            user_id = self._me()
            response = self.client.get_users_tweets(
                user_id,
                user_auth=True,
                start_time=since,
                max_results=LOOKUP_PAGE,
                tweet_fields=["created_at", "entities"],
            )
        except Exception as exc:
            raise _mapped(exc, lookup=True) from exc
        for tweet in response.data or []:
            if matching.same_text(text, matching.x_text(tweet.text, tweet.entities)):
                return network.Posted(str(tweet.id), post_url(str(tweet.id)))
        return None

    def _me(self) -> str:
        if self._user_id is None:
            self._user_id = str(self.client.get_me(user_auth=True).data.id)
        return self._user_id


def _problem(exc: tweepy.HTTPException) -> str:
    """Everything X said about the error, for matching and for the person reading it."""
    try:
        body = exc.response.json()
    except ValueError:
        body = {}
    parts = [str(exc)]
    if isinstance(body, dict):
        parts += [str(body.get(key, "")) for key in ("title", "type", "reason")]
    return " ".join(parts).lower()


def _mapped(exc: Exception, *, replying: bool = False, lookup: bool = False) -> network.SocialError:
    message = " ".join(str(exc).split())
    if isinstance(exc, requests.exceptions.RequestException):
        return network.transport_error("X", exc)
    if isinstance(exc, tweepy.TooManyRequests):
        wait = max(exc.reset_time - time.time(), 1.0) if exc.reset_time else None
        return network.NotSent(f"X rate limit reached ({message})", retry_after=wait)
    if isinstance(exc, tweepy.Unauthorized):
        return network.AuthRejected(f"X rejected the credentials: {message}")
    if isinstance(exc, tweepy.Forbidden):
        problem = _problem(exc)
        if lookup:  # e.g. an access level without timeline reads: posting may still work
            return network.Rejected(f"X refused the lookup: {message}")
        if "duplicate" in problem:
            return network.Duplicate(f"X refused the post: {message}")
        if replying and ("deleted" in problem or "not visible" in problem or "reply" in problem):
            return network.ReplyGone(message)
        return network.AuthRejected(f"X does not let this account or app post: {message}")
    if isinstance(exc, tweepy.TwitterServerError):
        # X sometimes creates the post and still answers 5xx: look before sending again.
        return network.Unknown(f"X server error ({message})", check_now=False)
    if isinstance(exc, tweepy.HTTPException):
        return network.Rejected(f"X refused the request: {message}")
    return network.Unknown(f"unexpected error talking to X: {type(exc).__name__}: {message}", check_now=False)

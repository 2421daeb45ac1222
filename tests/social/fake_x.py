"""A fake X API v2: POST /2/tweets, GET /2/users/me, GET /2/users/{id}/tweets; and the v1.1
media endpoints images go through (issue 18): POST /1.1/media/upload.json (multipart, field
`media`) and POST /1.1/media/metadata/create.json (the alt text, at most 1,000 characters).
A tweet may attach only uploaded media ids, at most 4.

It checks the OAuth 1.0a signature of every request (HMAC-SHA1 over the URL actually
requested, with the test's consumer and token secrets) and answers 401 when it is absent or
wrong, as X does. Posts can be scripted to answer 201, 429 with `x-rate-limit-reset`, 503,
401, 403 (duplicate content, app permissions), or to hang (before or after the post is
made). A text over 280 weighted characters by twitter-text is refused with 400, as X does.
The timeline returns text the way X does: `&<>` escaped, links as t.co with
`entities.urls[].expanded_url`.
"""

from __future__ import annotations

import html
import itertools
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from oauthlib.oauth1 import RequestValidator
from oauthlib.oauth1.rfc5849 import signature
from oauthlib.oauth1.rfc5849.endpoints.base import BaseEndpoint
from twitter_text import extract_urls_with_indices, parse_tweet

from tests.social.fake_http import Answer, Call, FakeServer, Script

CONSUMER_KEY, CONSUMER_SECRET = "test-consumer-key", "test-consumer-secret"
ACCESS_TOKEN, ACCESS_TOKEN_SECRET = "1001-test-access-token", "test-access-token-secret"
USER_ID = "1001"

DUPLICATE = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
APP_PERMISSIONS = {
    "title": "Forbidden",
    "type": "about:blank",
    "status": 403,
    "detail": (
        "Your client app is not configured with the appropriate oauth1 app permissions for this endpoint."
    ),
}
REPLY_GONE = {
    "detail": "You attempted to reply to a Tweet that is deleted or not visible to you.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
TOO_LONG = {
    "errors": [{"parameters": {"text": []}, "message": "Your Tweet text is too long."}],
    "title": "Invalid Request",
    "detail": "Your Tweet text is too long. For more information on how Twitter determines text length "
    "see https://github.com/twitter/twitter-text.",
    "type": "https://api.twitter.com/2/problems/invalid-request",
}
UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
UNAVAILABLE = {
    "title": "Service Unavailable",
    "detail": "Service Unavailable",
    "type": "about:blank",
    "status": 503,
}


@dataclass
class Tweet:
    id: str
    text: str
    in_reply_to: str | None
    created_at: datetime
    deleted: bool = False
    media_ids: tuple[str, ...] = ()


@dataclass
class Media:
    id: str
    data: bytes
    alt_text: str | None = None


class FakeX(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.tweets: list[Tweet] = []
        self.posts = Script()  # "ok", ("429", reset_epoch), "503", "401", "403-duplicate",
        # "403-permissions", "hang-then-create", "create-then-hang", "create-then-503", "hang"
        self.lookups = Script()  # "ok", "503", "403"
        self.bad_signatures = 0
        self.media: dict[str, Media] = {}
        self._ids = itertools.count(1_850_000_000_000_000_001)
        self._media_ids = itertools.count(1_900_000_000_000_000_001)
        self.route("POST", "/1.1/media/upload.json", self._authorized(self._upload, form_signed=False))
        self.route("POST", "/1.1/media/metadata/create.json", self._authorized(self._metadata))
        self.route("POST", "/2/tweets", self._authorized(self._post))
        self.route("GET", "/2/users/me", self._authorized(self._me))
        self.route("GET", "/2/users/*/tweets", self._authorized(self._timeline))

    # -- what tests look at

    def live_tweets(self) -> list[Tweet]:
        with self.lock:
            return [t for t in self.tweets if not t.deleted]

    def tweet(self, tweet_id: str) -> Tweet:
        [found] = [t for t in self.tweets if t.id == tweet_id]
        return found

    def thread(self, first_id: str) -> list[Tweet]:
        """The tweet `first_id` and the replies under it, each replying to the one before
        (the posts of a run; a tweet with several replies follows the earliest)."""
        with self.lock:
            found = [self.tweet(first_id)]
            while replies := [t for t in self.tweets if t.in_reply_to == found[-1].id and not t.deleted]:
                found.append(replies[0])
            return found

    def add_tweet(self, text: str, in_reply_to: str | None = None) -> Tweet:
        with self.lock:
            tweet = Tweet(str(next(self._ids)), text, in_reply_to, datetime.now(UTC))
            self.tweets.append(tweet)
            return tweet

    # -- the API

    def attached(self, tweet: Tweet) -> list[Media]:
        with self.lock:
            return [self.media[media_id] for media_id in tweet.media_ids]

    def _authorized(self, handler: Any, *, form_signed: bool = True) -> Any:
        def check(call: Call) -> Answer:
            if not self._signature_ok(call, form_signed=form_signed):
                with self.lock:
                    self.bad_signatures += 1
                return Answer(401, UNAUTHORIZED)
            answer: Answer = handler(call)
            return answer

        return check

    def _signature_ok(self, call: Call, *, form_signed: bool = True) -> bool:
        header = call.headers.get("authorization", "")
        if not header.startswith("OAuth "):
            return False
        uri = f"{self.url}{call.path}" + (f"?{call.raw_query}" if call.raw_query else "")
        try:
            request = BaseEndpoint(RequestValidator())._create_request(
                # A multipart body is not part of an OAuth 1.0a signature.
                uri,
                call.method,
                call.body.decode() if form_signed else "",
                call.headers,
            )
        except ValueError:
            return False
        fresh = abs(time.time() - int(request.timestamp or 0)) < 300
        return (
            request.client_key == CONSUMER_KEY
            and request.resource_owner_key == ACCESS_TOKEN
            and request.signature_method == "HMAC-SHA1"
            and request.oauth_params.get("oauth_version") == "1.0"
            and bool(request.nonce)
            and fresh
            and signature.verify_hmac_sha1(request, CONSUMER_SECRET, ACCESS_TOKEN_SECRET)
        )

    def _upload(self, call: Call) -> Answer:
        part = call.parts().get("media")
        if part is None or not part.data:
            return Answer(400, {"errors": [{"code": 38, "message": "media parameter is missing."}]})
        with self.lock:
            media = Media(str(next(self._media_ids)), part.data)
            self.media[media.id] = media
        return Answer(200, {"media_id": int(media.id), "media_id_string": media.id, "size": len(part.data)})

    def _metadata(self, call: Call) -> Answer:
        body = call.json()
        media = self.media.get(str(body.get("media_id")))
        text = (body.get("alt_text") or {}).get("text")
        if media is None or not isinstance(text, str) or len(text) > 1000:
            return Answer(400, {"errors": [{"code": 44, "message": "media_id or alt_text is invalid"}]})
        media.alt_text = text
        return Answer(200, None)

    def _post(self, call: Call) -> Answer:
        body = call.json()
        step = self.posts.next()
        if isinstance(step, tuple) and step[0] == "429":
            return Answer(
                429, {"title": "Too Many Requests", "status": 429}, {"x-rate-limit-reset": str(step[1])}
            )
        if step == "503":
            return Answer(503, UNAVAILABLE)
        if step == "401":
            return Answer(401, UNAUTHORIZED)
        if step == "403-duplicate":
            return Answer(403, DUPLICATE)
        if step == "403-permissions":
            return Answer(403, APP_PERMISSIONS)
        if step == "hang":  # never made; the client gives up
            self.hang()
            return Answer(503, UNAVAILABLE)
        if step == "hang-then-create":  # made only after the client gave up
            self.hang()
        if parse_tweet(body["text"]).weightedLength > 280:
            return Answer(400, TOO_LONG)
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if reply_to is not None:
            parent = [t for t in self.tweets if t.id == reply_to]
            if not parent or parent[0].deleted:
                return Answer(403, REPLY_GONE)
        media_ids = tuple((body.get("media") or {}).get("media_ids") or ())
        if len(media_ids) > 4 or any(media_id not in self.media for media_id in media_ids):
            return Answer(400, {"title": "Invalid Request", "detail": "Your media IDs are invalid."})
        tweet = self.add_tweet(body["text"], reply_to)
        tweet.media_ids = media_ids
        if step == "create-then-hang":  # made, but the answer never arrives in time
            self.hang()
        if step == "create-then-503":  # X sometimes posts and still answers 5xx
            return Answer(503, UNAVAILABLE)
        return Answer(
            201, {"data": {"id": tweet.id, "text": tweet.text, "edit_history_tweet_ids": [tweet.id]}}
        )

    def _me(self, call: Call) -> Answer:
        return Answer(200, {"data": {"id": USER_ID, "name": "City Alerts", "username": "cityalerts"}})

    def _timeline(self, call: Call) -> Answer:
        step = self.lookups.next()
        if step == "503":
            return Answer(503, UNAVAILABLE)
        if step == "403":
            return Answer(
                403, {"title": "Forbidden", "status": 403, "detail": "Your access level does not allow this."}
            )
        since = call.query.get("start_time", [None])[0]
        limit = int(call.query.get("max_results", ["10"])[0])
        tweets = [t for t in reversed(self.live_tweets()) if since is None or t.created_at >= _parse(since)]
        return Answer(
            200, {"data": [_as_returned(t) for t in tweets[:limit]], "meta": {"result_count": len(tweets)}}
        )


def _parse(moment: str) -> datetime:
    # X truncates start_time to whole seconds
    return datetime.strptime(moment, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _as_returned(tweet: Tweet) -> dict[str, Any]:
    """The tweet as the v2 API shows it: links shortened to t.co, `&<>` escaped."""
    text, urls, shift = tweet.text, [], 0
    for n, url in enumerate(extract_urls_with_indices(tweet.text)):
        start, end = url["indices"]
        short = f"https://t.co/fake{tweet.id[-6:]}{n}"
        text = text[: start + shift] + short + text[end + shift :]
        urls.append(
            {
                "start": start + shift,
                "end": start + shift + len(short),
                "url": short,
                "expanded_url": url["url"],
                "display_url": url["url"][:20],
            }
        )
        shift += len(short) - (end - start)
    data: dict[str, Any] = {
        "id": tweet.id,
        "text": html.escape(text, quote=False),
        "created_at": tweet.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "edit_history_tweet_ids": [tweet.id],
    }
    if urls:
        data["entities"] = {"urls": urls}
    return data

"""Web Push alerts end to end against a local push service on 127.0.0.1 that does what a real
one does: it refuses a request whose VAPID JWT is not an ES256 signature by the key
`/push/key` serves, for this origin, unexpired, from VAPID_SUBJECT (RFC 8292), and it
decrypts the aes128gcm payload (RFC 8291) with the private keys of the browser the test
plays (a P-256 key pair and a 16-byte auth secret)."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import select
from starlette.datastructures import Secret
from starlette.testclient import TestClient

from console.alert_models import AlertChannel, AlertDelivery, AlertState, Subscriber, SubscriberStatus
from console.alerts.content import AlertContent
from console.alerts.web_push import MAX_PAYLOAD_BYTES, PREVIEW_NOTE, WebPushSender, new_private_key, payload
from console.channels.registry import routing as routing_for
from console.cli import main as cli_main
from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.translation_drafts import TranslationDraft
from console.domain.updates import Draft, Translations, correct_update, publish_update, retract_update
from console.languages import Languages
from console.models import VersionKind
from console.settings import Settings, SettingsError
from console.web.app import create_app
from tests.alerts.test_email import drain
from tests.conftest import PIO
from tests.support.http_thread import serving

SUBJECT = "mailto:pio@police.example"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclasses.dataclass
class Browser:
    """What a browser keeps for one push subscription: its private key and auth secret."""

    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def new(cls) -> Browser:
        return cls(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    def keys(self) -> dict[str, str]:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"p256dh": b64url(point), "auth": b64url(self.auth)}


@dataclasses.dataclass
class PushService:
    """A push service: each endpoint `/push/<name>` belongs to one registered browser."""

    origin: str
    browsers: dict[str, Browser] = dataclasses.field(default_factory=dict)
    received: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    refused: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    answer: dict[str, int] = dataclasses.field(default_factory=dict)  # e.g. {"gone": 410}
    # Statuses to answer first, in order, before taking pushes: e.g. {"busy": [429, 503]}.
    busy: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    # Endpoints whose answer announces a huge body and then trickles it (a hostile service).
    trickle: set[str] = dataclasses.field(default_factory=set)
    server_key: str = ""  # the applicationServerKey, from /push/key
    subject: str = SUBJECT

    def endpoint(self, name: str, browser: Browser) -> str:
        self.browsers[name] = browser
        return f"{self.origin}/push/{name}"

    def check_vapid(self, header: str) -> str | None:
        """None when the Authorization header is a valid VAPID one, else why not."""
        scheme, _, params = header.partition(" ")
        if scheme != "vapid":
            return f"scheme {scheme!r}"
        fields = dict(part.strip().split("=", 1) for part in params.split(","))
        if fields.get("k") != self.server_key:
            return "k is not the applicationServerKey"
        head, claims_part, signature = fields["t"].split(".")
        if json.loads(unb64url(head)) != {"typ": "JWT", "alg": "ES256"}:
            return "header"
        raw = unb64url(signature)
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(self.server_key))
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        try:
            public_key.verify(der, f"{head}.{claims_part}".encode(), ec.ECDSA(hashes.SHA256()))
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

    def handle(self, name: str, headers: dict[str, str], body: bytes) -> int:
        problem = self.check_vapid(headers.get("authorization", ""))
        if problem is not None:
            self.refused.append((403, problem))
            return 403
        if name in self.answer:
            return self.answer[name]
        if self.busy.get(name):
            return self.busy[name].pop(0)
        browser = self.browsers.get(name)
        if browser is None or headers.get("content-encoding") != "aes128gcm" or "ttl" not in headers:
            return 404
        plain = http_ece.decrypt(body, private_key=browser.private_key, auth_secret=browser.auth)
        self.received.setdefault(name, []).append(json.loads(plain))
        return 201


@pytest.fixture
def push_service() -> Iterator[PushService]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    service = PushService(f"http://127.0.0.1:{server.server_address[1]}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k.lower(): v for k, v in self.headers.items()}
            name = self.path.removeprefix("/push/")
            status = service.handle(name, headers, body)
            self.send_response(status)
            if name in service.trickle:
                self.send_header("Content-Length", str(10**9))
                self.end_headers()
                for _ in range(20):  # a byte every 0.25 s: never a whole read timeout apart
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.25)
                return
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    with serving(server):
        yield service


@pytest.fixture
def push_settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings,
        channels=("subscribers",),
        languages=("en", "es"),
        public_url="https://police.example",
        vapid_private_key=Secret(new_private_key()),
        vapid_subject=SUBJECT,
        push_allow_private=True,
    )


def subscribe(client: TestClient, endpoint: str, browser: Browser, **extra: str) -> Any:
    body = {"endpoint": endpoint, "expirationTime": None, "keys": browser.keys(), **extra}
    return client.post("/push/subscriptions", json=body)


def push_subscribers(db: Database) -> list[Subscriber]:
    with db.read() as session:
        return list(session.scalars(select(Subscriber).where(Subscriber.channel == AlertChannel.PUSH)))


def storm(settings: Settings, db: Database) -> tuple[Routing, str]:
    """Where `settings` routes events, and the slug of a new incident, "Storm"."""
    routing = routing_for(settings)
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Storm"), routing=routing)
        return routing, incident.slug


def subscribe_browsers(settings: Settings, push_service: PushService, **browsers: dict[str, str]) -> None:
    """A browser of its own subscribed for each name, with its fields (`lang`, `incident`)."""
    with TestClient(create_app(settings)) as client:
        push_service.server_key = client.get("/push/key").json()["applicationServerKey"]
        for name, fields in browsers.items():
            browser = Browser.new()
            response = subscribe(client, push_service.endpoint(name, browser), browser, **fields)
            assert response.status_code == 201, response.text


def test_subscribe_publish_and_each_browser_decrypts_its_alert_in_its_language(
    push_settings: Settings, db: Database, push_service: PushService
) -> None:
    routing = routing_for(push_settings)
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)
        other, _ = create_incident(session, PIO, IncidentDraft(title="Parade"), routing=routing)
        slug, other_slug = incident.slug, other.slug
    ana, ben, cy = Browser.new(), Browser.new(), Browser.new()
    with TestClient(create_app(push_settings), base_url="https://police.example") as client:
        push_service.server_key = client.get("/push/key").json()["applicationServerKey"]
        assert subscribe(client, push_service.endpoint("ana", ana), ana, lang="es").status_code == 201
        response = subscribe(client, push_service.endpoint("ben", ben), ben, lang="en", incident=slug)
        assert response.status_code == 201, response.text
        assert subscribe(client, push_service.endpoint("cy", cy), cy, incident=other_slug).status_code == 201
    assert {s.status for s in push_subscribers(db)} == {SubscriberStatus.CONFIRMED}  # no opt-in email

    with db.write() as session:
        published = publish_update(
            session,
            PIO,
            slug,
            Draft(headline="Evacuate", body="Leave Elm St. now.", preliminary=True),
            routing=routing,
        )
        seq = published.update.seq
    drain(push_settings, db)

    assert push_service.refused == []
    (to_ana,) = push_service.received["ana"]
    assert (
        to_ana["title"] == "Gas leak"
        and to_ana["url"] == f"https://police.example/incidents/{slug}/updates/{seq}?lang=es"
    )
    # No current Spanish translation: the English text, said to be English (`lang`), with the
    # notice email and SMS add, in Spanish words like the labels.
    assert to_ana["labels"] == ["PRELIMINARY"] and to_ana["lang"] == "en"
    assert to_ana["body"] == "PRELIMINAR: Evacuate. Leave Elm St. now. Traducción en actualización."
    (to_ben,) = push_service.received["ben"]
    assert to_ben["body"] == "PRELIMINARY: Evacuate. Leave Elm St. now." and to_ben["lang"] == "en"
    assert to_ben["url"] == f"https://police.example/incidents/{slug}/updates/{seq}"  # the primary language
    assert "cy" not in push_service.received  # another incident's subscriber
    with db.read() as session:
        states = session.scalars(select(AlertDelivery.state)).all()
    assert sorted(states) == [AlertState.SENT, AlertState.SENT]


def test_a_410_from_the_push_service_unsubscribes_and_deletes_the_endpoint(
    push_settings: Settings, db: Database, push_service: PushService
) -> None:
    routing, slug = storm(push_settings, db)
    push_service.answer["gone"] = 410
    subscribe_browsers(push_settings, push_service, gone={}, kept={})
    for body in ("Stay in.", "Still stay in."):
        with db.write() as session:
            publish_update(session, PIO, slug, Draft(body=body, preliminary=False), routing=routing)
        drain(push_settings, db)

    assert [alert["body"] for alert in push_service.received["kept"]] == ["Stay in.", "Still stay in."]
    by_endpoint = {s.id: s for s in push_subscribers(db)}
    dropped = [s for s in by_endpoint.values() if s.status is SubscriberStatus.UNSUBSCRIBED]
    assert len(dropped) == 1 and dropped[0].address is None and dropped[0].push_keys is None
    with db.read() as session:
        tried = session.execute(
            select(AlertDelivery.state, AlertDelivery.error).where(
                AlertDelivery.subscriber_id == dropped[0].id
            )
        ).all()
    assert len(tried) == 1, "nothing is pushed to it after the 410"
    assert tried[0][0] is AlertState.FAILED and "410" in (tried[0][1] or "")


def test_a_busy_push_service_is_tried_again_and_one_that_stays_down_is_recorded_failed(
    push_settings: Settings, db: Database, push_service: PushService
) -> None:
    routing, slug = storm(push_settings, db)
    push_service.busy["busy"] = [429, 503]  # then it takes the push
    push_service.busy["down"] = [500, 502, 503, 504]  # more than the attempts
    subscribe_browsers(push_settings, push_service, busy={}, down={})
    with db.write() as session:
        publish_update(session, PIO, slug, Draft(body="Stay in.", preliminary=False), routing=routing)
    drain(push_settings, db, retry_pause=0.01)

    assert [alert["body"] for alert in push_service.received["busy"]] == ["Stay in."]  # once
    assert "down" not in push_service.received and push_service.busy["down"] == [504]
    with db.read() as session:
        outcomes = {
            subscriber.address.rsplit("/", 1)[-1]: (delivery.state, delivery.attempts, delivery.error)
            for delivery, subscriber in session.execute(
                select(AlertDelivery, Subscriber).join(
                    Subscriber, AlertDelivery.subscriber_id == Subscriber.id
                )
            )
            if subscriber.address
        }
    assert outcomes["busy"] == (AlertState.SENT, 3, None)
    assert outcomes["down"] == (AlertState.FAILED, 3, "the push service answered 503")
    assert {s.status for s in push_subscribers(db)} == {SubscriberStatus.CONFIRMED}  # not gone


def test_a_push_service_trickling_a_huge_answer_does_not_hold_the_lane(
    push_settings: Settings, db: Database, push_service: PushService
) -> None:
    """Only the status of an answer counts: its body is never read, so a service announcing
    a gigabyte and sending a byte at a time neither holds the push nor fills the memory."""
    settings = dataclasses.replace(push_settings, push_timeout_seconds=1.0)
    routing, slug = storm(settings, db)
    push_service.trickle.add("hostile")
    subscribe_browsers(settings, push_service, hostile={})
    with db.write() as session:
        publish_update(session, PIO, slug, Draft(body="Stay in.", preliminary=False), routing=routing)
    drain(settings, db)
    assert [alert["body"] for alert in push_service.received["hostile"]] == ["Stay in."]  # pushed once
    with db.read() as session:
        ((state, attempts, error),) = session.execute(
            select(AlertDelivery.state, AlertDelivery.attempts, AlertDelivery.error)
        ).all()
    assert (state, attempts, error) == (AlertState.SENT, 1, None)


def test_the_push_service_refuses_a_push_not_signed_by_the_served_key(
    push_settings: Settings, db: Database, push_service: PushService
) -> None:
    """The service's check is real: signed with another key, the push is refused (403)."""
    routing, slug = storm(push_settings, db)
    subscribe_browsers(push_settings, push_service, ana={})
    with db.write() as session:
        publish_update(session, PIO, slug, Draft(body="Stay in."), routing=routing)
    drain(dataclasses.replace(push_settings, vapid_private_key=Secret(new_private_key())), db)

    assert push_service.refused == [(403, "k is not the applicationServerKey")]
    assert "ana" not in push_service.received
    with db.read() as session:
        assert session.scalars(select(AlertDelivery.error)).all() == ["the push service answered 403"]
    (subscriber,) = push_subscribers(db)
    assert subscriber.status is SubscriberStatus.CONFIRMED, "a refusal is not an unsubscription"


def test_a_wrong_subject_is_refused_by_the_push_service(
    push_settings: Settings, db: Database, push_service: PushService
) -> None:
    push_service.subject = "mailto:someone-else@example.org"
    subscribe_browsers(push_settings, push_service, ana={})
    routing, slug = storm(push_settings, db)
    with db.write() as session:
        publish_update(session, PIO, slug, Draft(body="Stay in."), routing=routing)
    drain(push_settings, db)
    assert push_service.refused == [(403, f"sub {SUBJECT!r}")]


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://127.0.0.1/push/x",
        "https://10.0.0.8/push/x",
        "http://push.example.org/x",
        "ftp://x",
        "https://[",
    ],
)
def test_private_or_plain_http_endpoints_are_refused_unless_allowed(
    settings: Settings, db: Database, endpoint: str
) -> None:
    browser = Browser.new()
    strict = dataclasses.replace(settings, vapid_private_key=Secret(new_private_key()))
    with TestClient(create_app(strict)) as client:
        response = subscribe(client, endpoint, browser)
    assert response.status_code == 422, response.text
    assert "endpoint" in response.json()["error"]["fields"]
    assert push_subscribers(db) == []


def _valid(browser: Browser) -> dict[str, Any]:
    return {"endpoint": "http://127.0.0.1:9/push/a", "keys": browser.keys(), "lang": "en"}


BAD_BODIES: list[tuple[str, Any]] = [
    ("no endpoint", lambda b: {k: v for k, v in _valid(b).items() if k != "endpoint"}),
    ("no keys", lambda b: {k: v for k, v in _valid(b).items() if k != "keys"}),
    ("keys not an object", lambda b: {**_valid(b), "keys": "p256dh"}),
    ("no auth", lambda b: {**_valid(b), "keys": {"p256dh": b.keys()["p256dh"]}}),
    ("short p256dh", lambda b: {**_valid(b), "keys": {**b.keys(), "p256dh": b64url(b"\x04" * 33)}}),
    ("compressed p256dh", lambda b: {**_valid(b), "keys": {**b.keys(), "p256dh": b64url(b"\x02" * 65)}}),
    (
        "p256dh off the curve",
        lambda b: {**_valid(b), "keys": {**b.keys(), "p256dh": b64url(b"\x04" + b"\x01" * 64)}},
    ),
    ("long auth", lambda b: {**_valid(b), "keys": {**b.keys(), "auth": b64url(b"a" * 32)}}),
    ("not base64url", lambda b: {**_valid(b), "keys": {**b.keys(), "auth": "!!!!" * 6}}),
    ("unknown language", lambda b: {**_valid(b), "lang": "fr"}),
    ("unknown incident", lambda b: {**_valid(b), "incident": "no-such-incident"}),
    ("unknown field", lambda b: {**_valid(b), "email": "a@example.org"}),
    ("endpoint not a string", lambda b: {**_valid(b), "endpoint": 5}),
]


@pytest.mark.parametrize(("case", "body"), BAD_BODIES, ids=[case for case, _ in BAD_BODIES])
def test_bad_bodies_are_refused_and_nothing_is_written(
    push_settings: Settings, db: Database, case: str, body: Any
) -> None:
    with TestClient(create_app(push_settings)) as client:
        response = client.post("/push/subscriptions", json=body(Browser.new()))
    assert response.status_code == 422, (case, response.text)
    assert response.json()["error"]["fields"]
    assert push_subscribers(db) == []


def test_every_bad_field_is_named_at_once(settings: Settings, db: Database) -> None:
    """Shape, keys, the endpoint's address and the incident: one answer names them all."""
    strict = dataclasses.replace(settings, vapid_private_key=Secret(new_private_key()))
    body = {
        "endpoint": "https://127.0.0.1/x",
        "keys": {"p256dh": "xx", "auth": "yy"},
        "incident": "no-such-incident",
        "lang": "fr",
    }
    with TestClient(create_app(strict)) as client:
        response = client.post("/push/subscriptions", json=body)
    assert response.status_code == 422, response.text
    assert sorted(response.json()["error"]["fields"]) == [
        "endpoint",
        "incident",
        "keys.auth",
        "keys.p256dh",
        "lang",
    ]
    assert push_subscribers(db) == []


def test_non_json_and_cross_site_posts_are_refused(push_settings: Settings, db: Database) -> None:
    browser = Browser.new()
    with TestClient(create_app(push_settings)) as client:
        assert (
            client.post(
                "/push/subscriptions", content=b"{", headers={"Content-Type": "application/json"}
            ).status_code
            == 400
        )
        assert client.post("/push/subscriptions", data={"endpoint": "x"}).status_code == 415
        assert client.post("/push/subscriptions", json=[1]).status_code == 400
        cross = client.post(
            "/push/subscriptions", json=_valid(browser), headers={"Origin": "https://evil.example"}
        )
        assert cross.status_code == 403
        assert client.post("/push/subscriptions", json=_valid(browser)).status_code == 201  # the same, ours
    assert len(push_subscribers(db)) == 1


def test_subscribing_the_same_browser_again_updates_it(push_settings: Settings, db: Database) -> None:
    browser, renewed = Browser.new(), Browser.new()
    with TestClient(create_app(push_settings)) as client:
        assert client.post("/push/subscriptions", json=_valid(browser)).status_code == 201
        again = {**_valid(renewed), "lang": "es"}
        assert client.post("/push/subscriptions", json=again).status_code == 201
    (subscriber,) = push_subscribers(db)
    assert subscriber.lang == "es" and json.loads(subscriber.push_keys or "") == renewed.keys()


def test_without_a_vapid_key_push_is_in_preview(settings: Settings, db: Database) -> None:
    preview = dataclasses.replace(settings, channels=("subscribers",))
    sender = WebPushSender.from_settings(preview, None)  # type: ignore[arg-type]
    assert sender.preview_note == PREVIEW_NOTE == "web push in preview: VAPID_PRIVATE_KEY not set"
    with TestClient(create_app(preview)) as client:
        response = client.get("/push/key")
    assert response.status_code == 404 and response.json()["error"]["message"] == PREVIEW_NOTE


def test_the_service_worker_is_served_at_the_root_and_the_page_offers_this_browser(
    push_settings: Settings,
) -> None:
    with TestClient(create_app(push_settings)) as client:
        worker = client.get("/sw.js")
        page = client.get("/subscribe").text
        script = client.get("/static/js/push.js")
    assert worker.status_code == 200 and worker.headers["content-type"].startswith("text/javascript")
    assert 'addEventListener("push"' in worker.text and "showNotification" in worker.text
    assert '<section id="push-subscribe" class="push-subscribe" hidden' in page  # shown by script only
    assert '<script src="/static/js/push.js" defer></script>' in page
    assert script.status_code == 200 and '"/push/subscriptions"' in script.text


def _content(
    body: str,
    headline: str | None = None,
    *,
    kind: VersionKind = VersionKind.ORIGINAL,
    reason: str | None = None,
    requested_lang: str = "en",
) -> AlertContent:
    return AlertContent(
        event_id=1,
        incident_slug="gas-leak",
        incident_title="Gas leak",
        seq=3,
        version=1,
        kind=kind,
        labels=["PRELIMINARY"],
        lang="en",
        requested_lang=requested_lang,
        primary_lang="en",
        title_lang="en",
        headline=headline,
        body=body,
        reason=reason,
        previous_body=None,
        url="https://police.example/incidents/gas-leak/updates/3",
        version_view={},
    )


@pytest.mark.parametrize("word", ["evacuate", "évacuez", '"quoted"', "避難"])
def test_a_long_alert_is_trimmed_to_the_push_limit_between_words(word: str) -> None:
    words = [f"{word}{n}" for n in range(3000)]
    data = payload(_content(" ".join(words)))
    message = json.loads(data)
    assert len(data) <= MAX_PAYLOAD_BYTES and len(data) > MAX_PAYLOAD_BYTES - 100
    assert message["body"].endswith("…") and message["body"].startswith("PRELIMINARY: ")
    kept = message["body"].removeprefix("PRELIMINARY: ").removesuffix("…").split(" ")
    assert kept == words[: len(kept)], "whole words only"
    assert message["url"].endswith("/updates/3") and message["title"] == "Gas leak"


def test_a_short_alert_is_whole() -> None:
    message = json.loads(payload(_content("Leave   now.\nGo north.", headline="Evacuate")))
    assert message["body"] == "PRELIMINARY: Evacuate. Leave now. Go north."


@pytest.mark.parametrize("value", ["not-a-key", b64url(b"\0" * 32), b64url(b"x" * 40)])
def test_a_vapid_key_that_is_not_one_is_a_setting_error(value: str) -> None:
    with pytest.raises(SettingsError, match="VAPID_PRIVATE_KEY is not a P-256 private key"):
        Settings.from_environ({"VAPID_PRIVATE_KEY": value})


def test_in_preview_push_deliveries_are_recorded_and_nothing_is_sent(
    settings: Settings, db: Database, push_service: PushService
) -> None:
    preview = dataclasses.replace(settings, channels=("subscribers",), push_allow_private=True)
    browser = Browser.new()
    with TestClient(create_app(preview)) as client:
        assert subscribe(client, push_service.endpoint("ana", browser), browser).status_code == 201
    routing = routing_for(preview)
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Storm"), routing=routing)
        publish_update(session, PIO, incident.slug, Draft(body="Stay in."), routing=routing)
    drain(preview, db)
    with db.read() as session:
        assert session.scalars(select(AlertDelivery.state)).all() == [AlertState.SENT]
    assert push_service.received == {} and push_service.refused == []


def test_push_keys_prints_a_usable_key_pair(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["push", "keys"]) == 0
    lines = capsys.readouterr().out.splitlines()
    private = next(line for line in lines if line.startswith("VAPID_PRIVATE_KEY="))
    assert any(line.startswith("VAPID_SUBJECT=mailto:") for line in lines)
    settings = Settings.from_environ({"VAPID_PRIVATE_KEY": private.split("=", 1)[1]})
    assert WebPushSender.from_settings(settings, None).preview_note is None  # type: ignore[arg-type]


def test_a_correction_and_a_retraction_push_say_why(
    push_settings: Settings, db: Database, push_service: PushService
) -> None:
    """As email and SMS do: "Why: …" after the text, in the subscriber's language."""
    routing, slug = storm(push_settings, db)
    subscribe_browsers(push_settings, push_service, ana={"lang": "en"}, ben={"lang": "es"})
    with db.write() as session:
        update_id = publish_update(
            session, PIO, slug, Draft(body="Shelter at Lincoln High.", preliminary=False), routing=routing
        ).update.id
    drain(push_settings, db)
    with db.write() as session:
        correct_update(
            session,
            PIO,
            update_id,
            Draft(body="Shelter at Roosevelt High."),
            reason="Wrong school",
            corrects_version=1,
            routing=routing,
        )
    drain(push_settings, db)
    with db.write() as session:
        retract_update(session, PIO, update_id, reason="Sent in error", routing=routing)
    drain(push_settings, db)
    assert [alert["body"] for alert in push_service.received["ana"]] == [
        "Shelter at Lincoln High.",
        "CORRECTION: Shelter at Roosevelt High. Why: Wrong school",
        # Why first, then the withdrawn text quoted as such, as the email says it.
        'RETRACTED: Why: Sent in error. Withdrawn text: "Shelter at Roosevelt High."',
    ]
    assert [alert["body"] for alert in push_service.received["ben"]][1:] == [
        "CORRECCIÓN: Shelter at Roosevelt High. Por qué: Wrong school Traducción en actualización.",
        'RETIRADA: Por qué: Sent in error. Texto retirado: "Shelter at Roosevelt High."'
        " Traducción en actualización.",
    ]


def test_a_current_translation_is_pushed_in_its_language_without_the_notice(
    push_settings: Settings, db: Database, push_service: PushService
) -> None:
    routing, slug = storm(push_settings, db)
    subscribe_browsers(push_settings, push_service, ana={"lang": "es"})
    with db.write() as session:
        publish_update(
            session,
            PIO,
            slug,
            Draft(body="Stay in.", preliminary=False),
            routing=routing,
            translations=Translations([TranslationDraft("es", "Quédense en casa.")], Languages(("en", "es"))),
        )
    drain(push_settings, db)
    (alert,) = push_service.received["ana"]
    assert (alert["lang"], alert["body"]) == ("es", "Quédense en casa.")


@pytest.mark.parametrize("word", ["evacuate", '"quoted"', "避難"])
def test_a_long_correction_keeps_its_reason_and_the_notice_whole_and_cuts_the_text(word: str) -> None:
    words = [f"{word}{n}" for n in range(3000)]
    reason = "The street was wrong: it is Oak St, not Elm St."
    content = _content(" ".join(words), kind=VersionKind.CORRECTION, reason=reason, requested_lang="es")
    data = payload(content)
    message = json.loads(data)
    assert len(data) <= MAX_PAYLOAD_BYTES and message["lang"] == "en"
    tail = f"… Por qué: {reason} Traducción en actualización."
    assert message["body"].startswith("PRELIMINAR: ") and message["body"].endswith(tail)
    kept = message["body"].removeprefix("PRELIMINAR: ").removesuffix(tail).split(" ")
    assert len(kept) > 100 and kept == words[: len(kept)], "the text cut between words"


def test_a_reason_too_long_to_keep_whole_still_fits_the_push_limit() -> None:
    """Only a reason far beyond the usual (near REASON_MAX, of 4-byte characters) can overflow
    alone: then the whole body is cut between words, and the payload still fits."""
    reason = " ".join(["😀😀😀😀"] * 200 + ["😀"] * 200)
    data = payload(_content("Stay in.", kind=VersionKind.RETRACTION, reason=reason))
    message = json.loads(data)
    assert len(data) <= MAX_PAYLOAD_BYTES
    assert message["body"].startswith("PRELIMINARY: Why: 😀😀😀😀 😀😀😀😀 ")
    assert message["body"].endswith("😀…"), "cut between words, with the ellipsis"

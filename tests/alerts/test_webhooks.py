"""Partners' webhooks: registered by an admin, every published version POSTed to a local
HTTP receiver, signed per Standard Webhooks (checked with the library's own Webhook.verify),
retried after a 5xx, and logged per endpoint."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.testclient import TestClient

from console.alerts import webhooks as webhook_posts
from console.channels.registry import routing as routing_for
from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.subscriptions import webhooks
from console.domain.updates import Draft, publish_update
from console.settings import Settings
from console.web.app import create_app
from tests.alerts.test_email import drain
from tests.conftest import PIO
from tests.support.factories import bearer, make_token, make_user
from tests.support.http_thread import serving
from tests.web.staff.conftest import start_session, use_session


@dataclasses.dataclass
class Receiver:
    url: str
    requests: list[tuple[dict[str, str], bytes]]
    fail_first: list[int]  # answer 500 this many times first


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    requests: list[tuple[dict[str, str], bytes]] = []
    fail_first = [1]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = 500 if fail_first[0] > 0 else 204
            fail_first[0] -= 1
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with serving(server):
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook", requests, fail_first)


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, channels=("subscribers",), webhook_allow_private=True)


def test_register_publish_signed_retried_logged(
    hook_settings: Settings, db: Database, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pause before trying again (0.5 s; `send` takes it, WebhookSender passes the default).
    monkeypatch.setattr(webhook_posts, "send", functools.partial(webhook_posts.send, pause=0.01))
    admin, pio = make_token(db, "admin"), make_token(db, "pio")
    routing = routing_for(hook_settings)
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Storm"), routing=routing)
        slug = incident.slug
    with TestClient(create_app(hook_settings)) as client:
        body = {"url": receiver.url, "description": "Newsroom"}
        assert client.post("/api/v1/webhooks", json=body, headers=bearer(pio)).status_code == 403
        assert client.post("/api/v1/webhooks", json=body).status_code == 401
        assert (
            client.post("/api/v1/webhooks", json={"url": "ftp://x"}, headers=bearer(admin)).status_code == 422
        )
        response = client.post("/api/v1/webhooks", json=body, headers=bearer(admin))
        assert response.status_code == 201, response.text
        created = response.json()
        secret = created["secret"]
        assert secret.startswith("whsec_") and created["url"] == receiver.url
        assert "secret" not in client.get("/api/v1/webhooks", headers=bearer(admin)).json()["webhooks"][0]
        located = client.get(response.headers["location"], headers=bearer(admin))
        assert located.status_code == 200, "the registration's Location is the endpoint's address"
        assert located.json() == {name: value for name, value in created.items() if name != "secret"}
        assert client.get("/api/v1/webhooks/999", headers=bearer(admin)).status_code == 404

        with db.write() as session:
            published = publish_update(
                session, PIO, slug, Draft(body="Shelter in place.", preliminary=True), routing=routing
            )
            event_id = published.event.event_id
        drain(hook_settings, db)
        drain(hook_settings, db)

        assert len(receiver.requests) == 2, "a 500, then the retry"
        headers, data = receiver.requests[1]
        assert headers["webhook-id"] == receiver.requests[0][0]["webhook-id"]  # the same message
        payload = Webhook(secret).verify(data, headers)
        assert payload["incident"] == slug and payload["event_id"] == event_id
        assert payload["body"] == "Shelter in place." and payload["preliminary"] is True
        assert payload["labels"] == ["PRELIMINARY"]
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(data.replace(b"Shelter", b"Leave"), headers)

        log = client.get(f"/api/v1/webhooks/{created['id']}/deliveries", headers=bearer(admin)).json()
        assert [(d["event_id"], d["state"], d["attempts"]) for d in log["deliveries"]] == [
            (event_id, "sent", 2)
        ]
        assert client.get("/api/v1/webhooks/999/deliveries", headers=bearer(admin)).status_code == 404


def test_payload_names_the_update_by_its_api_id_and_by_its_number(
    hook_settings: Settings, db: Database, receiver: Receiver
) -> None:
    """`update` is the update's number within its incident (`seq`); `update_id` is the id
    every API route takes: the two differ once another incident has updates."""
    receiver.fail_first[0] = 0
    admin, pio = make_token(db, "admin"), make_token(db, "pio")
    routing = routing_for(hook_settings)
    with db.write() as session:
        other, _ = create_incident(session, PIO, IncidentDraft(title="Flood"), routing=routing)
        other_slug = other.slug
        publish_update(session, PIO, other_slug, Draft(body="River rising."), routing=routing)
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Storm"), routing=routing)
        slug = incident.slug
    drain(hook_settings, db)  # before any webhook: nothing sent
    with TestClient(create_app(hook_settings)) as client:
        body = {"url": receiver.url}
        secret = client.post("/api/v1/webhooks", json=body, headers=bearer(admin)).json()["secret"]
        response = client.post(
            f"/api/v1/incidents/{slug}/updates", json={"body": "Shelter in place."}, headers=bearer(pio)
        )
        assert response.status_code == 201, response.text
        answered = response.json()
        assert answered["seq"] == 1 and answered["id"] != 1  # else the test proves nothing
        drain(hook_settings, db)

        [(headers, data)] = receiver.requests
        sent = Webhook(secret).verify(data, headers)
        assert sent["update"] == answered["seq"] == 1  # unchanged: the number within the incident
        assert sent["update_id"] == answered["id"]
        update = client.get(f"/api/v1/updates/{sent['update_id']}").json()
        assert (update["id"], update["seq"], update["incident"]) == (answered["id"], 1, slug)
        assert update["versions"][-1]["body"] == "Shelter in place." == sent["body"]
        assert client.get(f"/api/v1/updates/{sent['update']}").json()["incident"] == other_slug


def test_private_targets_refused_unless_allowed(settings: Settings, db: Database) -> None:
    admin = make_token(db, "admin")
    with TestClient(create_app(settings)) as client:
        for url in ("https://127.0.0.1/hook", "https://10.0.0.8/hook", "http://example.org/hook"):
            response = client.post("/api/v1/webhooks", json={"url": url}, headers=bearer(admin))
            assert response.status_code == 422, url
            assert "url" in response.json()["error"]["fields"]
    with db.read() as session:
        assert webhooks(session) == []


def test_admin_screen_shows_each_webhook_delivery_log(
    hook_settings: Settings, db: Database, receiver: Receiver
) -> None:
    receiver.fail_first[0] = 0
    admin_token = make_token(db, "admin")
    routing = routing_for(hook_settings)
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Storm"), routing=routing)
        slug = incident.slug
    admin = make_user(db, "admin", "boss@example.org", "Boss")
    with TestClient(create_app(hook_settings), base_url="http://testserver.local") as client:
        body = {"url": receiver.url, "description": "City newsroom"}
        assert client.post("/api/v1/webhooks", json=body, headers=bearer(admin_token)).status_code == 201
        with db.write() as session:
            event_id = publish_update(
                session, PIO, slug, Draft(body="Stay in."), routing=routing
            ).event.event_id
        drain(hook_settings, db)
        use_session(client, start_session(db, admin))
        page = client.get("/console/admin").text
    assert "City newsroom" in page and receiver.url in page
    assert (
        f'<tr class="webhook-delivery webhook-delivery--sent"><td>{event_id}</td><td>sent</td><td>1</td>'
        in page
    )


@pytest.mark.parametrize(
    "url", ["https://[", "https://[::1", "https://example.org:99999/hook", "https://example.org:x/"]
)
def test_a_url_python_cannot_even_split_is_refused_not_a_server_error(url: str) -> None:
    from console.alerts.webhooks import TargetRefused, check_target

    with pytest.raises(TargetRefused, match="the url is not valid"):
        check_target(url, allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1\\@push.example.com/x",  # urllib3 connects to 127.0.0.1
        "https://push.example.com\\.127.0.0.1.nip.io/x",
        "https://push.example.com/x\n",
        "https://push.example.com /x",
    ],
)
@pytest.mark.parametrize("allow_private", [False, True])
def test_a_url_the_sender_would_read_as_another_host_is_refused_whenever_it_is_checked(
    url: str, allow_private: bool
) -> None:
    """Checked when registered and again when sent: a row written before this check (or by
    hand) is never sent to a host the check did not see."""
    with pytest.raises(webhook_posts.TargetRefused):
        webhook_posts.check_target(url, allow_private=allow_private)


def test_a_plain_url_is_read_alike_by_both() -> None:
    webhook_posts.check_target("https://partner.example:8443/hooks?x=1", allow_private=True)
    webhook_posts.check_target("http://[::1]:9000/hook", allow_private=True)

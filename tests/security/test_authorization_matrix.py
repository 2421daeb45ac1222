"""The authorization matrix of the whole app: every route (walked from the router: the JSON
API's mounted router, the console, the public pages, feeds, exports, static files and the
websocket) × every caller: anonymous, a reviewer, a pio and an admin signed in to the console,
and API tokens of a reviewer, a pio and an admin account.

Two sources must agree, so neither can drift alone: the level each route declares with
`@access(...)` and the table `LEVELS` below. A new route without a declaration, or without a
line in the table, fails `test_every_route_is_in_the_table`. What each caller gets follows
from the level:

- PUBLIC: everyone gets an answer (never 401/403, never sent to sign in);
- the JSON API (/api/...) takes bearer tokens only: a console session grants nothing there
  (401, as for anonymous callers), a token gets 403 below the level and an answer above it;
- every other route is a console route, which takes sessions only: anonymous callers and
  tokens are sent to sign in (GET) or get 401 (anything else); signed-in people get 403
  below the level and an answer above it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from starlette.testclient import TestClient

from console.db import Database
from console.domain import approval, sessions
from console.domain.actors import Actor
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.updates import NO_TRANSLATIONS, Draft, publish_update
from console.models import Role, User, utcnow
from console.web.access import Access, permits
from console.web.app import routes
from tests.conftest import PIO
from tests.support.factories import bearer, make_token, make_user
from tests.support.routes import RouteInfo, walk
from tests.web.staff.conftest import signin_form_token, start_session, use_session

P, R, A, W, D = Access.PUBLIC, Access.READER, Access.AUDITOR, Access.PUBLISHER, Access.ADMIN

# Every (method, path) the app serves and who may use it. Keep in step with the routes.
LEVELS: dict[tuple[str, str], Access] = {
    ("GET", "/healthz"): P,
    ("GET", "/favicon.ico"): P,
    ("GET", "/agency/logo"): P,
    ("GET", "/media/{sha256}.{ext}"): P,
    # The JSON API (bearer tokens)
    ("GET", "/api/v1/incidents"): P,
    ("POST", "/api/v1/incidents"): W,
    ("GET", "/api/v1/incidents/{slug}"): P,
    ("POST", "/api/v1/incidents/{slug}/updates"): W,
    ("POST", "/api/v1/incidents/{slug}/resolve"): W,
    ("POST", "/api/v1/incidents/{slug}/details"): W,
    ("POST", "/api/v1/incidents/{slug}/details/translations"): W,
    ("POST", "/api/v1/incidents/{slug}/reopen"): W,
    ("POST", "/api/v1/incidents/{slug}/pin"): W,
    ("GET", "/api/v1/templates"): R,
    ("POST", "/api/v1/templates"): D,
    ("GET", "/api/v1/templates/{template_id:int}"): R,
    ("DELETE", "/api/v1/templates/{template_id:int}"): D,
    ("POST", "/api/v1/templates/{template_id:int}/versions"): D,
    ("GET", "/api/v1/updates/{update_id:int}"): P,
    ("POST", "/api/v1/updates/{update_id:int}/corrections"): W,
    ("POST", "/api/v1/updates/{update_id:int}/confirmation"): W,
    ("POST", "/api/v1/updates/{update_id:int}/retraction"): W,
    ("POST", "/api/v1/updates/{update_id:int}/translations"): W,
    ("POST", "/api/v1/updates/{pending_id:int}/approval"): W,
    ("POST", "/api/v1/deliveries/{delivery_id:int}/retry"): W,
    ("GET", "/api/v1/channels"): R,
    ("POST", "/api/v1/channels/{channel}/resume"): W,
    ("POST", "/api/v1/webhooks"): D,
    ("GET", "/api/v1/webhooks"): D,
    ("GET", "/api/v1/webhooks/{webhook_id:int}"): D,
    ("GET", "/api/v1/webhooks/{webhook_id:int}/deliveries"): D,
    ("GET", "/api/v1/audit"): A,
    ("GET", "/api/v1/audit.csv"): A,
    ("GET", "/api/v1/audit/chain"): A,
    ("GET", "/api/v1/live"): R,
    ("GET", "/api/v1/openapi.json"): P,
    ("POST", "/api/v1/media"): W,
    ("GET", "/api/v1/rumors"): P,
    ("POST", "/api/v1/rumors"): W,
    ("GET", "/api/v1/rumors/{rumor_id:int}"): P,
    ("POST", "/api/v1/rumors/{rumor_id:int}/corrections"): W,
    # The console (sessions)
    ("GET", "/login"): P,
    ("POST", "/login"): P,
    ("POST", "/logout"): R,
    ("GET", "/console/password"): R,
    ("POST", "/console/password"): R,
    ("POST", "/console/sessions/end-others"): R,
    ("GET", "/console/mfa"): R,
    ("POST", "/console/mfa"): R,
    ("GET", "/console"): R,
    ("GET", "/console/pending/{pending_id:int}"): R,
    ("POST", "/console/pending/{pending_id:int}/approval"): W,
    ("GET", "/console/incidents"): R,
    ("POST", "/console/incidents"): W,
    ("GET", "/console/incidents/{slug}"): R,
    ("POST", "/console/incidents/{slug}/preview"): W,
    ("POST", "/console/incidents/{slug}/autosave"): W,
    ("POST", "/console/incidents/{slug}/updates"): W,
    ("POST", "/console/media"): W,
    ("POST", "/console/incidents/{slug}/resolve"): W,
    ("POST", "/console/incidents/{slug}/details"): W,
    ("POST", "/console/incidents/{slug}/details/translations"): W,
    ("POST", "/console/incidents/{slug}/reopen"): W,
    ("POST", "/console/incidents/{slug}/pin"): W,
    ("GET", "/console/templates"): R,
    ("POST", "/console/templates"): D,
    ("POST", "/console/templates/{template_id:int}/versions"): D,
    ("POST", "/console/templates/{template_id:int}/delete"): D,
    ("GET", "/console/incidents/{slug}/deliveries"): R,
    ("GET", "/console/updates/{update_id:int}"): R,
    ("POST", "/console/updates/{update_id:int}/preview"): W,
    ("POST", "/console/updates/{update_id:int}/autosave"): W,
    ("POST", "/console/autosaved/{form}/{target_id:int}/discard"): W,
    ("POST", "/console/updates/{update_id:int}/corrections"): W,
    ("POST", "/console/updates/{update_id:int}/confirmation"): W,
    ("POST", "/console/updates/{update_id:int}/retraction"): W,
    ("POST", "/console/updates/{update_id:int}/translations"): W,
    ("GET", "/console/updates/{update_id:int}/deliveries"): R,
    ("POST", "/console/deliveries/{delivery_id:int}/retry"): W,
    ("POST", "/console/channels/{channel}/resume"): W,
    ("GET", "/console/rumors"): R,
    ("POST", "/console/rumors"): W,
    ("POST", "/console/rumors/{rumor_id:int}/corrections"): W,
    ("GET", "/console/audit"): A,
    ("GET", "/console/audit.csv"): A,
    ("GET", "/console/admin"): D,
    ("POST", "/console/admin/users"): D,
    ("POST", "/console/admin/users/{user_id:int}/disable"): D,
    ("POST", "/console/admin/users/{user_id:int}/enable"): D,
    ("POST", "/console/admin/users/{user_id:int}/role"): D,
    ("POST", "/console/admin/tokens"): D,
    ("POST", "/console/admin/tokens/{token_id:int}/revoke"): D,
    # The public record, feeds and pages
    ("GET", "/archive.jsonl"): P,
    ("GET", "/incidents/{slug}.json"): P,
    ("GET", "/incidents/{slug}/history.csv"): P,
    ("GET", "/archive"): P,
    ("GET", "/corrections"): P,
    ("GET", "/incidents/{slug}/history"): P,
    # What proves the record (issue 19)
    ("GET", "/.well-known/incident-console/keys.json"): P,
    ("GET", "/audit/head.json"): P,
    ("GET", "/.well-known/incident-console/cap-signing.pem"): P,
    ("GET", "/verify"): P,
    ("POST", "/verify"): P,
    ("GET", "/subscribe"): P,
    ("POST", "/subscribe"): P,
    ("GET", "/subscribe/confirm"): P,
    ("POST", "/subscribe/confirm"): P,
    ("GET", "/unsubscribe"): P,
    ("POST", "/unsubscribe"): P,
    ("POST", "/subscribe/code"): P,
    ("GET", "/push/key"): P,
    ("POST", "/push/subscriptions"): P,
    ("GET", "/sw.js"): P,
    ("POST", "/sms/inbound"): P,
    ("GET", "/rumors"): P,
    ("GET", "/feeds/updates.atom"): P,
    ("GET", "/feeds/updates.rss"): P,
    ("GET", "/feeds/cap.atom"): P,
    ("GET", "/feeds/{lang}/updates.atom"): P,
    ("GET", "/feeds/{lang}/updates.rss"): P,
    ("GET", "/feeds/{lang}/incidents/{slug}/feed.atom"): P,
    ("GET", "/feeds/{lang}/incidents/{slug}/feed.rss"): P,
    ("GET", "/incidents/{slug}/feed.atom"): P,
    ("GET", "/incidents/{slug}/feed.rss"): P,
    ("GET", "/incidents/{slug}/cap/{seq:int}-{version:int}.xml"): P,
    ("GET", "/incidents/{slug}/cap/{seq:int}-{version:int}-r{revision:int}.xml"): P,
    ("GET", "/"): P,
    ("GET", "/incidents/{slug}"): P,
    ("GET", "/incidents/{slug}/updates/{seq:int}"): P,
    ("WEBSOCKET", "/live"): P,
    ("GET", "/static"): P,  # a mounted directory: every file under it
}


@dataclass(frozen=True)
class Caller:
    name: str
    role: Role | None
    session: bool = False  # signed in to the console
    token: bool = False  # an API bearer token of an account with `role`


CALLERS = (
    Caller("anonymous", None),
    *(Caller(f"{role.value} session", role, session=True) for role in (Role.REVIEWER, Role.PIO, Role.ADMIN)),
    *(Caller(f"{role.value} token", role, token=True) for role in (Role.REVIEWER, Role.PIO, Role.ADMIN)),
)


def entries(route: RouteInfo) -> list[tuple[str, str]]:
    if route.websocket:
        return [("WEBSOCKET", route.path)]
    return [(method, route.path) for method in sorted(route.methods - {"HEAD"}) or ["GET"]]


# Public, but only the provider's signature opens them (X-Twilio-Signature): no account or
# token does, so every caller here is refused.
PROVIDER_SIGNED = {"/sms/inbound"}


def expectation(path: str, level: Access, caller: Caller) -> str:
    if path in PROVIDER_SIGNED:
        return "forbidden"
    if level is Access.PUBLIC:
        return "answered"
    if path.startswith("/api/"):
        if not caller.token or caller.role is None:
            return "unauthenticated"
        return "answered" if permits(caller.role, level) else "forbidden"
    if not caller.session or caller.role is None:
        return "sign in"
    return "answered" if permits(caller.role, level) else "forbidden"


def test_every_route_is_in_the_table() -> None:
    served: dict[tuple[str, str], Access | None] = {}
    for route in walk(routes()):
        for entry in entries(route):
            served[entry] = route.access
    undeclared = sorted(entry for entry, level in served.items() if level is None)
    assert undeclared == [], "routes without @access(...)"
    assert sorted(set(served) - set(LEVELS)) == [], "routes missing from LEVELS: add them"
    assert sorted(set(LEVELS) - set(served)) == [], "LEVELS names routes that are not served"
    disagreeing = {
        entry: (served[entry], LEVELS[entry]) for entry in LEVELS if served[entry] is not LEVELS[entry]
    }
    assert disagreeing == {}, "declared level != table"


@pytest.fixture
def example_record(db: Database, routing: Routing, people: dict[str, int]) -> dict[Role, str]:
    """Something behind every example path (incident `example`, update 1, delivery 1,
    token 1, pending version 1), and an API token of each role."""
    tokens = {role: make_token(db, role.value, f"token-{role.value}@example.org") for role in Role}
    with db.write() as session:
        incident, _ = create_incident(session, PIO, IncidentDraft(title="Example"), routing=routing)
        publish_update(session, PIO, incident.slug, Draft(body="Road closed."), routing=routing)
    # pending version 1 (issue 18), by an account none of the callers is (an author's own is 403)
    author = Actor(make_user(db, "pio", "author@example.org"), "Author", Role.PIO, "api")
    with db.write() as session:
        approval.submit_original(
            session,
            author,
            "example",
            Draft(body="Road open."),
            translations=NO_TRANSLATIONS,
            routing=routing,
        )
    return tokens


def example_path(path: str) -> str:
    if path == "/static":
        return "/static/css/public.css"
    return RouteInfo(path, frozenset(), None).example_path()


def start_sessions(db: Database, user_ids: list[int]) -> list[str]:
    """A new console session for each of `user_ids`, as `start_session` makes one, in one write."""
    with db.write() as session:
        return [sessions.start(session, session.get_one(User, user_id), now=utcnow()) for user_id in user_ids]


def test_every_route_answers_every_caller_as_it_declares(
    client: TestClient, db: Database, people: dict[str, int], example_record: dict[Role, str]
) -> None:
    seen: dict[str, set[str]] = {}
    http = [entry for entry in LEVELS if entry[0] != "WEBSOCKET"]
    assert len(http) > 50
    # The account the admin routes disable and change: not one of the callers'.
    spare = make_user(db, "pio", "spare@example.org")
    # A caller without a session has opened the sign-in form: its double-submit token, and the
    # cookie that holds it, are taken once and given back to each such caller.
    client.cookies.clear()
    signin_csrf = signin_form_token(client)
    signin_cookies = list(client.cookies.jar)
    signed_in = {caller: people[caller.role.value] for caller in CALLERS if caller.session and caller.role}
    for method, path in http:
        # A fresh session for each signed-in caller of this route, all started in one write.
        fresh = dict(zip(signed_in, start_sessions(db, list(signed_in.values())), strict=True))
        for caller in CALLERS:
            client.cookies.clear()
            headers: dict[str, str] = {}
            if caller in fresh:
                session_id = fresh[caller]
                use_session(client, session_id)
                csrf = sessions.csrf_token(session_id)
            else:
                for cookie in signin_cookies:
                    client.cookies.jar.set_cookie(cookie)
                csrf = signin_csrf  # the sign-in form's double-submit token
            if caller.token and caller.role is not None:
                headers.update(bearer(example_record[caller.role]))
            response = client.request(
                method,
                example_path(path).replace("/users/1/", f"/users/{spare}/"),
                data={"csrf_token": csrf} if method != "GET" else None,
                headers={"X-CSRF-Token": csrf, **headers},
                follow_redirects=False,
            )
            expected = expectation(path, LEVELS[(method, path)], caller)
            seen.setdefault(expected, set()).add(f"{caller.name} {method} {path}")
            where = (method, path, caller.name, response.status_code, response.headers.get("location"))
            assert response.status_code < 500, where
            if expected == "answered":
                assert response.status_code not in (401, 403), where
                assert not response.headers.get("location", "").startswith("/login?next="), where
                if path.startswith("/console") and method == "GET":
                    assert response.status_code == 200, where
            elif expected == "unauthenticated":
                assert response.status_code == 401, where
                assert response.json()["error"]["code"] == "unauthenticated", where
            elif expected == "sign in":
                if method == "GET":
                    assert response.status_code == 303, where
                    assert response.headers["location"].startswith("/login?next=/console"), where
                else:
                    assert response.status_code == 401, where
            else:
                assert response.status_code == 403, where
                if path.startswith("/api/"):
                    assert response.json()["error"]["code"] == "forbidden", where
    # Every kind of outcome happened for sessions and for tokens, so no branch above is dead.
    assert set(seen) == {"answered", "unauthenticated", "sign in", "forbidden"}
    assert "reviewer token POST /api/v1/incidents" in seen["forbidden"]
    assert "pio token GET /api/v1/audit" in seen["forbidden"]
    assert "admin token GET /console/admin" in seen["sign in"]
    assert "admin session POST /api/v1/incidents" in seen["unauthenticated"]
    assert "pio session GET /console/admin" in seen["forbidden"]


def test_the_live_websocket_is_open_to_everyone(
    client: TestClient, db: Database, people: dict[str, int], example_record: dict[Role, str]
) -> None:
    assert {LEVELS[entry] for entry in LEVELS if entry[0] == "WEBSOCKET"} == {Access.PUBLIC}, (
        "a websocket that is not public needs its own rule here"
    )
    for caller in CALLERS:
        client.cookies.clear()
        if caller.session and caller.role is not None:
            use_session(client, start_session(db, people[caller.role.value]))
        headers = bearer(example_record[caller.role]) if caller.token and caller.role else {}
        with client.websocket_connect("/live?incident=example", headers=headers) as socket:
            socket.send_json({"last_event_id": 0})
            assert "New incident" in socket.receive_text(), caller.name


def test_expectations_follow_the_declared_levels() -> None:
    by_name = {caller.name: caller for caller in CALLERS}
    console = [expectation("/console/x", Access.PUBLISHER, c) for c in CALLERS]
    assert console == ["sign in", "forbidden", "answered", "answered", "sign in", "sign in", "sign in"]
    api = [expectation("/api/v1/x", Access.AUDITOR, c) for c in CALLERS]
    assert api == [
        "unauthenticated",
        "unauthenticated",
        "unauthenticated",
        "unauthenticated",
        "answered",
        "forbidden",
        "answered",
    ]
    assert expectation("/api/v1/x", Access.ADMIN, by_name["pio token"]) == "forbidden"
    assert {expectation("/anything", Access.PUBLIC, c) for c in CALLERS} == {"answered"}

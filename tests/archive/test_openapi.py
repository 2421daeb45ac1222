"""/api/v1/openapi.json stays true: it is a valid OpenAPI 3.1 document, it describes exactly
the /api/v1 routes the app serves, and real answers of every operation validate against it.
(`.ci/run` also runs schemathesis against a served app.)"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
import schemathesis
from schemathesis.core.transport import Response as CheckedResponse
from starlette.testclient import TestClient

from console.db import Database
from console.domain import channel_health, outbox
from console.domain.outbox import Routing
from console.models import EventType
from console.settings import APPROVAL_KINDS, Settings
from console.web.app import create_app
from console.web.openapi import build_spec
from tests.archive.conftest import Sample, publish_history
from tests.support.factories import bearer, make_token
from tests.support.images import multipart, photo_with_gps
from tests.support.routes import walk

HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Updates may be translated into Spanish, so translations appear in every answer."""
    return dataclasses.replace(settings, languages=("en", "es"))


def served_operations(client: TestClient) -> set[tuple[str, str]]:
    found = set()
    for route in walk(client.app.routes):  # type: ignore[attr-defined]
        if route.path.startswith("/api/v1/"):
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path.removeprefix("/api/v1"))
            found |= {(method, path) for method in route.methods & HTTP_METHODS}
    return found


def test_the_description_is_a_valid_openapi_document(client: TestClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.json() == build_spec()
    schema = schemathesis.openapi.from_dict(response.json())
    schema.validate()
    assert response.json()["openapi"] == "3.1.0"


def test_every_api_route_is_described_and_every_description_is_served(client: TestClient) -> None:
    spec = build_spec()
    described = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert served_operations(client) == described
    ids = [operation["operationId"] for item in spec["paths"].values() for operation in item.values()]
    assert len(ids) == len(set(ids)) == len(described)


class Validator:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.schema = schemathesis.openapi.from_dict(build_spec())
        self.successes: set[tuple[str, str]] = set()
        self.checked = 0

    def __call__(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = self.client.request(method, f"/api/v1{path}", **kwargs)
        assert response.status_code == expect, (method, path, response.text)
        operation = self.schema.find_operation_by_path(method, path.split("?")[0])
        assert operation is not None, (method, path)
        # An answer the description does not list would pass `validate_response` unchecked.
        assert str(expect) in operation.definition.raw["responses"], (method, operation.path, expect)
        self.schema.validate_response(operation, CheckedResponse.from_any(response))
        self.checked += 1
        if response.status_code < 300:
            self.successes.add((method, operation.path))
        return response.json() if "json" in response.headers.get("content-type", "") else response.text


@pytest.fixture
def check(client: TestClient) -> Validator:
    return Validator(client)


def test_real_answers_validate_against_the_description(
    check: Validator,
    db: Database,
    routing: Routing,
    admin: dict[str, str],
    reviewer: dict[str, str],
    pio: dict[str, str],
    settings: Settings,
) -> None:
    incident = check(
        "POST", "/incidents", 201, json={"title": "Chemical spill", "category": "cbrne"}, headers=pio
    )
    slug = incident["slug"]
    check("POST", "/incidents", 422, json={"title": " ", "extra": 1}, headers=pio)
    check("POST", "/incidents", 401, json={"title": "x"})
    check("POST", "/incidents", 403, json={"title": "x"}, headers=reviewer)
    check("POST", "/incidents", 415, content=b"{}", headers={**pio, "content-type": "text/plain"})
    check("POST", "/incidents", 400, content=b"{", headers={**pio, "content-type": "application/json"})
    update = check(
        "POST",
        f"/incidents/{slug}/updates",
        201,
        json={
            "headline": "Avoid",
            "body": "Closed.",
            "translations": [{"lang": "es", "headline": "Evite", "body": "Cerrada."}],
        },
        headers=pio,
    )
    assert [t["status"] for t in update["translations"]] == ["current"]
    check("POST", "/incidents/nope/updates", 404, json={"body": "x"}, headers=pio)
    base = f"/updates/{update['id']}"
    added = check(
        "POST",
        f"{base}/translations",
        201,
        json={"lang": "ES", "body": "Cerrada ya.", "version": 1},
        headers=pio,
    )
    assert (added["lang"], added["status"]) == ("es", "current")
    check("POST", f"{base}/translations", 422, json={"lang": "en", "body": "x", "version": 1}, headers=pio)
    check("POST", f"{base}/translations", 422, json={"lang": "es", "body": "x", "version": 7}, headers=pio)
    check("POST", f"{base}/translations", 401, json={"lang": "es", "body": "x", "version": 1})
    check(
        "POST", f"{base}/translations", 403, json={"lang": "es", "body": "x", "version": 1}, headers=reviewer
    )
    check(
        "POST",
        "/updates/999999/translations",
        404,
        json={"lang": "es", "body": "x", "version": 1},
        headers=pio,
    )
    check("GET", base, 200)
    check(
        "POST",
        f"{base}/corrections",
        201,
        json={"body": "Closed now.", "reason": "r", "corrects_version": 1},
        headers=pio,
    )
    stale = check(
        "POST",
        f"{base}/corrections",
        409,
        json={"body": "x", "reason": "r", "corrects_version": 1},
        headers=pio,
    )
    assert stale["current_version"] == 2
    late = check(
        "POST", f"{base}/translations", 409, json={"lang": "es", "body": "x", "version": 1}, headers=pio
    )
    assert late["current_version"] == 2
    assert check("GET", base, 200)["translation_status"] == {"es": "stale"}
    check("POST", f"{base}/confirmation", 201, json={"corrects_version": 2}, headers=pio)
    check("POST", f"{base}/confirmation", 409, json={"corrects_version": 3}, headers=pio)
    check("POST", f"{base}/confirmation", 422, json={"corrects_version": 9}, headers=pio)
    check("POST", f"{base}/retraction", 422, json={"reason": "wrong"}, headers=pio)
    check("POST", f"{base}/retraction", 409, json={"reason": "wrong", "corrects_version": 2}, headers=pio)
    check("POST", f"{base}/retraction", 201, json={"reason": "wrong", "corrects_version": 3}, headers=pio)
    check("GET", "/incidents", 200)
    check("GET", "/incidents?status=active", 200, headers=reviewer)
    check("GET", "/incidents?status=later", 422)
    check("GET", "/incidents", 401, headers=bearer("ick_wrong"))
    check("GET", f"/incidents/{slug}", 200)
    check("GET", f"/incidents/{slug}", 200, headers=reviewer)
    check("GET", "/incidents/nope", 404)
    check("GET", base, 200)
    check("GET", base, 200, headers=admin)
    check("GET", "/updates/999999", 404)
    fix_details = {"title": "Spill on I-95", "reason": "Clearer title", "corrects_version": 1}
    check("POST", f"/incidents/{slug}/details", 201, json=fix_details, headers=pio)
    check("POST", f"/incidents/{slug}/details", 409, json=fix_details, headers=pio)
    check("POST", f"/incidents/{slug}/details", 422, json={**fix_details, "corrects_version": 2}, headers=pio)
    check("POST", f"/incidents/{slug}/details", 403, json=fix_details, headers=reviewer)
    check("POST", "/incidents/nope/details", 404, json=fix_details, headers=pio)
    es_details = {"lang": "es", "version": 2, "title": "Derrame en la I-95"}
    translations = f"/incidents/{slug}/details/translations"
    assert check("POST", translations, 201, json=es_details, headers=pio)["details_version"] == 2
    check("POST", translations, 409, json={**es_details, "version": 1}, headers=pio)
    check("POST", translations, 422, json={**es_details, "summary": "Algo"}, headers=pio)
    check("POST", translations, 403, json=es_details, headers=reviewer)
    check("POST", "/incidents/nope/details/translations", 404, json=es_details, headers=pio)
    assert check("GET", f"/incidents/{slug}", 200)["details_translations"]["es"]["status"] == "current"
    all_clear = {"message": "All clear: I-95 reopened.", "translations": {"es": "Todo despejado."}}
    check("POST", f"/incidents/{slug}/resolve", 422, json={}, headers=pio)
    check("POST", f"/incidents/{slug}/resolve", 200, json=all_clear, headers=pio)
    check("POST", f"/incidents/{slug}/resolve", 409, json=all_clear, headers=pio)
    reopened = check(
        "POST", f"/incidents/{slug}/reopen", 200, json={"reason": "Second leak found."}, headers=pio
    )
    check("POST", f"/incidents/{slug}/reopen", 409, json={"reason": "Again"}, headers=pio)
    check("POST", f"/incidents/{slug}/reopen", 422, json={}, headers=pio)
    check("POST", "/incidents/nope/reopen", 404, json={"reason": "x"}, headers=pio)
    pin = {"seq": reopened["reopened"]["seq"]}
    check("POST", f"/incidents/{slug}/pin", 422, json={}, headers=pio)
    check("POST", f"/incidents/{slug}/pin", 422, json={"seq": 1}, headers=pio)  # retracted above
    check("POST", f"/incidents/{slug}/pin", 403, json=pin, headers=reviewer)
    check("POST", "/incidents/nope/pin", 404, json=pin, headers=pio)
    assert check("POST", f"/incidents/{slug}/pin", 200, json=pin, headers=pio)["seq"] == pin["seq"]
    assert check("POST", f"/incidents/{slug}/pin", 200, json={"seq": None}, headers=pio)["seq"] is None
    check("POST", f"/incidents/{slug}/resolve", 200, json=all_clear, headers=pio)

    # a failed delivery to retry
    publish_history(db, Routing({"flaky": frozenset({EventType.INCIDENT_CREATED})}), title="Flaky")
    with db.write() as session:
        claim = outbox.claim_next(session, "flaky", ordered=False, lease_seconds=30)
        assert claim is not None
        outbox.fail(session, claim, "refused", retry_at=None)
    check("POST", f"/deliveries/{claim.delivery_id}/retry", 200, headers=pio)
    check("POST", f"/deliveries/{claim.delivery_id}/retry", 200, headers=pio)  # the same request again
    check("POST", f"/deliveries/{claim.delivery_id}/retry", 409, headers=admin)  # not failed any more
    check("POST", "/deliveries/999999/retry", 404, headers=pio)

    check("GET", "/live", 200, headers=reviewer)
    check("GET", "/live", 401)
    check("GET", "/channels", 200, headers=reviewer)
    check("GET", "/channels", 401)
    with db.write() as session:
        channel_health.mark_failing(session, "x", "401 Unauthorized")
    check("POST", "/channels/x/resume", 200, headers=pio)
    check("POST", "/channels/x/resume", 409, headers=pio)
    check("POST", "/channels/x/resume", 403, headers=reviewer)
    check("POST", "/channels/nope/resume", 404, headers=pio)

    page = check("GET", "/audit?limit=2&action=version.*", 200, headers=reviewer)
    check("GET", f"/audit?before={page['next_before']}&incident={slug}&since=2020-01-01", 200, headers=admin)
    check("GET", "/audit?since=soon", 422, headers=reviewer)
    check("GET", "/audit?incident=nope", 404, headers=reviewer)
    check("GET", "/audit", 403, headers=pio)
    check("GET", "/audit", 401)
    check("GET", "/audit.csv?actor=test", 200, headers=reviewer)
    check("GET", "/audit.csv", 403, headers=pio)
    check("GET", "/audit/chain", 200, headers=reviewer)
    check("GET", "/audit/chain", 401)
    check("GET", "/openapi.json", 200)

    rumor = check(
        "POST",
        "/rumors",
        201,
        json={
            "claim": "A second shooter",
            "verdict": "FALSE",
            "facts": "One suspect, in custody.",
            "seen_at": "X",
            "translations": [{"lang": "es", "claim": "Otro tirador", "facts": "Un sospechoso."}],
        },
        headers=pio,
    )
    check(
        "POST",
        "/rumors",
        201,
        json={"claim": "c", "verdict": "true", "facts": "f", "incident": slug},
        headers=pio,
    )
    check(
        "POST",
        "/rumors",
        404,
        json={"claim": "c", "verdict": "true", "facts": "f", "incident": "nope"},
        headers=pio,
    )
    check("POST", "/rumors", 422, json={"claim": "c", "verdict": "perhaps", "facts": "f"}, headers=pio)
    check("POST", "/rumors", 401, json={"claim": "c", "verdict": "true", "facts": "f"})
    check("POST", "/rumors", 403, json={"claim": "c", "verdict": "true", "facts": "f"}, headers=reviewer)
    fix = {"claim": "A second shooter", "verdict": "unconfirmed", "facts": "Checking.", "reason": "r"}
    check("POST", f"/rumors/{rumor['id']}/corrections", 201, json={**fix, "corrects_version": 1}, headers=pio)
    check("POST", f"/rumors/{rumor['id']}/corrections", 409, json={**fix, "corrects_version": 1}, headers=pio)
    check("POST", "/rumors/999999/corrections", 404, json={**fix, "corrects_version": 1}, headers=pio)
    check("GET", "/rumors", 200)
    check("GET", f"/rumors/{rumor['id']}", 200)
    check("GET", "/rumors/999999", 404)

    hook = check("POST", "/webhooks", 201, json={"url": "https://93.184.215.14/hook"}, headers=admin)
    check("POST", "/webhooks", 422, json={"url": "https://127.0.0.1/hook"}, headers=admin)
    check("POST", "/webhooks", 403, json={"url": "https://93.184.215.14/hook"}, headers=pio)
    check("POST", "/webhooks", 401, json={"url": "https://93.184.215.14/hook"})
    check("GET", "/webhooks", 200, headers=admin)
    check("GET", "/webhooks", 403, headers=reviewer)
    check("GET", f"/webhooks/{hook['id']}", 200, headers=admin)
    check("GET", "/webhooks/999999", 404, headers=admin)
    check("GET", f"/webhooks/{hook['id']}/deliveries", 200, headers=admin)
    check("GET", "/webhooks/999999/deliveries", 404, headers=admin)

    holding = {
        "name": "Road closed",
        "headline": "{road} closed",
        "body": "{road} is closed near {location}.",
        "translations": {"es": {"body": "{road} está cerrada."}},
    }
    made = check("POST", "/templates", 201, json=holding, headers=admin)
    check("POST", "/templates", 403, json=holding, headers=pio)
    check("POST", "/templates", 422, json={**holding, "body": ""}, headers=admin)
    check("GET", "/templates", 200, headers=reviewer)
    check("GET", "/templates", 401)
    check("GET", f"/templates/{made['id']}", 200, headers=pio)
    check("GET", "/templates/999999", 404, headers=pio)
    revision = {**holding, "body": "{road} is closed.", "corrects_version": 1}
    check("POST", f"/templates/{made['id']}/versions", 201, json=revision, headers=admin)
    check("POST", f"/templates/{made['id']}/versions", 409, json=revision, headers=admin)
    check("POST", "/templates/999999/versions", 404, json=revision, headers=admin)
    from_template = {"template": made["id"], "placeholders": {"road": "Elm St"}}
    other = check("POST", "/incidents", 201, json={"title": "Closures"}, headers=pio)
    published = check("POST", f"/incidents/{other['slug']}/updates", 201, json=from_template, headers=pio)
    assert (
        published["template"] == {"id": made["id"], "version": 2} and published["body"] == "Elm St is closed."
    )
    check("POST", f"/incidents/{other['slug']}/updates", 422, json={"template": made["id"]}, headers=pio)
    check("DELETE", f"/templates/{made['id']}", 403, headers=pio)
    check("DELETE", f"/templates/{made['id']}", 200, headers=admin)
    check("DELETE", f"/templates/{made['id']}", 409, headers=admin)
    check("GET", f"/templates/{made['id']}", 410, headers=pio)

    image = multipart(photo_with_gps(), "image/jpeg")
    form = image["headers"]
    assert isinstance(form, dict)
    uploaded = check("POST", "/media", 201, content=image["content"], headers={**pio, **form})
    check("POST", "/media", 422, **multipart(b"not a png", "image/png") | {"headers": {**pio, **form}})
    check("POST", "/media", 415, json={"file": "x"}, headers=pio)
    check("POST", "/media", 401, **image)
    check("POST", "/media", 403, content=image["content"], headers={**reviewer, **form})
    assert uploaded["url"].startswith("/media/")
    illustrated = check(
        "POST",
        f"/incidents/{other['slug']}/updates",
        201,
        json={"body": "Smoke.", "media": [{"id": uploaded["id"], "alt": "Smoke over the bridge"}]},
        headers=pio,
    )
    assert check("GET", f"/updates/{illustrated['id']}", 200)["versions"][0]["media"][0]["alt"]
    check(
        "POST",
        f"/incidents/{other['slug']}/updates",
        422,
        json={"body": "x", "media": [{"id": 1}]},
        headers=pio,
    )

    check.successes |= _approval_answers(settings, db, pio)
    assert check.successes == served_operations(check.client), "every operation answered successfully once"


def _approval_answers(settings: Settings, db: Database, pio: dict[str, str]) -> set[tuple[str, str]]:
    """With APPROVAL_REQUIRED: the 202 of a version that waits, and each answer of its decision."""
    second = bearer(make_token(db, "pio", email="approver@example.org", name="Robin Lee"))
    with TestClient(create_app(dataclasses.replace(settings, approval_required=APPROVAL_KINDS))) as client:
        waits = Validator(client)
        slug = waits("POST", "/incidents", 201, json={"title": "Flooding"}, headers=pio)["slug"]
        pending = waits(
            "POST", f"/incidents/{slug}/updates", 202, json={"body": "Avoid the river."}, headers=pio
        )
        decision = {"version": 1, "decision": "approve"}
        path = f"/updates/{pending['id']}/approval"
        waits("POST", path, 403, json=decision, headers=pio)
        waits("POST", path, 422, json={**decision, "version": 2}, headers=second)
        waits("POST", "/updates/999999/approval", 404, json=decision, headers=second)
        waits("POST", path, 401, json=decision)
        published = waits("POST", path, 200, json=decision, headers=second)["published"]
        waits("POST", path, 409, json=decision, headers=second)
        fix = {"body": "Avoid the river banks.", "reason": "banks", "corrects_version": 1}
        correction = waits("POST", f"/updates/{published['id']}/corrections", 202, json=fix, headers=pio)
        waits(
            "POST",
            f"/updates/{correction['id']}/approval",
            200,
            json={"version": 2, "decision": "return", "comment": "Which banks?"},
            headers=second,
        )
        retraction = {"reason": "wrong river", "corrects_version": 1}
        waits("POST", f"/updates/{published['id']}/retraction", 202, json=retraction, headers=pio)
        waits("POST", f"/incidents/{slug}/resolve", 202, json={"message": "All clear."}, headers=pio)
        return waits.successes


def test_an_undescribed_field_in_an_answer_fails_validation(check: Validator, sample: Sample) -> None:
    operation = check.schema.find_operation_by_path("GET", f"/incidents/{sample.slug}")
    assert operation is not None
    answer = check.client.get(f"/api/v1/incidents/{sample.slug}")
    faithful = CheckedResponse.from_any(answer)
    check.schema.validate_response(operation, faithful)
    drifted = CheckedResponse(
        status_code=200,
        headers={"content-type": ["application/json"]},
        content=json.dumps(answer.json() | {"secret_field": 1}).encode(),
        request=faithful.request,
        elapsed=faithful.elapsed,
        verify=True,
    )
    with pytest.raises(AssertionError, match="secret_field"):
        check.schema.validate_response(operation, drifted)

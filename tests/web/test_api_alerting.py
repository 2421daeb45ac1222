"""The CAP fields, instruction and WEA texts of a version through the JSON API (issue 17):
sent on publish, correct and confirm, carried over when not sent, shown in every view of the
version, and refused with a 422 naming the field (nothing written)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from console.db import Database
from console.models import AuditEvent, UpdateVersion
from console.settings import Settings
from tests.support.factories import bearer, make_token

CAP = {
    "urgency": "Immediate",
    "severity": "Severe",
    "certainty": "Observed",
    "response_types": ["Evacuate", "Avoid"],
    "event": "Gas leak",
    "expires": "2026-12-05T18:00:00-05:00",
}
WEA = {"short": "Gas leak downtown: leave now by Oak St.", "long": "Gas leak downtown. Leave now by Oak St."}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, languages=("en", "es", "vi"))


@pytest.fixture
def pio(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "pio", name="Casey Park"))


def incident(client: TestClient, headers: dict[str, str]) -> str:
    created = client.post("/api/v1/incidents", json={"title": "Gas leak"}, headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["slug"])


def versions(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(UpdateVersion)) or 0


def test_publish_correct_confirm_with_the_fields_and_carry_what_is_not_sent(
    client: TestClient, db: Database, pio: dict[str, str]
) -> None:
    slug = incident(client, pio)
    published = client.post(
        f"/api/v1/incidents/{slug}/updates",
        headers=pio,
        json={
            "body": "Leak at Oak St.",
            "cap": CAP,
            "instruction": "Leave the area now.",
            "wea": WEA,
            "translations": [
                {
                    "lang": "es",
                    "body": "Fuga en Oak St.",
                    "instruction": "Salga del área ahora.",
                    "wea": {"short": "Fuga de gas: salga ahora."},
                }
            ],
        },
    )
    assert published.status_code == 201, published.text
    body = published.json()
    assert (body["cap"], body["instruction"], body["wea"]) == (CAP, "Leave the area now.", WEA)
    [spanish] = body["translations"]
    assert (spanish["instruction"], spanish["wea"]) == (
        "Salga del área ahora.",
        {"short": "Fuga de gas: salga ahora."},
    )
    base = f"/api/v1/updates/{body['id']}"

    corrected = client.post(
        f"{base}/corrections",
        headers=pio,
        json={
            "body": "Leak at Oak St.",
            "reason": "Less urgent",
            "corrects_version": 1,
            "cap": {"urgency": "Expected"},
        },
    )
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["cap"] == {**CAP, "urgency": "Expected"}, "what is not sent is carried"
    assert corrected.json()["instruction"] == "Leave the area now." and corrected.json()["wea"] == WEA
    confirmed = client.post(
        f"{base}/confirmation",
        headers=pio,
        json={"corrects_version": 2, "instruction": "Stay away from Oak St."},
    )
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["instruction"] == "Stay away from Oak St."
    assert confirmed.json()["cap"]["urgency"] == "Expected"

    record = client.get(base).json()
    assert [v.get("instruction") for v in record["versions"]] == [
        "Leave the area now.",
        "Leave the area now.",
        "Stay away from Oak St.",
    ]
    assert record["versions"][0]["cap"] == CAP
    with db.read() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "version.published").order_by(AuditEvent.id.desc())
        ).first()
        assert (
            event is not None
            and json.loads(event.data)["alerting"]["instruction"] == "Stay away from Oak St."
        )


def test_a_version_without_the_fields_shows_none(client: TestClient, pio: dict[str, str]) -> None:
    slug = incident(client, pio)
    published = client.post(f"/api/v1/incidents/{slug}/updates", headers=pio, json={"body": "Oak St closed."})
    assert published.status_code == 201
    assert not {"cap", "instruction", "wea"} & set(published.json())


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        ({"cap": {"urgency": "Now"}}, "cap.urgency"),
        ({"cap": {"severity": "severe"}}, "cap.severity"),
        ({"cap": {"certainty": "Sure"}}, "cap.certainty"),
        ({"cap": {"response_types": ["Run"]}}, "cap.response_types"),
        ({"cap": {"response_types": "Evacuate"}}, "cap.response_types"),
        ({"cap": {"expires": "2026-12-05T18:00:00"}}, "cap.expires"),
        ({"cap": {"expires": "tomorrow"}}, "cap.expires"),
        ({"cap": {"event": "x" * 101}}, "cap.event"),
        ({"cap": {"colour": "red"}}, "cap.colour"),
        ({"instruction": "x" * 2001}, "instruction"),
        ({"instruction": 5}, "instruction"),
        ({"wea": {"short": "x" * 91}}, "wea.short"),
        ({"wea": {"long": "x" * 361}}, "wea.long"),
        ({"wea": {"medium": "x"}}, "wea.medium"),
        ({"translations": [{"lang": "vi", "body": "x", "wea": {"short": "x"}}]}, "translations[0].wea"),
        ({"translations": [{"lang": "es", "body": "x", "instruction": " "}], "wea": 3}, "wea"),
        (
            {"translations": [{"lang": "es", "body": "x", "wea": {"short": "x" * 91}}]},
            "translations[0].wea.short",
        ),
    ],
)
def test_bad_fields_are_a_422_naming_the_field_and_nothing_is_written(
    client: TestClient, db: Database, pio: dict[str, str], sent: dict[str, Any], field: str
) -> None:
    slug = incident(client, pio)
    before = versions(db)
    answer = client.post(
        f"/api/v1/incidents/{slug}/updates", headers=pio, json={"body": "Oak St closed.", **sent}
    )
    assert answer.status_code == 422, answer.text
    problems = answer.json()["error"]["fields"]
    assert field in problems
    # not the "unknown field" answer an API without these fields gives (but for unknown keys)
    assert ("not a known field" in problems[field]) == (field in {"cap.colour", "wea.medium"}), problems
    assert versions(db) == before


def test_a_correction_and_a_confirmation_refuse_bad_fields_too(
    client: TestClient, db: Database, pio: dict[str, str]
) -> None:
    slug = incident(client, pio)
    update = client.post(
        f"/api/v1/incidents/{slug}/updates", headers=pio, json={"body": "Oak St closed."}
    ).json()
    base = f"/api/v1/updates/{update['id']}"
    before = versions(db)
    corrected = client.post(
        f"{base}/corrections",
        headers=pio,
        json={
            "body": "Elm St closed.",
            "reason": "Street",
            "corrects_version": 1,
            "wea": {"short": "x" * 91},
        },
    )
    assert corrected.status_code == 422 and "wea.short" in corrected.json()["error"]["fields"]
    confirmed = client.post(
        f"{base}/confirmation", headers=pio, json={"corrects_version": 1, "cap": {"urgency": "x"}}
    )
    assert confirmed.status_code == 422 and "cap.urgency" in confirmed.json()["error"]["fields"]
    retracted = client.post(
        f"{base}/retraction", headers=pio, json={"corrects_version": 1, "reason": "x", "instruction": "y"}
    )
    assert retracted.status_code == 422 and "instruction" in retracted.json()["error"]["fields"]
    assert versions(db) == before


def test_a_correction_of_the_fields_alone_is_a_new_version_but_an_identical_one_is_refused(
    client: TestClient, pio: dict[str, str]
) -> None:
    slug = incident(client, pio)
    update = client.post(
        f"/api/v1/incidents/{slug}/updates",
        headers=pio,
        json={"body": "Oak St closed.", "cap": {"severity": "Minor"}},
    ).json()
    base = f"/api/v1/updates/{update['id']}"
    same = {"body": "Oak St closed.", "reason": "x", "corrects_version": 1}
    assert (
        client.post(
            f"{base}/corrections", headers=pio, json={**same, "cap": {"severity": "Minor"}}
        ).status_code
        == 422
    )
    changed = client.post(f"{base}/corrections", headers=pio, json={**same, "cap": {"severity": "Moderate"}})
    assert changed.status_code == 201 and changed.json()["cap"] == {"severity": "Moderate"}


def test_the_instruction_comes_first_on_the_live_page_and_in_the_feed_entries(
    client: TestClient, pio: dict[str, str]
) -> None:
    slug = incident(client, pio)
    published = client.post(
        f"/api/v1/incidents/{slug}/updates",
        headers=pio,
        json={
            "headline": "Leak at Oak St",
            "body": "Crews are on scene.",
            "instruction": "Leave the area now.",
            "translations": [
                {"lang": "es", "body": "Equipos en el lugar.", "instruction": "Salga del área ahora."}
            ],
        },
    )
    assert published.status_code == 201, published.text
    page = client.get(f"/incidents/{slug}").text
    instruction = page.index(
        '<p class="update__instruction"><strong>What to do:</strong> <span dir="auto">Leave the area now.'
    )
    assert instruction < page.index("Leak at Oak St</h3>") < page.index("Crews are on scene.")
    spanish = client.get(f"/incidents/{slug}", headers={"Accept-Language": "es"}).text
    assert '<strong>Qué hacer:</strong> <span dir="auto">Salga del área ahora.</span>' in spanish
    feed = client.get(f"/incidents/{slug}/feed.atom").text
    content = feed[feed.index("<content") :]
    assert content.index("What to do:") < content.index("Leak at Oak St") < content.index("Crews are on")

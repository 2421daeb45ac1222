"""Every update on the live page is a heading, with or without a headline: people who move
through a page by its headings (screen readers) reach each one."""

from __future__ import annotations

import lxml.html
from starlette.testclient import TestClient

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update, retract_update
from tests.conftest import PIO


def test_each_update_has_one_heading_outside_the_withdrawn_text(
    db: Database, routing: Routing, client: TestClient
) -> None:
    with db.write() as session:
        slug = create_incident(session, PIO, IncidentDraft(title="Gas leak"), routing=routing)[0].slug
        publish_update(
            session, PIO, slug, Draft(headline="Evacuation", body="Leave Elm St."), routing=routing
        )
        publish_update(session, PIO, slug, Draft(body="Shelter at Station 4."), routing=routing)
        withdrawn = publish_update(
            session, PIO, slug, Draft(headline="Road closed", body="Oak Ave is closed."), routing=routing
        ).update.id
        retract_update(session, PIO, withdrawn, reason="Oak Ave is open", routing=routing)
    page = lxml.html.fromstring(client.get(f"/incidents/{slug}").text)
    updates = page.xpath("//article[contains(@class, 'update')]")
    assert len(updates) == 3
    headings = {
        article.get("id"): [
            " ".join(h.text_content().split()) for h in article.xpath(".//h3[not(ancestor::details)]")
        ]
        for article in updates
    }
    assert headings["update-1"] == ["Evacuation"]
    assert len(headings["update-2"]) == 1 and headings["update-2"][0].startswith("Update 2, ")
    assert len(headings["update-3"]) == 1 and headings["update-3"][0].startswith("Update 3, ")

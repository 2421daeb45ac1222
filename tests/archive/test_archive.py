"""/archive: every incident newest first, paged, filtered by category and dates, searched
with the database's full-text index (FTS5 on SQLite, tsvector on PostgreSQL: the suite runs
on whichever DATABASE_URL names)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import insert
from starlette.testclient import TestClient

from console.db import Database
from console.domain import archive, search
from console.domain.audit import chain_head
from console.domain.errors import InvalidInput
from console.domain.outbox import Routing
from console.domain.records import incident_record
from console.domain.updates import Draft, content_hash, correct_update, publish_update
from console.migrate import alembic_config, upgrade
from console.models import Incident, Update, UpdateVersion, VersionKind
from tests.archive.conftest import T0, make_incident, publish_history
from tests.archive.support import element, text
from tests.conftest import PIO

UTC_ZONE = ZoneInfo("UTC")


def slugs_on(page: str) -> list[str]:
    return re.findall(r'<h2 class="archive-entry__title"><a href="/incidents/([a-z0-9-]+)/history">', page)


def found(db: Database, query: str, **filters: str) -> list[str]:
    with db.read() as session:
        result = archive.archive_page(
            session, archive.parse_filter(q=query, **filters), page=1, zone=UTC_ZONE, per_page=100
        )
    return [entry.slug for entry in result.entries]


def test_every_incident_newest_first_in_pages_of_25(
    db: Database, routing: Routing, client: TestClient
) -> None:
    slugs = [make_incident(db, routing, f"Incident {n}", at=T0 + timedelta(hours=n)) for n in range(30)]
    make_incident(db, routing, "Resolved one", at=T0 - timedelta(days=1), resolved_at=T0)
    first = client.get("/archive")
    assert first.status_code == 200
    assert slugs_on(first.text) == list(reversed(slugs))[:25]
    assert "31 incidents; showing 1–25." in text(first.text)
    assert 'href="/archive?page=2" rel="next"' in first.text and "Page 1 of 2" in first.text
    second = client.get("/archive?page=2").text
    assert slugs_on(second) == list(reversed(slugs))[25:] + ["resolved-one"]
    assert "RESOLVED" in text(element(second, "archive-results"))
    assert 'href="/archive" rel="prev"' in second
    past_the_end = client.get("/archive?page=3")
    assert past_the_end.status_code == 400 and "there are only 2 pages" in text(past_the_end.text)
    assert client.get("/archive?page=0").status_code == 400
    assert client.get("/archive?page=two").status_code == 400


def test_each_entry_says_when_it_opened_how_many_updates_and_links_its_record(
    db: Database, routing: Routing, client: TestClient
) -> None:
    sample = publish_history(db, routing)
    entry = text(client.get("/archive").text)
    assert "Gas leak on Elm St ACTIVE Fire · Elm St" in entry
    assert "Opened 2026-03-01 14:00 UTC. 3 updates, the last 2026-03-01 14:06 UTC." in entry
    page = client.get("/archive").text
    for link in ("/history", ".json", "/history.csv"):
        assert f'href="/incidents/{sample.slug}{link}"' in page


def test_category_filter(db: Database, routing: Routing, client: TestClient) -> None:
    fire = make_incident(db, routing, "House fire", at=T0, category="Fire")
    make_incident(db, routing, "Flood", at=T0, category="Met")
    assert slugs_on(client.get("/archive?category=fire").text) == [fire]
    assert 'value="Fire" selected' in client.get("/archive?category=Fire").text
    bad = client.get("/archive?category=Weather")
    assert bad.status_code == 400 and "Category must be one of Geo, Met" in text(bad.text)


def test_date_range_finds_incidents_open_during_any_part_of_it(db: Database, routing: Routing) -> None:
    day = timedelta(days=1)
    before = make_incident(db, routing, "Closed before", at=T0 - 10 * day, resolved_at=T0 - 5 * day)
    spanning = make_incident(db, routing, "Spanning", at=T0 - 3 * day, resolved_at=T0 + day)
    inside = make_incident(db, routing, "Inside", at=T0 + 2 * day, resolved_at=T0 + 3 * day)
    still_open = make_incident(db, routing, "Still open", at=T0 - 20 * day)
    after = make_incident(db, routing, "After", at=T0 + 10 * day)
    march = {"since": "2026-03-01", "until": "2026-03-05"}
    assert found(db, "", **march) == [inside, spanning, still_open]
    assert found(db, "", since="2026-03-10") == [after, still_open]
    assert found(db, "", until="2026-02-20") == [before, still_open]
    assert before not in found(db, "", since="2026-02-25")


def test_dates_are_days_in_the_agency_time_zone(db: Database, routing: Routing) -> None:
    # 03:00 UTC on 2 March is still 1 March in Chicago.
    late = make_incident(db, routing, "Late evening", at=datetime(2026, 3, 2, 3, 0, tzinfo=UTC))
    where = archive.parse_filter(since="2026-03-01", until="2026-03-01")
    with db.read() as session:
        chicago = archive.archive_page(session, where, page=1, zone=ZoneInfo("America/Chicago"))
        utc = archive.archive_page(session, where, page=1, zone=UTC_ZONE)
    assert [e.slug for e in chicago.entries] == [late] and utc.entries == []


def test_bad_filters_are_named_not_guessed(client: TestClient) -> None:
    response = client.get("/archive?from=2026-03-05&to=2026-03-01&q=" + "x" * 201)
    assert response.status_code == 400
    message = text(element(response.text, "archive-results"))
    assert "To must not be before the first day" in message
    assert "Search is 201 characters; the limit is 200" in message
    refused = client.get("/archive?from=yesterday&to=2026-02-30")
    assert refused.status_code == 400
    # a date field echoes only a real date: browsers drop any other value, and it is invalid HTML
    assert '<input id="from" name="from" type="date" value="">' in refused.text
    assert '<input id="to" name="to" type="date" value="">' in refused.text
    kept = client.get("/archive?from=2026-03-01&category=nonsense").text
    assert '<input id="from" name="from" type="date" value="2026-03-01">' in kept
    with pytest.raises(InvalidInput) as problem:
        archive.parse_filter(since="2026-02-30")
    assert problem.value.fields == {"from": "must be a date written YYYY-MM-DD"}


@pytest.fixture
def searchable(db: Database, routing: Routing) -> dict[str, str]:
    day = timedelta(days=1)
    return {
        "gas": make_incident(db, routing, "Gas leak", at=T0, body="Residents of Elm Street evacuated."),
        "fire": make_incident(db, routing, "House fire", at=T0 + day, body="Firefighters closed 5th Ave."),
        "flood": make_incident(db, routing, "Flooding", at=T0 + 2 * day, body="Evacuation of the riverside."),
        "drill": make_incident(db, routing, "Exercise", at=T0 + 3 * day, body="A drill at the stadium."),
    }


def test_search_words_phrases_exclusion_and_alternatives(db: Database, searchable: dict[str, str]) -> None:
    gas, fire, flood, drill = (searchable[k] for k in ("gas", "fire", "flood", "drill"))
    assert found(db, "evacuated") == [flood, gas], "stemmed: evacuated finds evacuation"
    assert found(db, "elm evacuated") == [gas], "every word must appear"
    assert found(db, "ELM street") == [gas], "any case"
    assert found(db, '"elm street"') == [gas]
    assert found(db, '"street elm"') == [], "a phrase keeps its order"
    assert found(db, "evacuation -riverside") == [gas]
    assert found(db, "stadium or firefighters") == [drill, fire]
    assert found(db, "5th-ave") == [fire]
    assert found(db, "house") == [fire], "titles are searched"
    assert found(db, "nothing-like-this") == []


def test_search_input_is_never_a_syntax_error(db: Database, searchable: dict[str, str]) -> None:
    for query in [
        '"',
        'elm "street',
        "NEAR(elm street)",
        "elm AND",
        "elm*",
        "title:elm",
        "(elm",
        "-",
        "or",
        "'; --",
    ]:
        assert isinstance(found(db, query), list), query
    assert found(db, "elm*") == [searchable["gas"]]
    # nothing searchable: no search, so everything
    assert len(found(db, "!!! ???")) == 4


def test_search_sees_a_correction_the_moment_it_is_published(db: Database, routing: Routing) -> None:
    slug = make_incident(db, routing, "Road closure", at=T0, body="Main St is closed.")
    with db.read() as session:
        [update] = incident_record(session, slug, internal=False)["updates"]
    with db.write() as session:
        correct_update(
            session,
            PIO,
            update["id"],
            Draft(body="Maple Ave is closed."),
            reason="Wrong road",
            corrects_version=1,
            routing=routing,
        )
    assert found(db, "maple") == [slug]
    assert found(db, "main") == [slug], "what it said before stays in the record, and searchable"
    assert found(db, '"wrong road"') == [slug], "so does the reason"


def test_a_rolled_back_publication_leaves_nothing_in_the_index(db: Database, routing: Routing) -> None:
    slug = make_incident(db, routing, "Road closure", at=T0)
    with pytest.raises(RuntimeError), db.write() as session:
        publish_update(session, PIO, slug, Draft(body="Zebra crossing blocked."), routing=routing)
        raise RuntimeError("the transaction fails after the insert")
    assert found(db, "zebra") == []


def test_search_filters_and_pages_combine(db: Database, routing: Routing, client: TestClient) -> None:
    for n in range(27):
        make_incident(
            db, routing, f"Storm {n}", at=T0 + timedelta(hours=n), category="Met", body="Trees down."
        )
    make_incident(db, routing, "Storm in a teacup", at=T0, category="Other", body="Trees down.")
    first = client.get("/archive?q=trees&category=met&from=2026-03-01")
    assert "27 incidents match; showing 1–25." in text(first.text)
    assert 'href="/archive?q=trees&amp;category=met&amp;from=2026-03-01&amp;page=2"' in first.text
    second = client.get("/archive?q=trees&category=met&from=2026-03-01&page=2")
    assert slugs_on(second.text) == ["storm-1", "storm-0"]
    assert 'value="trees"' in second.text


def test_htmx_gets_only_the_results(db: Database, routing: Routing, client: TestClient) -> None:
    slug = make_incident(db, routing, "Gas leak", at=T0)
    fragment = client.get("/archive?q=gas", headers={"HX-Request": "true", "HX-Target": "archive-results"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section id="archive-results"') and "<html" not in fragment.text
    assert slugs_on(fragment.text) == [slug]
    mistake = client.get("/archive?from=nope", headers={"HX-Request": "true", "HX-Target": "archive-results"})
    assert mistake.status_code == 200 and "Open from must be a date" in text(mistake.text)
    assert fragment.headers["vary"] == "HX-Request, HX-Target"


def test_the_archive_publishes_the_audit_chain_head(
    db: Database, routing: Routing, client: TestClient
) -> None:
    publish_history(db, routing)
    with db.read() as session:
        seq, digest = chain_head(session)
    page = client.get("/archive").text
    assert text(element(page, "audit-head-title")) == "Audit chain head"
    assert f"event {seq}, hash {digest}" in text(page)
    assert f"console audit verify --against {digest}" in text(page)


def test_the_query_language_parses_to_quoted_phrases() -> None:
    terms = search.parse('elm "5th ave" -oak fire OR smoke')
    assert terms.groups == (("elm",), ("5th ave",), ("fire", "smoke"))
    assert terms.excluded == ("oak",)
    assert search.fts5_expression(terms) == ('("elm") AND ("5th ave") AND ("fire" OR "smoke")', '"oak"')
    assert search.websearch_text(terms) == '"elm" "5th ave" "fire" or "smoke" -"oak"'
    assert search.parse("!!!").empty and search.parse("").empty
    assert search.parse("-oak").groups == () and search.parse("-oak").excluded == ("oak",)


def make_old_incident(db: Database, title: str, *, at: datetime, body: str) -> str:
    """An incident with one update, written as the first schema holds them: only the columns it
    had (later migrations add some, e.g. signatures and rumor events)."""
    slug = "old-incident"
    with db.write() as session:
        incident_id = session.execute(
            insert(Incident.__table__)
            .values(
                slug=slug,
                title=title,
                summary="",
                location="",
                category="Other",
                status="active",
                alert_status="actual",
                created_at=at,
                updated_at=at,
            )
            .returning(Incident.__table__.c.id)
        ).scalar_one()
        update_id = session.execute(
            insert(Update.__table__)
            .values(incident_id=incident_id, seq=1, created_at=at)
            .returning(Update.__table__.c.id)
        ).scalar_one()
        version = UpdateVersion(
            version=1,
            kind=VersionKind.ORIGINAL,
            headline=None,
            body=body,
            preliminary=True,
            reason=None,
            author_name=PIO.name,
            published_at=at,
        )
        session.execute(
            insert(UpdateVersion.__table__).values(
                update_id=update_id,
                version=1,
                kind="original",
                headline=None,
                body=body,
                preliminary=True,
                reason=None,
                author_id=None,
                author_name=PIO.name,
                published_at=at,
                content_hash=content_hash(slug, 1, version),
            )
        )
        return slug


def test_upgrading_an_existing_database_indexes_what_was_already_published(
    db: Database, routing: Routing
) -> None:
    config = alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    slug = make_old_incident(db, "Old incident", at=T0, body="Published before the archive existed.")
    upgrade(db)
    assert found(db, "existed") == [slug]
    assert found(db, "old") == [slug]


def test_day_bounds_cover_whole_local_days() -> None:
    start, end = archive.day_bounds(date(2026, 3, 8), date(2026, 3, 8), ZoneInfo("America/New_York"))
    assert start is not None and end is not None
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23), "daylight saving begins"

"""A published CAP file never changes: a translation added later is a new CAP message (a
revision of its version: msgType Update, new identifier and `sent`, referencing every earlier
message), the CAP index moves its entry's `updated`, and `console feeds rebuild` leaves every
CAP file byte for byte as it was. Each step is checked signed (xmlsec1 verifies every file),
against the OASIS schema, and read by a third-party CAP library (cap-tools) from the index."""

from __future__ import annotations

import dataclasses
import hashlib

import feedparser
import pytest
from cap_tools.models import Alert, Reference
from lxml import etree
from xsdata.formats.dataclass.parsers import XmlParser

from console.cli import main
from console.db import Database
from console.domain.incident_details import DetailsDraft, change_details
from console.domain.incidents import get_incident
from console.domain.outbox import Routing
from console.feeds.paths import CAP_INDEX
from console.feeds.writer import FeedFiles
from console.settings import Settings
from tests.conftest import PIO
from tests.feeds.conftest import (
    CAP_NS,
    at,
    cap_text,
    confirm,
    correct,
    drain,
    make_incident,
    publish,
    retract,
    valid_cap,
)
from tests.feeds.test_cap_signing import signing, xmlsec1_verify  # noqa: F401 (the signing fixture)
from tests.feeds.test_languages import LANGUAGES, publish_translated, translate

CAP = {"cap": CAP_NS}
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, languages=LANGUAGES.tags)


def cap_files(settings: Settings) -> dict[str, str]:
    """Every CAP file under FEEDS_DIR by name, as the SHA-256 of its bytes."""
    return {
        path.relative_to(settings.feeds_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in settings.feeds_dir.glob("incidents/*/cap/*.xml")
    }


def inline_alerts(settings: Settings) -> list[tuple[feedparser.FeedParserDict, bytes]]:
    """Each entry of /feeds/cap.atom with its inline alert as a document of its own."""
    content = CAP_INDEX.file_in(settings.feeds_dir).read_bytes()
    feed = feedparser.parse(content)
    assert not feed.bozo
    alerts = []
    for element in etree.fromstring(content).iter(f"{ATOM}entry"):
        [inline] = element.findall(f"{ATOM}content")
        assert inline.get("type") == "application/cap+xml"
        [alert] = inline
        alerts.append(etree.tostring(alert, encoding="UTF-8", xml_declaration=True))
    return list(zip(feed.entries, alerts, strict=True))


@pytest.mark.slow  # xmlsec1 checks every file
def test_published_cap_files_never_change_and_a_later_translation_is_a_new_message(
    signing: Settings,  # noqa: F811 (the fixture)
    db: Database,
    routing: Routing,
    cap_schema: etree.XMLSchema,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert signing.cap_signing_cert is not None
    slug = make_incident(db, routing, "Gas leak", minute=0)
    first = publish_translated(db, routing, slug, "Evacuate Oak St.", "Evacúen la calle Oak.", minute=1)
    steps = [
        ("translate", lambda: translate(db, routing, first, 1, "Sơ tán đường Oak.", minute=2, lang="vi")),
        ("fix a translation", lambda: translate(db, routing, first, 1, "Evacúen calle Oak.", minute=3)),
        ("correct", lambda: correct(db, routing, first, "Evacuate Elm St.", "Wrong street", 1, minute=4)),
        ("translate", lambda: translate(db, routing, first, 2, "Evacúen la calle Elm.", minute=5)),
        ("confirm", lambda: confirm(db, routing, first, corrects=2, minute=6)),
        ("retract", lambda: retract(db, routing, first, "Sent in error", minute=7)),
        ("translate", lambda: translate(db, routing, first, 4, "Retirado.", minute=8)),
    ]
    drain(signing, db)
    seen = cap_files(signing)
    assert list(seen) == [f"incidents/{slug}/cap/1-1.xml"]
    order = list(seen)  # the files in the order they were published
    parser = XmlParser()
    [(_, alert)] = inline_alerts(signing)
    read = [parser.from_bytes(alert, Alert)]
    for name, step in steps:
        step()
        drain(signing, db)
        now = cap_files(signing)
        assert {file: now[file] for file in seen} == seen, f"{name}: a published CAP file changed"
        [new] = set(now) - set(seen)
        order.append(new)
        seen = now
        path = signing.feeds_dir / new
        root = valid_cap(cap_schema, path.read_bytes())
        done = xmlsec1_verify(path, signing.cap_signing_cert)
        assert done.returncode == 0 and "OK" in done.stdout + done.stderr, done.stderr

        # the index lists the new message (inline and linked) with `updated` at its `sent`
        [(entry, alert)] = inline_alerts(signing)
        assert entry.link == f"{signing.public_url}/{new}"
        assert entry.updated.startswith(cap_text(root, "cap:sent").removesuffix("-00:00"))
        parsed = parser.from_bytes(alert, Alert)  # a third-party CAP library reads the inline alert
        assert parsed.identifier == cap_text(root, "cap:identifier")
        assert parsed.msg_type.value == cap_text(root, "cap:msgType")
        assert parsed.references_to_list() == [Reference.from_alert(earlier) for earlier in read]
        read.append(parsed)

    names = [name.rsplit("/", 1)[1] for name in order]
    assert names == [
        "1-1.xml",
        "1-1-r1.xml",
        "1-1-r2.xml",
        "1-2.xml",
        "1-2-r1.xml",
        "1-3.xml",
        "1-4.xml",
        "1-4-r1.xml",
    ]
    messages = [valid_cap(cap_schema, (signing.feeds_dir / name).read_bytes()) for name in order]
    assert [cap_text(m, "cap:msgType") for m in messages] == [
        "Alert", "Update", "Update", "Update", "Update", "Update", "Cancel", "Cancel",
    ]  # fmt: skip
    assert [[cap_text(i, "cap:language") for i in m.findall("cap:info", CAP)] for m in messages] == [
        ["en-US", "es"],  # published with its Spanish translation
        ["en-US", "es", "vi"],
        ["en-US", "es", "vi"],  # the fixed Spanish text
        ["en-US"],  # the correction: its translations are not written yet
        ["en-US", "es"],
        ["en-US"],
        ["en-US"],
        ["en-US", "es"],
    ]
    assert cap_text(messages[2], "cap:info[2]/cap:description") == "Evacúen calle Oak."
    identifiers = [cap_text(m, "cap:identifier") for m in messages]
    assert len(set(identifiers)) == len(identifiers)
    assert identifiers[1] == f"{slug}-update-1-v1-r1"
    sent = [cap_text(m, "cap:sent") for m in messages]
    assert sent == [at(minute).strftime("%Y-%m-%dT%H:%M:%S-00:00") for minute in (1, 2, 3, 4, 5, 6, 7, 8)]
    for count, current in enumerate(messages[1:], start=1):
        triples = [
            ",".join(cap_text(m, f"cap:{field}") for field in ("sender", "identifier", "sent"))
            for m in messages[:count]
        ]
        assert cap_text(current, "cap:references") == " ".join(triples), "every earlier message, in order"

    # a full rebuild, even of deleted feeds, leaves every CAP file as it was
    before = {name: (signing.feeds_dir / name).stat().st_mtime_ns for name in seen}
    (signing.feeds_dir / "feeds" / "updates.atom").unlink()
    monkeypatch.setenv("FEEDS_DIR", str(signing.feeds_dir))
    monkeypatch.setenv("LANGUAGES", ",".join(LANGUAGES.tags))
    assert main(["feeds", "rebuild"]) == 0
    assert "feeds rebuilt" in capsys.readouterr().out
    assert cap_files(signing) == seen
    assert {name: (signing.feeds_dir / name).stat().st_mtime_ns for name in seen} == before


def test_a_lost_cap_file_is_written_again_as_it_was(
    settings: Settings, db: Database, routing: Routing
) -> None:
    slug = make_incident(db, routing, "Gas leak", minute=0)
    first = publish_translated(db, routing, slug, "Evacuate Oak St.", "Evacúen la calle Oak.", minute=1)
    translate(db, routing, first, 1, "Sơ tán đường Oak.", minute=2, lang="vi")
    drain(settings, db)
    published = cap_files(settings)
    for name in ("1-1.xml", "1-1-r1.xml"):
        (settings.feeds_dir / f"incidents/{slug}/cap/{name}").unlink()
    with db.read() as session:
        report = FeedFiles(settings).write_incident(session, get_incident(session, slug))
    assert [target.url_path for target in report.written][:2] == [
        f"/incidents/{slug}/cap/1-1.xml",
        f"/incidents/{slug}/cap/1-1-r1.xml",
    ]
    assert cap_files(settings) == published


def test_a_cap_message_states_the_incident_as_it_was_when_sent(
    settings: Settings, db: Database, routing: Routing
) -> None:
    """Written after a later details change (the outbox was behind), or again after its file
    was lost, a message carries the title, location, category and status it was sent under."""
    slug = make_incident(db, routing, "Gas leak", location="Elm St and 3rd", minute=0)
    first = publish_translated(db, routing, slug, "Evacuate Oak St.", "Evacúen la calle Oak.", minute=1)
    correct(db, routing, first, "Evacuate Oak St and Elm St.", "Elm St too", corrects=1, minute=2)
    with db.write() as session:
        change_details(
            session,
            PIO,
            slug,
            DetailsDraft(
                title="Gas main break",
                location="Elm St 3rd to 6th",
                category="Safety",
                alert_status="exercise",
            ),
            reason="Wider",
            corrects_version=1,
            routing=routing,
            now=at(3),
        )
    drain(settings, db)  # both versions' messages are written after the details changed
    names = [f"incidents/{slug}/cap/{name}" for name in ("1-1.xml", "1-2.xml")]
    for name in names:
        root = etree.fromstring((settings.feeds_dir / name).read_bytes())
        assert cap_text(root, "cap:status") == "Actual", name
        for info in root.iterfind("cap:info", CAP):
            assert info.findtext("cap:event", namespaces=CAP) == "Gas leak", name
            assert info.findtext("cap:category", namespaces=CAP) == "Fire", name
            assert info.findtext("cap:area/cap:areaDesc", namespaces=CAP) == "Elm St and 3rd", name
            assert "EXERCISE" not in (info.findtext("cap:headline", namespaces=CAP) or ""), name
    published = cap_files(settings)
    (settings.feeds_dir / names[0]).unlink()
    with db.read() as session:
        FeedFiles(settings).write_incident(session, get_incident(session, slug))
    assert cap_files(settings) == published

    publish(db, routing, slug, "Elm St is closed from 3rd to 6th.", minute=4)
    drain(settings, db)
    root = etree.fromstring((settings.feeds_dir / f"incidents/{slug}/cap/2-1.xml").read_bytes())
    assert cap_text(root, "cap:status") == "Exercise"
    info = root.find("cap:info", CAP)
    assert info is not None
    assert [info.findtext(f"cap:{name}", namespaces=CAP) for name in ("event", "category")] == [
        "Gas main break",
        "Safety",
    ]
    assert info.findtext("cap:area/cap:areaDesc", namespaces=CAP) == "Elm St 3rd to 6th"

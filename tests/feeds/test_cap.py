"""CAP 1.2: every message validates against the OASIS schema; Alert, then Updates that
reference every earlier message, a retraction a Cancel; the index lists what stands now."""

from __future__ import annotations

from dataclasses import replace

import feedparser
import pytest
from lxml import etree

from console.db import Database
from console.domain.outbox import Routing
from console.feeds.paths import CAP_INDEX, cap_message
from console.feeds.writer import FeedFiles
from console.settings import Settings, SettingsError
from tests.feeds.conftest import (
    CAP_NS,
    Sample,
    cap_text,
    confirm,
    make_incident,
    publish,
    render,
    retract,
    valid_cap,
)

NS = {"cap": CAP_NS}


def message(
    settings: Settings, db: Database, schema: etree.XMLSchema, slug: str, seq: int, version: int
) -> etree._Element:
    return valid_cap(schema, render(settings, db, cap_message(slug, seq, version)))


def triple(root: etree._Element) -> str:
    return ",".join(cap_text(root, f"cap:{field}") for field in ("sender", "identifier", "sent"))


def test_every_version_is_a_valid_message_with_the_right_type_and_references(
    settings: Settings, db: Database, sample: Sample, cap_schema: etree.XMLSchema
) -> None:
    versions = [message(settings, db, cap_schema, sample.slug, 1, n) for n in (1, 2, 3, 4)]
    assert [cap_text(m, "cap:msgType") for m in versions] == ["Alert", "Update", "Update", "Cancel"]
    assert [m.find("cap:references", NS) is None for m in versions] == [True, False, False, False]
    for n, current in enumerate(versions[1:], start=1):
        references = cap_text(current, "cap:references").split(" ")
        assert references == [triple(earlier) for earlier in versions[:n]], "every earlier message, in order"
    assert len({cap_text(m, "cap:identifier") for m in versions}) == 4
    assert {cap_text(m, "cap:sender") for m in versions} == {"127.0.0.1"}
    assert [cap_text(m, "cap:sent") for m in versions] == [
        "2026-03-14T09:31:15-00:00",
        "2026-03-14T09:32:15-00:00",
        "2026-03-14T09:33:15-00:00",
        "2026-03-14T09:35:15-00:00",
    ]
    assert [cap_text(m, "cap:info/cap:certainty") for m in versions] == [
        "Likely",  # preliminary
        "Likely",  # corrected, still preliminary
        "Observed",  # confirmed
        "Unlikely",  # withdrawn
    ]
    assert cap_text(versions[1], "cap:note") == "Correction: Wrong street"
    assert cap_text(versions[3], "cap:note") == "Retracted: Evacuation lifted by mistake"
    second = message(settings, db, cap_schema, sample.slug, 2, 1)
    assert cap_text(second, "cap:msgType") == "Alert" and second.find("cap:references", NS) is None


def test_the_info_block_carries_the_incident_and_the_words_of_the_version(
    settings: Settings, db: Database, sample: Sample, cap_schema: etree.XMLSchema
) -> None:
    root = message(settings, db, cap_schema, sample.slug, 1, 2)
    assert cap_text(root, "cap:status") == "Actual"
    assert cap_text(root, "cap:scope") == "Public"
    assert cap_text(root, "cap:incidents") == sample.slug
    info = {child.tag.split("}")[1]: child.text for child in root.find("cap:info", NS) if len(child) == 0}
    assert info == {
        "language": "en-US",
        "category": "Fire",
        "event": "Gas leak",
        "urgency": "Unknown",
        "severity": "Unknown",
        "certainty": "Likely",
        "senderName": settings.agency_name,  # whose alert this is (issue 18)
        "headline": "CORRECTION: PRELIMINARY: Evacuate Elm St.",
        "description": "Correction: Wrong street\n\nEvacuate Elm St.",
        "web": f"{settings.public_url}/incidents/{sample.slug}#update-1",
        "contact": settings.agency_contact,
    }
    assert cap_text(root, "cap:info/cap:area/cap:areaDesc") == "Elm St and 3rd Ave"


def test_a_headline_too_long_for_the_cap_headline_is_whole_in_the_description(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    slug = make_incident(db, routing, "Storm")
    long = "Shelters are open at Lincoln High and Roosevelt Middle; " * 3 + "pets are welcome at both."
    publish(db, routing, slug, "Bring blankets.", headline=long)
    publish(db, routing, slug, "Bring water.", headline="Shelters open", minute=2)
    cut, short = (message(settings, db, cap_schema, slug, seq, 1) for seq in (1, 2))
    assert cap_text(cut, "cap:info/cap:headline").endswith("…")
    assert cap_text(cut, "cap:info/cap:description") == f"{long}\n\nBring blankets."
    # A headline the CAP headline holds whole is not said twice.
    assert cap_text(short, "cap:info/cap:description") == "Bring water."


def test_exercise_and_test_incidents_say_so_in_the_status(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    for alert_status, expected in (("exercise", "Exercise"), ("test", "Test"), (None, "Actual")):
        slug = make_incident(db, routing, f"Drill {alert_status}", alert_status=alert_status)
        publish(db, routing, slug, "Siren test at noon.")
        root = message(settings, db, cap_schema, slug, 1, 1)
        assert cap_text(root, "cap:status") == expected


def test_a_message_without_a_location_has_no_area_and_is_still_valid(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    slug = make_incident(db, routing, "Phone outage", location="")
    update = publish(db, routing, slug, "911 lines are down; call 555-0100.")
    confirm(db, routing, update, corrects=1, minute=2)
    root = message(settings, db, cap_schema, slug, 1, 2)
    assert root.find("cap:info/cap:area", NS) is None
    assert cap_text(root, "cap:info/cap:certainty") == "Observed"


def test_the_sender_setting_is_used_and_checked(
    settings: Settings, db: Database, sample: Sample, cap_schema: etree.XMLSchema
) -> None:
    agency = replace(settings, cap_sender="pio@riverside-pd.example.gov")
    root = valid_cap(cap_schema, render(agency, db, cap_message(sample.slug, 1, 2)))
    assert cap_text(root, "cap:sender") == "pio@riverside-pd.example.gov"
    assert cap_text(root, "cap:references").startswith("pio@riverside-pd.example.gov,gas-leak-update-1-v1,")
    for bad in ("riverside pd", "a,b", "a<b", "a&b", ""):
        with pytest.raises(SettingsError, match="CAP_SENDER"):
            replace(settings, cap_sender=bad)
    assert Settings.from_environ(
        {"CAP_SENDER": "", "PUBLIC_URL": "https://pd.example.org:8443"}
    ).cap_sender_id == ("pd.example.org")


MARKUP = "<alert><info>x</info></alert> & <script>alert(1)</script>"


def test_markup_in_every_text_field_stays_text(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    slug = make_incident(db, routing, f"Title {MARKUP}", location=f"Place {MARKUP}")
    update = publish(db, routing, slug, f"Body {MARKUP}", headline=f"Head {MARKUP}")
    retract(db, routing, update, f"Reason {MARKUP}", minute=2)
    root = message(settings, db, cap_schema, slug, 1, 2)
    assert len(root.findall(".//cap:alert", NS)) == 0 and len(root.findall("cap:info", NS)) == 1
    assert cap_text(root, "cap:info/cap:event") == f"Title {MARKUP}"
    assert cap_text(root, "cap:info/cap:headline") == f"RETRACTED: Head {MARKUP}"
    assert (
        cap_text(root, "cap:info/cap:description")
        == f"Retracted: Reason {MARKUP}\n\nWithdrawn text: Body {MARKUP}"
    )
    assert cap_text(root, "cap:info/cap:area/cap:areaDesc") == f"Place {MARKUP}"
    assert cap_text(root, "cap:note") == f"Retracted: Reason {MARKUP}"


def test_unknown_updates_and_versions_are_not_found(settings: Settings, db: Database, sample: Sample) -> None:
    from console.domain.errors import NotFound

    for seq, version in ((1, 5), (3, 1), (0, 1)):
        with pytest.raises(NotFound), db.read() as session:
            FeedFiles(settings).render(session, cap_message(sample.slug, seq, version))


def test_the_cap_index_lists_the_current_message_of_each_update(
    settings: Settings, db: Database, sample: Sample, cap_schema: etree.XMLSchema
) -> None:
    content = render(settings, db, CAP_INDEX)
    feed = feedparser.parse(content)
    assert not feed.bozo
    atom = "{http://www.w3.org/2005/Atom}"
    index = etree.fromstring(content)
    base = settings.public_url
    assert [(e.title, e.link) for e in feed.entries] == [
        ("5th St closed.", f"{base}/incidents/{sample.other_slug}/cap/1-1.xml"),
        ("RETRACTED: Evacuate Elm St.", f"{base}/incidents/{sample.slug}/cap/1-4.xml"),
        ("PRELIMINARY: Road closed at 3rd Ave.", f"{base}/incidents/{sample.slug}/cap/2-1.xml"),
    ]
    typed = [
        [link.get("href") for link in entry.iter(f"{atom}link") if link.get("type") == "application/cap+xml"]
        for entry in index.iter(f"{atom}entry")
    ]
    assert typed == [[entry.link] for entry in feed.entries], "a typed link to the CAP file"
    for entry, element in zip(feed.entries, index.iter(f"{atom}entry"), strict=True):
        path = entry.link.removeprefix(base)
        slug, name = path.split("/")[2], path.rsplit("/", 1)[1].removesuffix(".xml")
        seq, version = (int(part) for part in name.split("-"))
        root = message(settings, db, cap_schema, slug, seq, version)
        assert entry.title == cap_text(root, "cap:info/cap:headline")
        [inline] = element.findall(f"{atom}content")
        assert inline.get("type") == "application/cap+xml" and inline.get("src") is None
        [alert] = inline
        cap_schema.assertValid(alert)
        standalone = etree.fromstring(etree.tostring(alert))
        assert etree.tostring(standalone, method="c14n") == etree.tostring(root, method="c14n"), (
            "the alert inline is the published message"
        )
    assert feed.entries[1].summary == "CAP Cancel (Actual): Gas leak"

"""An incident's CAP defaults in its updates' CAP messages (issue 17): a new update carries
them in `<info>` where it sets none of its own, valid against the OASIS schema, and its CAP
message stays byte for byte the same when the defaults change afterwards."""

from __future__ import annotations

from cap_tools.models import Alert
from lxml import etree
from xsdata.formats.dataclass.parsers import XmlParser

from console.db import Database
from console.domain.alerting import Alerting
from console.domain.incident_details import DetailsDraft, change_details
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from console.feeds.paths import cap_message
from console.settings import Settings
from tests.conftest import PIO
from tests.feeds.conftest import CAP_NS, at, render, valid_cap
from tests.feeds.test_cap_alerting import info_fields

CAP = {"cap": CAP_NS}
DEFAULTS = {
    "urgency": "Immediate",
    "severity": "Severe",
    "certainty": "Observed",
    "response_types": ["Evacuate", "Avoid"],
    "event": "Gas leak",
}


def test_an_update_carries_the_incidents_defaults_in_info_and_keeps_them(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    with db.write() as session:
        incident, _ = create_incident(
            session,
            PIO,
            IncidentDraft(title="Odor downtown", location="Elm St", cap_defaults=DEFAULTS),
            routing=routing,
            now=at(0),
        )
        slug = incident.slug
        publish_update(
            session,
            PIO,
            slug,
            Draft(body="Leave downtown now."),
            routing=routing,
            alerting=Alerting(severity="Extreme", instruction="Leave by Oak St."),  # its own wins
            now=at(1),
        )
    xml = render(settings, db, cap_message(slug, 1, 1))
    root = valid_cap(cap_schema, xml)  # the schema checks <info>'s elements and their order
    info = root.find("cap:info", CAP)
    assert info is not None
    fields = dict(info_fields(info))
    assert (fields["event"], fields["urgency"], fields["severity"], fields["certainty"]) == (
        "Gas leak",
        "Immediate",
        "Extreme",
        "Observed",
    )
    assert [r.text for r in info.iterfind("cap:responseType", CAP)] == ["Evacuate", "Avoid"]
    assert fields["instruction"] == "Leave by Oak St." and "expires" not in fields
    parsed = XmlParser().from_bytes(xml, Alert)  # a third-party CAP library reads them
    assert [r.value for r in parsed.infos[0].response_types] == ["Evacuate", "Avoid"]
    assert parsed.infos[0].urgency.value == "Immediate"

    with db.write() as session:
        change_details(
            session,
            PIO,
            slug,
            DetailsDraft(cap_defaults={"urgency": "Past", "severity": "Minor"}),
            reason="Leak stopped",
            corrects_version=1,
            routing=routing,
            now=at(2),
        )
    assert render(settings, db, cap_message(slug, 1, 1)) == xml  # published: never changes

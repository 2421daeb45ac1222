"""Images in the feeds (issue 18): Atom enclosures, RSS's one enclosure, the entry HTML, and a
CAP `<resource>` per image (after `<contact>`, before `<area>`), valid against the OASIS schema."""

from __future__ import annotations

import hashlib

import feedparser
from lxml import etree

from console.db import Database
from console.domain.media import MediaDraft
from console.domain.outbox import Routing
from console.domain.updates import Draft, publish_update
from console.feeds.paths import cap_message, incident_atom, incident_rss
from console.settings import Settings
from tests.conftest import PIO
from tests.feeds.conftest import CAP_NS, at, make_incident, publish, render, valid_cap
from tests.support.images import photo_with_gps, png
from tests.support.media import store_upload

NS = {"cap": CAP_NS}


def test_images_are_enclosures_and_cap_resources(
    settings: Settings, db: Database, routing: Routing, cap_schema: etree.XMLSchema
) -> None:
    slug = make_incident(db, routing, "Bridge fire")
    photo_id, photo = store_upload(db, settings, photo_with_gps(), "image/jpeg")
    map_id, map_png = store_upload(db, settings, png(), "image/png")
    with db.write() as session:
        publish_update(
            session,
            PIO,
            slug,
            Draft(
                body="Smoke over the bridge.",
                media=(
                    MediaDraft(photo_id, "Smoke over the bridge"),
                    MediaDraft(map_id, "Map <of> closures"),
                ),
            ),
            routing=routing,
            now=at(1),
        )
    publish(db, routing, slug, "No images here.", minute=2)
    photo_url = f"{settings.public_url}/media/{hashlib.sha256(photo).hexdigest()}.jpg"
    map_url = f"{settings.public_url}/media/{hashlib.sha256(map_png).hexdigest()}.png"

    atom = feedparser.parse(render(settings, db, incident_atom(slug)))
    with_images, without = sorted(atom.entries, key=lambda e: e.published)
    enclosures = [
        (link.href, link.type, link.length) for link in with_images.links if link.rel == "enclosure"
    ]
    assert enclosures == [
        (photo_url, "image/jpeg", str(len(photo))),
        (map_url, "image/png", str(len(map_png))),
    ]
    assert 'alt="Map &lt;of&gt; closures"' in with_images.content[0].value
    assert not [link for link in without.links if link.rel == "enclosure"]

    rss = etree.fromstring(render(settings, db, incident_rss(slug)))
    (enclosure,) = rss.iterfind(".//item/enclosure")  # RSS 2.0: one per item, the first image
    assert dict(enclosure.attrib) == {"url": photo_url, "length": str(len(photo)), "type": "image/jpeg"}

    root = valid_cap(cap_schema, render(settings, db, cap_message(slug, 1, 1)))
    info = root.find("cap:info", NS)
    assert info is not None
    names = [etree.QName(child).localname for child in info]
    assert names.index("contact") < names.index("resource") < names.index("area")
    resources = [
        {etree.QName(part).localname: part.text for part in resource}
        for resource in info.iterfind("cap:resource", NS)
    ]
    assert resources == [
        {
            "resourceDesc": "Smoke over the bridge",
            "mimeType": "image/jpeg",
            "size": str(len(photo)),
            "uri": photo_url,
            "digest": hashlib.sha1(photo).hexdigest(),
        },
        {
            "resourceDesc": "Map <of> closures",
            "mimeType": "image/png",
            "size": str(len(map_png)),
            "uri": map_url,
            "digest": hashlib.sha1(map_png).hexdigest(),
        },
    ]
    plain = valid_cap(cap_schema, render(settings, db, cap_message(slug, 2, 1)))
    assert plain.find("cap:info/cap:resource", NS) is None

"""The compose form's images (issue 18): POST /console/media (htmx, CSRF in the header) answers
the fields that attach the image; review refuses an image without alt text; publishing
publishes the image with it."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from console.db import Database
from console.domain.incidents import IncidentDraft, create_incident
from console.domain.outbox import Routing
from console.media_models import MediaFile, VersionMedia
from tests.conftest import PIO
from tests.support.images import photo_with_gps
from tests.web.staff.conftest import email_of, row_counts, sign_in

HTMX = {"HX-Request": "true"}
IMAGE = {"file": ("IMG_0001.jpg", photo_with_gps(), "image/jpeg")}


@pytest.fixture
def incident(db: Database, routing: Routing, people: dict[str, int]) -> str:
    with db.write() as session:
        made, _ = create_incident(session, PIO, IncidentDraft(title="Bridge fire"), routing=routing)
        return made.slug


def test_upload_review_and_publish_an_image_with_alt_text(
    client: TestClient, db: Database, incident: str
) -> None:
    token = sign_in(client, email_of("pio"))
    page = client.get(f"/console/incidents/{incident}").text
    assert 'id="compose-upload"' in page and 'data-hx-encoding="multipart/form-data"' in page
    uploaded = client.post("/console/media", files=IMAGE, headers={**HTMX, "X-CSRF-Token": token})
    assert uploaded.status_code == 200, uploaded.text
    with db.read() as session:
        media = session.query(MediaFile).filter(MediaFile.variant_of_id.is_(None)).one()
    assert f'name="media_id" value="{media.id}"' in uploaded.text
    url = f"/media/{media.sha256}.jpg"
    assert f'value="{url}"' in uploaded.text and 'name="media_alt"' in uploaded.text

    form = {"body": "Smoke.", "media_id": str(media.id), "media_url": url, "csrf_token": token}
    before = row_counts(db)
    no_alt = client.post(f"/console/incidents/{incident}/updates", data={**form, "step": "review"})
    assert no_alt.status_code == 422 and "Alt text is required" in no_alt.text
    with_alt = {**form, "media_alt": "Smoke above the bridge"}
    review = client.post(f"/console/incidents/{incident}/updates", data={**with_alt, "step": "review"})
    assert review.status_code == 200 and "Check before publishing" in review.text
    assert 'type="hidden" name="media_alt" value="Smoke above the bridge"' in review.text
    assert row_counts(db) == before
    done = client.post(
        f"/console/incidents/{incident}/updates", data={**with_alt, "step": "publish"}, follow_redirects=False
    )
    assert done.status_code == 303
    with db.read() as session:
        [attached] = session.query(VersionMedia).all()
        assert (attached.media_id, attached.alt, attached.position) == (media.id, "Smoke above the bridge", 0)


def test_a_bad_upload_is_explained_in_the_form(client: TestClient, db: Database, incident: str) -> None:
    token = sign_in(client, email_of("pio"))
    headers = {**HTMX, "X-CSRF-Token": token}
    bad = client.post(
        "/console/media", files={"file": ("x.jpg", b"not a jpeg", "image/jpeg")}, headers=headers
    )
    assert bad.status_code == 422 and "The image was not added: is not a JPEG, PNG or WebP image" in bad.text
    no_token = client.post("/console/media", files=IMAGE, headers=HTMX)
    assert no_token.status_code in (400, 403)
    reviewer_token = sign_in(client, email_of("reviewer"))
    refused = client.post("/console/media", files=IMAGE, headers={**HTMX, "X-CSRF-Token": reviewer_token})
    assert refused.status_code == 403
    with db.read() as session:
        assert session.query(MediaFile).count() == 0

"""POST /api/v1/media and GET /media/{sha256}.{ext} through the app (issue 18)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from collections.abc import Iterator

import pytest
from PIL import Image
from sqlalchemy import func, select
from starlette.testclient import TestClient

from console.db import Database
from console.media_models import MediaFile
from console.models import AuditEvent
from console.settings import Settings
from console.web.app import create_app
from tests.support.factories import bearer, make_token
from tests.support.images import GPS_IFD, photo_with_gps, png

UPLOAD = "/api/v1/media"


@pytest.fixture
def pio(db: Database) -> dict[str, str]:
    return bearer(make_token(db, "pio"))


def upload(client: TestClient, headers: dict[str, str], data: bytes, content_type: str = "image/jpeg"):  # type: ignore[no-untyped-def]
    return client.post(UPLOAD, files={"file": ("photo.jpg", data, content_type)}, headers=headers)


def test_a_photo_with_gps_is_stored_and_served_without_it(
    client: TestClient, pio: dict[str, str], settings: Settings, db: Database
) -> None:
    response = upload(client, pio, photo_with_gps(1200, 800))
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) >= {"id", "width", "height", "sha256"}
    assert (body["width"], body["height"]) == (800, 1200)  # EXIF orientation applied
    assert body["url"] == f"/media/{body['sha256']}.jpg" == response.headers["location"]

    served = client.get(body["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert hashlib.sha256(served.content).hexdigest() == body["sha256"]
    image = Image.open(io.BytesIO(served.content))
    assert not image.getexif().get_ifd(GPS_IFD) and b"Exif" not in served.content
    assert (settings.media_dir / f"{body['sha256']}.jpg").read_bytes() == served.content

    with db.read() as session:
        rows = list(session.scalars(select(MediaFile).order_by(MediaFile.id)))
        assert [(row.width, row.variant_of_id) for row in rows] == [(800, None), (480, body["id"])]
        assert (
            session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "media.uploaded")
            )
            == 1
        )
    variant = rows[1]
    assert client.get(f"/media/{variant.sha256}.jpg").status_code == 200

    again = upload(client, pio, photo_with_gps(1200, 800))
    assert again.status_code == 201 and again.json()["id"] == body["id"]  # one file, one row


def test_png_is_served_as_png(client: TestClient, pio: dict[str, str]) -> None:
    body = upload(client, pio, png(), "image/png").json()
    served = client.get(f"/media/{body['sha256']}.png")
    assert served.headers["content-type"] == "image/png"
    assert client.head(f"/media/{body['sha256']}.png").status_code == 200


@pytest.mark.parametrize(
    ("data", "content_type", "problem"),
    [
        (b"\xff\xd8\xff\xe0 truncated", "image/jpeg", "damaged"),
        (b"MZ\x90\x00 an executable", "image/png", "is not a JPEG, PNG or WebP image"),
        (png(), "image/jpeg", "is labelled image/jpeg but is image/png"),
        (png(), "application/octet-stream", "must be image/jpeg, image/png or image/webp"),
    ],
    ids=["corrupt", "not an image", "mislabelled", "unknown type"],
)
def test_bad_files_are_a_422_naming_the_file_and_store_nothing(
    client: TestClient, pio: dict[str, str], settings: Settings, data: bytes, content_type: str, problem: str
) -> None:
    response = upload(client, pio, data, content_type)
    assert response.status_code == 422, response.text
    assert problem in response.json()["error"]["fields"]["file"]
    assert not settings.media_dir.exists() or not any(settings.media_dir.iterdir())


def test_a_decompression_bomb_is_a_422(client: TestClient, pio: dict[str, str]) -> None:
    out = io.BytesIO()
    Image.new("1", (9000, 9000)).save(out, "PNG")
    response = upload(client, pio, out.getvalue(), "image/png")
    assert response.status_code == 422
    assert "pixels" in response.json()["error"]["fields"]["file"]


def test_the_form_must_hold_one_file_field(client: TestClient, pio: dict[str, str]) -> None:
    missing = client.post(UPLOAD, files={"other": ("x.png", png(), "image/png")}, headers=pio)
    assert missing.status_code == 422
    assert set(missing.json()["error"]["fields"]) == {"file", "other"}
    extra = client.post(UPLOAD, files={"file": ("x.png", png(), "image/png")}, data={"alt": "x"}, headers=pio)
    assert extra.status_code == 422 and set(extra.json()["error"]["fields"]) == {"alt"}
    as_json = client.post(UPLOAD, json={"file": "x"}, headers=pio)
    assert as_json.status_code == 415


@pytest.fixture
def small_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(dataclasses.replace(settings, media_max_bytes=20_000))) as test_client:
        yield test_client


def test_an_image_over_media_max_bytes_is_a_413_unread(small_client: TestClient, db: Database) -> None:
    headers = bearer(make_token(db, "pio"))
    big = photo_with_gps(3000, 2000)
    assert len(big) > 20_000 + 16 * 1024
    assert upload(small_client, headers, big).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
        yield b"Content-Type: image/jpeg\r\n\r\n"
        for _ in range(100):
            yield b"\xff" * 1000

    streamed = small_client.post(
        UPLOAD, content=chunks(), headers={**headers, "content-type": "multipart/form-data; boundary=b"}
    )
    assert streamed.status_code == 413
    # Just over MEDIA_MAX_BYTES but within the multipart allowance: still refused.
    over = photo_with_gps(600, 400) + b"\x00" * 20_000
    assert upload(small_client, headers, over).status_code == 413
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(MediaFile)) == 0


def test_only_pio_and_admin_upload(client: TestClient, db: Database) -> None:
    assert upload(client, {}, png(), "image/png").status_code == 401
    assert upload(client, bearer(make_token(db, "reviewer")), png(), "image/png").status_code == 403
    assert (
        upload(client, bearer(make_token(db, "admin", "admin@example.org")), png(), "image/png").status_code
        == 201
    )


@pytest.mark.parametrize(
    "name", ["0" * 64 + ".jpg", "../console.db", "abc.jpg", "0" * 64 + ".exe", ("A" * 64) + ".png"]
)
def test_unknown_and_malformed_names_are_404(client: TestClient, name: str) -> None:
    assert client.get(f"/media/{name}").status_code == 404

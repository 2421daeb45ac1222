"""Test images made with Pillow: a phone photo with GPS EXIF and a rotation, and others."""

from __future__ import annotations

import io

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112
# Orientation 6: the camera was turned; the pixels must be rotated 90° clockwise to stand up.
ROTATED = 6


def photo_with_gps(width: int = 1200, height: int = 800, *, orientation: int = ROTATED) -> bytes:
    """A JPEG with GPS coordinates, camera details and an orientation in its EXIF."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, width // 2, height // 2))  # top-left corner: blue
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 12"  # Model
    exif.get_ifd(GPS_IFD).update(
        {1: "N", 2: (40.0, 42.0, 46.0), 3: "W", 4: (74.0, 0.0, 21.0)}  # lat/lon refs and values
    )
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def png(width: int = 64, height: int = 48, *, mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height)).save(out, "PNG")
    return out.getvalue()


def webp(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (0, 128, 0)).save(out, "WEBP")
    return out.getvalue()


BOUNDARY = "test-boundary-7d3f"


def multipart(
    data: bytes, content_type: str, *, field: str = "file", filename: str = "photo"
) -> dict[str, object]:
    """Keyword arguments for a client request sending `data` as one multipart file part (as
    bytes, not streamed: schemathesis reads the request back)."""
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    return {"content": body, "headers": {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}}

"""Re-encoding uploads: metadata gone, orientation applied, bombs and damaged or mislabelled
files refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from console.media.images import MAX_PIXELS, VARIANT_WIDTHS, ImageRefused, reencode
from tests.support.images import GPS_IFD, photo_with_gps, png, webp


def test_a_photo_loses_its_gps_and_exif_and_stands_upright() -> None:
    sent = photo_with_gps(1200, 800)
    assert Image.open(io.BytesIO(sent)).getexif().get_ifd(GPS_IFD)  # the test photo has GPS

    stored = reencode(sent, "image/jpeg")

    out = Image.open(io.BytesIO(stored.original.data))
    assert out.format == "JPEG"
    assert dict(out.getexif()) == {} and "exif" not in out.info
    assert b"Exif" not in stored.original.data and b"PhoneMaker" not in stored.original.data
    # Orientation 6 applied: a landscape sensor image becomes portrait, and the blue corner
    # (top-left as the sensor saw it) is now top-right.
    assert (stored.original.width, stored.original.height) == (800, 1200) == out.size
    red, green, blue = out.convert("RGB").getpixel((790, 10))  # type: ignore[misc]
    assert blue > 150 and red < 100
    assert [variant.width for variant in stored.variants] == [480]  # 960 is wider than 800
    for variant in stored.variants:
        assert b"Exif" not in variant.data and variant.content_type == "image/jpeg"
        assert Image.open(io.BytesIO(variant.data)).size == (variant.width, variant.height)


def test_png_and_webp_keep_their_format_and_a_small_image_has_no_variants() -> None:
    for data, content_type, extension in ((png(), "image/png", "png"), (webp(), "image/webp", "webp")):
        stored = reencode(data, content_type)
        assert (stored.original.content_type, stored.original.extension) == (content_type, extension)
        assert (stored.original.width, stored.original.height) == (64, 48)
        assert stored.variants == ()
    assert min(VARIANT_WIDTHS) > 64


def test_png_text_chunks_are_dropped() -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Location", "40.7128 N, 74.0060 W")
    out = io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, "PNG", pnginfo=info)
    stored = reencode(out.getvalue(), "image/png")
    assert b"40.7128" not in stored.original.data


@pytest.mark.parametrize("factor", [1.2, 2.5], ids=["over the limit", "over twice the limit"])
def test_a_decompression_bomb_is_refused(factor: float) -> None:
    side = int((MAX_PIXELS * factor) ** 0.5)
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")  # a few KB that decode to MAX_PIXELS * factor
    assert len(out.getvalue()) < 1024 * 1024
    with pytest.raises(ImageRefused, match="pixels"):
        reencode(out.getvalue(), "image/png")


@pytest.mark.parametrize(
    ("data", "content_type", "problem"),
    [
        (b"not an image at all", "image/jpeg", "is not a JPEG, PNG or WebP image"),
        (photo_with_gps()[:2000], "image/jpeg", "damaged"),
        (png(), "image/jpeg", "is labelled image/jpeg but is image/png"),
        (photo_with_gps(), "image/webp", "is labelled image/webp but is image/jpeg"),
        (png(), "image/gif", "must be image/jpeg, image/png or image/webp"),
        (png(), "", "unlabelled"),
    ],
    ids=["garbage", "truncated", "png labelled jpeg", "jpeg labelled webp", "gif type", "no type"],
)
def test_damaged_and_mislabelled_files_are_refused(data: bytes, content_type: str, problem: str) -> None:
    with pytest.raises(ImageRefused, match=problem):
        reencode(data, content_type)


def test_a_gif_is_not_decoded_even_when_labelled_as_png() -> None:
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, "GIF")
    with pytest.raises(ImageRefused, match="is not a JPEG, PNG or WebP image"):
        reencode(out.getvalue(), "image/png")


def test_a_phone_photo_with_more_pictures_after_the_first_is_a_jpeg_of_the_first() -> None:
    """Some phones write MPO: a JPEG, then more pictures (a depth map, a preview). Its first
    picture is stored, as a plain JPEG without the others."""
    first = Image.new("RGB", (120, 80), (200, 30, 30))
    second = Image.new("RGB", (120, 80), (30, 30, 200))
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[second])
    sent = buffer.getvalue()
    assert Image.open(io.BytesIO(sent)).format == "MPO"

    stored = reencode(sent, "image/jpeg")

    out = Image.open(io.BytesIO(stored.original.data))
    assert out.format == "JPEG" and stored.original.content_type == "image/jpeg"
    assert getattr(out, "n_frames", 1) == 1 and out.size == (120, 80)
    red, green, blue = out.convert("RGB").getpixel((60, 40))  # type: ignore[misc]
    assert red > 150 and blue < 100  # the first picture, not the second

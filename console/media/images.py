"""Re-encoding an uploaded image (issue 18): what we store and serve is never the bytes we were
sent, but an image Pillow decoded and wrote again, so no metadata (EXIF, GPS, XMP, comments) and
no trailing payload survives. The camera's orientation is applied to the pixels first, and the
colours are converted to sRGB when the file carries an ICC profile.

Only JPEG, PNG and WebP are decoded (Pillow's other decoders are never tried), and an image
over MAX_PIXELS is refused before its pixels are read (a decompression bomb: a small file that
decodes to gigabytes).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

# 50 megapixels: above any phone camera's photo, and at 4 bytes a pixel 200 MB to decode.
MAX_PIXELS = 50_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own check, behind ours

# Pillow format name -> (content type, file extension).
FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
CONTENT_TYPES = {content_type: name for name, (content_type, _) in FORMATS.items()}
EXTENSIONS = {extension: content_type for content_type, extension in FORMATS.values()}
# Widths of the smaller copies the pages offer (srcset); one is made only when narrower.
VARIANT_WIDTHS = (480, 960)
JPEG_QUALITY = 85
WEBP_QUALITY = 85


class ImageRefused(ValueError):
    """Why an upload is not an image we accept, in words for the 422."""


@dataclass(frozen=True)
class Encoded:
    """One image file as we store it."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


@dataclass(frozen=True)
class Reencoded:
    original: Encoded
    variants: tuple[Encoded, ...]  # narrower copies for the pages, narrowest first


def _to_srgb(image: Image.Image) -> Image.Image:
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"))
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile: the pixels as they are
    return converted if converted is not None else image


def _encode(image: Image.Image, format_name: str) -> Encoded:
    out = io.BytesIO()
    if format_name == "JPEG":
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    elif format_name == "WEBP":
        image.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    else:
        image.save(out, "PNG", optimize=True)
    content_type, extension = FORMATS[format_name]
    return Encoded(out.getvalue(), content_type, extension, image.width, image.height)


def _open(data: bytes) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that: refused here all the same.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
        except UnidentifiedImageError:
            raise ImageRefused("is not a JPEG, PNG or WebP image") from None
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise ImageRefused(f"has more than {MAX_PIXELS:,} pixels") from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageRefused(f"is a damaged image ({exc})") from None
        if image.width * image.height > MAX_PIXELS:
            raise ImageRefused(f"has more than {MAX_PIXELS:,} pixels ({image.width}x{image.height})")
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise ImageRefused(f"is a damaged image ({exc})") from None
    return image


def _pixels(image: Image.Image, format_name: str) -> Image.Image:
    """The decoded pixels, upright, in sRGB and a mode the format writes, with no metadata."""
    upright = ImageOps.exif_transpose(image) or image
    if upright.mode not in ("RGB", "RGBA", "L", "LA", "P", "1", "I;16", "I"):
        upright = upright.convert("RGB")  # CMYK, YCbCr, LAB
    if format_name == "JPEG" and upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    if format_name == "WEBP" and upright.mode not in ("RGB", "RGBA"):
        upright = upright.convert("RGBA" if "A" in upright.mode or "transparency" in upright.info else "RGB")
    if format_name == "PNG" and upright.mode in ("I;16", "I"):
        upright = upright.convert("L")
    upright = _to_srgb(upright)
    # A new image of the same pixels: nothing from the file's header (info, EXIF) comes along.
    clean = Image.new(upright.mode, upright.size)
    if upright.mode == "P":
        palette = upright.getpalette()
        if palette is not None:
            clean.putpalette(palette)
        if "transparency" in upright.info:
            clean.info["transparency"] = upright.info["transparency"]
    clean.paste(upright, (0, 0))
    return clean


def reencode(data: bytes, declared_type: str) -> Reencoded:
    """`data` decoded and written again in its own format, with its page variants. Refused
    (ImageRefused) when it is not a JPEG, PNG or WebP image, is damaged, is too large in
    pixels, or is not what `declared_type` says it is."""
    expected = CONTENT_TYPES.get(declared_type)
    if expected is None:
        raise ImageRefused(
            f"must be image/jpeg, image/png or image/webp, not {declared_type or 'unlabelled'}"
        )
    image = _open(data)
    # Some phones write a JPEG with more pictures after the first (MPO: a depth map, a
    # preview): it is a JPEG, and only its first picture is kept.
    actual = "JPEG" if image.format == "MPO" else image.format or ""
    if actual != expected:
        found = FORMATS[actual][0] if actual in FORMATS else actual
        raise ImageRefused(f"is labelled {declared_type} but is {found}")
    try:
        pixels = _pixels(image, actual)
        original = _encode(pixels, actual)
        variants = []
        for width in VARIANT_WIDTHS:
            if width < pixels.width:
                height = max(1, round(pixels.height * width / pixels.width))
                smaller = pixels.resize((width, height), Image.Resampling.LANCZOS)
                variants.append(_encode(smaller, actual))
    except (OSError, ValueError) as exc:
        raise ImageRefused(f"could not be re-encoded ({exc})") from None
    return Reencoded(original, tuple(variants))

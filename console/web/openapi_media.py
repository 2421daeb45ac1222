"""The OpenAPI description of images (issue 18): the upload and the `media` of versions."""

from __future__ import annotations

from console.domain.media import ALT_MAX, MEDIA_MAX_PER_VERSION
from console.web.openapi_schemas import HASH, ID, Schema, obj, ref, typed_text

_FILE_FIELDS: dict[str, Schema] = {
    "url": {
        "type": "string",
        "pattern": "^/media/[0-9a-f]{64}\\.(jpg|png|webp)$",
        "description": "Where the re-encoded file is served (immutable; the name is its SHA-256)",
    },
    "content_type": {"enum": ["image/jpeg", "image/png", "image/webp"]},
    "width": {"type": "integer", "minimum": 1},
    "height": {"type": "integer", "minimum": 1},
    "size": {"type": "integer", "minimum": 1, "description": "Bytes"},
    "sha256": {**HASH, "description": "SHA-256 of the stored (re-encoded) file"},
}

SCHEMAS: dict[str, Schema] = {
    "MediaUpload": obj({"id": {**ID, "description": "Send it in `media[].id`"}, **_FILE_FIELDS}),
    "VersionMedia": obj(
        {"id": ID, "alt": {"type": "string", "description": "Alt text, as published"}, **_FILE_FIELDS}
    ),
    "MediaDraft": obj(
        {
            "id": {**ID, "description": "An uploaded image (POST /media)"},
            "alt": {
                **typed_text(ALT_MAX),
                "description": "What the image shows, for people who cannot see it",
            },
        }
    ),
}
MEDIA_SENT: Schema = {
    "type": "array",
    "maxItems": MEDIA_MAX_PER_VERSION,
    "items": ref("MediaDraft"),
    "description": "Images shown with the version, in order, each with its alt text (required). "
    "Left out of a correction, the current version's images are kept; `[]` removes them.",
}
MEDIA_SHOWN: Schema = {
    "type": "array",
    "minItems": 1,
    "items": ref("VersionMedia"),
    "description": "The version's images with their alt text; only when it has some (as its content hash)",
}
MEDIA_ALT: Schema = {
    "type": "array",
    "maxItems": MEDIA_MAX_PER_VERSION,
    "items": typed_text(ALT_MAX),
    "description": "The alt text of the version's images in this language, one per image, in order "
    "(only when given; a translation without it shows the primary alt text)",
}
# Where the optional `media` (a version's images) and `media_alt` (a translation's alt text) go.
ADDED: dict[str, tuple[str, Schema]] = {
    "Version": ("media", MEDIA_SHOWN),
    "Published": ("media", MEDIA_SHOWN),
    "Announcement": ("media", MEDIA_SHOWN),
    "UpdateDraft": ("media", MEDIA_SENT),
    "Correction": ("media", MEDIA_SENT),
    "Translation": ("media_alt", MEDIA_ALT),
    "AddedTranslation": ("media_alt", MEDIA_ALT),
    "TranslationDraft": ("media_alt", MEDIA_ALT),
    "NewTranslation": ("media_alt", MEDIA_ALT),
}


def with_media(schemas: dict[str, Schema]) -> dict[str, Schema]:
    """`schemas` with the optional image properties added (never required)."""
    changed = dict(schemas)
    for name, (field, schema) in ADDED.items():
        changed[name] = {**changed[name], "properties": {**changed[name]["properties"], field: schema}}
    return {**changed, **SCHEMAS}


_ERRORS = {
    400: "The multipart body is malformed (`malformed_multipart`).",
    401: "No token, or a wrong or revoked one (`unauthenticated`).",
    403: "Only pio and admin tokens upload (`forbidden`).",
    413: "The image is over MEDIA_MAX_BYTES (`too_large`), refused before the rest is read.",
    415: "The body is not `multipart/form-data` (`unsupported_media_type`).",
    422: "`fields.file`: no file part, not a JPEG, PNG or WebP image, damaged, labelled as another type "
    "than it is, or over 50 megapixels (a decompression bomb); or an unknown field.",
    503: "The database is not answering (`unavailable`).",
}

PATHS: dict[str, dict[str, Schema]] = {
    "/media": {
        "post": {
            "operationId": "uploadMedia",
            "summary": "Upload an image (JPEG, PNG or WebP) to attach to updates: it is re-encoded without "
            "its metadata (EXIF, GPS), turned upright, and stored under its SHA-256 (pio and admin tokens). "
            "An upload no version shows may be removed once older than the operator's grace period "
            "(`console media prune`, 24 hours by default): attach it before then",
            "security": [{"bearer": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": obj({"file": {"type": "string", "format": "binary"}}),
                        "encoding": {"file": {"contentType": "image/jpeg, image/png, image/webp"}},
                    }
                },
            },
            "responses": {
                "201": {
                    "description": "The stored image; `Location` is its URL. The same image uploaded "
                    "again is the same `id`.",
                    "content": {"application/json": {"schema": ref("MediaUpload")}},
                },
                **{
                    str(code): {
                        "description": text,
                        "content": {"application/json": {"schema": ref("Error")}},
                    }
                    for code, text in sorted(_ERRORS.items())
                },
            },
        }
    }
}

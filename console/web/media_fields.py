"""The `media: [{id, alt}]` field of a new version in the JSON API (issue 18)."""

from __future__ import annotations

from console.domain.media import MediaDraft
from console.web.jsonio import Fields


def media_drafts(fields: Fields) -> tuple[MediaDraft, ...] | None:
    """`media` as sent (None when it is not: a correction then keeps the current images). The
    domain checks that each id is an upload and each alt text is 1 to 1,000 characters."""
    value = fields.data.get("media")
    if value is None:
        return None
    if not isinstance(value, list):
        fields.errors["media"] = "must be an array of {id, alt} objects"
        return None
    drafts = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            fields.errors[f"media[{index}]"] = "must be an object with id and alt"
            continue
        one = Fields(item, ["id", "alt"])
        media_id, alt = one.integer("id", required=True), one.text("alt", required=True)
        fields.errors.update({f"media[{index}].{name}": problem for name, problem in one.errors.items()})
        if media_id is not None and alt is not None:
            drafts.append(MediaDraft(media_id, alt))
    return tuple(drafts)


def translated_alt(fields: Fields) -> tuple[str, ...] | None:
    """A translation's `media_alt`: the alt text of the version's images in its language."""
    value = fields.data.get("media_alt")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(alt, str) for alt in value):
        fields.errors["media_alt"] = "must be an array of strings: the alt text of each image, in order"
        return None
    return tuple(value)

"""`console verify FILE`: check what the agency published, offline, with its public keys only.

Takes a JSON record (`/incidents/{slug}.json`, `GET /api/v1/incidents/{slug}`, an archive
channel file, a rumor response), `archive.jsonl`, a `history.csv`, a signed audit head
(`/audit/head.json`), a CAP file, or a whole `console archive export` folder. Every content
hash is recomputed from the text it covers, and every signature is checked against the key
set with the key that was the signing key when the text was published. Nothing here reads
the database: the hash rules are written out again from the README, on purpose. The one
exception is the order of an export's `contents` list (`signing.content_hashes`): it must be
the signer's exactly, so both use the same function.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from console.archive_snapshot import manifest_digest
from console.csvfile import uncell
from console.domain.area import area_geojson, stored_area
from console.domain.signing import content_hashes, contents_digest, contents_message
from console.domain.wording import DRILL_LABELS, KIND_LABELS, LASTING_KINDS
from console.keyset import CLOCK_SLACK, KeySet
from console.models import AlertStatus, VersionKind
from console.signed_head import check_head


@dataclass
class Report:
    checked: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and any(self.checked.values())

    def count(self, what: str) -> None:
        self.checked[what] = self.checked.get(what, 0) + 1

    def fail(self, where: str, problem: str) -> None:
        self.problems.append(f"{where}: {problem}")

    def summary(self) -> str:
        counted = (
            ", ".join(f"{number} {what}" for what, number in self.checked.items() if number) or "nothing"
        )
        return f"checked {counted}"


def _canonical_hash(fields: dict[str, Any]) -> str:
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def utc_text(value: str) -> str:
    """A published time as the hash spells it: UTC, microseconds, `Z`."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text_hash(fixed: dict[str, Any], view: dict[str, Any], copied: tuple[str, ...], moment: str) -> str:
    """The content hash over `fixed`, the `copied` fields of `view` as they stand, and its
    `moment` field spelled as `utc_text`: each rule below names its own fields, as the README."""
    return _canonical_hash({**fixed, **{name: view[name] for name in copied}, moment: utc_text(view[moment])})


def _canonical_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _alerting(view: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Issue 17: `alerting`, the canonical JSON text of the view's `cap`, `instruction` and `wea`,
    hashed only when the view has any of them."""
    given = {name: view[name] for name in names if name in view}
    if not given:
        return {}
    return {"alerting": _canonical_text(given)}


def version_hash(incident: str, seq: int, view: dict[str, Any]) -> str:
    copied = ("version", "kind", "headline", "body", "preliminary", "reason", "author")
    fixed: dict[str, Any] = {
        "incident": incident,
        "seq": seq,
        **_alerting(view, ("cap", "instruction", "wea")),
    }
    if view.get("media"):  # images (issue 18) are hashed only when a version has some
        fixed["media"] = [{"sha256": item["sha256"], "alt": item["alt"]} for item in view["media"]]
    return _text_hash(fixed, view, copied, "published_at")


def translation_hash(incident: str, seq: int, view: dict[str, Any]) -> str:
    copied = ("version", "lang", "headline", "body", "author")
    fixed: dict[str, Any] = {"incident": incident, "seq": seq, **_alerting(view, ("instruction", "wea"))}
    if view.get("media_alt") is not None:  # alt text of the images (issue 18), only when given
        fixed["media_alt"] = view["media_alt"]
    return _text_hash(fixed, view, copied, "created_at")


def details_hash(incident: str, view: dict[str, Any]) -> str:
    """An incident details version's: its hash covers the area as stored, `area_canonical`
    (`area` shows it as GeoJSON, and `Checker.details` checks that the two agree)."""
    fixed = {"incident": incident, **view["fields"]}
    if view.get("area") is not None:
        fixed["area"] = view["area_canonical"]
    if view.get("cap_defaults") is not None:  # CAP defaults (issue 17), hashed only when it has some
        fixed["cap_defaults"] = _canonical_text(view["cap_defaults"])
    return _text_hash(fixed, view, ("version", "reason", "author"), "published_at")


def details_translation_hash(incident: str, view: dict[str, Any]) -> str:
    copied = ("details_version", "lang", "title", "summary", "location", "author")
    return _text_hash({"incident": incident}, view, copied, "created_at")


def _shows_signed_area(view: dict[str, Any]) -> bool:
    """Whether a details version's GeoJSON `area` is its `area_canonical` (both absent: yes)."""
    try:
        signed = stored_area(view.get("area_canonical"))
    except (TypeError, ValueError):
        return False
    try:
        return area_geojson(signed) == view.get("area")
    except (KeyError, TypeError, ValueError):
        return False


def rumor_hash(rumor_id: int, incident: str | None, view: dict[str, Any]) -> str:
    fixed = {"type": "rumor_response", "rumor": rumor_id, "incident": incident}
    copied = ("version", "claim", "seen_at", "verdict", "facts", "reason", "author")
    return _text_hash(fixed, view, copied, "published_at")


def rumor_translation_hash(rumor_id: int, version: int, view: dict[str, Any]) -> str:
    fixed = {"type": "rumor_translation", "rumor": rumor_id, "version": version}
    return _text_hash(fixed, view, ("lang", "claim", "facts", "author"), "created_at")


# What `Checker.details` counts without proving it (said in the summary).
UNSIGNED_DETAILS = "incident details written before they were signed (not provable offline)"
UNLISTED_CONTENTS = "incident records without a signed contents list (completeness not proven)"
DETAILS_WITH_AREA = (
    "incident details versions with an area in an export without area_canonical (not provable offline)"
)


def _number_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int) and not isinstance(value, bool) else (1, str(value))


def _numbering_problem(numbers: list[Any], what: str) -> str | None:
    """Why `numbers`, as a record lists them, are not 1, 2, … n (None: they are)."""
    seen: list[Any] = []  # a list: a forged number may be any JSON value, unhashable too
    for number in numbers:
        if number in seen:
            return f"its {what} {number} appears twice"
        seen.append(number)
    for expected in range(1, len(numbers) + 1):
        if expected not in seen:
            return f"its {what} {expected} is missing (taken out of the record?)"
    if numbers != list(range(1, len(numbers) + 1)):
        return f"its {what}s are not in order ({', '.join(map(str, numbers))})"
    return None


# The kinds of a first version, and of each version after it (a retraction is always the last).
FIRST_KINDS = {"original", "resolution", "reopening"}
LATER_KINDS = {"correction", "confirmation", "retraction"}


def _kinds_problem(kinds: list[Any]) -> str | None:
    if kinds and kinds[0] not in FIRST_KINDS:
        return f"its version 1 is a {kinds[0]}, not a first version"
    for number, kind in enumerate(kinds[1:], start=2):
        if kind not in LATER_KINDS:
            return f"its version {number} is a {kind}, which only a first version can be"
    if "retraction" in kinds[:-1]:
        return "it has versions after its retraction"
    return None


class Checker:
    def __init__(self, keys: KeySet, report: Report) -> None:
        self.keys = keys
        self.report = report

    def signed_text(
        self,
        where: str,
        what: str,
        view: dict[str, Any],
        recompute: Callable[[dict[str, Any]], str],
        moment_field: str,
    ) -> None:
        """One version, translation or rumor response: its hash, then its signature."""
        try:
            expected = recompute(view)
        except (KeyError, TypeError, ValueError) as exc:
            self.report.fail(where, f"cannot recompute the content hash ({exc!r} missing or malformed)")
            return
        if view.get("content_hash") != expected:
            self.report.fail(
                where, "its text does not match its content_hash (the text or the hash was changed)"
            )
            return
        signature = view.get("signature")
        if not isinstance(signature, dict):
            self.report.fail(where, "it carries no signature")
            return
        key = self.keys.find(str(signature.get("kid")))
        if key is None:
            self.report.fail(where, f"signed by key {signature.get('kid')!r}, which is not in the key set")
            return
        if signature.get("alg") != "EdDSA":
            self.report.fail(where, f"unknown signature algorithm {signature.get('alg')!r}")
            return
        if not key.verifies(expected.encode("utf-8"), str(signature.get("value"))):
            self.report.fail(where, f"the signature does not verify with key {key.kid}")
            return
        moment = datetime.fromisoformat(str(view[moment_field]).replace("Z", "+00:00"))
        if not key.covers(moment):
            self.report.fail(where, f"key {key.kid} was not the agency's signing key at {view[moment_field]}")
            return
        self.report.count(what)

    def record(self, where: str, record: Any) -> None:
        """An incident record (its updates, versions and translations) or a rumor response."""
        if not isinstance(record, dict):
            self.report.fail(where, "not a JSON object")
            return
        if isinstance(record.get("rumors"), list):  # GET /api/v1/rumors
            for entry in record["rumors"]:
                self.record(where, entry)
            return
        if isinstance(record.get("versions"), list) and "slug" not in record:
            self.rumor(where, record)
            return
        if "updates" not in record or "slug" not in record:
            self.report.fail(where, "not an incident record, rumor response or signed head")
            return
        slug = record["slug"]
        for update in record["updates"]:
            seq = update.get("seq")
            for view in update.get("versions", []):
                spot = f"{where}: incident {slug} update {seq} version {view.get('version')}"
                self.signed_text(spot, "versions", view, partial(version_hash, slug, seq), "published_at")
                for translation in view.get("translations", []):
                    self.signed_text(
                        f"{spot} ({translation.get('lang')} translation)",
                        "translations",
                        translation,
                        partial(translation_hash, slug, seq),
                        "created_at",
                    )
        self.details(where, slug, record)
        self.sequence(where, slug, record)
        self.contents(where, slug, record)
        self.shown_details(where, slug, record)
        self._head(where, record.get("signed_audit_head"))

    def sequence(self, where: str, slug: str, record: dict[str, Any]) -> None:
        """What each signature alone cannot show: that no version, update or details version was
        taken out, repeated or moved. Each signed text names its own number, so the numbers a
        record holds must run 1, 2, 3… with none missing, in the order the record gives."""
        seqs = [update.get("seq") for update in record["updates"]]
        problem = _numbering_problem(sorted(seqs, key=_number_key), "update")
        if problem is None and seqs != sorted(seqs, key=_number_key, reverse=True):
            problem = "its updates are not in order (newest first)"
        if problem:
            self.report.fail(f"{where}: incident {slug}", problem)
        for update in record["updates"]:
            versions = update.get("versions", [])
            if not versions:
                continue
            spot = f"{where}: incident {slug} update {update.get('seq')}"
            problem = _numbering_problem([view.get("version") for view in versions], "version")
            if problem is None:
                problem = _kinds_problem([view.get("kind") for view in versions])
            if problem:
                self.report.fail(spot, problem)
        details = record.get("details_versions") or []
        problem = _numbering_problem([view.get("version") for view in details], "details version")
        if details and problem:
            self.report.fail(f"{where}: incident {slug}", problem)

    def contents(self, where: str, slug: str, record: dict[str, Any]) -> None:
        """What numbering cannot show: a newest version, update, translation or details version
        taken out. `contents` lists, signed when the export was built, every content hash the
        record held; a record without it (an older export, the API's) is counted apart."""
        listed = record.get("contents")
        if listed is None:
            self.report.count(UNLISTED_CONTENTS)
            return
        spot = f"{where}: incident {slug}"
        problem = self._contents_problem(slug, record, listed)
        if problem:
            self.report.fail(spot, f"contents: {problem}")
        else:
            self.report.count("signed contents lists")

    def _contents_problem(self, slug: str, record: dict[str, Any], listed: Any) -> str | None:
        if not isinstance(listed, dict):
            return "not a JSON object"
        count, digest, kid, value = (listed.get(name) for name in ("count", "hash", "kid", "signature"))
        if not isinstance(count, int) or isinstance(count, bool) or not isinstance(digest, str):
            return "its count is not a whole number or its hash not a string"
        exported_at = record.get("exported_at")
        if not isinstance(exported_at, str):
            return "the record has no exported_at, which its signature covers"
        key = self.keys.find(str(kid))
        if key is None:
            return f"signed by key {kid!r}, which is not in the key set"
        if not key.verifies(contents_message(slug, count, digest, exported_at), str(value)):
            return (
                f"its signature does not verify with key {key.kid} "
                "(its count, hash or the record's exported_at was changed)"
            )
        try:
            moment = datetime.fromisoformat(exported_at.replace("Z", "+00:00"))
        except ValueError:
            return f"the record's exported_at {exported_at!r} is not a time"
        if moment.tzinfo is None:
            return f"the record's exported_at {exported_at!r} has no UTC offset"
        # Signed when the export was built, at or after `exported_at` (its last change): a key
        # retired before that moment could not have signed it.
        if key.not_after is not None and moment > key.not_after + CLOCK_SLACK:
            return f"key {key.kid} was retired before the record was exported ({exported_at})"
        try:
            hashes = content_hashes(record)
        except (AttributeError, TypeError):
            return "cannot list the record's content hashes (malformed updates or details)"
        if len(hashes) != count:
            return (
                f"the record holds {len(hashes)} content hashes, the signed contents list {count} "
                "(a version, update or translation was taken out or added)"
            )
        if contents_digest(hashes) != digest:
            return (
                "the record's content hashes are not those the signed contents list "
                "(one was replaced or moved)"
            )
        return None

    def shown_details(self, where: str, slug: str, record: dict[str, Any]) -> None:
        """The incident's title, summary, location, category, alert status, CAP defaults and area
        at the top of a record are what a reader sees first, and no signature covers them there:
        they must be those of its newest details version, which one does."""
        details = record.get("details_versions") or []
        if not details or not isinstance(details[-1], dict):
            return
        newest = details[-1]
        shown: dict[str, Any] = dict(newest.get("fields") or {})
        if "cap_defaults" in newest:
            shown["cap_defaults"] = newest["cap_defaults"]
        if "area_canonical" in newest:  # an older export's area cannot be proved (see `details`)
            shown["area"] = newest.get("area")
        for name, value in shown.items():
            if name in record and record[name] != value:
                self.report.fail(
                    f"{where}: incident {slug}",
                    f"its {name} {record[name]!r} is not its newest details version's "
                    f"(version {newest.get('version')}: {value!r})",
                )

    def details(self, where: str, slug: str, record: dict[str, Any]) -> None:
        """An incident's details versions and its newest details translations. Those an export
        cannot prove are counted apart, not failed: details written before they were signed
        (`signature` null, or none in an older export), and versions with an area in an export
        from before `area_canonical`."""
        versions = record.get("details_versions", [])
        # An export that gives any version `area_canonical` gives it to all of them (null without
        # an area), and once details were signed every later version was: a version without
        # either, in such a record, had it taken away, and what it says would go unchecked.
        has_canonical = any(isinstance(view, dict) and "area_canonical" in view for view in versions)
        signed_since: int | None = None
        for view in versions:
            spot = f"{where}: incident {slug} details version {view.get('version')}"
            if view.get("signature") is None and signed_since is not None:
                self.report.fail(
                    spot, f"it carries no signature, though version {signed_since} before it does"
                )
            elif view.get("signature") is None:
                self._unsigned(spot, view, partial(details_hash, slug))
            elif view.get("area") is not None and "area_canonical" not in view and has_canonical:
                self.report.fail(spot, "it has an area but no area_canonical, as the other versions have")
            elif view.get("area") is not None and "area_canonical" not in view:
                self.report.count(DETAILS_WITH_AREA)
            elif not _shows_signed_area(view):
                self.report.fail(
                    spot,
                    "its area (GeoJSON) is not the area its content hash covers (area_canonical)",
                )
            else:
                self.signed_text(
                    spot,
                    "details versions",
                    view,
                    partial(details_hash, slug),
                    "published_at",
                )
            if view.get("signature") is not None and signed_since is None:
                signed_since = view.get("version")
        signed = [view.get("version") for view in versions if view.get("signature") is not None]
        for lang, view in (record.get("details_translations") or {}).items():
            if view.get("signature") is None and view.get("details_version") in signed:
                # written after the version it translates, which was signed: so was it
                self.report.fail(
                    f"{where}: incident {slug} details version {view.get('details_version')} "
                    f"({lang} translation)",
                    "it carries no signature, though the version it translates does",
                )
            elif view.get("signature") is None:
                version = view.get("details_version")
                self._unsigned(
                    f"{where}: incident {slug} details version {version} ({lang} translation)",
                    view,
                    partial(details_translation_hash, slug),
                )
            else:
                version = view.get("details_version")
                self.signed_text(
                    f"{where}: incident {slug} details version {version} ({lang} translation)",
                    "details translations",
                    view,
                    partial(details_translation_hash, slug),
                    "created_at",
                )

    def _unsigned(self, spot: str, view: dict[str, Any], recompute: Callable[[dict[str, Any]], str]) -> None:
        """Details written before they were signed: counted apart, but their text must still be
        the one their content hash covers. The hash is what a signed `contents` list proves: with
        no check here, details stripped of their signatures could say anything under it."""
        if view.get("area") is not None and "area_canonical" not in view:
            self.report.count(UNSIGNED_DETAILS)  # its hashed area is not in the export
            return
        try:
            matches = recompute(view) == view.get("content_hash")
        except (KeyError, TypeError, ValueError, AttributeError):
            matches = False
        if not matches:
            self.report.fail(
                spot, "its text does not match its content_hash (the text or the hash was changed)"
            )
        else:
            self.report.count(UNSIGNED_DETAILS)

    def rumor(self, where: str, record: dict[str, Any]) -> None:
        rumor_id, incident = int(record.get("id") or 0), record.get("incident")
        for view in record["versions"]:
            spot = f"{where}: rumor response {rumor_id} version {view.get('version')}"
            self.signed_text(
                spot, "rumor responses", view, partial(rumor_hash, rumor_id, incident), "published_at"
            )
            for translation in view.get("translations", []):
                self.signed_text(
                    f"{spot} ({translation.get('lang')} translation)",
                    "rumor translations",
                    translation,
                    partial(rumor_translation_hash, rumor_id, view.get("version")),
                    "created_at",
                )

    def _head(self, where: str, head: Any) -> None:
        if head is None:
            return
        problems = check_head(head, self.keys)
        for problem in problems:
            self.report.fail(where, problem)
        if not problems:
            self.report.count("signed audit heads")

    def head(self, where: str, head: Any) -> None:
        self._head(where, head)

    def history_csv(self, where: str, text: str) -> None:
        reader = csv.DictReader(io.StringIO(text))
        missing = [name for name in HISTORY_COLUMNS if name not in (reader.fieldnames or ())]
        if missing:
            self.report.fail(where, f"not a history CSV: it has no {', '.join(missing)} column")
            return
        # (incident, seq) -> its rows, in the order of the file
        updates: dict[tuple[str, int], list[CsvRow]] = {}
        for number, row in enumerate(reader, start=2):
            cells = {name: uncell(value or "") for name, value in row.items() if name is not None}
            try:
                seq = int(cells["seq"])
                view: dict[str, Any] = {
                    "version": int(cells["version"]),
                    "kind": cells["kind"],
                    "headline": cells["headline"] or None,
                    "body": cells["body"],
                    "preliminary": cells["preliminary"] == "true",
                    "reason": cells["reason"] or None,
                    "author": cells["author"],
                    "published_at": cells["published_at"],
                    "content_hash": cells["content_hash"],
                    "media": json.loads(cells["media"]) if cells.get("media") else [],
                    "signature": {"kid": cells["signature_kid"], "alg": "EdDSA", "value": cells["signature"]}
                    if cells.get("signature")
                    else None,
                    **(json.loads(cells["alerting"]) if cells.get("alerting") else {}),
                }
            except (KeyError, ValueError) as exc:  # JSONDecodeError is a ValueError
                self.report.fail(f"{where} line {number}", f"not a history.csv row ({exc!r})")
                continue
            slug = cells["incident"]
            updates.setdefault((slug, seq), []).append(
                CsvRow(number, view["version"], view["kind"], view["preliminary"], cells.get("labels"))
            )
            self.signed_text(
                f"{where} line {number}: incident {slug} update {seq} version {view['version']}",
                "versions",
                view,
                partial(version_hash, slug, seq),
                "published_at",
            )
        self._csv_sequence(where, updates)

    def _csv_sequence(self, where: str, updates: dict[tuple[str, int], list[CsvRow]]) -> None:
        """As `sequence` for a record: one row per version, updates in order (oldest first), the
        versions of each in order, none left out. And `labels`, the words a reader of the CSV
        sees first (CORRECTION, PRELIMINARY…), which no hash covers: they must be what the
        row's kind and `preliminary` make them, under one alert status for the incident."""
        slugs = list(dict.fromkeys(slug for slug, _ in updates))
        for slug in slugs:
            seqs = [seq for named, seq in updates if named == slug]
            problem = _numbering_problem(seqs, "update")
            if problem:
                self.report.fail(f"{where}: incident {slug}", problem)
            drill: AlertStatus | None = None
            for seq in seqs:
                rows = updates[(slug, seq)]
                problem = _numbering_problem([row.version for row in rows], "version")
                if problem is None:
                    problem = _kinds_problem([row.kind for row in rows])
                if problem:
                    self.report.fail(f"{where}: incident {slug} update {seq}", problem)
                    continue
                for row in rows:
                    if row.labels is None:  # a CSV without the column: nothing shown
                        continue
                    shown = _alert_status_shown(row.labels)
                    drill = shown if drill is None else drill
                    problem = _labels_problem(row.labels.split(), VersionKind(row.kind), row.preliminary)
                    if problem is None and shown is not drill:
                        problem = (
                            f"its labels {row.labels!r} do not say what the incident's other rows say it is"
                        )
                    if problem:
                        self.report.fail(
                            f"{where} line {row.line}: incident {slug} update {seq} version {row.version}",
                            problem,
                        )


# What a row's labels must say of its kind and `preliminary`, which its hash covers. Only
# these are checked: the labels an update keeps through its corrections (RESOLVED, REOPENED)
# came later, and a CSV exported before them is no less authentic.
_KIND_WORDS = {
    "CORRECTION": VersionKind.CORRECTION,
    "CONFIRMED": VersionKind.CONFIRMATION,
    "RETRACTED": VersionKind.RETRACTION,
}
_OTHER_WORDS = frozenset({"PRELIMINARY", *DRILL_LABELS, *(KIND_LABELS[kind] for kind in LASTING_KINDS)})


def _labels_problem(words: list[str], kind: VersionKind, preliminary: bool) -> str | None:
    for word, meant in _KIND_WORDS.items():
        if (word in words) != (kind is meant):
            return f"its labels {' '.join(words)!r} do not say what its kind ({kind.value}) is"
    if ("PRELIMINARY" in words) != (preliminary and kind is not VersionKind.RETRACTION):
        return f"its labels {' '.join(words)!r} do not say whether it is preliminary ({preliminary})"
    unknown = [word for word in words if word not in _KIND_WORDS and word not in _OTHER_WORDS]
    if unknown:
        return f"its labels {' '.join(words)!r} hold words no version is labelled with"
    return None


@dataclass(frozen=True)
class CsvRow:
    """What `Checker.history_csv` checks of a row beyond its hash and signature."""

    line: int
    version: Any
    kind: Any
    preliminary: bool
    labels: str | None


def _alert_status_shown(shown: str) -> AlertStatus:
    """The alert status a row's labels show: an exercise's or a test's come first."""
    first = shown.split(" ", 1)[0]
    drills = (status for status in AlertStatus if status is not AlertStatus.ACTUAL)
    return next((status for status in drills if first == status.value.upper()), AlertStatus.ACTUAL)


def _json_file(checker: Checker, path: Path, name: str) -> None:
    try:
        document = json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        checker.report.fail(name, f"not JSON ({exc})")
        return
    if isinstance(document, dict) and {"size", "hash", "signature"} <= document.keys():
        checker.head(name, document)
    elif isinstance(document, dict) and isinstance(document.get("keys"), list):
        return  # a key set: nothing signed in it
    else:
        checker.record(name, document)


def _jsonl_lines(text: str) -> list[str]:
    r"""The records of a JSON Lines text: separated by "\n" only (a "\r" before it is allowed, and
    an empty last line). Not str.splitlines(): it also breaks at U+2028, U+2029 and U+0085,
    which JSON strings may hold unescaped (and at \x0b, \x0c, \x1c-\x1e)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _exact_text(path: Path) -> str:
    """The file's text as written: read_text's universal newlines would turn a "\r\n" or "\r"
    inside a CSV cell (a text stored with one) into "\n", and end JSON Lines at a lone "\r"."""
    return path.read_bytes().decode("utf-8")


def _jsonl_file(checker: Checker, path: Path, name: str) -> None:
    seen: dict[str, int] = {}  # slug -> the line that holds its record: one line per incident
    for number, line in enumerate(_jsonl_lines(_exact_text(path)), start=1):
        if not line.strip(" \t"):  # JSON's whitespace, not Unicode's (U+2028 is not JSON)
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as exc:
            checker.report.fail(f"{name} line {number}", f"not JSON ({exc})")
            continue
        slug = document.get("slug") if isinstance(document, dict) else None
        if isinstance(slug, str) and slug in seen:
            checker.report.fail(
                f"{name} line {number}",
                f"incident {slug} again: line {seen[slug]} holds its record (two copies spliced in?)",
            )
        elif isinstance(slug, str):
            seen[slug] = number
        checker.record(f"{name} line {number}", document)


def _folder(checker: Checker, root: Path, cap_check: Callable[[Path, str], list[str]] | None) -> None:
    manifest_path = root / "manifest.json"
    if not manifest_path.exists():
        checker.report.fail(str(root), "no manifest.json: not a `console archive export` folder")
        return
    manifest = json.loads(manifest_path.read_text("utf-8"))
    listed: dict[str, str] = manifest.get("files", {})
    for relative, digest in sorted(listed.items()):
        path = root / relative
        if not path.is_file():
            checker.report.fail(relative, "listed in manifest.json but missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            checker.report.fail(relative, "its SHA-256 differs from manifest.json's (the file was changed)")
        else:
            checker.report.count("files")
    present = {
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and path.name != "manifest.json"
    }
    for extra in sorted(present - listed.keys()):
        checker.report.fail(extra, "not listed in manifest.json (added after the export)")
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != "manifest.json":
            _file(checker, path, str(path.relative_to(root)), cap_check)
    checker.head("manifest.json", manifest.get("signed_audit_head"))
    _manifest(checker, root, manifest)


# The columns a history CSV must have to be checked (history.csv has more).
HISTORY_COLUMNS = ("incident", "seq", "version", "kind", "body", "published_at", "content_hash")


# When snapshots began to sign their manifest (format 2). A format-1 snapshot was made before:
# its signed audit head, signed at the moment of the snapshot, says when.
SIGNED_MANIFESTS_SINCE = "2026-12-07T02:40:49Z"


def _format_one_problem(root: Path, manifest: dict[str, Any]) -> str | None:
    """Why a manifest calling itself format 1 cannot be one (its signature taken away so that a
    record taken out would not show), or None."""
    head = manifest.get("signed_audit_head")
    if not isinstance(head, dict):
        return "a format-1 manifest carries signed_audit_head; this one was taken away"
    signed_at = str(head.get("time"))
    if signed_at >= SIGNED_MANIFESTS_SINCE:  # the same fixed-width UTC form: compared as text
        return (
            f"format 1, but made at {signed_at} (its signed audit head), after manifests began to "
            f"be signed ({SIGNED_MANIFESTS_SINCE}): its signature was taken away"
        )
    for path in sorted(root.glob("incidents/*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            published = [
                utc_text(version["published_at"])[:19]  # to the second, as the head's time
                for update in record.get("updates") or []
                for version in update.get("versions") or []
            ]
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            continue  # said where the file itself is checked
        if "contents" in record:
            return (
                f"format 1, but {path.relative_to(root)} carries a signed contents list, which only "
                "versions that sign the manifest write: its signature was taken away"
            )
        if published and max(published) > signed_at[:19]:
            return (
                f"format 1, but {path.relative_to(root)} holds a version published at "
                f"{max(published)}Z, after its signed audit head ({signed_at}): the head is an older "
                "one put in its place"
            )
    return None


def _manifest(checker: Checker, root: Path, manifest: dict[str, Any]) -> None:
    """The manifest's own signature (format 2 on) and what it says it holds."""
    if manifest.get("format") == "incident-console/archive-snapshot/1":
        problem = _format_one_problem(root, manifest)
        if problem:
            checker.report.fail("manifest.json", problem)
        else:
            # Said in the summary: its files hold, but a record taken out with the manifest
            # rewritten to match would not show.
            checker.report.count("unsigned manifests (format 1: the snapshot's completeness is not proven)")
    else:
        problem = _manifest_signature_problem(checker.keys, manifest)
        if problem:
            checker.report.fail("manifest.json", problem)
        else:
            checker.report.count("signed manifests")
    head = manifest.get("signed_audit_head")
    if isinstance(head, dict) and manifest.get("audit_head") != {
        "event": head.get("size"),
        "hash": head.get("hash"),
    }:
        checker.report.fail("manifest.json", "its audit_head is not the one its signed_audit_head signs")
    for what, pattern in (("incidents", "incidents/*.json"), ("rumor_responses", "rumors/*.json")):
        held = len(list(root.glob(pattern)))
        if what in manifest and manifest[what] != held:
            checker.report.fail("manifest.json", f"it lists {manifest[what]} {what}, the folder holds {held}")


def _manifest_signature_problem(keys: KeySet, manifest: dict[str, Any]) -> str | None:
    signature = manifest.get("signature")
    if not isinstance(signature, dict):
        return "it carries no signature"
    key = keys.find(str(signature.get("kid")))
    if key is None:
        return f"signed by key {signature.get('kid')!r}, which is not in the key set"
    if signature.get("alg") != "EdDSA":
        return f"unknown signature algorithm {signature.get('alg')!r}"
    if not key.verifies(manifest_digest(manifest).encode("utf-8"), str(signature.get("value"))):
        return "its signature does not verify (the manifest was changed)"
    try:
        moment = datetime.fromisoformat(str(manifest.get("exported_at")))
    except ValueError:
        return f"its exported_at {manifest.get('exported_at')!r} is not a time"
    if not key.covers(moment):
        return f"key {key.kid} was not the agency's signing key at {manifest.get('exported_at')}"
    return None


def _file(
    checker: Checker, path: Path, name: str, cap_check: Callable[[Path, str], list[str]] | None
) -> None:
    if path.suffix == ".json":
        _json_file(checker, path, name)
    elif path.suffix == ".jsonl":
        _jsonl_file(checker, path, name)
    elif path.suffix == ".csv":  # the one signed CSV, under any name: a history.csv
        checker.history_csv(name, _exact_text(path))
    elif path.suffix == ".xml" and cap_check is not None:
        problems = cap_check(path, name)
        for problem in problems:
            checker.report.fail(name, problem)
        if not problems:
            checker.report.count("CAP files")


def verify_paths(
    paths: Iterable[Path], keys: KeySet, *, cap_check: Callable[[Path, str], list[str]] | None = None
) -> Report:
    report = Report()
    checker = Checker(keys, report)
    for path in paths:
        if path.is_dir():
            _folder(checker, path, cap_check)
        elif path.is_file():
            if path.suffix not in (".json", ".jsonl", ".csv", ".xml"):
                report.fail(str(path), "not a .json, .jsonl, .csv or .xml file")
            else:
                _file(checker, path, str(path), cap_check)
        else:
            report.fail(str(path), "no such file or folder")
    return report


def load_keys(path: Path) -> KeySet:
    """A JWKS (`keys.json`) or a key-set PEM file (SIGNING_KEY_FILE)."""
    text = path.read_text("utf-8")
    if text.lstrip().startswith("{"):
        return KeySet.from_jwks(json.loads(text))
    return KeySet.parse(text, where=str(path))

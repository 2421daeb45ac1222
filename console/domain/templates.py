"""Templates: holding statements prepared before a crisis (issue 18).

An admin writes a template's name, category, headline and body, and the same text in other
languages, with placeholders such as `{location}` or `{shelter}`. Each change is a new
version, never an edit; deleting a template only marks it deleted. A PIO publishes from the
current version by giving a value for each placeholder: `{incident}`, `{location}` and `{time}`
default to the incident's title, its location and the time of publishing; every other one
must be given, or nothing is published and the error names it. The version published records
the template version it came from.

A template may also set CAP defaults (urgency, severity, certainty, response types, event) and
an instruction, translated with its text: publishing from it sends what the publisher sent
over them, so a field the publisher gives wins. No `expires` and no WEA texts: a template is
written before the time and the words of a phone alert are known.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.domain import audit, outbox
from console.domain.actors import Actor, require_admin, require_publisher
from console.domain.alerting import (
    INSTRUCTION_MAX,
    NOT_TRANSLATED,
    NOTHING,
    Alerting,
    TranslatedAlerting,
    alerting_text,
    alerting_view,
    check_alerting,
    recheck,
    stored_alerting,
)
from console.domain.errors import Gone, InvalidInput, NotAllowed, VersionConflict
from console.domain.incidents import category_of, get_incident
from console.domain.rows import newest_version, row_by_id
from console.domain.text import BODY_MAX, HEADLINE_MAX, clean
from console.domain.translation_drafts import TranslationDraft
from console.domain.updates import Draft, Published, Translations, publish_update
from console.languages import Languages
from console.models import Incident, Template, TemplateVersion, utcnow

NAME_MAX = 100
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]{0,39})\}")
# Braces around a word that is not a placeholder's name (`{Shelter}`, `{road-name}`): a slip that
# would otherwise be published as typed, braces and all.
_LIKE_A_PLACEHOLDER = re.compile(r"\{[^{}\s]{1,40}\}")
VALUE_MAX = 500
TIME_FORMAT = "%H:%M"


@dataclass(frozen=True)
class TemplateDraft:
    """What an admin typed: the primary text, and the same in other languages."""

    name: str | None
    body: str | None
    headline: str | None = None
    category: str | None = None
    # Each translation's instruction is in its `alerting` (TranslatedAlerting.instruction).
    translations: Mapping[str, TranslationDraft] = field(default_factory=dict)
    alerting: Alerting = NOTHING  # CAP defaults and instruction: see `check_defaults`


@dataclass(frozen=True)
class Filled:
    """A template version with every placeholder given a value: what to publish."""

    version: TemplateVersion
    headline: str | None
    body: str
    translations: list[TranslationDraft]
    alerting: Alerting = NOTHING  # the template's CAP defaults and instruction, filled in too

    def sent_with(self, sent: Alerting) -> tuple[Alerting, list[TranslationDraft]]:
        """The alerting fields and translations to publish when the publisher sent `sent`:
        `sent` over the template's defaults. An instruction sent replaces the template's, whose
        translations then translate other words: they are left out."""
        if sent.instruction is None:
            return sent.over(self.alerting), self.translations
        untranslated = [replace(draft, alerting=NOT_TRANSLATED) for draft in self.translations]
        return sent.over(self.alerting), untranslated


def placeholders(*texts: str | None) -> list[str]:
    """The placeholders in `texts`, in the order they first appear."""
    found: dict[str, None] = {}
    for text in texts:
        for match in PLACEHOLDER.finditer(text or ""):
            found.setdefault(match.group(1))
    return list(found)


TEMPLATE_CAP_FIELDS = ("urgency", "severity", "certainty", "response_types", "event")
NOT_A_DEFAULT = "is not a template default: send it when publishing"


def check_defaults(cap: Mapping[str, Any] | None, instruction: Any, errors: dict[str, str]) -> Alerting:
    """A template's `cap` and `instruction` as typed, checked as a version's are
    (`check_alerting`); problems go into `errors` as `cap.urgency`, `instruction` and so on."""
    cap = dict(cap or {})
    for name in [name for name in cap if name not in TEMPLATE_CAP_FIELDS]:
        known = ", ".join(TEMPLATE_CAP_FIELDS)
        errors[f"cap.{name}"] = (
            NOT_A_DEFAULT if name == "expires" else f"is not a known field (known: {known})"
        )
        del cap[name]
    return check_alerting(cap, instruction, None, errors)


def translations_of(version: TemplateVersion) -> dict[str, TranslationDraft]:
    stored: dict[str, dict[str, str | None]] = json.loads(version.translations)
    return {
        lang: TranslationDraft(
            lang=lang,
            body=text["body"] or "",
            headline=text.get("headline"),
            alerting=TranslatedAlerting(instruction=text.get("instruction")),
        )
        for lang, text in stored.items()
    }


def defaults_of(version: TemplateVersion) -> Alerting:
    """The CAP defaults and instruction of a template version (NOTHING when it sets none)."""
    return stored_alerting(version.alerting)


def version_placeholders(version: TemplateVersion) -> list[str]:
    texts = [version.headline, version.body, defaults_of(version).instruction]
    for translation in translations_of(version).values():
        texts += [translation.headline, translation.body, translation.alerting.instruction]
    return placeholders(*texts)


def template_view(template: Template, version: TemplateVersion) -> dict[str, Any]:
    """A template as the API and the console show it: its current (or given) version. `cap`
    and `instruction` are null when it sets none."""
    defaults = alerting_view(defaults_of(version))
    return {
        "id": template.id,
        "version": version.version,
        "name": version.name,
        "category": version.category,
        "headline": version.headline,
        "body": version.body,
        "cap": defaults.get("cap"),
        "instruction": defaults.get("instruction"),
        "translations": {
            lang: {"headline": draft.headline, "body": draft.body, "instruction": draft.alerting.instruction}
            for lang, draft in translations_of(version).items()
        },
        "placeholders": version_placeholders(version),
        "author": version.author_name,
        "updated_at": version.created_at.isoformat(),
        "deleted_at": template.deleted_at.isoformat() if template.deleted_at else None,
    }


def current_version(session: Session, template: Template) -> TemplateVersion:
    return newest_version(
        session, TemplateVersion, TemplateVersion.template_id == template.id, TemplateVersion.version
    ).one()


def get_template(session: Session, template_id: int) -> Template:
    return row_by_id(session, Template, template_id, "template")


def existing_template(session: Session, template_id: int) -> Template:
    """The template, unless it was deleted (Gone: what it said stays in the audit log and on
    every update written from it)."""
    template = get_template(session, template_id)
    if template.deleted_at is not None:
        raise Gone(f"template {template_id} was deleted at {template.deleted_at.isoformat()}")
    return template


def current_templates(session: Session) -> list[tuple[Template, TemplateVersion]]:
    """Every template not deleted, with its current version, by name."""
    templates = session.scalars(select(Template).where(Template.deleted_at.is_(None))).all()
    current = [(template, current_version(session, template)) for template in templates]
    return sorted(current, key=lambda pair: (pair[1].name.lower(), pair[0].id))


def template_history(session: Session, template: Template) -> list[TemplateVersion]:
    return list(
        session.scalars(
            select(TemplateVersion)
            .where(TemplateVersion.template_id == template.id)
            .order_by(TemplateVersion.version)
        )
    )


def _checked(draft: TemplateDraft, languages: Languages) -> dict[str, Any]:
    """A version's fields from `draft`; InvalidInput naming every field that will not do."""
    errors: dict[str, str] = {}
    name = clean(draft.name, max_chars=NAME_MAX, required=True, errors=errors, field="name")
    headline = clean(draft.headline, max_chars=HEADLINE_MAX, required=False, errors=errors, field="headline")
    body = clean(draft.body, max_chars=BODY_MAX, required=True, errors=errors, field="body")
    translations: dict[str, dict[str, str | None]] = {}
    alerting = _checked_defaults(draft.alerting, errors)
    for lang, text in sorted(draft.translations.items()):
        prefix = f"translations.{lang}"
        if lang not in languages.translated:
            errors[prefix] = (
                f"must be one of LANGUAGES other than the primary: {', '.join(languages.translated)}"
            )
            continue
        translated_headline = clean(
            text.headline, max_chars=HEADLINE_MAX, required=False, errors=errors, field=f"{prefix}.headline"
        )
        translated_body = clean(
            text.body, max_chars=BODY_MAX, required=True, errors=errors, field=f"{prefix}.body"
        )
        translations[lang] = {"headline": translated_headline, "body": translated_body}
        instruction = clean(
            text.alerting.instruction,
            max_chars=INSTRUCTION_MAX,
            required=False,
            errors=errors,
            field=f"{prefix}.instruction",
        )
        if instruction is not None:  # absent otherwise: versions written before read the same
            translations[lang]["instruction"] = instruction
    fields: dict[str, Any] = {
        "name": name,
        "headline": headline,
        "body": body,
        "category": category_of(draft.category, errors),
        "translations": json.dumps(translations, ensure_ascii=False, sort_keys=True),
        "alerting": alerting_text(alerting),
    }
    texts = {"headline": headline, "body": body, "instruction": alerting.instruction}
    for lang, translated in translations.items():
        texts.update({f"translations.{lang}.{name}": value for name, value in translated.items()})
    for where, value in texts.items():
        _refuse_mistyped_placeholders(value, where, errors)
    if errors:
        raise InvalidInput(errors)
    return fields


def _refuse_mistyped_placeholders(text: str | None, where: str, errors: dict[str, str]) -> None:
    braced = _LIKE_A_PLACEHOLDER.findall(text or "")
    mistyped = [found for found in braced if not PLACEHOLDER.fullmatch(found)]
    if mistyped and where not in errors:
        errors[where] = (
            f"{mistyped[0]} is not a placeholder: a placeholder is a name in lowercase letters, digits "
            "and _ in braces, such as {shelter} or {road_name}"
        )


def _checked_defaults(alerting: Alerting, errors: dict[str, str]) -> Alerting:
    """The services' own check of the defaults a caller built (the API and console check as
    typed, with `check_defaults`)."""
    for name, value in (
        ("cap.expires", alerting.expires),
        ("wea.short", alerting.wea_short),
        ("wea.long", alerting.wea_long),
    ):
        if value is not None:
            errors[name] = NOT_A_DEFAULT
    recheck(alerting, errors)
    return replace(alerting, expires=None, wea_short=None, wea_long=None)


def _new_version(
    session: Session, actor: Actor, template: Template, number: int, fields: dict[str, Any], now: datetime
) -> TemplateVersion:
    version = TemplateVersion(
        template_id=template.id,
        version=number,
        **actor.authorship,
        created_at=now,
        **fields,
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor,
        "template.created" if number == 1 else "template.revised",
        f"template {template.id} version {number}",
        now=now,
        data={"template_id": template.id, "template_version_id": version.id, "version": number, **fields},
    )
    return version


def create_template(
    session: Session, actor: Actor, draft: TemplateDraft, *, languages: Languages, now: datetime | None = None
) -> tuple[Template, TemplateVersion]:
    require_admin(actor)
    fields = _checked(draft, languages)
    now = now or utcnow()
    template = Template(created_at=now)
    session.add(template)
    session.flush()
    return template, _new_version(session, actor, template, 1, fields, now)


def revise_template(
    session: Session,
    actor: Actor,
    template_id: int,
    draft: TemplateDraft,
    *,
    corrects_version: int,
    languages: Languages,
    now: datetime | None = None,
) -> tuple[Template, TemplateVersion]:
    """A new version of the template; VersionConflict when another admin revised it since."""
    require_admin(actor)
    template = get_template(session, template_id)
    if template.deleted_at is not None:
        raise NotAllowed(f"template {template_id} is deleted")
    fields = _checked(draft, languages)
    current = current_version(session, template)
    if corrects_version != current.version:
        raise VersionConflict(corrects_version, template_view(template, current))
    unchanged = {name: getattr(current, name) for name in fields}
    if fields == unchanged:
        raise InvalidInput({"template": "nothing changes: every field is as the current version has it"})
    return template, _new_version(session, actor, template, current.version + 1, fields, now or utcnow())


def delete_template(
    session: Session, actor: Actor, template_id: int, *, now: datetime | None = None
) -> Template:
    """Marks the template deleted: it is no longer offered, and its versions stay."""
    require_admin(actor)
    template = get_template(session, template_id)
    if template.deleted_at is not None:
        raise NotAllowed(f"template {template_id} is already deleted")
    now = now or utcnow()
    template.deleted_at = now
    template.deleted_by = actor.name
    session.flush()
    audit.record(
        session,
        actor,
        "template.deleted",
        f"template {template_id}",
        now=now,
        data={"template_id": template_id},
    )
    return template


def fill_text(text: str, values: Mapping[str, str]) -> str:
    """`text` with each placeholder that has a value in `values` replaced by it."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1)) or match.group(0), text)


def _usable(session: Session, template_id: int) -> TemplateVersion:
    """The current version of a template a PIO can start from: not a deleted one."""
    template = get_template(session, template_id)
    if template.deleted_at is not None:
        raise InvalidInput({"template": f"template {template_id} is deleted"})
    return current_version(session, template)


def _filled(version: TemplateVersion, values: Mapping[str, str]) -> Filled:
    """Every text of `version`, in every language, with `values` in its placeholders."""
    translations = [
        TranslationDraft(
            lang=draft.lang,
            body=fill_text(draft.body, values),
            headline=fill_text(draft.headline, values) if draft.headline else None,
            alerting=_filled_instruction(draft.alerting, values),
        )
        for draft in translations_of(version).values()
    ]
    headline = fill_text(version.headline, values) if version.headline else None
    defaults = defaults_of(version)
    if defaults.instruction is not None:
        defaults = replace(defaults, instruction=fill_text(defaults.instruction, values))
    return Filled(version, headline, fill_text(version.body, values), translations, defaults)


def _filled_instruction(alerting: TranslatedAlerting, values: Mapping[str, str]) -> TranslatedAlerting:
    if alerting.instruction is None:
        return alerting
    return replace(alerting, instruction=fill_text(alerting.instruction, values))


def automatic_values(incident: Incident, zone: ZoneInfo, now: datetime) -> dict[str, str]:
    """What `{incident}`, `{location}` and `{time}` stand for unless the PIO says otherwise."""
    values = {
        "incident": incident.title,
        "location": incident.location,
        "time": now.astimezone(zone).strftime(TIME_FORMAT),
    }
    return {name: value for name, value in values.items() if value}


def started(
    session: Session, template_id: int, *, incident: Incident, zone: ZoneInfo, now: datetime | None = None
) -> Filled:
    """The console's compose form started from a template: its current version with the
    automatic placeholders filled; the others stay in braces, for the PIO to fill in."""
    version = _usable(session, template_id)
    values = automatic_values(incident, zone, now or utcnow())
    return _filled(version, values)


def fill_template(
    session: Session,
    actor: Actor,
    template_id: int,
    given: Mapping[str, str],
    *,
    incident: Incident,
    zone: ZoneInfo,
    now: datetime | None = None,
) -> Filled:
    """The template's current version with every placeholder filled; InvalidInput naming each
    one without a value (`placeholders.{name}`), or a value that is too long."""
    require_publisher(actor)
    version = _usable(session, template_id)
    automatic = automatic_values(incident, zone, now or utcnow())
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    wanted = version_placeholders(version)
    for name in given:
        if name not in wanted:
            errors[f"placeholders.{name}"] = f"template {template_id} has no placeholder {{{name}}}"
    for name in wanted:
        value = clean(
            given.get(name), max_chars=VALUE_MAX, required=False, errors=errors, field=f"placeholders.{name}"
        ) or automatic.get(name)
        if value:
            values[name] = value
        elif f"placeholders.{name}" not in errors:
            errors[f"placeholders.{name}"] = f"fill in {{{name}}}: the template needs a value for it"
    if errors:
        raise InvalidInput(errors)
    return _filled(version, values)


def publish_from_template(
    session: Session,
    actor: Actor,
    slug: str,
    template_id: int,
    given: Mapping[str, str],
    *,
    preliminary: bool | None,
    languages: Languages,
    zone: ZoneInfo,
    routing: outbox.Routing,
    now: datetime | None = None,
    alerting: Alerting = NOTHING,
) -> Published:
    """A new update of incident `slug` from the template's current version, its placeholders
    filled, its translations with it; the version records the template version. `alerting`:
    the CAP fields, instruction and WEA texts sent with it (issue 17), over the template's
    defaults (`Filled.sent_with`)."""
    now = now or utcnow()
    filled = fill_template(
        session, actor, template_id, given, incident=get_incident(session, slug), zone=zone, now=now
    )
    in_force, translations = filled.sent_with(alerting)
    return publish_update(
        session,
        actor,
        slug,
        Draft(body=filled.body, headline=filled.headline, preliminary=preliminary),
        routing=routing,
        translations=Translations(translations, languages),
        now=now,
        template_version_id=filled.version.id,
        alerting=in_force,
    )

"""Autosaved forms (issue 13.7): what a PIO types in the compose form of an incident or the
correct form of an update, saved as they type, so nothing typed is lost to a closed tab, a
crash or an ended session. Private to its author (never public, never in the audit chain,
which records what was published, not what was typed); deleted when the text is published
or the author discards it. The caller commits.
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import chain

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from console.domain.actors import Actor, require_publisher
from console.domain.errors import InvalidInput
from console.domain.previews import DraftText
from console.models import AutosavedForm, Incident, Update, utcnow

# Enough for every field at its limit in a dozen languages; the form is refused beyond it,
# so a saved form is never a way to fill the database.
CONTENT_MAX = 200_000


class FormName(enum.StrEnum):
    COMPOSE = "compose"  # a new update of an incident: the target is the incident
    CORRECT = "correct"  # a correction of an update: the target is the update


@dataclass(frozen=True)
class TypedForm:
    """The fields as typed, not checked: they are checked when the form is sent."""

    text: DraftText
    translations: dict[str, tuple[str, str]] = field(default_factory=dict)  # lang -> (headline, body)
    # "Alert details" (issue 17) by the form's field names (`instruction`, `cap_urgency`, …),
    # blank ones too (an empty mapping: none were saved), and the response types ticked.
    alerting: dict[str, str] = field(default_factory=dict)
    response_types: tuple[str, ...] = ()
    # lang -> a translation's own instruction (and Spanish WEA texts) by field name
    translated_alerting: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        typed = [
            self.text.headline,
            self.text.body,
            self.text.reason,
            *chain(*self.translations.values()),
            *self.alerting.values(),
            *self.response_types,
            *chain(*(said.values() for said in self.translated_alerting.values())),
        ]
        return not any(text.strip() for text in typed)

    def to_json(self) -> str:
        return json.dumps(
            {
                **asdict(self.text),
                "translations": self.translations,
                "alerting": self.alerting,
                "response_types": list(self.response_types),
                "translated_alerting": self.translated_alerting,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, content: str) -> TypedForm:
        fields = json.loads(content)
        translations = {lang: (pair[0], pair[1]) for lang, pair in fields.pop("translations").items()}
        # Forms saved before "Alert details" were saved (issue 17) have none of these.
        alerting = fields.pop("alerting", {})
        response_types = tuple(fields.pop("response_types", ()))
        translated_alerting = fields.pop("translated_alerting", {})
        return cls(DraftText(**fields), translations, alerting, response_types, translated_alerting)


@dataclass(frozen=True)
class Saved:
    form: FormName
    target_id: int
    typed: TypedForm
    base_version: int | None
    saved_at: datetime


@dataclass(frozen=True)
class Listed:
    """A saved form on its author's dashboard, with where it resumes."""

    saved: Saved
    incident_slug: str
    incident_title: str
    update_id: int | None
    update_seq: int | None


def _author(actor: Actor) -> int:
    require_publisher(actor)
    assert actor.user_id is not None, "a console PIO has an account"
    return actor.user_id


def _row(session: Session, user_id: int, form: FormName, target_id: int) -> AutosavedForm | None:
    return session.scalars(
        select(AutosavedForm).where(
            AutosavedForm.user_id == user_id,
            AutosavedForm.form == form.value,
            AutosavedForm.target_id == target_id,
        )
    ).first()


def save(
    session: Session,
    actor: Actor,
    form: FormName,
    target_id: int,
    typed: TypedForm,
    *,
    base_version: int | None = None,
    now: datetime | None = None,
) -> Saved | None:
    """Keep `typed` as the author's form for `target_id`; a form with nothing typed is not
    kept (None). Refused over CONTENT_MAX characters."""
    user_id = _author(actor)
    content = typed.to_json()
    if len(content) > CONTENT_MAX:
        raise InvalidInput({"form": f"is too long to save as typed ({len(content):,} characters)"})
    row = _row(session, user_id, form, target_id)
    if typed.empty:
        if row is not None:
            session.delete(row)
        return None
    now = now or utcnow()
    if row is None:
        row = AutosavedForm(user_id=user_id, form=form.value, target_id=target_id)
        session.add(row)
    row.content, row.base_version, row.saved_at = content, base_version, now
    session.flush()
    return Saved(form, target_id, typed, base_version, now)


def restore(session: Session, actor: Actor, form: FormName, target_id: int) -> Saved | None:
    if actor.user_id is None or not actor.can_publish:
        return None
    row = _row(session, actor.user_id, form, target_id)
    if row is None:
        return None
    return Saved(form, target_id, TypedForm.from_json(row.content), row.base_version, row.saved_at)


def discard(session: Session, actor: Actor, form: FormName, target_id: int) -> bool:
    """Forget the author's form (discarded, or published); whether there was one."""
    result = session.execute(
        delete(AutosavedForm).where(
            AutosavedForm.user_id == _author(actor),
            AutosavedForm.form == form.value,
            AutosavedForm.target_id == target_id,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def of_author(session: Session, actor: Actor) -> list[Listed]:
    """The author's saved forms, newest first, each with its incident (and update)."""
    if actor.user_id is None or not actor.can_publish:
        return []
    rows = session.scalars(
        select(AutosavedForm)
        .where(AutosavedForm.user_id == actor.user_id)
        .order_by(AutosavedForm.saved_at.desc(), AutosavedForm.id.desc())
    ).all()
    listed = []
    for row in rows:
        form = FormName(row.form)
        saved = Saved(form, row.target_id, TypedForm.from_json(row.content), row.base_version, row.saved_at)
        if form is FormName.COMPOSE:
            incident = session.get(Incident, row.target_id)
            update = None
        else:
            update = session.get(Update, row.target_id)
            incident = update.incident if update is not None else None
        if incident is None:
            continue  # its target is gone (it never is: incidents and updates are kept)
        listed.append(
            Listed(
                saved,
                incident.slug,
                incident.title,
                update.id if update else None,
                update.seq if update else None,
            )
        )
    return listed

"""Translations in the console: the optional fields of the compose and correct forms, the
update screen's panel (status per language, add a translation of the current version), and
the lists of updates whose translations are missing or stale."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from console.domain.alerting import TranslatedAlerting, check_translated, is_spanish, stored_translated
from console.domain.errors import InvalidInput, NotFound, VersionConflict
from console.domain.translation_drafts import TranslationDraft, check_drafts
from console.domain.translations import (
    TranslationGap,
    TranslationStatus,
    add_translation,
    shown_translations,
    status_of,
    translation_gaps,
)
from console.domain.updates import Translations
from console.i18n import language_name
from console.languages import Languages
from console.models import Translation, UpdateVersion
from console.web.access import Access, access
from console.web.staff.alerting_form import FORM_NAMES
from console.web.staff.auth import STAFF, Viewer
from console.web.staff.forms import Form, read_form
from console.web.staff.rendering import see_other
from console.web.state import app_state


def field_name(lang: str, part: str) -> str:
    return f"tr-{lang}-{part}"


PREFILLED = "prefilled"  # suffix of the hidden fields that hold what a field was pre-filled with


@dataclass
class TypedTranslations:
    """What was typed in the translation fields of a form, per language (headline, body).

    `prefilled`: what the correct form started with, each language's current translation
    (issue 13.2). A language left as it was pre-filled is not sent: its translation describes
    the version being corrected, so readers keep seeing it marked as being updated.
    """

    languages: Languages
    values: dict[str, tuple[str, str]] = field(default_factory=dict)
    prefilled: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def read(cls, form: Form, languages: Languages) -> TypedTranslations:
        def pair(lang: str, suffix: str = "") -> tuple[str, str]:
            return form.text(field_name(lang, "headline" + suffix)), form.text(
                field_name(lang, "body" + suffix)
            )

        prefilled = {lang: pair(lang, f"-{PREFILLED}") for lang in languages.translated}
        return cls(
            languages,
            {lang: pair(lang) for lang in languages.translated},
            {lang: texts for lang, texts in prefilled.items() if any(texts)},
        )

    @classmethod
    def kept(
        cls,
        values: dict[str, tuple[str, str]],
        languages: Languages,
        prefilled: dict[str, tuple[str, str]] | None = None,
    ) -> TypedTranslations:
        """`values` typed earlier, over `prefilled`, in the languages still translated."""
        prefilled = {lang: texts for lang, texts in (prefilled or {}).items() if lang in languages.translated}
        typed = {lang: texts for lang, texts in values.items() if lang in languages.translated}
        return cls(languages, {**prefilled, **typed}, prefilled)

    def headline(self, lang: str) -> str:
        return self.values.get(lang, ("", ""))[0]

    def body(self, lang: str) -> str:
        return self.values.get(lang, ("", ""))[1]

    @property
    def filled(self) -> list[str]:
        """Languages with something typed, other than as pre-filled: what is sent."""
        return [
            lang
            for lang, (headline, body) in self.values.items()
            if (headline.strip() or body.strip()) and self.values[lang] != self.prefilled.get(lang)
        ]

    @property
    def unchanged(self) -> list[str]:
        """Languages left as pre-filled: not sent, so they show as being updated."""
        return [lang for lang, texts in self.prefilled.items() if self.values.get(lang) == texts]

    def drafts(self) -> list[TranslationDraft]:
        return [
            TranslationDraft(lang=lang, body=self.body(lang), headline=self.headline(lang) or None)
            for lang in self.filled
        ]

    def for_service(self) -> Translations:
        return Translations(self.drafts(), self.languages)

    def form_errors(self, fields: dict[str, str]) -> dict[str, str]:
        """The service's `translations[i].body`-style problems, keyed by this form's field names."""
        errors = {}
        for name, problem in fields.items():
            if not name.startswith("translations["):
                continue
            index, _, part = name.removeprefix("translations[").partition("].")
            if index.isascii() and index.isdigit() and int(index) < len(self.filled):
                errors[field_name(self.filled[int(index)], part or "body")] = problem
        return errors

    def check(self) -> dict[str, str]:
        """Problems found before the review step (the service checks again when publishing)."""
        problems: dict[str, str] = {}
        check_drafts(self.drafts(), self.languages, problems)
        return self.form_errors(problems)


@dataclass(frozen=True)
class LanguageRow:
    """One language of the update screen's translation panel."""

    lang: str
    name: str
    status: TranslationStatus
    shown: Translation | None  # the newest translation of the newest translated version
    shown_version: int | None
    spanish: bool = False  # carries the Spanish WEA texts (issue 17)

    @property
    def alerting(self) -> TranslatedAlerting:
        """The shown translation's instruction and WEA texts (issue 17)."""
        return stored_translated(self.shown.alerting if self.shown is not None else None)


@dataclass
class TranslationPanel:
    rows: list[LanguageRow]
    typed: dict[str, tuple[str, str]] = field(default_factory=dict)  # lang -> (headline, body) to keep
    # lang -> {"instruction", "wea_short", "wea_long"} as typed, to keep (issue 17)
    typed_alerting: dict[str, dict[str, str]] = field(default_factory=dict)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)  # lang -> field -> problem
    message: str | None = None


def panel(
    session: Session, update_id: int, versions: list[UpdateVersion], languages: Languages
) -> TranslationPanel:
    current = versions[-1]
    numbers = {version.id: version.version for version in versions}
    shown = shown_translations(session, [update_id]).get(update_id, {})
    rows = []
    for lang in languages.translated:
        translation = shown.get(lang)
        rows.append(
            LanguageRow(
                lang=lang,
                name=language_name(lang),
                status=status_of(translation, current),
                shown=translation,
                shown_version=numbers.get(translation.version_id) if translation else None,
                spanish=is_spanish(lang),
            )
        )
    return TranslationPanel(rows)


def gaps(session: Session, languages: Languages, incident_id: int | None = None) -> list[TranslationGap]:
    return translation_gaps(session, languages, incident_id=incident_id)


@access(Access.PUBLISHER, STAFF)
async def add_translation_view(request: Request, viewer: Viewer) -> Response:
    """Add a translation of the current version from the update screen."""
    from console.web.staff.updates import render_update_screen  # the screen this form sits on

    state = app_state(request)
    form = await read_form(request)
    update_id = request.path_params["update_id"]
    lang = form.text("lang")
    headline, body = form.text("headline"), form.text("body")
    version = form.integer("version") or 0
    typed_alerting = {name: form.text(name) for name in ("instruction", "wea_short", "wea_long")}
    problems: dict[str, str] = {}
    wea = {"short": typed_alerting["wea_short"], "long": typed_alerting["wea_long"]}
    words = check_translated(
        lang, typed_alerting["instruction"], wea if is_spanish(lang) and any(wea.values()) else None, problems
    )
    draft = TranslationDraft(lang=lang, body=body, headline=headline or None, alerting=words)
    try:
        if problems:
            raise InvalidInput({FORM_NAMES.get(name, name): problem for name, problem in problems.items()})
        await state.write(
            lambda session: add_translation(
                session,
                viewer.actor,
                update_id,
                draft,
                version=version,
                languages=state.languages,
                routing=state.routing,
                now=state.clock(),
            )
        )
    except NotFound:
        return await render_update_screen(request, viewer)
    except (InvalidInput, VersionConflict) as exc:
        kept = TranslationPanel([], {lang: (headline, body)}, {lang: typed_alerting})
        if isinstance(exc, VersionConflict):
            kept.message = (
                f"Version {exc.current['version']} was published since you started: your text is kept "
                "below; check it against the new text, then add it for the new version."
            )
            status = 409
        else:
            kept.errors = {lang: exc.fields}
            kept.message = "; ".join(f"{name} {problem}" for name, problem in exc.fields.items())
            status = 422
        return await render_update_screen(request, viewer, translation_form=kept, status_code=status)
    return see_other(request, f"/console/updates/{update_id}?notice=translated#translations")

"""Translations in the console: the optional fields of the compose and correct forms, the
update screen's panel (status per language, add a translation of the current version), and
the lists of updates whose translations are missing or stale."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from console.domain import idempotency
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
from console.web.staff.submission import REUSED, Submission, new_token, once
from console.web.state import app_state


def field_name(lang: str, part: str) -> str:
    return f"tr-{lang}-{part}"


PREFILLED = "prefilled"  # suffix of the hidden fields that hold what a field was pre-filled with
# A translation's own "Alert details" (issue 17), by form field name: the instruction in every
# language, the WEA texts in Spanish only (IPAWS carries an English and a Spanish alert).
ALERTING_PARTS = ("instruction", "wea_short", "wea_long")


def alerting_parts(lang: str) -> tuple[str, ...]:
    return ALERTING_PARTS if is_spanish(lang) else ALERTING_PARTS[:1]


def alerting_fields(alerting: TranslatedAlerting) -> dict[str, str]:
    """A translation's instruction and WEA texts as the form's fields (a correction starts from them)."""
    return {
        "instruction": alerting.instruction or "",
        "wea_short": alerting.wea_short or "",
        "wea_long": alerting.wea_long or "",
    }


@dataclass
class TypedTranslations:
    """What was typed in the translation fields of a form, per language: `values` (headline,
    body) and `alerting` (the instruction and, in Spanish, the WEA texts, by field name).

    `prefilled`, `prefilled_alerting`: what the correct form started with, each language's
    current translation (issue 13.2). A language left as it was pre-filled is not sent: its
    translation describes the version being corrected, so readers keep seeing it marked as
    being updated.
    """

    languages: Languages
    values: dict[str, tuple[str, str]] = field(default_factory=dict)
    prefilled: dict[str, tuple[str, str]] = field(default_factory=dict)
    alerting: dict[str, dict[str, str]] = field(default_factory=dict)
    prefilled_alerting: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def read(cls, form: Form, languages: Languages) -> TypedTranslations:
        def pair(lang: str, suffix: str = "") -> tuple[str, str]:
            return form.text(field_name(lang, "headline" + suffix)), form.text(
                field_name(lang, "body" + suffix)
            )

        def said(lang: str, suffix: str = "") -> dict[str, str]:
            return {part: form.text(field_name(lang, part + suffix)) for part in alerting_parts(lang)}

        prefilled = {lang: pair(lang, f"-{PREFILLED}") for lang in languages.translated}
        prefilled = {lang: texts for lang, texts in prefilled.items() if any(texts)}
        return cls(
            languages,
            {lang: pair(lang) for lang in languages.translated},
            prefilled,
            {lang: said(lang) for lang in languages.translated},
            {lang: said(lang, f"-{PREFILLED}") for lang in prefilled},
        )

    @classmethod
    def kept(
        cls,
        values: dict[str, tuple[str, str]],
        languages: Languages,
        prefilled: dict[str, tuple[str, str]] | None = None,
        *,
        alerting: dict[str, dict[str, str]] | None = None,
        prefilled_alerting: dict[str, dict[str, str]] | None = None,
    ) -> TypedTranslations:
        """`values` and `alerting` typed earlier, over `prefilled`, in the languages still translated."""

        translated = set(languages.translated)
        prefilled = {lang: texts for lang, texts in (prefilled or {}).items() if lang in translated}
        typed = {lang: texts for lang, texts in values.items() if lang in translated}
        prefilled_said = {lang: it for lang, it in (prefilled_alerting or {}).items() if lang in translated}
        said = {lang: it for lang, it in (alerting or {}).items() if lang in translated}
        return cls(languages, {**prefilled, **typed}, prefilled, {**prefilled_said, **said}, prefilled_said)

    def headline(self, lang: str) -> str:
        return self.values.get(lang, ("", ""))[0]

    def body(self, lang: str) -> str:
        return self.values.get(lang, ("", ""))[1]

    def said(self, lang: str, part: str) -> str:
        """The translation's `instruction`, `wea_short` or `wea_long` as typed."""
        return self.alerting.get(lang, {}).get(part, "")

    def _alerting_of(self, lang: str, source: dict[str, dict[str, str]]) -> tuple[str, ...]:
        return tuple(source.get(lang, {}).get(part, "") for part in alerting_parts(lang))

    def _typed(self, lang: str) -> bool:
        texts = (*self.values.get(lang, ("", "")), *self._alerting_of(lang, self.alerting))
        return any(text.strip() for text in texts)

    def _as_prefilled(self, lang: str) -> bool:
        return self.values.get(lang) == self.prefilled.get(lang) and self._alerting_of(
            lang, self.alerting
        ) == self._alerting_of(lang, self.prefilled_alerting)

    @property
    def filled(self) -> list[str]:
        """Languages with something typed, other than as pre-filled: what is sent."""
        return [
            lang
            for lang in self.languages.translated
            if self._typed(lang) and not (lang in self.prefilled and self._as_prefilled(lang))
        ]

    @property
    def unchanged(self) -> list[str]:
        """Languages left as pre-filled: not sent, so they show as being updated."""
        return [lang for lang in self.prefilled if self._as_prefilled(lang)]

    def typed_alerting(self, lang: str) -> dict[str, str]:
        """The language's instruction (and Spanish WEA texts) as typed, by field name."""
        return dict(zip(alerting_parts(lang), self._alerting_of(lang, self.alerting), strict=True))

    def _checked_alerting(self, lang: str, problems: dict[str, str]) -> TranslatedAlerting:
        wea = {"short": self.said(lang, "wea_short"), "long": self.said(lang, "wea_long")}
        found: dict[str, str] = {}
        given_wea = wea if is_spanish(lang) and any(text.strip() for text in wea.values()) else None
        checked = check_translated(lang, self.said(lang, "instruction"), given_wea, found)
        problems.update({field_name(lang, FORM_NAMES.get(name, name)): text for name, text in found.items()})
        return checked

    def drafts(self) -> list[TranslationDraft]:
        """What is sent; an instruction or WEA text with a problem is left out (`alerting_errors`
        names it: the callers refuse the form while there is one)."""
        problems: dict[str, str] = {}
        return [
            TranslationDraft(
                lang=lang,
                body=self.body(lang),
                headline=self.headline(lang) or None,
                alerting=self._checked_alerting(lang, problems),
            )
            for lang in self.filled
        ]

    def alerting_errors(self) -> dict[str, str]:
        """The problems of the translations' instructions and WEA texts, by form field name."""
        problems: dict[str, str] = {}
        for lang in self.filled:
            self._checked_alerting(lang, problems)
        return problems

    @property
    def carrying_alerting(self) -> list[str]:
        """Languages sent with an instruction or WEA text of their own."""
        problems: dict[str, str] = {}
        return [lang for lang in self.filled if not self._checked_alerting(lang, problems).empty]

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
                errors[field_name(self.filled[int(index)], FORM_NAMES.get(part, part) or "body")] = problem
        return errors

    def check(self) -> dict[str, str]:
        """Problems found before the review step (the service checks again when publishing)."""
        problems: dict[str, str] = {}
        check_drafts(self.drafts(), self.languages, problems)
        return {**self.form_errors(problems), **self.alerting_errors()}


@dataclass(frozen=True)
class LanguageRow:
    """One language of the update screen's translation panel."""

    lang: str
    name: str
    status: TranslationStatus
    shown: Translation | None  # the newest translation of the newest translated version
    shown_version: int | None
    spanish: bool = False  # carries the Spanish WEA texts (issue 17)
    # Its form's one-time token: "Publish translation" clicked twice publishes once.
    submission: str = field(default_factory=new_token)

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
    done = f"/console/updates/{update_id}?notice=translated#translations"
    typed = {"lang": lang, "version": version, "headline": headline, "body": body, **typed_alerting}
    submission = Submission.of(request, viewer, form, typed)

    def publish(session: Session) -> idempotency.Answer:
        add_translation(
            session,
            viewer.actor,
            update_id,
            draft,
            version=version,
            languages=state.languages,
            routing=state.routing,
            now=state.clock(),
        )
        return idempotency.Answer(303, {}, done)

    try:
        if problems:
            raise InvalidInput({FORM_NAMES.get(name, name): problem for name, problem in problems.items()})
        answer = await state.write(lambda session: once(submission, session, publish))
    except NotFound:
        return await render_update_screen(request, viewer)
    except idempotency.KeyReused:
        reused = TranslationPanel([], {lang: (headline, body)}, {lang: typed_alerting}, message=REUSED)
        return await render_update_screen(request, viewer, translation_form=reused, status_code=409)
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
    return see_other(request, answer.location or done)

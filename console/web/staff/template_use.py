"""The compose form started from a template (issue 18): which template version, and the values
typed for its placeholders. Each value is put into the text (and its translations) before the
check and the review, so the PIO reviews exactly what goes out; a placeholder still in braces
then blocks the review and names itself."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from console.domain.previews import DraftText
from console.domain.templates import fill_text, placeholders
from console.web.staff.forms import Form
from console.web.staff.translations import TypedTranslations

VALUE_PREFIX = "ph-"


@dataclass(frozen=True)
class TemplateUse:
    version_id: int  # the TemplateVersion the text started from
    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, form: Form) -> TemplateUse | None:
        version_id = form.integer("template_version")
        if version_id is None:
            return None
        typed = {
            name.removeprefix(VALUE_PREFIX): form.text(name).strip()
            for name in form.data
            if name.startswith(VALUE_PREFIX)
        }
        return cls(version_id, {name: value for name, value in typed.items() if value})

    def fill(self, draft: DraftText, typed: TypedTranslations) -> tuple[DraftText, TypedTranslations]:
        """The draft and its translations with the typed values in their placeholders."""
        values = {
            lang: (fill_text(headline, self.values), fill_text(body, self.values))
            for lang, (headline, body) in typed.values.items()
        }
        filled = replace(
            draft, headline=fill_text(draft.headline, self.values), body=fill_text(draft.body, self.values)
        )
        return filled, replace(typed, values=values)


def unfilled(draft: DraftText, typed: TypedTranslations | None) -> list[str]:
    """The placeholders still in braces in the draft or its translations."""
    texts = [draft.headline, draft.body]
    for headline, body in typed.values.values() if typed else []:
        texts += [headline, body]
    return placeholders(*texts)


def unfilled_errors(names: list[str]) -> dict[str, str]:
    return {
        f"{VALUE_PREFIX}{name}": f"Fill in {{{name}}}: the template needs a value for it before review."
        for name in names
    }

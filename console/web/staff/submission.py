"""A console form's one-time `submission` token as an idempotency key: compose, the review
step of a correction, confirmation or retraction, the all-clear, rumor control.

Each form shown gets a new token (`new_token`). The answer is stored with what the form
published, in the same transaction, and the same form sent again (a double click, a form sent
again after a lost answer) gets that answer back instead of publishing twice or conflicting with
its own version. Other words under the same token are refused (`idempotency.KeyReused`), the
caller keeping what was typed. A form without a token (sent from a page rendered before it had
one) publishes as it always did.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request

from console.domain import idempotency
from console.web.staff.auth import Viewer
from console.web.staff.forms import Form

TOKEN_MAX = 200
# Other words under a used token: the caller shows the form again with them.
REUSED = (
    "Nothing was published: this form was already used to publish other text. Your text is kept: "
    "check what was published, then send it again."
)


def new_token() -> str:
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class Submission:
    user_id: int
    key: str
    fingerprint: str

    @classmethod
    def of(cls, request: Request, viewer: Viewer, form: Form, typed: dict[str, Any]) -> Submission | None:
        """The form's token, keyed to its viewer and to what it sends (`typed`); None without one."""
        token = form.text("submission")
        user_id = viewer.actor.user_id
        # TOKEN_MAX: the key, prefixed, fits the column an API key does
        if user_id is None or len(token) > TOKEN_MAX or not idempotency.KEY_PATTERN.fullmatch(token):
            return None
        return cls(user_id, f"console:{token}", idempotency.fingerprint("POST", request.url.path, typed))

    def recall(self, session: Session) -> idempotency.Answer | None:
        """The answer this form was given when it published; KeyReused for other words."""
        return idempotency.recall(session, self.user_id, self.key, self.fingerprint)

    def published_before(self, session: Session) -> idempotency.Answer | None:
        """As `recall`, other words under the token being left to the usual checks."""
        try:
            return self.recall(session)
        except idempotency.KeyReused:
            return None

    def remember(self, session: Session, answer: idempotency.Answer) -> None:
        idempotency.remember(session, self.user_id, self.key, self.fingerprint, answer)


def once(
    submission: Submission | None, session: Session, publish: Callable[[Session], idempotency.Answer]
) -> idempotency.Answer:
    """The first answer this form was given, or `publish` run and its answer remembered."""
    if submission is None:
        return publish(session)
    if earlier := submission.recall(session):
        return earlier
    answer = publish(session)
    submission.remember(session, answer)
    return answer

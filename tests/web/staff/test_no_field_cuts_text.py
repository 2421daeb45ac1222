"""No console field cuts what is typed or pasted (README: "No field has a `maxlength`"): the
server checks each limit and says what is wrong, with the text kept. A browser's `maxlength`
drops what is past it without a word, so alt text, a reason or a comment would be published or
recorded other than as written."""

from __future__ import annotations

import re
from pathlib import Path

CONSOLE_TEMPLATES = Path(__file__).resolve().parents[3] / "templates" / "console"
# A second-factor code is not text anyone writes: its field may stop at what a code can be.
ALLOWED = {'name="code"'}


def test_no_console_field_has_a_maxlength() -> None:
    fields = [
        (path.name, tag)
        for path in sorted(CONSOLE_TEMPLATES.glob("*.html"))
        for tag in re.findall(r"<(?:input|textarea)\b[^>]*>", path.read_text())
    ]
    assert len(fields) > 20, "the console's templates were read"
    cut = [(name, tag) for name, tag in fields if "maxlength" in tag and not any(a in tag for a in ALLOWED)]
    assert cut == []

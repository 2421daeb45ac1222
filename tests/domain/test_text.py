"""The rules every typed text goes through (`console.domain.text.clean`)."""

from __future__ import annotations

import pytest

from console.domain.text import clean


def cleaned(value: str, *, required: bool = True) -> tuple[str | None, dict[str, str]]:
    errors: dict[str, str] = {}
    return clean(value, max_chars=100, required=required, errors=errors, field="body"), errors


@pytest.mark.parametrize("control", ["\x00", "\x08", "\x0b", "\x1b", "\x7f", "\x80", "\x85", "\x9f"])
def test_control_characters_c0_and_c1_are_refused_anywhere(control: str) -> None:
    for value in (f"a{control}b", f"{control}ab", f"ab{control}"):
        assert cleaned(value) == (None, {"body": "contains control characters"})


def test_tab_and_line_breaks_are_text_and_every_line_break_is_one_newline() -> None:
    assert cleaned("a\tb\nc") == ("a\tb\nc", {})
    # A browser sends a textarea's line breaks as CRLF: stored, hashed and sent as one newline.
    assert cleaned("Line one\r\nLine two\rLine three\r\n\r\nLast") == (
        "Line one\nLine two\nLine three\n\nLast",
        {},
    )


@pytest.mark.parametrize(
    "invisible",
    [
        "\u200b\u200b",
        " \ufeff ",
        "\u200d\u2060\n\u00ad",
        "\u202e",
        "\u3164",
        "\r\n\u200b\t",
        "\u061c\u061c",  # Arabic letter mark
        "\u2800 \u2800",  # blank Braille pattern
        "\ufe0f\ufe0e",  # variation selectors
        "\u17b4\u180b\u206a",  # Khmer inherent vowel, Mongolian selector, a deprecated format
        "\U000e0041\U000e0042 \U000e007f",  # tag characters (plane 14)
        "\U000e0100\U0001d173\U0001bca0",  # a variation selector, musical and shorthand formats
    ],
)
def test_text_of_invisible_characters_only_is_blank(invisible: str) -> None:
    assert cleaned(invisible) == (None, {"body": "is required and must not be blank"})
    assert cleaned(invisible, required=False) == (None, {})


def test_invisible_characters_within_visible_text_are_kept_as_typed() -> None:
    # A zero-width joiner inside an emoji sequence and a non-joiner inside a Persian word carry
    # meaning: the text is taken exactly as typed.
    # The tag characters after a black flag make it England's flag.
    england = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    for text in ("Family 👨\u200d👩\u200d👧", "می\u200cخواهم", "Safe\u200bword", england):
        assert cleaned(text) == (text, {})


@pytest.mark.parametrize(
    "text",
    [
        "Gas leak \u202eat Elm St",  # an override left open
        "Road \u2067closed",  # an isolate left open
        "\u202bשלום\nclosed on the next line only\u202c",  # a line break ends what it opened
        "\u2067a \u202eb\u2069 \u202dc",  # an isolate closes what it holds, not what follows
    ],
)
def test_a_direction_control_left_open_on_its_line_is_refused(text: str) -> None:
    """It would turn around what a channel puts after the text: the next field, the link."""
    value, errors = cleaned(text)
    assert set(errors) == {"body"} and "direction control" in errors["body"], errors
    assert "U+20" in errors["body"]  # names the character


def test_balanced_direction_controls_are_kept_as_typed() -> None:
    for text in (
        "Shelter at \u202bמרכז הקהילה\u202c now",
        "Road \u2067طريق\u2069 closed\n\u202eline two\u202c",
        "\u2067a \u202eb\u2069 c",  # the isolate's end closes the override inside it
        "stray \u202c and \u2069 close nothing",
    ):
        assert cleaned(text) == (text, {})

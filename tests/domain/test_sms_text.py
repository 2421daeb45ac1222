"""SMS lengths (GSM-7 and UCS-2 segments) and the cutting of an alert into SMS messages."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from console.domain.sms_text import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    Segments,
    alert_messages,
    compose,
    segments,
    split,
    units,
)
from console.models import VersionKind
from tests.support.sms import as_one


def test_gsm7_segments_160_alone_153_per_part() -> None:
    assert segments("").count == 0
    assert segments("a" * 160) == Segments("GSM-7", 160, 1)
    assert segments("a" * 161).count == 2
    assert segments("a" * 306).count == 2
    assert segments("a" * 307).count == 3


def test_extension_characters_count_two() -> None:
    assert units("€[]") == 6
    assert segments("a" * 158 + "€").count == 1
    assert segments("a" * 159 + "€").count == 2


def test_ucs2_segments_70_alone_67_per_part_emoji_two_units() -> None:
    assert segments("ó" * 70) == Segments("UCS-2", 70, 1)
    assert segments("ó" * 71).count == 2
    assert segments("ó" * 134).count == 2
    assert segments("ó" * 135).count == 3
    assert units("🚨") == 2 and segments("🚨" + "a" * 68).count == 1 and segments("🚨" + "a" * 69).count == 2


def test_a_short_alert_is_one_message_in_order() -> None:
    assert compose("CORRECTION: Fire:", "Move away.", "https://x.example/u", "Reply STOP to stop.") == [
        "CORRECTION: Fire: Move away. https://x.example/u Reply STOP to stop."
    ]


# Words of up to 10 characters (20 units at most: "€" counts two), GSM-7 or not.
ALPHABET = sorted(GSM7_BASIC - {"\n", "\r", " "}) + ["é", "ó", "€", "🚨"]
words = st.text(alphabet=st.sampled_from(ALPHABET), min_size=1, max_size=10)


@given(st.lists(words, max_size=80), st.integers(min_value=20, max_value=160))
def test_split_fits_the_limit_and_never_cuts_a_word(parts: list[str], limit: int) -> None:
    messages = split(" ".join(parts), limit=limit)
    assert all(0 < units(message) <= limit for message in messages)
    assert [word for message in messages for word in message.split()] == parts


@given(st.integers(min_value=1, max_value=500), st.integers(min_value=10, max_value=160))
def test_only_a_word_longer_than_a_message_is_cut(length: int, limit: int) -> None:
    word = "x" * length
    messages = split(f"a {word} b", limit=limit)
    assert all(units(message) <= limit for message in messages)
    assert "".join(messages).replace(" ", "") == f"a{word}b"
    if length <= limit:
        assert any(word in message.split() for message in messages)


@given(st.lists(words, min_size=1, max_size=80))
def test_compose_fits_each_message_in_one_segment_link_and_stop_last(parts: list[str]) -> None:
    link, footer = "https://police.example/incidents/fire#update-12", "Reply STOP to stop."
    messages = compose("PRELIMINARY: Fire:", " ".join(parts), link, footer)
    assert all(segments(message).count == 1 for message in messages)
    assert as_one(messages).startswith("PRELIMINARY: Fire:")
    assert messages[-1].endswith(f"{link} {footer}")
    assert as_one(messages).split() == ["PRELIMINARY:", "Fire:", *parts, *link.split(), *footer.split()]


@given(st.lists(words, min_size=1, max_size=400), st.sampled_from(["", "EXERCISE: ", "DIỄN TẬP: "]))
def test_each_of_several_messages_is_numbered_within_its_one_sms(parts: list[str], every: str) -> None:
    link, footer = "https://police.example/incidents/fire#update-12", "Reply STOP to stop."
    messages = compose("PRELIMINARY: Fire:", " ".join(parts), link, footer, every=every)
    assert all(segments(message).count == 1 for message in messages), messages
    if len(messages) == 1:
        assert not messages[0].removeprefix(every).startswith("(1/")
    else:
        total = len(messages)
        assert [message.removeprefix(every)[: len(f"({total}/{total}) ")] for message in messages] == [
            f"({number}/{total}) " for number in range(1, total + 1)
        ]
    assert as_one(messages, every=every).split() == [
        *every.split(),
        "PRELIMINARY:",
        "Fire:",
        *parts,
        *link.split(),
        *footer.split(),
    ]


def test_a_one_message_alert_has_no_number() -> None:
    (message,) = compose(
        "Fire:", "Move away.", "https://x.example/u", "Reply STOP to stop.", every="EXERCISE: "
    )
    assert message == "EXERCISE: Fire: Move away. https://x.example/u Reply STOP to stop."


def test_the_number_is_counted_in_the_length() -> None:
    """Text that would just fill two whole messages without their numbers takes three with them."""
    body = " ".join(["abcdefghi"] * 31)  # 309 characters: 159 + 150 without numbers
    messages = compose("", body, "", "")
    assert messages[0].startswith("(1/")
    assert all(units(message) <= 160 for message in messages), [units(message) for message in messages]
    assert as_one(messages) == body


def test_two_digit_numbers_keep_every_message_in_one_sms() -> None:
    body = " ".join(f"Street{n} is closed." for n in range(120))
    messages = compose(
        "PRELIMINARY: Closures:", body, "https://police.example/i#update-1", "Reply STOP to stop."
    )
    total = len(messages)
    assert total >= 10 and all(segments(message).count == 1 for message in messages)
    assert messages[0].startswith(f"(1/{total}) PRELIMINARY: Closures: Street0")
    assert messages[9].startswith(f"(10/{total}) ")
    assert messages[-1].startswith(f"({total}/{total}) ")


def test_a_spanish_drills_messages_say_simulacro_then_their_number_ucs2() -> None:
    body = " ".join(["Evacúe la calle Olmo ahora y diríjase al norte."] * 6)
    messages = compose(
        "PRELIMINAR: Fuga de gas:",
        body,
        "https://police.example/i?lang=es",
        "Responda STOP.",
        every="SIMULACRO: ",
    )
    total = len(messages)
    assert total > 2 and all(segments(message).count == 1 for message in messages)
    assert segments(messages[0]).encoding == "UCS-2"
    assert [message[: len(f"SIMULACRO: ({total}/{total}) ")] for message in messages] == [
        f"SIMULACRO: ({number}/{total}) " for number in range(1, total + 1)
    ]
    assert as_one(messages, every="SIMULACRO: ") == (
        f"SIMULACRO: PRELIMINAR: Fuga de gas: {body} https://police.example/i?lang=es Responda STOP."
    )


def test_vietnamese_messages_are_numbered_within_70_units() -> None:
    body = " ".join(["Sơ tán khỏi đường Elm ngay bây giờ và đi về phía bắc."] * 5)
    messages = compose("SƠ BỘ: Rò rỉ khí gas:", body, "https://police.example/i?lang=vi", "Trả lời STOP.")
    total = len(messages)
    assert total > 2 and all(units(message) <= 70 and segments(message).count == 1 for message in messages)
    assert [message.split(" ", 1)[0] for message in messages] == [
        f"({number}/{total})" for number in range(1, total + 1)
    ]


def test_each_message_of_a_drills_several_says_exercise_first() -> None:
    """Read alone (a phone shows each as it arrives), message 3 of a drill's 4 must not pass
    for a real evacuation order."""
    body = " ".join(["Evacuate Elm St now and go north."] * 12)
    messages = alert_messages(
        labels=["EXERCISE", "PRELIMINARY"],
        title="Gas leak",
        headline="Leak at Elm St",
        body=body,
        kind=VersionKind.ORIGINAL,
        reason=None,
        translation_pending=False,
        link="https://police.example/incidents/gas-leak#update-1",
    )
    assert len(messages) > 2 and all(segments(message).count == 1 for message in messages)
    assert messages[0].startswith("EXERCISE: (1/4) PRELIMINARY: Gas leak: Leak at Elm St. Evacuate Elm St")
    assert [message[: len("EXERCISE: (1/9) ")] for message in messages] == [
        f"EXERCISE: ({number}/{len(messages)}) " for number in range(1, len(messages) + 1)
    ]
    assert as_one(messages, every="EXERCISE: ").startswith(
        f"EXERCISE: PRELIMINARY: Gas leak: Leak at Elm St. {body}"
    )


def test_gsm7_alphabet_has_no_overlap() -> None:
    assert not GSM7_BASIC & GSM7_EXTENSION


def test_a_drill_retraction_says_exercise_then_withdrawn_then_why_then_quotes_the_text() -> None:
    """What the console's preview shows is what is sent: one function for both."""
    messages = alert_messages(
        labels=["EXERCISE", "RETRACTED"],
        title="Gas leak",
        headline="Leak at Elm St",
        body="Evacuate Elm St now.",
        instruction="Leave by Oak St.",
        kind=VersionKind.RETRACTION,
        reason="Not a leak",
        translation_pending=False,
        link="https://police.example/incidents/gas-leak#update-1",
    )
    assert all(segments(message).count == 1 for message in messages)
    assert as_one(messages, every="EXERCISE: ") == (
        "EXERCISE: RETRACTED: this update was withdrawn. Gas leak: Why: Not a leak. Withdrawn text: "
        '"Leak at Elm St. Evacuate Elm St now." https://police.example/incidents/gas-leak#update-1 '
        "Reply STOP to stop."
    )


def test_a_correction_gives_what_to_do_first_and_why_last() -> None:
    messages = alert_messages(
        labels=["CORRECTION", "PRELIMINARY"],
        title="Gas leak",
        headline=None,
        body="Evacuate Oak St now.",
        instruction="Leave by Elm St.",
        kind=VersionKind.CORRECTION,
        reason="Wrong street",
        translation_pending=False,
        link="https://police.example/i#update-1",
    )
    assert " ".join(messages) == (
        "CORRECTION: PRELIMINARY: Gas leak: What to do: Leave by Elm St. Evacuate Oak St now. "
        "Why: Wrong street https://police.example/i#update-1 Reply STOP to stop."
    )

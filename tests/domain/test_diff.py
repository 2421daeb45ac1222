"""Word-level diffs show exactly what a correction changed, inert and without colour."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from console.domain.diff import Change, Segment, changed, word_diff
from console.templating import diff_html


def test_a_changed_word_is_removed_then_added() -> None:
    assert word_diff("Main St closed at 3rd Ave.", "Main St closed at 4th Ave.") == [
        Segment(Change.SAME, "Main St closed at "),
        Segment(Change.REMOVED, "3rd"),
        Segment(Change.ADDED, "4th"),
        Segment(Change.SAME, " Ave."),
    ]


def test_identical_texts_have_no_change() -> None:
    assert not changed(word_diff("Same text.", "Same text."))
    assert changed(word_diff("Same text.", "Same text!"))


def test_html_marks_changes_with_ins_and_del_and_escapes_markup() -> None:
    html = str(diff_html("Two <b>hurt</b>", "Three <b>hurt</b>"))
    assert html == "<del>Two</del><ins>Three</ins> &lt;b&gt;hurt&lt;/b&gt;"
    assert str(diff_html(None, "new text")) == "<ins>new text</ins>"


@given(st.text(max_size=200), st.text(max_size=200))
def test_the_diff_reads_as_both_texts(old: str, new: str) -> None:
    segments = word_diff(old, new)
    assert "".join(s.text for s in segments if s.change is not Change.ADDED) == old
    assert "".join(s.text for s in segments if s.change is not Change.REMOVED) == new

"""The three-way merge of a PIO's edit onto a colleague's newer version (issue 13.1)."""

from __future__ import annotations

from console.domain.merging import Conflict, merge_draft, merge_text
from console.domain.previews import DraftText

SHELTER = "Shelter at Station 4, 310 Birch St."


def test_edits_to_different_places_merge_cleanly() -> None:
    merged = merge_text(
        SHELTER,
        mine="Shelter at Station 4, 310 Birch St. Open until 6 am.",
        theirs="Shelter at Fire Station 7, 55 Cedar St.",
    )
    assert merged.conflicts == []
    assert merged.text({}) == "Shelter at Fire Station 7, 55 Cedar St. Open until 6 am."


def test_edits_to_different_sentences_of_prose_merge_cleanly() -> None:
    base = "Evacuate Elm St now. Shelter at the school. Avoid the area."
    merged = merge_text(
        base,
        mine="Evacuate Elm St and Pine St now. Shelter at the school. Avoid the area.",
        theirs="Evacuate Elm St now. Shelter at the school. Avoid the area until noon.",
    )
    assert (
        merged.text({})
        == "Evacuate Elm St and Pine St now. Shelter at the school. Avoid the area until noon."
    )


def test_overlapping_edits_are_a_conflict_left_to_the_pio() -> None:
    merged = merge_text(
        SHELTER,
        mine="Shelter at Station 5, 310 Birch St.",
        theirs="Shelter at Fire Station 7, 55 Cedar St.",
    )
    [conflict] = merged.conflicts
    assert conflict == Conflict(
        0, base=" Station 4, 310 Birch", mine=" Station 5, 310 Birch", theirs=" Fire Station 7, 55 Cedar"
    ), "one choice: the shelter as either side has it"
    assert merged.text({0: "theirs"}) == "Shelter at Fire Station 7, 55 Cedar St."
    assert merged.text({0: "mine"}) == "Shelter at Station 5, 310 Birch St."


def test_the_same_change_on_both_sides_is_no_conflict() -> None:
    merged = merge_text(SHELTER, mine="Shelter at Station 7.", theirs="Shelter at Station 7.")
    assert merged.conflicts == [] and merged.text({}) == "Shelter at Station 7."


def test_a_draft_is_only_resolved_once_every_conflict_is_picked() -> None:
    base = DraftText("Evacuation", "Evacuate Elm St now.", True)
    mine = DraftText("Evacuation ordered", "Evacuate Oak St now.", True, "Wrong street")
    theirs = DraftText("Evacuation lifted", "Evacuate Elm St now. Go north.", False)
    merged = merge_draft(base, mine, theirs)
    assert [c.number for c in merged.conflicts] == [0], "the headline conflicts; the body merges"
    assert merged.missing({}) == [0] and merged.resolve({}) is None
    resolved = merged.resolve({0: "theirs"})
    assert resolved == DraftText("Evacuation lifted", "Evacuate Oak St now. Go north.", False, "Wrong street")


def test_a_conflict_takes_in_a_change_a_word_away_but_not_one_in_the_next_sentence() -> None:
    merged = merge_text(
        "Shelter at Station 4, 310 Birch St. Bring medication.",
        mine="Shelter at Station 5, 310 Birch St. Bring medication and water.",
        theirs="Shelter at Fire Station 7, 55 Cedar St. Bring medication.",
    )
    [conflict] = merged.conflicts
    assert (conflict.mine, conflict.theirs) == (" Station 5, 310 Birch", " Fire Station 7, 55 Cedar")
    assert merged.text({0: "theirs"}) == "Shelter at Fire Station 7, 55 Cedar St. Bring medication and water."

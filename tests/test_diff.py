from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from storydiff.diff import diff_tokens, word_diff

OLD = "Col. Mohammed Yerima told CNN that 190 of its soldiers would arrive in Mali within 24 hours."
NEW = "The Nigerian army said it plans to deploy 900 soldiers within 10 days."


def old_text(segments: tuple) -> str:
    return "".join(s.text for s in segments if s.op in ("equal", "delete"))


def test_phrases_are_replaced_whole_not_letter_by_letter() -> None:
    result = word_diff(OLD, NEW)
    changed = [(s.op, s.text) for s in result.segments if s.op != "equal"]
    assert all(len(text.split()) >= 1 and not text.isspace() for _, text in changed)
    assert ("delete", "190 of its soldiers would arrive in Mali within 24 hours") not in changed
    assert any("190" in text and op == "delete" for op, text in changed)
    assert any("900" in text and op == "insert" for op, text in changed)
    assert result.removed_words >= 10 and result.added_words >= 8


def test_quote_style_and_line_breaks_are_not_edits() -> None:
    result = word_diff(
        "“We’ve had requests,” Nuland said.\n\nMore.", '"We\'ve had requests," Nuland said.\nMore.'
    )
    assert [s.op for s in result.segments] == ["equal"]
    assert result.added_words == result.removed_words == 0


def test_single_word_change() -> None:
    result = word_diff("France has no intention of staying.", "France has every intention of staying.")
    assert [(s.op, s.text) for s in result.segments] == [
        ("equal", "France has "),
        ("delete", "no"),
        ("insert", "every"),
        ("equal", " intention of staying."),
    ]


def test_tokens_are_lossless() -> None:
    text = "Mali’s army — 1,700 troops... (AP)\n\tend"
    assert "".join(diff_tokens(text)) == text


sentences = st.lists(
    st.sampled_from(["Mali", "troops", "190", "900", "soldiers", ",", ".", " ", "\n"]), max_size=40
)


@given(sentences, sentences)
def test_equal_and_deleted_segments_rebuild_the_old_text(old: list[str], new: list[str]) -> None:
    old_string, new_string = "".join(old), "".join(new)
    result = word_diff(old_string, new_string)
    assert old_text(result.segments) == old_string

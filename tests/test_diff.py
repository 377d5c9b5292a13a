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


def segments_of(old: str, new: str) -> list[tuple[str, str]]:
    return [(s.op, s.text) for s in word_diff(old, new).segments]


def test_diffs_do_not_depend_on_what_the_process_diffed_before(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Workers fill the code table in different orders; the diff must not notice."""
    from storydiff import diff

    old = "Banks must make their bids by 1400 GMT on Tuesday, a central bank spokesman said today."
    new = "Banks must make bids by 1000 GMT on Tuesday, the central bank spokesman said."
    outcomes = set()
    for earlier_words in range(0, 1200, 50):
        monkeypatch.setattr(diff, "_CODES", diff._CodeTable())
        diff.tokenize(" ".join(f"filler{number}" for number in range(earlier_words)))
        outcomes.add(tuple(segments_of(old, new)))
    assert len(outcomes) == 1


def test_a_renewed_code_table_does_not_mix_old_and_new_codes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from storydiff import diff

    monkeypatch.setattr(diff, "_MAX_CODES", 10)
    representative = diff.tokenize("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu")
    member = "nu xi omicron pi rho sigma tau upsilon phi chi psi omega"
    assert [s.op for s in word_diff(representative, member).segments] == ["delete", "insert"]


def test_a_long_stretch_without_sentence_ends_is_diffed_in_bounded_memory(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from storydiff import diff

    monkeypatch.setattr(diff, "_MAX_LCS_CELLS", 1 << 12)  # as if the texts were a thousand times longer
    body = " ".join(f"w{number % 97}" for number in range(400))
    old, new = f"Start {body} end", f"Begin {body} finish"
    result = word_diff(old, new)
    assert old_text(result.segments) == old
    assert "".join(s.text for s in result.segments if s.op in ("equal", "insert")) == new
    unchanged = "".join(s.text for s in result.segments if s.op == "equal")
    assert unchanged == "" or unchanged.isspace()  # the whole middle is replaced, not aligned
    small = segments_of("Start w1 w2 w3 end", "Begin w1 w2 w3 finish")  # within the budget: aligned
    assert small == [
        ("delete", "Start"),
        ("insert", "Begin"),
        ("equal", " w1 w2 w3 "),
        ("delete", "end"),
        ("insert", "finish"),
    ]

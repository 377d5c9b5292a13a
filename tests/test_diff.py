from __future__ import annotations

import pytest
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


@pytest.mark.parametrize("seen_before", [0, 1250, 3000, 4750, 7500])
def test_diffs_do_not_depend_on_what_the_process_diffed_before(
    seed_texts: dict[str, str], monkeypatch: pytest.MonkeyPatch, seen_before: int
) -> None:
    from storydiff import boilerplate, diff

    old, new = (
        boilerplate.strip(seed_texts[name], boilerplate.NEWS_RULES).text
        for name in ("000_6cbf83f250581d03.txt", "001_f0087190d5a72797.txt")
    )
    monkeypatch.setattr(diff, "_CODES", diff._CodeTable())
    fresh = word_diff(old, new)
    # A worker that has already diffed other texts holds other codes; the diff must not change.
    # (These counts changed the seeds' diff when codes were handed out in plain order.)
    table = diff._CodeTable()
    for number in range(seen_before):
        table[f"w{number}"]
    monkeypatch.setattr(diff, "_CODES", table)
    assert word_diff(old, new) == fresh


@given(sentences, sentences, st.randoms(use_true_random=False))
def test_diff_is_the_same_whatever_the_code_table_holds(old: list[str], new: list[str], random) -> None:  # type: ignore[no-untyped-def]
    from storydiff import diff

    old_string, new_string = "".join(old), "".join(new)
    saved = diff._CODES
    try:
        diff._CODES = diff._CodeTable()
        fresh = word_diff(old_string, new_string)
        table = diff._CodeTable()
        vocabulary = ["Mali", "troops", "190", "900", "soldiers", ",", ".", "x", "y", "z", "Niger", "-", ";"]
        random.shuffle(vocabulary)
        # Thousands of other tokens first, as in a worker that has diffed a corpus already.
        for token in [f"w{number}" for number in range(random.randrange(9000))] + vocabulary:
            table[token]
        diff._CODES = table
        assert word_diff(old_string, new_string) == fresh
    finally:
        diff._CODES = saved


def segments_of(old: str, new: str) -> list[tuple[str, str]]:
    return [(s.op, s.text) for s in word_diff(old, new).segments]


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


def test_more_distinct_words_than_codes_gives_a_coarse_diff_not_a_crash(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from storydiff import diff

    monkeypatch.setattr(diff, "_CODES", diff._CodeTable())
    monkeypatch.setattr(diff, "_LAST_CODE", 0x4E00 + 300)  # as if the texts had 100,000s of words
    old = "Intro. " + " ".join(f"w{number}" for number in range(400)) + " End."
    new = "Intro. " + " ".join(f"w{number}" for number in range(400)) + " Finish."
    result = word_diff(old, new)
    assert [(s.op, s.text) for s in result.segments][-3:] == [
        ("delete", "End"),
        ("insert", "Finish"),
        ("equal", "."),
    ]
    assert old_text(result.segments) == old
    assert (result.added_words, result.removed_words) == (1, 1)


def test_a_worker_that_has_seen_many_words_still_diffs_a_long_text(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """99,000 distinct words diffed before, then a text of 30,000 new ones: once a crash (the
    word codes ran past U+10FFFF); now the table is renewed first."""
    from storydiff import diff

    monkeypatch.setattr(diff, "_CODES", diff._CodeTable())
    for start in range(0, 99_000, 1000):
        diff.tokenize(" ".join(f"x{start + number}" for number in range(1000)))
    old = " ".join(f"y{number}" for number in range(30_000))
    result = word_diff(old, old + " extra")
    assert [s.op for s in result.segments] == ["equal", "insert"] and result.added_words == 1

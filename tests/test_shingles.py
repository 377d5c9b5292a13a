from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from storydiff import shingles


def test_normalise_folds_case_quotes_and_punctuation() -> None:
    assert shingles.normalise("As Islamists “open the Gates of hell,” — they’re   here.") == (
        "as islamists open the gates of hell theyre here"
    )


def test_nfkc_makes_compatibility_forms_equal() -> None:
    assert shingles.tokens("ﬁnal ＦＵＬＬ") == ["final", "full"]


def test_straight_and_curly_quotes_give_the_same_shingles() -> None:
    curly = "“We’ve had a number of requests for support from the French,” Nuland said."
    straight = '"We\'ve had a number of requests for support from the French," Nuland said.'
    assert np.array_equal(shingles.shingle_set(curly, 5), shingles.shingle_set(straight, 5))


def test_word_order_matters() -> None:
    assert not np.array_equal(
        shingles.shingle_set("troops arrive in mali", 2), shingles.shingle_set("mali in arrive troops", 2)
    )


def test_short_text_gives_one_shingle_and_empty_text_none() -> None:
    assert len(shingles.shingle_set("Nigeria sends troops", 5)) == 1
    assert len(shingles.shingle_set("  ...  ", 5)) == 0


def test_batch_matches_one_at_a_time(seed_texts: dict[str, str]) -> None:
    texts = [*seed_texts.values(), "", "two words", "one", "Mali troops arrive"]
    batch = shingles.batch_shingles(texts, 5)
    assert batch.word_counts.tolist()[3:] == [0, 2, 1, 3]
    for index, text in enumerate(texts):
        assert np.array_equal(np.unique(batch.of(index)), shingles.shingle_set(text, 5))


def test_shingles_never_cross_text_boundaries() -> None:
    batch = shingles.batch_shingles(["a b c", "d e f"], 2)
    joined = shingles.shingle_set("a b c d e f", 2)
    assert len(batch.hashes) == 4 and len(joined) == 5
    assert set(batch.hashes.tolist()) < set(joined.tolist())


def test_seed_changes_every_hash() -> None:
    text = "France said it has committed about 1,700 troops to the effort"
    assert not set(shingles.shingle_set(text, 3, seed=1).tolist()) & set(
        shingles.shingle_set(text, 3, seed=2).tolist()
    )


words = st.lists(st.sampled_from(["mali", "troops", "France", "U.S.", "190", "don’t", "hell,"]), max_size=30)


@given(st.text())
def test_normalise_is_idempotent(text: str) -> None:
    once = shingles.normalise(text)
    assert shingles.normalise(once) == once


@given(words, st.sampled_from([" ", "\n", "\t\t", "  \n\n "]))
def test_shingles_ignore_whitespace(word_list: list[str], separator: str) -> None:
    assert np.array_equal(
        shingles.shingle_set(" ".join(word_list), 3), shingles.shingle_set(separator.join(word_list), 3)
    )


@given(st.lists(st.lists(st.text(alphabet="ab C.,’\t", max_size=12), min_size=1, max_size=5), max_size=6))
def test_line_keys_of_many_texts_are_those_of_each_text(line_lists: list[list[str]]) -> None:
    """One pass over many texts (`keys_by_lines`) gives each line the key it has alone, and a
    text's distinct keys (`batch_line_keys`) are those of its lines."""
    together = shingles.keys_by_lines(line_lists, 2)
    assert together == [shingles.keys_by_line(lines, 2) for lines in line_lists]
    values, offsets = shingles.batch_line_keys(["\n".join(lines) for lines in line_lists], 2)
    for number, keys in enumerate(together):
        assert set(values[offsets[number] : offsets[number + 1]].tolist()) == {
            k for k in keys if k is not None
        }
    for lines, keys in zip(line_lists, together, strict=True):
        for line, key in zip(lines, keys, strict=True):
            assert (key is None) == (len(shingles.tokens(line)) < 2)


def test_line_keys_follow_the_tokens_of_a_line() -> None:
    credit = "Reporting by Tim Cocks; Editing by Ed Cropley"
    (key,) = shingles.keys_by_line([credit], 4)
    assert key is not None
    assert shingles.keys_by_line(["(REPORTING BY TIM COCKS, EDITING BY ED CROPLEY)"], 4) == [key]
    assert shingles.keys_by_line(["Editing by Ed Cropley; Reporting by Tim Cocks"], 4) != [key]
    assert shingles.keys_by_line(["Reporting by Tim"], 4) == [None]
    # Seeds change the token hashes, so the keys.
    assert shingles.keys_by_line([credit], 4, seed=2) != [key]

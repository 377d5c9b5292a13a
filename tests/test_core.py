"""The compiled core (storydiff._core) against a small Python oracle of what it computes.

The oracle is the definition, written for clarity, not speed: Python's unicodedata and
str.casefold for the fold, Python integers modulo 2**64 for the hashes, Python sets for
the similarities. Hypothesis draws texts from all of Unicode (lone surrogates included);
the parity of the fold holds when this Python's Unicode version is the one the core's
tables were generated from (rust/core/tools/generate_unicode_tables.py).
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from storydiff import _core, cluster, shingles, signatures

MASK = (1 << 64) - 1
MIX_MULTIPLIER = 0x9E3779B97F4A7C15
LENGTH_MULTIPLIER = 0xC2B2AE3D27D4EB4F
BASE = 0x100000001B3
LINE_SALT = 0x6A09E667F3BCC909
MAX_PROBES = 1 << 14
DELETED = "'\"`´‘’‚‛“”„‟′″‹›«»"

same_unicode = pytest.mark.skipif(
    unicodedata.unidata_version != _core.UNICODE_VERSION,
    reason=f"the core follows Unicode {_core.UNICODE_VERSION}, this Python {unicodedata.unidata_version}",
)


def oracle_fold(text: str) -> str:
    folded = []
    for char in unicodedata.normalize("NFKC", text).casefold():
        if char in DELETED:
            continue
        if char == "\n":
            folded.append(char)
        elif char.isspace() or unicodedata.category(char)[0] in "PSZC":
            folded.append(" ")
        else:
            folded.append(char)
    return "".join(folded)


def mix64(value: int) -> int:
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK
    return value ^ (value >> 31)


def polynomial(values: list[int]) -> int:
    return sum(value * pow(BASE, position, 1 << 64) for position, value in enumerate(values)) & MASK


def oracle_lines(text: str, seed: int) -> list[list[int]]:
    """The token hashes of each line of the folded text."""
    seed_key = mix64(seed & MASK)
    return [
        [
            mix64(
                polynomial(list(token.encode("utf-8")))
                ^ ((len(token.encode("utf-8")) * LENGTH_MULTIPLIER) & MASK)
                ^ seed_key
            )
            for token in line.split(" ")
            if token
        ]
        for line in oracle_fold(text).split("\n")
    ]


def combine(window: list[int]) -> int:
    combined = 0
    for value in window:
        combined = ((combined * MIX_MULTIPLIER) & MASK) ^ value
    return mix64((combined + len(window)) & MASK)


def oracle_shingles(text: str, ngram: int, seed: int) -> list[int]:
    hashes = [value for line in oracle_lines(text, seed) for value in line]
    if 0 < len(hashes) < ngram:
        return [combine(hashes)]
    return [combine(hashes[start : start + ngram]) for start in range(len(hashes) - ngram + 1)]


def oracle_line_key(hashes: list[int], min_words: int) -> int | None:
    if len(hashes) < max(min_words, 1):
        return None
    return mix64(polynomial(hashes) ^ ((len(hashes) * MIX_MULTIPLIER) & MASK) ^ LINE_SALT)


def bin_of(value: int, num_perm: int) -> int:
    return ((value >> 32) * num_perm) >> 32


def oracle_signature(hashes: list[int], num_perm: int, seed: int) -> list[int]:
    key = mix64((seed * MIX_MULTIPLIER + 1) & MASK)
    row: list[int | None] = [None] * num_perm
    for value in hashes:
        hashed = mix64(value ^ key)
        slot = bin_of(hashed, num_perm)
        low = hashed & 0xFFFFFFFF
        row[slot] = low if row[slot] is None else min(row[slot], low)  # type: ignore[type-var]
    if not hashes:
        return [0xFFFFFFFF] * num_perm
    probe_key = mix64((seed * MIX_MULTIPLIER + 2) & MASK)
    filled = [value is not None for value in row]
    signature = list(row)
    for column in range(num_perm):
        if filled[column]:
            continue
        probes = (
            bin_of(mix64((column * MAX_PROBES + attempt) ^ probe_key), num_perm)
            for attempt in range(1, MAX_PROBES + 1)
        )
        source = next((probe for probe in probes if filled[probe]), None)
        if source is None:
            source = next(index for step in range(1, num_perm) if filled[index := (column + step) % num_perm])
        signature[column] = row[source]
    return signature  # type: ignore[return-value]


any_text = st.text(st.characters(exclude_categories=()), max_size=80)
# Text that looks like prose: words of letters, digits and marks between separators.
wordy_text = st.lists(
    st.one_of(
        st.text(st.characters(categories=["L", "M", "N"]), min_size=1, max_size=6),
        st.sampled_from([" ", "\n", ", ", "’", "-", "\t", "\u00a0", "\u2028", ". "]),
    ),
    max_size=40,
).map("".join)
texts = st.one_of(any_text, wordy_text)
seeds = st.integers(min_value=-(2**64), max_value=2**64)


@same_unicode
@given(texts)
def test_fold_is_pythons(text: str) -> None:
    assert shingles.fold(text) == oracle_fold(text)


@same_unicode
@given(st.lists(texts, max_size=6), st.integers(1, 6), seeds)
def test_shingles_and_word_counts_are_the_oracles(batch: list[str], ngram: int, seed: int) -> None:
    found = shingles.batch_shingles(batch, ngram, seed)
    for index, text in enumerate(batch):
        assert found.of(index).tolist() == oracle_shingles(text, ngram, seed)
        assert found.word_counts[index] == sum(len(line) for line in oracle_lines(text, seed))


@same_unicode
@given(st.lists(texts, min_size=1, max_size=6), st.integers(0, 4), seeds)
def test_line_keys_are_the_oracles(batch: list[str], min_words: int, seed: int) -> None:
    expected = [[oracle_line_key(line, min_words) for line in oracle_lines(text, seed)] for text in batch]
    assert shingles.keys_by_lines([text.split("\n") for text in batch], min_words, seed) == expected
    shingled, keys, offsets = shingles.batch_shingles_and_line_keys(batch, 3, seed, min_words)
    for index, text_keys in enumerate(expected):
        distinct = sorted({key for key in text_keys if key is not None})
        assert keys[offsets[index] : offsets[index + 1]].tolist() == distinct
    assert np.array_equal(shingled.hashes, shingles.batch_shingles(batch, 3, seed).hashes)


@given(st.lists(st.lists(st.integers(0, MASK), max_size=40), max_size=5), st.integers(2, 70), seeds)
def test_signatures_are_the_oracles(hash_lists: list[list[int]], num_perm: int, seed: int) -> None:
    offsets = np.cumsum([0] + [len(hashes) for hashes in hash_lists])
    batch = shingles.ShingleBatch(
        np.array([value for hashes in hash_lists for value in hashes], dtype=np.uint64),
        offsets.astype(np.int64),
        np.zeros(len(hash_lists), dtype=np.int64),
    )
    rows = signatures.batch_signatures(batch, num_perm, seed)
    assert rows.shape == (len(hash_lists), num_perm)
    assert rows.tolist() == [oracle_signature(hashes, num_perm, seed) for hashes in hash_lists]


@given(st.lists(st.sets(st.integers(0, 40)), min_size=2, max_size=6), st.data())
def test_distinct_sets_and_similarities_are_the_oracles(sets: list[set[int]], data: st.DataObject) -> None:
    repeated = [sorted(values) * 2 for values in sets]  # repeats and unsorted halves
    batch = shingles.ShingleBatch(
        np.array([value for values in repeated for value in values[::-1]], dtype=np.uint64),
        np.cumsum([0] + [len(values) for values in repeated]).astype(np.int64),
        np.zeros(len(sets), dtype=np.int64),
    )
    values, offsets = shingles.distinct_sets(batch)
    assert [values[offsets[i] : offsets[i + 1]].tolist() for i in range(len(sets))] == [
        sorted(s) for s in sets
    ]
    pairs = data.draw(st.lists(st.tuples(st.integers(0, len(sets) - 1), st.integers(0, len(sets) - 1))))
    left = np.array([pair[0] for pair in pairs], dtype=np.int64)
    right = np.array([pair[1] for pair in pairs], dtype=np.int64)
    jaccard, containment, smaller = _core.similarities(values, offsets, left, right)
    for index, (first, second) in enumerate(pairs):
        shared = len(sets[first] & sets[second])
        expected = (
            (shared / len(sets[first] | sets[second]), shared / min(len(sets[first]), len(sets[second])))
            if sets[first] and sets[second]
            else (0.0, 0.0)
        )
        assert (jaccard[index], containment[index]) == expected
        assert smaller[index] == min(len(sets[first]), len(sets[second]))
        first_set = values[offsets[first] : offsets[first + 1]]
        second_set = values[offsets[second] : offsets[second + 1]]
        assert cluster.similarity(first_set, second_set) == expected


def test_a_lone_surrogate_folds_to_one_space() -> None:
    assert shingles.fold("caf\udce9 ok") == oracle_fold("caf\udce9 ok") == "caf  ok"


def test_bad_offsets_and_pairs_are_value_errors() -> None:
    values = np.arange(3, dtype=np.uint64)
    with pytest.raises(ValueError, match="offsets must rise from 0 to at most 3"):
        _core.distinct_sets(values, np.array([0, 5], dtype=np.int64))
    with pytest.raises(ValueError, match=r"pair \(0, 2\) is outside the 1 sets"):
        _core.similarities(
            values, np.array([0, 3], dtype=np.int64), np.zeros(1, np.int64), np.full(1, 2, np.int64)
        )
    with pytest.raises(ValueError, match="ngram must be at least 1, got 0"):
        shingles.batch_shingles(["a b"], 0)

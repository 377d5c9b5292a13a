"""Normalisation, tokens and word n-gram shingle hashes.

Two copies of a story should produce the same shingles when they differ only in Unicode
form, case, quote style, punctuation or whitespace. Token hashes come from xxhash, computed
once per distinct token of a text; everything after that is numpy over whole arrays, so no
Python code runs per shingle.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import numpy.typing as npt
import xxhash

# Apostrophes and quotes vanish so "don't", "don’t" and "dont" are one token; every other
# character that is neither a letter, a digit nor a combining mark separates tokens.
_DELETED = frozenset("'\"`´‘’‚‛“”„‟′″‹›«»")
_U64 = np.uint64
_MIX_MULTIPLIER = _U64(0x9E3779B97F4A7C15)


class _TokenTable(dict[int, "int | None"]):
    """A str.translate table filled on first sight of each character.

    Building it for all of Unicode up front costs a third of a second at start-up; most
    corpora use a few hundred distinct characters.
    """

    def __missing__(self, codepoint: int) -> int | None:
        char = chr(codepoint)
        mapped: int | None
        if char in _DELETED:
            mapped = None
        elif unicodedata.category(char)[0] in "PSZC" and not char.isspace():
            mapped = 0x20
        else:
            mapped = codepoint
        self[codepoint] = mapped
        return mapped


_TABLE = _TokenTable()


def normalise(text: str) -> str:
    """NFKC, case-folded, quotes removed, other punctuation turned to spaces, whitespace collapsed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(folded.translate(_TABLE).split())


def tokens(text: str) -> list[str]:
    """The words of a text as compared: normalised and split on whitespace."""
    return normalise(text).split()


def token_hashes(words: list[str], seed: int = 0) -> npt.NDArray[np.uint64]:
    """64-bit xxhash of each token, hashing each distinct token once."""
    distinct = dict.fromkeys(words)
    hasher = xxhash.xxh3_64_intdigest
    for word in distinct:
        distinct[word] = hasher(word.encode("utf-8"), seed)
    return np.fromiter(map(distinct.__getitem__, words), dtype=_U64, count=len(words))


def _mix64(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """The splitmix64 finaliser, so that combined n-gram hashes are well spread again."""
    values = values ^ (values >> _U64(30))
    values = values * _U64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> _U64(27))
    values = values * _U64(0x94D049BB133111EB)
    mixed: npt.NDArray[np.uint64] = values ^ (values >> _U64(31))
    return mixed


def shingle_hashes(hashes: npt.NDArray[np.uint64], ngram: int) -> npt.NDArray[np.uint64]:
    """Hashes of every run of `ngram` consecutive tokens, in order (duplicates kept).

    A text shorter than `ngram` tokens yields one shingle of all its tokens, so short texts
    still compare (two identical one-line texts are duplicates); an empty text yields none.
    """
    if ngram < 1:
        raise ValueError(f"ngram must be at least 1, got {ngram}")
    count = len(hashes)
    if count == 0:
        return np.empty(0, dtype=_U64)
    width = min(ngram, count)
    combined = np.zeros(count - width + 1, dtype=_U64)
    with np.errstate(over="ignore"):
        for offset in range(width):
            # Multiply-then-rotate keeps the combination order-sensitive ("a b" != "b a").
            combined = (combined * _MIX_MULTIPLIER) ^ hashes[offset : offset + len(combined)]
        return _mix64(combined + _U64(width))


def shingle_set(text: str, ngram: int, seed: int = 0) -> npt.NDArray[np.uint64]:
    """The sorted, distinct shingle hashes of a text: the set that Jaccard is computed on."""
    distinct: npt.NDArray[np.uint64] = np.unique(shingle_hashes(token_hashes(tokens(text), seed), ngram))
    return distinct


def batch_shingle_hashes(
    word_lists: list[list[str]], ngram: int, seed: int = 0
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """Shingle hashes of many texts at once, as one array and the offsets of each text in it.

    Text i owns ``hashes[offsets[i]:offsets[i + 1]]``, equal (in order) to what
    `shingle_hashes` gives for it alone. Working on the concatenation keeps numpy's per-call
    overhead per batch rather than per document, which matters for short news items.
    """
    if ngram < 1:
        raise ValueError(f"ngram must be at least 1, got {ngram}")
    lengths = np.fromiter(map(len, word_lists), dtype=np.int64, count=len(word_lists))
    all_words = [word for words in word_lists for word in words]
    hashes = token_hashes(all_words, seed)
    starts = np.zeros(len(word_lists) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    shingle_counts = np.where(lengths >= ngram, lengths - ngram + 1, np.minimum(lengths, 1))
    offsets = np.zeros(len(word_lists) + 1, dtype=np.int64)
    np.cumsum(shingle_counts, out=offsets[1:])

    total_windows = max(len(hashes) - ngram + 1, 0)
    combined = np.zeros(total_windows, dtype=_U64)
    with np.errstate(over="ignore"):
        for offset in range(ngram if total_windows else 0):
            combined = (combined * _MIX_MULTIPLIER) ^ hashes[offset : offset + total_windows]
        windows = _mix64(combined + _U64(ngram))
    # Keep the windows that lie inside one text: those starting at most at its end - ngram.
    long_texts = np.flatnonzero(lengths >= ngram)
    boundary = np.zeros(total_windows + 1, dtype=np.int64)
    np.add.at(boundary, starts[long_texts], 1)
    np.add.at(boundary, starts[long_texts] + lengths[long_texts] - ngram + 1, -1)
    inside = np.cumsum(boundary[:-1]) > 0

    result = np.empty(int(offsets[-1]), dtype=_U64)
    short_texts = np.flatnonzero((lengths > 0) & (lengths < ngram))
    short_slot = np.zeros(len(result), dtype=bool)
    short_slot[offsets[short_texts]] = True
    result[~short_slot] = windows[inside]
    for index in short_texts:
        start = int(starts[index])
        result[offsets[index]] = shingle_hashes(hashes[start : start + int(lengths[index])], ngram)[0]
    return result, offsets

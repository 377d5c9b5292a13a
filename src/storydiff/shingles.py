"""Normalisation, tokens and word n-gram shingle hashes, for many texts at once.

Two copies of a story should produce the same shingles when they differ only in Unicode
form, case, quote style, punctuation or whitespace. The work is done by the compiled core
(`storydiff._core`, rust/core/src/fold.rs and shingles.rs), one call per batch of texts,
in parallel and without the GIL; this module keeps the Python API and its checks.

Fold: NFKC, str.casefold, apostrophes and quotes deleted, every character that is neither
a letter, a digit nor a combining mark (Python's str.isspace, or a Unicode category P, S, Z
or C) a space; newlines stay. The character data is Python's unicodedata, Unicode
`_core.UNICODE_VERSION`, generated into the core (rust/core/tools/generate_unicode_tables.py).

Token hash: a polynomial hash of the token's UTF-8 bytes modulo 2**64, mixed with the token
length and the seed and finished with the splitmix64 finaliser. It is not cryptographic; for
natural text its collision rate is that of a 64-bit hash. A shingle combines `ngram`
consecutive token hashes (multiply, then xor: order-sensitive); a line key is a polynomial of
a line's token hashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from . import _core

_SEED_MASK = 0xFFFFFFFFFFFFFFFF
# Apostrophes and quotes, which the fold deletes, so "don't", "don’t" and "dont" are one token.
_DELETED = frozenset(_core.DELETED)


def _seed(seed: int) -> int:
    """The seed as the core takes it: modulo 2**64, as the hashes use it."""
    return seed & _SEED_MASK


def fold(text: str) -> str:
    """NFKC, case-folded, quotes removed, everything that is not part of a word a space.

    Newlines stay: they separate tokens as spaces do, and they tell lines apart.
    """
    return _core.fold(text)


def normalise(text: str) -> str:
    """The text as it is compared: folded, with single spaces between tokens."""
    return " ".join(fold(text).split())


def tokens(text: str) -> list[str]:
    return fold(text).split()


@dataclass(frozen=True)
class ShingleBatch:
    """Shingle hashes of many texts: text i owns ``hashes[offsets[i]:offsets[i + 1]]``.

    Hashes are in text order and may repeat within a text (a repeated sentence); the set
    that Jaccard is computed on is their distinct values. `word_counts` counts tokens.
    """

    hashes: npt.NDArray[np.uint64]
    offsets: npt.NDArray[np.int64]
    word_counts: npt.NDArray[np.int64]

    def of(self, index: int) -> npt.NDArray[np.uint64]:
        return self.hashes[self.offsets[index] : self.offsets[index + 1]]


def token_hashes(texts: Sequence[str], seed: int = 0) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """The hash of every token of every text, in order, and the number of tokens of each text."""
    return _core.token_hashes(list(texts), _seed(seed))


def batch_line_keys(
    texts: Sequence[str], min_words: int, seed: int = 0
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """Each text's distinct line keys, sorted, concatenated, with offsets.

    A line's key is an order-sensitive hash of its token hashes, so lines that fold to the
    same tokens (case, quotes, punctuation, spacing) share a key; lines of fewer than
    `min_words` tokens (at least one) have none.
    """
    return _core.distinct_line_keys(list(texts), max(min_words, 0), _seed(seed))


def keys_by_line(lines: Sequence[str], min_words: int, seed: int = 0) -> list[int | None]:
    """The key of each of these lines (None for one of fewer than `min_words` tokens)."""
    if any("\n" in line for line in lines):
        raise ValueError("keys_by_line takes lines without newlines")
    return keys_by_lines([lines], min_words, seed)[0]


def keys_by_lines(
    line_lists: Sequence[Sequence[str]], min_words: int, seed: int = 0
) -> list[list[int | None]]:
    """`keys_by_line` for many texts' lines in one pass (lines hold no newline; every list at
    least one line, as ``text.split("\n")`` gives)."""
    if any(not lines for lines in line_lists):
        raise ValueError("every text has at least one line")
    keys, present, offsets = _core.keys_by_line(
        ["\n".join(lines) for lines in line_lists], max(min_words, 0), _seed(seed)
    )
    found = [key if has_key else None for key, has_key in zip(keys.tolist(), present.tolist(), strict=True)]
    bounds = offsets.tolist()
    return [found[bounds[index] : bounds[index + 1]] for index in range(len(line_lists))]


def batch_shingles(texts: Sequence[str], ngram: int, seed: int = 0) -> ShingleBatch:
    """Shingle hashes of many texts at once (see ShingleBatch).

    A text shorter than `ngram` tokens yields one shingle of all its tokens, so short texts
    still compare (two identical one-line texts are duplicates); an empty text yields none.
    """
    hashes, offsets, word_counts, _, _ = _core.shingle_batch(list(texts), ngram, _seed(seed))
    return ShingleBatch(hashes, offsets, word_counts)


def batch_shingles_and_line_keys(
    texts: Sequence[str], ngram: int, seed: int, min_words: int
) -> tuple[ShingleBatch, npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """`batch_shingles` and `batch_line_keys` from one pass over the texts."""
    hashes, offsets, word_counts, line_keys, line_key_offsets = _core.shingle_batch(
        list(texts), ngram, _seed(seed), max(min_words, 0)
    )
    return ShingleBatch(hashes, offsets, word_counts), line_keys, line_key_offsets


def shingle_set(text: str, ngram: int, seed: int = 0) -> npt.NDArray[np.uint64]:
    """The sorted, distinct shingle hashes of one text: the set that Jaccard is computed on."""
    return shingle_sets([text], ngram, seed)[0]


def distinct_sets(batch: ShingleBatch) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """Each text's shingle hashes sorted and distinct, concatenated, with the new offsets."""
    return _core.distinct_sets(
        np.ascontiguousarray(batch.hashes, dtype=np.uint64),
        np.ascontiguousarray(batch.offsets, dtype=np.int64),
    )


def shingle_sets(texts: Sequence[str], ngram: int, seed: int = 0) -> list[npt.NDArray[np.uint64]]:
    values, offsets = distinct_sets(batch_shingles(texts, ngram, seed))
    return [values[offsets[index] : offsets[index + 1]] for index in range(len(texts))]

"""Normalisation, tokens and word n-gram shingle hashes, for many texts at once.

Two copies of a story should produce the same shingles when they differ only in Unicode
form, case, quote style, punctuation or whitespace. The work is done on whole batches with
numpy: each text is folded with C-level string methods, the batch is encoded once, token
boundaries and token hashes come from vectorised passes over the bytes, and n-gram hashes
from shifted combinations of token hashes. No Python code runs per token or per shingle.

Token hash: a polynomial hash of the token's UTF-8 bytes modulo 2**64, computed from prefix
sums (so every token is hashed in the same few array passes), mixed with the token length
and the seed and finished with the splitmix64 finaliser. It is not cryptographic; for natural
text its collision rate is that of a 64-bit hash.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Apostrophes and quotes vanish so "don't", "don’t" and "dont" are one token; every other
# character that is neither a letter, a digit nor a combining mark separates tokens.
_DELETED = frozenset("'\"`´‘’‚‛“”„‟′″‹›«»")
_SPACE = 0x20
_NEWLINE = 0x0A  # kept by `fold`, so a batch knows which line each token is on
_U64 = np.uint64
_MIX_MULTIPLIER = _U64(0x9E3779B97F4A7C15)
_LENGTH_MULTIPLIER = _U64(0xC2B2AE3D27D4EB4F)
_BASE = 0x100000001B3  # odd, so it has an inverse modulo 2**64
_BASE_INVERSE = pow(_BASE, -1, 1 << 64)
_LINE_SALT = _U64(0x6A09E667F3BCC909)  # line keys never equal token or n-gram hashes by design


class _FoldTable(dict[int, "int | None"]):
    """A str.translate table filled on first sight of each character.

    Building it for all of Unicode up front costs a third of a second at start-up; most
    corpora use a few hundred distinct characters.
    """

    def __missing__(self, codepoint: int) -> int | None:
        char = chr(codepoint)
        mapped: int | None
        if char in _DELETED:
            mapped = None
        elif char == "\n":
            mapped = codepoint
        elif char.isspace() or unicodedata.category(char)[0] in "PSZC":
            mapped = _SPACE
        else:
            mapped = codepoint
        self[codepoint] = mapped
        return mapped


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """NFKC, case-folded, quotes removed, everything that is not part of a word a space.

    Newlines stay: they separate tokens as spaces do, and they tell lines apart.
    """
    return unicodedata.normalize("NFKC", text).casefold().translate(_FOLD)


def normalise(text: str) -> str:
    """The text as it is compared: folded, with single spaces between tokens."""
    return " ".join(fold(text).split())


def tokens(text: str) -> list[str]:
    return fold(text).split()


def _mix64(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """The splitmix64 finaliser: spreads structured 64-bit values over all 64 bits."""
    with np.errstate(over="ignore"):
        values = values ^ (values >> _U64(30))
        values = values * _U64(0xBF58476D1CE4E5B9)
        values = values ^ (values >> _U64(27))
        values = values * _U64(0x94D049BB133111EB)
        mixed: npt.NDArray[np.uint64] = values ^ (values >> _U64(31))
    return mixed


def mix64(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    return _mix64(values)


class _Powers:
    """BASE**k and BASE**-k modulo 2**64 for k up to the longest batch seen, grown on demand."""

    def __init__(self) -> None:
        self.forward = np.ones(1, dtype=_U64)
        self.inverse = np.ones(1, dtype=_U64)

    def ensure(self, length: int) -> None:
        if len(self.forward) >= length:
            return
        size = max(length, 2 * len(self.forward))
        with np.errstate(over="ignore"):
            self.forward = np.cumprod(np.full(size, _BASE, dtype=_U64)) * _U64(_BASE_INVERSE)
            self.inverse = np.cumprod(np.full(size, _BASE_INVERSE, dtype=_U64)) * _U64(_BASE)


_POWERS = _Powers()


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


@dataclass(frozen=True)
class _Tokens:
    """Every token of a batch of texts, in order: its hash, its text and its line.

    `lines` numbers the lines of the whole batch (a text's first line follows the previous
    text's last), so two tokens are on one line exactly when their numbers are equal.
    """

    hashes: npt.NDArray[np.uint64]
    counts: npt.NDArray[np.int64]
    owners: npt.NDArray[np.int64]
    lines: npt.NDArray[np.int64]


def _tokenize(texts: Sequence[str], seed: int) -> _Tokens:
    encoded = [fold(text).encode("utf-8", "surrogatepass") for text in texts]
    # A newline before, between and after the texts: no token starts at 0 (so a token's
    # prefix sum is always at start - 1), and no line runs from one text into the next.
    buffer = np.frombuffer(b"\n" + b"\n".join(encoded) + b"\n", dtype=np.uint8)
    newline = buffer == _NEWLINE
    in_token = (buffer != _SPACE) & ~newline
    edges = np.flatnonzero(in_token[1:] != in_token[:-1]) + 1
    starts, ends = edges[0::2], edges[1::2]

    text_starts = np.ones(len(texts), dtype=np.int64)
    if texts:
        np.cumsum([len(item) + 1 for item in encoded[:-1]], out=text_starts[1:])
        text_starts[1:] += 1
    owners = np.searchsorted(text_starts, starts, side="right") - 1
    counts = np.bincount(owners, minlength=len(texts)).astype(np.int64)
    lines = np.cumsum(newline)[starts]

    _POWERS.ensure(len(buffer))
    with np.errstate(over="ignore"):
        # Prefix sums of byte * BASE**position, in place (no fresh zeroed array per batch).
        weighted = buffer.astype(_U64)
        weighted *= _POWERS.forward[: len(buffer)]
        np.cumsum(weighted, out=weighted)
        raw = (weighted[ends - 1] - weighted[starts - 1]) * _POWERS.inverse[starts]
        lengths = (ends - starts).astype(_U64)
        seeded = (
            raw ^ (lengths * _LENGTH_MULTIPLIER) ^ _mix64(np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=_U64))
        )
    return _Tokens(_mix64(seeded), counts, owners, lines)


def token_hashes(texts: Sequence[str], seed: int = 0) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """The hash of every token of every text, in order, and the number of tokens of each text."""
    tokens = _tokenize(texts, seed)
    return tokens.hashes, tokens.counts


def _keyed_lines(tokens: _Tokens, min_words: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """The key of every line of at least `min_words` tokens, and the index of its first token.

    A line's key is an order-sensitive hash of its token hashes (a polynomial over them,
    from prefix sums, like the token hash over bytes), so lines that fold to the same tokens
    (case, quotes, punctuation, spacing) share a key.
    """
    count = len(tokens.hashes)
    if not count:
        return np.empty(0, _U64), np.empty(0, np.int64)
    first = np.ones(count, dtype=bool)
    first[1:] = tokens.lines[1:] != tokens.lines[:-1]
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], count)
    long_enough = (ends - starts) >= max(min_words, 1)
    starts, ends = starts[long_enough], ends[long_enough]
    _POWERS.ensure(count + 1)
    with np.errstate(over="ignore"):
        prefix = np.zeros(count + 1, dtype=_U64)
        np.cumsum(tokens.hashes * _POWERS.forward[:count], out=prefix[1:])
        raw = (prefix[ends] - prefix[starts]) * _POWERS.inverse[starts]
        keys = _mix64(raw ^ ((ends - starts).astype(_U64) * _MIX_MULTIPLIER) ^ _LINE_SALT)
    return keys, starts


def batch_line_keys(
    texts: Sequence[str], min_words: int, seed: int = 0
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """Each text's distinct line keys (see `_keyed_lines`), concatenated, with offsets."""
    return _distinct_line_keys(_tokenize(texts, seed), len(texts), min_words)


def _distinct_line_keys(
    tokens: _Tokens, text_count: int, min_words: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    keys, first_tokens = _keyed_lines(tokens, min_words)
    owners = tokens.owners[first_tokens]
    order = np.lexsort((keys, owners))
    keys, owners = keys[order], owners[order]
    keep = np.ones(len(keys), dtype=bool)
    keep[1:] = (keys[1:] != keys[:-1]) | (owners[1:] != owners[:-1])
    offsets = np.zeros(text_count + 1, dtype=np.int64)
    np.cumsum(np.bincount(owners[keep], minlength=text_count), out=offsets[1:])
    return keys[keep], offsets


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
    tokens = _tokenize(["\n".join(lines) for lines in line_lists], seed)
    keys, first_tokens = _keyed_lines(tokens, min_words)
    found: list[int | None] = [None] * sum(len(lines) for lines in line_lists)
    # Line 0 of the batch is the newline put before the first text; after it, the lines of
    # all texts follow one another.
    for key, line in zip(keys.tolist(), (tokens.lines[first_tokens] - 1).tolist(), strict=True):
        found[line] = key
    result = []
    start = 0
    for lines in line_lists:
        result.append(found[start : start + len(lines)])
        start += len(lines)
    return result


def _ngrams(hashes: npt.NDArray[np.uint64], counts: npt.NDArray[np.int64], ngram: int) -> ShingleBatch:
    """Combine the token hashes of each text into n-gram hashes that never cross a text boundary.

    A text shorter than `ngram` tokens yields one shingle of all its tokens, so short texts
    still compare (two identical one-line texts are duplicates); an empty text yields none.
    """
    if ngram < 1:
        raise ValueError(f"ngram must be at least 1, got {ngram}")
    starts = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    shingle_counts = np.where(counts >= ngram, counts - ngram + 1, np.minimum(counts, 1))
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(shingle_counts, out=offsets[1:])

    result = np.empty(int(offsets[-1]), dtype=_U64)
    total_windows = max(len(hashes) - ngram + 1, 0)
    long_texts = np.flatnonzero(counts >= ngram)
    if total_windows and len(long_texts):
        combined = np.zeros(total_windows, dtype=_U64)
        with np.errstate(over="ignore"):
            for offset in range(ngram):
                # Multiply, then xor: order-sensitive, so "a b" and "b a" differ.
                combined = (combined * _MIX_MULTIPLIER) ^ hashes[offset : offset + total_windows]
            windows = _mix64(combined + _U64(ngram))
        # A window belongs to a text when it starts at most `ngram` tokens before its end.
        boundary = np.zeros(total_windows + 1, dtype=np.int64)
        np.add.at(boundary, starts[long_texts], 1)
        np.add.at(boundary, starts[long_texts] + counts[long_texts] - ngram + 1, -1)
        inside = np.cumsum(boundary[:-1]) > 0
        short_slot = np.zeros(len(result), dtype=bool)
        short_slot[offsets[np.flatnonzero((counts > 0) & (counts < ngram))]] = True
        result[~short_slot] = windows[inside]
    for index in np.flatnonzero((counts > 0) & (counts < ngram)):
        width = int(counts[index])
        start = int(starts[index])
        combined_short = _U64(0)
        with np.errstate(over="ignore"):
            for token in hashes[start : start + width]:
                combined_short = (combined_short * _MIX_MULTIPLIER) ^ token
            result[offsets[index]] = _mix64(np.array([combined_short + _U64(width)], dtype=_U64))[0]
    return ShingleBatch(result, offsets, counts)


def batch_shingles(texts: Sequence[str], ngram: int, seed: int = 0) -> ShingleBatch:
    """Shingle hashes of many texts at once (see ShingleBatch)."""
    hashes, counts = token_hashes(texts, seed)
    return _ngrams(hashes, counts, ngram)


def batch_shingles_and_line_keys(
    texts: Sequence[str], ngram: int, seed: int, min_words: int
) -> tuple[ShingleBatch, npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """`batch_shingles` and `batch_line_keys` from one pass over the texts."""
    tokens = _tokenize(texts, seed)
    line_keys, line_key_offsets = _distinct_line_keys(tokens, len(texts), min_words)
    return _ngrams(tokens.hashes, tokens.counts, ngram), line_keys, line_key_offsets


def shingle_set(text: str, ngram: int, seed: int = 0) -> npt.NDArray[np.uint64]:
    """The sorted, distinct shingle hashes of one text: the set that Jaccard is computed on."""
    return shingle_sets([text], ngram, seed)[0]


def distinct_sets(batch: ShingleBatch) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """Each text's shingle hashes sorted and distinct, concatenated, with the new offsets."""
    count = len(batch.offsets) - 1
    owners = np.repeat(np.arange(count, dtype=np.int64), np.diff(batch.offsets))
    # One np.sort per text: numpy has no segmented sort, and this beats lexsort or argsort
    # on (owner, hash) several times over for batches of a few hundred texts.
    bounds = batch.offsets.tolist()
    values = np.concatenate(
        [np.sort(batch.hashes[bounds[i] : bounds[i + 1]]) for i in range(count)] or [np.empty(0, np.uint64)]
    )
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = (values[1:] != values[:-1]) | (owners[1:] != owners[:-1])
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(owners[keep], minlength=count), out=offsets[1:])
    return values[keep], offsets


def shingle_sets(texts: Sequence[str], ngram: int, seed: int = 0) -> list[npt.NDArray[np.uint64]]:
    values, offsets = distinct_sets(batch_shingles(texts, ngram, seed))
    return [values[offsets[index] : offsets[index + 1]] for index in range(len(texts))]

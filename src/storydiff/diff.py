"""Word-level diffs between two versions of a text.

The diff runs on tokens (words, punctuation marks, whitespace runs), not characters, so edits
snap to word boundaries. Tokens are compared by a key that ignores quote style and the
amount of whitespace, so a reprint that only straightened its quotes or re-flowed its
paragraphs shows no edits. The algorithm is diff-match-patch's Myers O(ND) diff with its
semantic cleanup, which merges runs of small edits into whole replaced phrases; its time
grows with the size of the texts times the number of edits, not with the product of the
sizes, so long near-identical articles stay fast.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate

from .model import DiffOp, Segment

_WORD = re.compile(r"\w+(?:['’]\w+)*")  # the word alternative of _TOKEN
_TOKEN = re.compile(r"\w+(?:['’]\w+)*|\.{2,}|[^\w\s]|\s+")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"'})
_SURROGATES = range(0xD800, 0xE000)
_LAST_CODE = 0x10FFFF


def diff_tokens(text: str) -> list[str]:
    """The text cut into words, single punctuation marks and whitespace runs (lossless)."""
    return _TOKEN.findall(text)


_SENTENCE = re.compile(r"[^\n]*\n|[^\n]+")
_SENTENCE_ENDS = ".!?…"
_CLOSERS = frozenset({'"', "'", ")", "]"})


class _CodeTable(dict[str, str]):
    """Token → one code character, shared by all diffs in a process, filled on first sight.

    Tokens that are equal for comparison (same NFKC form with straightened quotes; any
    whitespace) share a code, so a character diff over codes is a token diff. The code keeps
    the token's kind as diff-match-patch sees characters — whitespace is " ", a word is a
    letter, anything else a private-use character (neither a letter nor a space) — so its
    semantic cleanup puts edit boundaries at spaces and punctuation, and decides the same way
    whatever order the table was filled in: diffs do not depend on which worker made them.
    """

    def __init__(self) -> None:
        super().__init__()
        self.by_canonical: dict[str, str] = {" ": " "}
        self.next_word = 0x4E00  # CJK ideographs and on: letters to Python
        self.next_other = 0xE000  # the private use area: neither letters nor spaces
        self.sentence_ends: set[str] = set()
        self.closers: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def __missing__(self, token: str) -> str:
        canonical = " " if token.isspace() else unicodedata.normalize("NFKC", token).translate(_QUOTES)
        code = self.by_canonical.get(canonical)
        if code is None:
            code = self.by_canonical[canonical] = self._fresh(
                word=canonical[:1].isalnum() or canonical[:1] == "_"
            )
            if canonical[-1] in _SENTENCE_ENDS:
                self.sentence_ends.add(code)
                self._pattern = None
            elif canonical in _CLOSERS:
                self.closers.add(code)
                self._pattern = None
        self[token] = code
        return code

    def _fresh(self, word: bool) -> str:
        if not word:
            number = self.next_other
            self.next_other += 1
            if number > 0xF8FF:
                number = 0xF0000 + number - 0xF900  # supplementary private use area A
            if number > _LAST_CODE:
                raise _CodesExhausted
            return chr(number)
        while True:
            number = self.next_word
            self.next_word += 1
            if number > _LAST_CODE:
                raise _CodesExhausted
            if number in _SURROGATES:
                continue
            char = chr(number)
            if char.isalnum():
                return char

    def sentence_break(self) -> re.Pattern[str]:
        """Matches a sentence end (and a closing quote) followed by whitespace."""
        if self._pattern is None:
            space = " "
            ends = "".join(sorted(self.sentence_ends)) or space
            closers = "".join(sorted(self.closers)) or space
            self._pattern = re.compile(f"([{re.escape(ends)}][{re.escape(closers)}]?){re.escape(space)}")
        return self._pattern


class _CodesExhausted(Exception):
    """More distinct tokens than code characters: the texts are diffed coarsely instead."""


_CODES = _CodeTable()
_MAX_CODES = 100_000  # fewer than the letters available from U+4E00 on (about 120,000)


@dataclass(frozen=True)
class Tokenized:
    """A text cut into tokens, and their codes with "\n" for the space after each sentence."""

    text: str
    tokens: list[str]
    code: str
    offsets: list[int]  # where each token starts in `text`, and the text's length last
    # Whose codes these are; None when the text has more distinct tokens than there are codes.
    table: _CodeTable | None = field(repr=False, compare=False)


def tokenize(text: str) -> Tokenized:
    """Tokens and codes of a text; prepare a representative once for all its members' diffs."""
    global _CODES
    tokens = diff_tokens(text)
    if len(_CODES.by_canonical) + len(tokens) > _MAX_CODES:  # room for every token to be new
        _CODES = _CodeTable()
    return _encode(text, tokens, _CODES, list(accumulate(map(len, tokens), initial=0)))


def _encode(text: str, tokens: list[str], table: _CodeTable, offsets: list[int]) -> Tokenized:
    try:
        code = "".join(map(table.__getitem__, tokens))
    except _CodesExhausted:
        return Tokenized(text, tokens, "", offsets, None)
    # The space after a sentence becomes "\n" so that the alignment can go sentence by
    # sentence; it is still one character for one token.
    code = table.sentence_break().sub("\\1\n", code)
    return Tokenized(text, tokens, code, offsets, table)


@dataclass(frozen=True)
class WordDiff:
    segments: tuple[Segment, ...]
    added_words: int
    removed_words: int


# rapidfuzz's LCS keeps one bit per pair of characters left after their common start and end
# are cut off: 2**30 cells are 128 MB and about half a second.
_MAX_LCS_CELLS = 1 << 30


def _opcodes(old: str, new: str) -> list[tuple[str, int, int, int, int]]:
    from rapidfuzz.distance import Indel

    if len(old) * len(new) > _MAX_LCS_CELLS:
        start = _common_prefix(old, new)
        end = _common_prefix(old[start:][::-1], new[start:][::-1])
        if (len(old) - start - end) * (len(new) - start - end) > _MAX_LCS_CELLS:
            # Too long a changed stretch to align (long texts without sentence ends, edited
            # near both ends): keep the common start and end, replace the middle whole.
            coarse = [
                ("equal", 0, start, 0, start),
                ("replace", start, len(old) - end, start, len(new) - end),
                ("equal", len(old) - end, len(old), len(new) - end, len(new)),
            ]
            return [item for item in coarse if item[2] > item[1] or item[4] > item[3]]
    return [tuple(opcode) for opcode in Indel.opcodes(old, new)]  # type: ignore[misc]


def _common_prefix(old: Sequence[str], new: Sequence[str]) -> int:
    """Length of the common start, by bisection on slices (C-level comparisons)."""
    low, high = 0, min(len(old), len(new))
    while low < high:
        middle = (low + high + 1) // 2
        if old[:middle] == new[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _align(old_code: str, new_code: str) -> list[tuple[int, str]]:
    """A token alignment in diff-match-patch's format: [(-1|0|1, code characters)].

    Two levels: sentences first (each distinct sentence one character), then tokens, only
    inside runs of sentences that changed. rapidfuzz's bit-parallel LCS (Hyyrö) does each
    level in C++; splitting by sentence keeps the second level small, so a long article with
    a few edited sentences costs about as much as the edited sentences.
    """
    old_sentences = _SENTENCE.findall(old_code)  # each with its closing "\n", if any
    new_sentences = _SENTENCE.findall(new_code)
    sentence_code: dict[str, str] = {}
    for sentence in dict.fromkeys(old_sentences + new_sentences):
        sentence_code[sentence] = _character(len(sentence_code))
    old_outline = "".join(map(sentence_code.__getitem__, old_sentences))
    new_outline = "".join(map(sentence_code.__getitem__, new_sentences))

    def text_of(sentences: list[str], start: int, end: int) -> str:
        return "".join(sentences[start:end])

    diffs: list[tuple[int, str]] = []
    pending_old = pending_new = ""

    def flush() -> None:
        nonlocal pending_old, pending_new
        if pending_old and pending_new:
            for tag, old_start, old_end, new_start, new_end in _opcodes(pending_old, pending_new):
                if tag == "equal":
                    diffs.append((0, pending_old[old_start:old_end]))
                else:
                    if old_end > old_start:
                        diffs.append((-1, pending_old[old_start:old_end]))
                    if new_end > new_start:
                        diffs.append((1, pending_new[new_start:new_end]))
        elif pending_old:
            diffs.append((-1, pending_old))
        elif pending_new:
            diffs.append((1, pending_new))
        pending_old = pending_new = ""

    for tag, old_start, old_end, new_start, new_end in _opcodes(old_outline, new_outline):
        if tag == "equal":
            flush()
            diffs.append((0, text_of(old_sentences, old_start, old_end)))
        else:
            pending_old += text_of(old_sentences, old_start, old_end)
            pending_new += text_of(new_sentences, new_start, new_end)
    flush()
    return [(operation, text) for operation, text in diffs if text]


def _character(number: int) -> str:
    """The number-th sentence code character (skipping the surrogate range)."""
    number += 0x100
    if number >= _SURROGATES.start:
        number += len(_SURROGATES)
    return chr(number)


def word_diff(old: str | Tokenized, new: str | Tokenized) -> WordDiff:
    """Segments that turn `old` into `new`: equal text is taken from `old`."""
    from diff_match_patch import diff_match_patch

    old_text = old if isinstance(old, Tokenized) else tokenize(old)
    new_text = new if isinstance(new, Tokenized) else tokenize(new)
    # A text coded before the table was renewed (see tokenize) is coded again: in a new
    # table the same code character stands for another token.
    if old_text.table is not None and old_text.table is not _CODES:
        old_text = _encode(old_text.text, old_text.tokens, _CODES, old_text.offsets)
    if new_text.table is not None and new_text.table is not _CODES:
        new_text = _encode(new_text.text, new_text.tokens, _CODES, new_text.offsets)
    if old_text.table is None or new_text.table is None:
        return _coarse_diff(old_text, new_text)
    old_code, new_code = old_text.code, new_text.code
    if old_code == new_code:
        return WordDiff((Segment("equal", old_text.text),) if old_text.text else (), 0, 0)

    diffs = _align(old_code, new_code)
    matcher = diff_match_patch()
    matcher.diff_cleanupMerge(diffs)  # one deletion then one insertion per changed stretch
    matcher.diff_cleanupSemantic(diffs)

    segments: list[Segment] = []
    old_at = new_at = 0
    added = removed = 0
    old_offsets, new_offsets = old_text.offsets, new_text.offsets
    for operation, chars in diffs:
        length = len(chars)
        op: DiffOp
        if operation == 0:
            op, piece = "equal", old_text.text[old_offsets[old_at] : old_offsets[old_at + length]]
            old_at += length
            new_at += length
        elif operation < 0:
            op, piece = "delete", old_text.text[old_offsets[old_at] : old_offsets[old_at + length]]
            old_at += length
            removed += len(_WORD.findall(piece))
        else:
            op, piece = "insert", new_text.text[new_offsets[new_at] : new_offsets[new_at + length]]
            new_at += length
            added += len(_WORD.findall(piece))
        if segments and segments[-1].op == op:
            segments[-1] = Segment(op, segments[-1].text + piece)
        else:
            segments.append(Segment(op, piece))
    return WordDiff(tuple(segments), added_words=added, removed_words=removed)


def _coarse_diff(old: Tokenized, new: Tokenized) -> WordDiff:
    """The common start and end of two token lists kept, the middle replaced whole: for texts
    with more distinct tokens than there are code characters (about 120,000 words)."""
    start = _common_prefix(old.tokens, new.tokens)
    end = _common_prefix(old.tokens[start:][::-1], new.tokens[start:][::-1])
    old_end, new_end = len(old.tokens) - end, len(new.tokens) - end
    pieces: list[tuple[DiffOp, str]] = [
        ("equal", old.text[: old.offsets[start]]),
        ("delete", old.text[old.offsets[start] : old.offsets[old_end]]),
        ("insert", new.text[new.offsets[start] : new.offsets[new_end]]),
        ("equal", old.text[old.offsets[old_end] :]),
    ]
    removed = len(_WORD.findall(pieces[1][1]))
    added = len(_WORD.findall(pieces[2][1]))
    return WordDiff(tuple(Segment(op, text) for op, text in pieces if text), added, removed)

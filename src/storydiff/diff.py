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
from dataclasses import dataclass
from itertools import accumulate

from .model import DiffOp, Segment

_WORD = re.compile(r"\w+(?:['’]\w+)*")  # the word alternative of _TOKEN
# Whitespace first: the alternatives start with different characters, so their order does not
# change the tokens, and this order makes findall a third faster on news text.
_TOKEN = re.compile(r"\s+|\w+(?:['’]\w+)*|\.{2,}|[^\w\s]")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"'})
_SURROGATES = range(0xD800, 0xE000)


def diff_tokens(text: str) -> list[str]:
    """The text cut into words, single punctuation marks and whitespace runs (lossless)."""
    return _TOKEN.findall(text)


_SENTENCE = re.compile(r"[^\n]*\n|[^\n]+")
_SENTENCE_ENDS = ".!?…"
_CLOSERS = frozenset({'"', "'", ")", "]"})


class _CodeTable(dict[str, str]):
    """Token → one code character, shared by all diffs in a process, filled on first sight.

    Tokens that are equal for comparison (same NFKC form with straightened quotes; any
    whitespace) share a code, so a character diff over codes is a token diff. Code points that
    are whitespace to Python are never used, so diff-match-patch's cleanup, which looks at
    whitespace, sees the same thing whatever order the table was filled in; that keeps diffs
    independent of which worker computed them.
    """

    def __init__(self) -> None:
        super().__init__()
        self.by_canonical: dict[str, str] = {}
        self.next_number = 0x100
        self.sentence_ends: set[str] = set()
        self.closers: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def __missing__(self, token: str) -> str:
        canonical = " " if token.isspace() else unicodedata.normalize("NFKC", token).translate(_QUOTES)
        code = self.by_canonical.get(canonical)
        if code is None:
            code = self.by_canonical[canonical] = self._fresh()
            if canonical != " " and canonical[-1] in _SENTENCE_ENDS:
                self.sentence_ends.add(code)
                self._pattern = None
            elif canonical in _CLOSERS:
                self.closers.add(code)
                self._pattern = None
        self[token] = code
        return code

    def _fresh(self) -> str:
        while True:
            number = self.next_number
            self.next_number += 1
            if number in _SURROGATES:
                continue
            char = chr(number)
            if not char.isspace():
                return char

    def sentence_break(self) -> re.Pattern[str]:
        """Matches whitespace after a sentence end (and a closing quote).

        Lookbehinds, so that the match is the whitespace alone and `sub` can replace it with
        a plain string: a template with a group costs a Python call per match.
        """
        if self._pattern is None:
            space = re.escape(self[" "])
            ends = re.escape("".join(sorted(self.sentence_ends)) or self[" "])
            closers = re.escape("".join(sorted(self.closers)) or self[" "])
            self._pattern = re.compile(f"(?:(?<=[{ends}])|(?<=[{ends}][{closers}])){space}")
        return self._pattern


_CODES = _CodeTable()
_MAX_CODES = 1 << 19


@dataclass(frozen=True)
class Tokenized:
    """A text cut into tokens, and their codes with "\n" for the space after each sentence."""

    text: str
    tokens: list[str]
    code: str
    offsets: list[int]  # where each token starts in `text`, and the text's length last


def tokenize(text: str) -> Tokenized:
    """Tokens and codes of a text; prepare a representative once for all its members' diffs."""
    global _CODES
    if len(_CODES.by_canonical) > _MAX_CODES:
        _CODES = _CodeTable()
    tokens = diff_tokens(text)
    code = "".join(map(_CODES.__getitem__, tokens))
    # The space after a sentence becomes "\n" so that the alignment can go sentence by
    # sentence; it is still one character for one token.
    code = _CODES.sentence_break().sub("\n", code)
    return Tokenized(text, tokens, code, list(accumulate(map(len, tokens), initial=0)))


@dataclass(frozen=True)
class WordDiff:
    segments: tuple[Segment, ...]
    added_words: int
    removed_words: int


def _opcodes(old: str, new: str) -> list[tuple[str, int, int, int, int]]:
    from rapidfuzz.distance import Indel

    return [tuple(opcode) for opcode in Indel.opcodes(old, new)]  # type: ignore[misc]


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

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
from dataclasses import dataclass
from functools import lru_cache

from .model import DiffOp, Segment

_TOKEN = re.compile(r"\w+(?:['’]\w+)*|\.{2,}|[^\w\s]|\s+")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"'})
_SURROGATES = range(0xD800, 0xE000)
_NO_DEADLINE = 10.0**9
_SENTENCE_END = frozenset(".!?…")
_CLOSING = frozenset({'"', "'", ")", "]"})


def diff_tokens(text: str) -> list[str]:
    """The text cut into words, single punctuation marks and whitespace runs (lossless)."""
    return _TOKEN.findall(text)


@lru_cache(maxsize=1 << 16)
def _key(token: str) -> str:
    if token.isspace():
        return " "
    return unicodedata.normalize("NFKC", token).translate(_QUOTES)


def _is_word(token: str) -> bool:
    return bool(token) and (token[0].isalnum() or token[0] == "_")


@dataclass(frozen=True)
class WordDiff:
    segments: tuple[Segment, ...]
    added_words: int
    removed_words: int


def word_diff(old: str, new: str) -> WordDiff:
    """Segments that turn `old` into `new`: equal text is taken from `old`."""
    from diff_match_patch import diff_match_patch

    old_tokens, new_tokens = diff_tokens(old), diff_tokens(new)
    codes: dict[str, str] = {}

    def encode(tokens: Sequence[str]) -> str:
        chars = []
        after_sentence = False
        for token in tokens:
            key = _key(token)
            if key == " " and after_sentence:
                # The space after a sentence becomes a newline, so diff-match-patch's line
                # mode diffs sentence by sentence first and words only inside changed ones.
                chars.append("\n")
                after_sentence = False
                continue
            if key != " ":
                after_sentence = key[-1] in _SENTENCE_END or (after_sentence and key in _CLOSING)
            code = codes.get(key)
            if code is None:
                number = len(codes) + 0x100
                if number >= _SURROGATES.start:
                    number += len(_SURROGATES)
                code = codes[key] = chr(number)
            chars.append(code)
        return "".join(chars)

    matcher = diff_match_patch()
    # A deadline that is never reached: a real one would make the result depend on machine
    # load, and no deadline at all (0) also turns off diff-match-patch's half-match speed-up.
    matcher.Diff_Timeout = _NO_DEADLINE
    diffs = matcher.diff_main(encode(old_tokens), encode(new_tokens), checklines=True)
    matcher.diff_cleanupSemantic(diffs)

    segments: list[Segment] = []
    old_at = new_at = 0
    added = removed = 0
    for operation, chars in diffs:
        length = len(chars)
        op: DiffOp
        if operation == 0:
            op, piece = "equal", old_tokens[old_at : old_at + length]
            old_at += length
            new_at += length
        elif operation < 0:
            op, piece = "delete", old_tokens[old_at : old_at + length]
            old_at += length
            removed += sum(map(_is_word, piece))
        else:
            op, piece = "insert", new_tokens[new_at : new_at + length]
            new_at += length
            added += sum(map(_is_word, piece))
        if segments and segments[-1].op == op:
            segments[-1] = Segment(op, segments[-1].text + "".join(piece))
        else:
            segments.append(Segment(op, "".join(piece)))
    return WordDiff(tuple(segments), added_words=added, removed_words=removed)

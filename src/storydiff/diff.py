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

from .model import DiffOp, Segment

_TOKEN = re.compile(r"\w+(?:['’]\w+)*|\.{2,}|[^\w\s]|\s+")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"'})
_SURROGATES = range(0xD800, 0xE000)


def diff_tokens(text: str) -> list[str]:
    """The text cut into words, single punctuation marks and whitespace runs (lossless)."""
    return _TOKEN.findall(text)


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
        for token in tokens:
            key = _key(token)
            code = codes.get(key)
            if code is None:
                number = len(codes) + 0x100
                if number >= _SURROGATES.start:
                    number += len(_SURROGATES)
                code = codes[key] = chr(number)
            chars.append(code)
        return "".join(chars)

    matcher = diff_match_patch()
    matcher.Diff_Timeout = 0  # a deadline would make the result depend on machine load
    diffs = matcher.diff_main(encode(old_tokens), encode(new_tokens), checklines=False)
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

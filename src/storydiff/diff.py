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

from .model import DiffOp, Segment

_TOKEN = re.compile(r"\w+(?:['’]\w+)*|\.{2,}|[^\w\s]|\s+")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"'})
_SURROGATES = range(0xD800, 0xE000)


def diff_tokens(text: str) -> list[str]:
    """The text cut into words, single punctuation marks and whitespace runs (lossless)."""
    return _TOKEN.findall(text)


_WHITESPACE = re.compile(r"\s+")
_SENTENCE = re.compile(r"[^\n]*\n|[^\n]+")
# The space after a sentence (its final mark, perhaps a closing quote or bracket) becomes a
# newline in the comparison keys, so diff-match-patch's line mode diffs sentence by sentence
# first and word by word only inside the sentences that changed.
_SENTENCE_BREAK = re.compile(r"([.!?…][\"')\]]?) ")


def _comparison_keys(text: str) -> list[str]:
    """One key per token of `text`: quotes straightened, whitespace " " or (after a sentence) "\n"."""
    return _TOKEN.findall(_SENTENCE_BREAK.sub("\\1\n", _WHITESPACE.sub(" ", text.translate(_QUOTES))))


def _canonical(key: str) -> str:
    return key if key in (" ", "\n") else unicodedata.normalize("NFKC", key)


def _is_word(token: str) -> bool:
    return bool(token) and (token[0].isalnum() or token[0] == "_")


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
    """The number-th code character, skipping "\n" and the surrogate range."""
    number += 0x100
    if number >= _SURROGATES.start:
        number += len(_SURROGATES)
    return chr(number)


def word_diff(old: str, new: str) -> WordDiff:
    """Segments that turn `old` into `new`: equal text is taken from `old`."""
    from diff_match_patch import diff_match_patch

    old_tokens, new_tokens = diff_tokens(old), diff_tokens(new)
    old_keys, new_keys = _comparison_keys(old), _comparison_keys(new)
    if len(old_keys) != len(old_tokens) or len(new_keys) != len(new_tokens):
        old_keys, new_keys = old_tokens, new_tokens  # keys could not be aligned: compare as is
    if old_keys == new_keys:
        return WordDiff((Segment("equal", old),) if old else (), 0, 0)

    # Each distinct key becomes one character (NFKC-equal keys share it), so the character
    # diff below is a token diff. "\n" stays itself for line mode.
    by_canonical: dict[str, str] = {"\n": "\n"}
    code_of: dict[str, str] = {}
    for key in dict.fromkeys(old_keys + new_keys):
        canonical = _canonical(key)
        code = by_canonical.get(canonical)
        if code is None:
            code = by_canonical[canonical] = _character(len(by_canonical))
        code_of[key] = code
    old_code = "".join(map(code_of.__getitem__, old_keys))
    new_code = "".join(map(code_of.__getitem__, new_keys))

    diffs = _align(old_code, new_code)
    matcher = diff_match_patch()
    matcher.diff_cleanupMerge(diffs)  # one deletion then one insertion per changed stretch
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

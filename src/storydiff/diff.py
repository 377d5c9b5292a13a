"""Word-level diffs between two versions of a text: edits, moved passages, changed figures.

The diff runs on tokens (words, punctuation marks, whitespace runs), not characters, so edits
snap to word boundaries. Tokens are compared by a key that ignores quote style and the
amount of whitespace, so a reprint that only straightened its quotes or re-flowed its
paragraphs shows no edits.

The alignment is rapidfuzz's bit-parallel LCS (Hyyrö; C++), first over sentences and then
over the tokens of the sentences that changed, so a long article with a few edited
sentences costs about as much as those sentences, never the product of the two lengths.
diff-match-patch's semantic cleanup then merges runs of small edits into whole replaced
phrases. Moves (a passage deleted in one place and inserted in another) are paired up after
the alignment, on the changed tokens only; changed figures are read from the replaced
phrases.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate, repeat
from operator import add
from typing import cast

from .figures import (
    CURRENCY_SIGNS,
    FIGURE_PHRASE,
    FIGURE_TOKEN,
    FIGURE_TOKEN_PATTERN,
    WORD_VALUES,
    is_figure_token,
)
from .model import ChangedFigure, CopyKind, Segment, Span

# The word alternatives of _TOKEN: a figure token (kept whole, see figures.py) or a word.
_WORD = re.compile(rf"{FIGURE_TOKEN_PATTERN}|\w+(?:['’]\w+)*")
# Whitespace first: it starts with different characters from the others, and this order
# makes findall a third faster on news text. A figure comes before a word, so "6-1/2" and
# "1,250,000" are one token each; where no figure fits ("1st", "COVID-19") the word does.
_TOKEN = re.compile(rf"\s+|{FIGURE_TOKEN_PATTERN}|\w+(?:['’]\w+)*|\.{{2,}}|[^\w\s]")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"'})
_SURROGATES = range(0xD800, 0xE000)
_LAST_CODE = 0x10FFFF


def diff_tokens(text: str) -> list[str]:
    """The text cut into words, single punctuation marks and whitespace runs (lossless)."""
    return _TOKEN.findall(text)


# The comparison key of `copy_kind`: words (figure tokens whole), case-folded; whitespace,
# line breaks, quote marks and other punctuation fall between them and do not count.
_KIND_WORD = re.compile(rf"{FIGURE_TOKEN_PATTERN}|[^\W_]+")
_FIGURE_MASK = "#"  # never a _KIND_WORD


def comparison_words(text: str) -> list[str]:
    """A text's words under the comparison key of `copy_kind`."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return _KIND_WORD.findall(text.casefold())


def copy_kind(representative: str, copy: str) -> CopyKind:
    """How a copy's cleaned text differs from its representative's, from least to most:
    `identical`; `reformatted` (the same words under the comparison key: case, quotes,
    punctuation, whitespace and line breaks aside); `figures` (the same once every figure
    token, figures.is_figure_token, is masked: only numbers, amounts, percentages and dates
    were replaced); else `edited`.

    Decided from the two texts alone, without the word diff, so commands that need no diff
    still know it; it agrees with the diff (tests/test_figures.py checks it on the labelled set).
    """
    if representative == copy:
        return "identical"
    old_words, new_words = comparison_words(representative), comparison_words(copy)
    if old_words == new_words:
        return "reformatted"
    if len(old_words) == len(new_words) and _masked(old_words) == _masked(new_words):
        return "figures"
    return "edited"


def _masked(words: list[str]) -> list[str]:
    """Comparison words with every figure token (figures.is_figure_token) masked."""
    return [_FIGURE_MASK if is_figure_token(word) else word for word in words]


# A text cut into lines, each with the whole whitespace run after its newline: the `\s+` token
# ends where such a piece ends and the next token starts there, so the tokens of a text are
# those of its pieces end to end, and a piece is coded once per code table (see `tokenize`).
_PIECE = re.compile(r"[^\n]*\n\s*|[^\n]+")
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
        self.places: dict[str, _Place] = {}  # where each piece of text seen was coded (see `tokenize`)
        self.remembered_tokens = 0

    def __missing__(self, token: str) -> str:
        if token.isspace():
            canonical = " "
        elif token.isascii():
            canonical = token  # NFKC keeps ASCII as it is, and the quotes to straighten are not ASCII
        else:
            canonical = unicodedata.normalize("NFKC", token).translate(_QUOTES)
        code = self.by_canonical.get(canonical)
        if code is None:
            code = self.by_canonical[canonical] = self._fresh(word=_is_word(canonical))
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

    def remember(self, pieces: list[str], run: _Run) -> list[_Place]:
        """Where each of `pieces` (consecutive `_PIECE`s of a text, coded together as `run`)
        lies in the run, kept for the next text that holds them."""
        # A piece ends where a token does. C-level maps: this runs for every new line.
        stops = list(map(bisect_left, repeat(run[2]), accumulate(map(len, pieces))))
        places = list(zip(repeat(run), [0, *stops[:-1]], stops))
        if self.remembered_tokens > _MAX_REMEMBERED_TOKENS:
            self.forget()  # memory stays bounded; only speed is lost
        self.places.update(zip(pieces, places, strict=True))
        self.remembered_tokens += len(run[0])
        return places

    def forget(self) -> None:
        """Forget where pieces of text were coded (the codes stay): diffs do not change."""
        self.places.clear()
        self.remembered_tokens = 0

    def sentence_break(self) -> re.Pattern[str]:
        """Matches whitespace after a sentence end (and a closing quote).

        Lookbehinds, so that the match is the whitespace alone and `sub` can replace it with
        a plain string: a template with a group costs a Python call per match. The space
        comes first, so the search skips to spaces instead of trying every position.
        """
        if self._pattern is None:
            space = re.escape(" ")  # whitespace's code (see above)
            if not self.sentence_ends:
                # No sentence end seen yet: nothing to match. (A stand-in character here once
                # turned the space after a quote into a sentence break in a fresh table only,
                # so diffs depended on what the process had diffed before.)
                self._pattern = re.compile(r"(?!)")
                return self._pattern
            ends = re.escape("".join(sorted(self.sentence_ends)))
            closers = (
                f"|(?<=[{ends}][{re.escape(''.join(sorted(self.closers)))}]{space})" if self.closers else ""
            )
            self._pattern = re.compile(f"{space}(?:(?<=[{ends}]{space}){closers})")
        return self._pattern


class _CodesExhausted(Exception):
    """More distinct tokens than code characters: the texts are diffed coarsely instead."""


# The tokens of consecutive `_PIECE`s of a text, their codes (with sentence breaks) and
# offsets (see `Tokenized`), and (run, first token, end token): where one of the pieces lies
# in it. Plain tuples: a named one costs a Python call to make, and texts are made of
# thousands of pieces.
_Run = tuple[list[str], str, list[int]]
_Place = tuple[_Run, int, int]


_CODES = _CodeTable()
_MAX_CODES = 100_000  # fewer than the letters available from U+4E00 on (about 120,000)
_MAX_REMEMBERED_TOKENS = 200_000  # in the runs a table keeps pieces of: some 15 MB


@dataclass(frozen=True)
class Tokenized:
    """A text cut into tokens, and their codes with "\n" for the space after each sentence
    (and for an empty token added after the last sentence when no space follows it)."""

    text: str
    tokens: list[str]
    code: str
    offsets: list[int]  # where each token starts in `text`, and the text's length last
    # The table `code` comes from; None when the text has more distinct tokens than there are
    # code characters (it is then diffed coarsely, see _coarse_diff).
    codes: _CodeTable | None = field(repr=False, compare=False)

    @cached_property
    def sentences(self) -> list[str]:
        """The code cut into sentences, each ending in "\n": found once for a representative
        and all its members' diffs."""
        return _SENTENCE.findall(self.code)


def tokenize(text: str, representative: bool = False) -> Tokenized:
    """Tokens and codes of a text; prepare a `representative` once for all its members' diffs.

    Members of a cluster share most of their lines with the representative and with each
    other, so the code table remembers where it coded each `_PIECE` (a line) it has seen, and
    a text costs about as much as its new lines. The tokens and codes are those the whole
    text would get: the tokens, as said at `_PIECE`; the sentence breaks, as a piece starts
    with a non-space (or starts the text) and the one before it ends with a space, so that
    the lookbehinds of `sentence_break` see the same characters; and a piece's sentence ends
    and closers are known when it is coded, so the pattern growing later changes nothing in
    it. A renewed table starts with no pieces, as with no codes.

    A `representative` starts a cluster: the table first forgets the lines of the clusters
    before, which rarely come back; keeping them cost more (memory touched, objects kept
    alive) than they saved, about 5% of the diff's time on a news corpus.
    """
    global _CODES
    if representative:
        _CODES.forget()
    pieces = _PIECE.findall(text)
    places = list(map(_CODES.places.get, pieces))
    missing = _missing(pieces, places)
    # A text has no more tokens than characters: the exact count is needed only near the limit.
    if len(_CODES.by_canonical) + len(text) > _MAX_CODES and (
        len(_CODES.by_canonical)
        + sum(place[2] - place[1] for place in places if place is not None)
        + sum(len(tokens) for _, _, tokens in missing)
        > _MAX_CODES
    ):
        _CODES = _CodeTable()  # room for every token to be new
        return _encoded(text, pieces, [None] * len(pieces), [(0, len(pieces), diff_tokens(text))], _CODES)
    return _encoded(text, pieces, places, missing, _CODES)


def _missing(pieces: list[str], places: list[_Place | None]) -> list[tuple[int, int, list[str]]]:
    """The runs of pieces without a place, as (first, end, tokens), each tokenized whole: a
    call per piece would cost more than the remembered pieces save."""
    runs = []
    index, count = 0, len(pieces)
    while index < count:
        if places[index] is not None:
            index += 1
            continue
        end = index + 1
        while end < count and places[end] is None:
            end += 1
        runs.append((index, end, diff_tokens("".join(pieces[index:end]))))
        index = end
    return runs


def _encoded(
    text: str,
    pieces: list[str],
    places: list[_Place | None],
    missing: list[tuple[int, int, list[str]]],
    codes: _CodeTable,
) -> Tokenized:
    """`text`, cut into `pieces`, coded in `codes`: the pieces with `places` taken from
    there, the `missing` runs (see `_missing`) coded here."""
    offsets: list[int] = []
    try:
        for first, end, run_tokens in missing:
            code = "".join(map(codes.__getitem__, run_tokens))
            # The space after a sentence becomes "\n" so that the alignment can go sentence
            # by sentence; it is still one character for one token.
            code = codes.sentence_break().sub("\n", code)
            offsets = list(accumulate(map(len, run_tokens), initial=0))
            places[first:end] = codes.remember(pieces[first:end], (run_tokens, code, offsets))
    except _CodesExhausted:
        tokens = diff_tokens(text)
        return Tokenized(text, tokens, "", list(accumulate(map(len, tokens), initial=0)), None)
    if len(missing) == 1 and missing[0][0] == 0 and missing[0][1] == len(pieces):
        # A new text, coded above as one run (kept by the table).
        tokens, offsets = missing[0][2].copy(), offsets.copy()
    else:
        tokens, code, offsets = _joined_places(cast(list[_Place], places))
    if code and not code.endswith("\n"):
        # An empty last token ends the last sentence like the others, so that a sentence
        # that was last in one version and is not in the other still compares equal.
        tokens.append("")
        code += "\n"
        offsets.append(offsets[-1])
    return Tokenized(text, tokens, code, offsets, codes)


def _joined_places(places: list[_Place]) -> tuple[list[str], str, list[int]]:
    """The tokens, code and offsets of pieces of text from their places, those that follow
    each other in a run (most of a member's lines, in its representative's) taken in one
    slice, and offsets moved by where the slice lands (C-level, not a sum over tokens)."""
    stretches: list[tuple[_Run, int, int]] = []
    for run, start, stop in places:
        if stretches and stretches[-1][0] is run and stretches[-1][2] == start:
            stretches[-1] = (run, stretches[-1][1], stop)
        else:
            stretches.append((run, start, stop))
    tokens: list[str] = []
    offsets = [0]
    for (run_tokens, _, run_offsets), start, stop in stretches:
        tokens += run_tokens[start:stop]
        shift = offsets[-1] - run_offsets[start]
        ends = run_offsets[start + 1 : stop + 1]
        offsets += map(add, ends, repeat(shift)) if shift else ends
    return tokens, "".join([run[1][start:stop] for run, start, stop in stretches]), offsets


@dataclass(frozen=True)
class WordDiff:
    segments: tuple[Segment, ...]
    added_words: int
    removed_words: int
    moved_words: int = 0
    changed_figures: tuple[ChangedFigure, ...] = ()


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
    return Indel.opcodes(old, new).as_list()  # type: ignore[return-value]


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


@dataclass(frozen=True)
class _Outline:
    """Two texts as sequences of sentences (each a code string ending in "\n"), each distinct
    sentence one character, and rapidfuzz's opcodes between those outlines."""

    old_sentences: list[str]
    new_sentences: list[str]
    old: str
    new: str
    opcodes: list[tuple[str, int, int, int, int]]


def _outline(old_code: str, new_code: str, old_sentences: list[str] | None = None) -> _Outline:
    """`old_sentences`: those of `old_code`, when known (see `Tokenized.sentences`)."""
    if old_sentences is None:
        old_sentences = _SENTENCE.findall(old_code)
    new_sentences = _SENTENCE.findall(new_code)
    sentence_code: dict[str, str] = {}
    for sentence in dict.fromkeys(old_sentences + new_sentences):
        sentence_code[sentence] = _character(len(sentence_code))
    old_outline = "".join(map(sentence_code.__getitem__, old_sentences))
    new_outline = "".join(map(sentence_code.__getitem__, new_sentences))
    return _Outline(
        old_sentences, new_sentences, old_outline, new_outline, _opcodes(old_outline, new_outline)
    )


def _align(outline: _Outline) -> list[tuple[int, str]]:
    """A token alignment in diff-match-patch's format: [(-1|0|1, code characters)].

    Two levels: sentences first (each distinct sentence one character), then tokens, only
    inside runs of sentences that changed. rapidfuzz's bit-parallel LCS (Hyyrö) does each
    level in C++; splitting by sentence keeps the second level small, so a long article with
    a few edited sentences costs about as much as the edited sentences.
    """
    old_sentences, new_sentences = outline.old_sentences, outline.new_sentences

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

    for tag, old_start, old_end, new_start, new_end in outline.opcodes:
        if tag == "equal":
            flush()
            diffs.append((0, text_of(old_sentences, old_start, old_end)))
        else:
            pending_old += text_of(old_sentences, old_start, old_end)
            pending_new += text_of(new_sentences, new_start, new_end)
    flush()
    return [(operation, text) for operation, text in diffs if text]


def _sentence_moves(
    outline: _Outline, old: Tokenized, new: Tokenized, min_words: int, min_sentence_words: int
) -> list[_Move]:
    """Whole sentences deleted in one run of changed sentences and inserted, unchanged, in
    another, as token ranges; consecutive ones (a paragraph) as one move.

    They are found here, before the token alignment, because that alignment would pair a
    moved sentence's spaces and full stop with those of whatever sentence replaced it, and
    the cleanup would shift its edges, so it would not come out whole.
    """
    runs: list[tuple[int, int, int, int]] = []
    for tag, old_start, old_end, new_start, new_end in outline.opcodes:
        if tag == "equal":
            continue
        if runs and runs[-1][1] == old_start and runs[-1][3] == new_start:
            runs[-1] = (runs[-1][0], old_end, runs[-1][2], new_end)
        else:
            runs.append((old_start, old_end, new_start, new_end))
    if len(runs) < 2:
        return []
    deleted: dict[str, list[tuple[int, int]]] = {}  # sentence code → (run, sentence index)
    inserted: dict[str, list[tuple[int, int]]] = {}
    for number, (old_start, old_end, new_start, new_end) in enumerate(runs):
        for index in range(old_start, old_end):
            deleted.setdefault(outline.old[index], []).append((number, index))
        for index in range(new_start, new_end):
            inserted.setdefault(outline.new[index], []).append((number, index))
    pairs: list[tuple[int, int]] = []  # (old sentence, new sentence), the n-th deleted with the n-th inserted
    for code, old_places in deleted.items():
        for (old_run, old_index), (new_run, new_index) in zip(
            old_places, inserted.get(code, ()), strict=False
        ):
            if old_run != new_run:
                pairs.append((old_index, new_index))
    if not pairs:
        return []
    old_starts = list(accumulate(map(len, outline.old_sentences), initial=0))
    new_starts = list(accumulate(map(len, outline.new_sentences), initial=0))
    moves: list[_Move] = []
    for old_index, new_index in sorted(pairs):
        move = (
            old_starts[old_index],
            old_starts[old_index + 1],
            new_starts[new_index],
            new_starts[new_index + 1],
        )
        if moves and moves[-1][1] == move[0] and moves[-1][3] == move[2]:
            moves[-1] = (moves[-1][0], move[1], moves[-1][2], move[3])
        else:
            moves.append(move)
    return [move for move in moves if _counts_as_passage(old, new, move, min_words, min_sentence_words)]


def _without(code: str, ranges: list[tuple[int, int]]) -> str:
    pieces = []
    at = 0
    for start, end in ranges:
        pieces.append(code[at:start])
        at = end
    pieces.append(code[at:])
    return "".join(pieces)


def _put_back(
    stretches: list[_Stretch], old_removed: list[tuple[int, int]], new_removed: list[tuple[int, int]]
) -> list[_Stretch]:
    """Stretches over texts from which the sorted token ranges `*_removed` were cut, mapped
    back to the whole texts, each removed range a replaced stretch of its own (or part of the
    replaced stretch it falls in)."""

    def reduced_starts(ranges: list[tuple[int, int]]) -> list[int]:
        cut = 0
        starts = []
        for start, end in ranges:
            starts.append(start - cut)
            cut += end - start
        return starts

    old_due, new_due = reduced_starts(old_removed), reduced_starts(new_removed)
    result: list[_Stretch] = []
    old_shift = new_shift = old_next = new_next = 0

    def add(stretch: _Stretch) -> None:
        if result and not stretch[0] and not result[-1][0]:
            result[-1] = (False, result[-1][1], stretch[2], result[-1][3], stretch[4])
        else:
            result.append(stretch)

    def put_due(old_at: int, new_at: int) -> None:
        """The removed ranges that were cut at these reduced positions."""
        nonlocal old_shift, new_shift, old_next, new_next
        while old_next < len(old_due) and old_due[old_next] == old_at:
            start, end = old_removed[old_next]
            add((False, start, end, new_at + new_shift, new_at + new_shift))
            old_shift += end - start
            old_next += 1
        while new_next < len(new_due) and new_due[new_next] == new_at:
            start, end = new_removed[new_next]
            add((False, old_at + old_shift, old_at + old_shift, start, end))
            new_shift += end - start
            new_next += 1

    for equal, old_start, old_end, new_start, new_end in stretches:
        if not equal:
            put_due(old_start, new_start)
            old_from, new_from = old_start + old_shift, new_start + new_shift
            while old_next < len(old_due) and old_due[old_next] < old_end:  # inside the stretch
                old_shift += old_removed[old_next][1] - old_removed[old_next][0]
                old_next += 1
            while new_next < len(new_due) and new_due[new_next] < new_end:
                new_shift += new_removed[new_next][1] - new_removed[new_next][0]
                new_next += 1
            add((False, old_from, old_end + old_shift, new_from, new_end + new_shift))
            continue
        old_at, new_at = old_start, new_start
        while old_at < old_end:
            put_due(old_at, new_at)
            step = old_end - old_at
            if old_next < len(old_due):
                step = min(step, old_due[old_next] - old_at)
            if new_next < len(new_due):
                step = min(step, new_due[new_next] - new_at)
            add(
                (
                    True,
                    old_at + old_shift,
                    old_at + step + old_shift,
                    new_at + new_shift,
                    new_at + step + new_shift,
                )
            )
            old_at += step
            new_at += step
    if stretches:
        _, _, old_end, _, new_end = stretches[-1]
        put_due(old_end, new_end)
    else:
        put_due(0, 0)
    return result


def _character(number: int) -> str:
    """The number-th sentence code character (skipping the surrogate range)."""
    number += 0x100
    if number >= _SURROGATES.start:
        number += len(_SURROGATES)
    return chr(number)


# A passage deleted in one place and inserted, equal by the comparison key, in another is a
# move when it has at least MIN_MOVE_WORDS words, or is one or more whole sentences (or
# lines) of at least MIN_MOVE_SENTENCE_WORDS words. Shorter repeats are ordinary edits: a
# few words such as "the army said" recur by chance.
MIN_MOVE_WORDS = 8
MIN_MOVE_SENTENCE_WORDS = 4
_MOVE_ROUNDS = 4
# Fillers for the move search: never code characters, and different on each side.
_OLD_GAP, _NEW_GAP, _OLD_TAKEN, _NEW_TAKEN = "\x00", "\x01", "\x02", "\x03"

# (equal, old_start, old_end, new_start, new_end), in tokens: an equal stretch, or a replaced
# one whose old tokens were deleted and new tokens inserted.
_Stretch = tuple[bool, int, int, int, int]
# (old_start, old_end, new_start, new_end), in tokens.
_Move = tuple[int, int, int, int]


def word_diff(
    old: str | Tokenized,
    new: str | Tokenized,
    min_move_words: int = MIN_MOVE_WORDS,
    min_move_sentence_words: int = MIN_MOVE_SENTENCE_WORDS,
) -> WordDiff:
    """Segments that turn `old` into `new` (equal text is taken from `old`), with moved
    passages and changed figures; pass a `Tokenized` old text to diff many members against it.

    An alignment is monotone, so a passage that moved comes out of it as a deletion in one
    place and an insertion in another. Whole sentences that moved are taken out before the
    token alignment (`_sentence_moves`) and other moved passages paired up after it
    (`_find_moves`), on the few tokens that changed, so diffs without moves pay almost
    nothing for them.
    """
    from diff_match_patch import diff_match_patch

    same = old if isinstance(old, str) else old.text
    if same == (new if isinstance(new, str) else new.text):
        # A copy identical to its representative (one member in twenty in a news corpus):
        # the one equal segment that the diff would give, without tokenizing the copy.
        return WordDiff((Segment("equal", same, (0, len(same)), (0, len(same))),) if same else (), 0, 0)
    new_text = new if isinstance(new, Tokenized) else tokenize(new)
    if new_text.codes is not None and (not isinstance(old, Tokenized) or old.codes is not new_text.codes):
        # A text tokenized before the code table was last renewed has stale codes. Coded in
        # the new text's table, without renewing it again (that would make its codes stale).
        text = old if isinstance(old, str) else old.text
        pieces = _PIECE.findall(text)
        places = list(map(new_text.codes.places.get, pieces))
        old = _encoded(text, pieces, places, _missing(pieces, places), new_text.codes)
    old_text = old if isinstance(old, Tokenized) else tokenize(old)
    if old_text.codes is None or new_text.codes is None:
        return _coarse_diff(old_text, new_text)
    old_code, new_code = old_text.code, new_text.code
    if old_code == new_code:
        if not old_text.text:
            return WordDiff((), 0, 0)
        count = len(old_text.tokens)
        return WordDiff((_equal(old_text, new_text, (True, 0, count, 0, count)),), 0, 0)

    outline = _outline(old_code, new_code, old_text.sentences)
    moves = _sentence_moves(outline, old_text, new_text, min_move_words, min_move_sentence_words)
    old_removed = sorted((move[0], move[1]) for move in moves)
    new_removed = sorted((move[2], move[3]) for move in moves)
    if moves:
        outline = _outline(_without(old_code, old_removed), _without(new_code, new_removed))
    diffs = _align(outline)
    matcher = diff_match_patch()
    matcher.diff_cleanupMerge(diffs)  # one deletion then one insertion per changed stretch
    matcher.diff_cleanupSemantic(diffs)
    stretches = _stretches(diffs)
    if moves:
        stretches = _put_back(stretches, old_removed, new_removed)
    stretches, moves = _find_moves(
        stretches, moves, old_text, new_text, min_move_words, min_move_sentence_words
    )
    return _word_diff(stretches, moves, old_text, new_text)


def _stretches(diffs: list[tuple[int, str]]) -> list[_Stretch]:
    """diff-match-patch's output as token ranges, each run of edits one replaced stretch."""
    stretches: list[_Stretch] = []
    old_at = new_at = 0
    for operation, chars in diffs:
        length = len(chars)
        if operation == 0:
            stretches.append((True, old_at, old_at + length, new_at, new_at + length))
            old_at += length
            new_at += length
            continue
        if stretches and not stretches[-1][0]:
            _, old_start, _, new_start, _ = stretches.pop()
        else:
            old_start, new_start = old_at, new_at
        if operation < 0:
            old_at += length
        else:
            new_at += length
        stretches.append((False, old_start, old_at, new_start, new_at))
    return stretches


def _find_moves(
    stretches: list[_Stretch],
    moves: list[_Move],
    old: Tokenized,
    new: Tokenized,
    min_words: int,
    min_sentence_words: int,
) -> tuple[list[_Stretch], list[_Move]]:
    """Moved passages among the replaced stretches, and equal passages the cleanup swallowed.

    All deleted tokens are laid end to end, and all inserted ones, and rapidfuzz aligns the
    two (LCS again, on a few hundred tokens at most). A common run long enough to count (see
    MIN_MOVE_WORDS) that joins two different stretches is a move; one inside a single
    stretch is an equality that diff-match-patch's semantic cleanup merged into a rewrite
    because the edits on both sides were longer: it is given back as equal. The LCS is
    monotone, so a passage that moved backwards over another is found in a later round.
    `moves` are those already known (whole sentences, see `_sentence_moves`).
    """
    moves = list(moves)
    shortest = min(min_words, min_sentence_words)
    for _ in range(_MOVE_ROUNDS):
        replaced = [(index, stretch) for index, stretch in enumerate(stretches) if not stretch[0]]
        deleted = [(index, start, end) for index, (_, start, end, _, _) in replaced if end > start]
        inserted = [(index, start, end) for index, (_, _, _, start, end) in replaced if end > start]
        if sum(end - start for _, start, end in deleted) < shortest:
            break  # too few changed tokens to hold a passage (a figure changed, a word or two)
        if sum(end - start for _, start, end in inserted) < shortest:
            break
        old_side, old_starts = _laid_out(old.code, deleted, [(m[0], m[1]) for m in moves], _OLD_TAKEN)
        new_side, new_starts = _laid_out(new.code, inserted, [(m[2], m[3]) for m in moves], _NEW_TAKEN)
        restores: dict[int, list[_Move]] = {}
        found = False
        for tag, old_from, old_to, new_from, _ in _opcodes(old_side + _OLD_GAP, new_side + _NEW_GAP):
            if tag != "equal" or old_to - old_from < shortest:
                continue
            old_index, old_start = _locate(old_starts, deleted, old_from)
            new_index, new_start = _locate(new_starts, inserted, new_from)
            run = (old_start, old_start + old_to - old_from, new_start, new_start + old_to - old_from)
            if not _counts_as_passage(old, new, run, min_words, min_sentence_words):
                continue
            found = True
            if old_index == new_index:
                restores.setdefault(old_index, []).append(run)
            else:
                moves.append(run)
        if not found:
            break
        if restores:
            stretches = [
                part
                for index, stretch in enumerate(stretches)
                for part in (_split(stretch, restores[index]) if index in restores else (stretch,))
            ]
    return stretches, _joined_moves(moves)


def _joined_moves(moves: list[_Move]) -> list[_Move]:
    """Moves that follow each other in both texts as one (a paragraph found in pieces)."""
    joined: list[_Move] = []
    for move in sorted(moves):
        if joined and joined[-1][1] == move[0] and joined[-1][3] == move[2]:
            joined[-1] = (joined[-1][0], move[1], joined[-1][2], move[3])
        else:
            joined.append(move)
    return joined


def _laid_out(
    code: str, ranges: list[tuple[int, int, int]], taken: list[tuple[int, int]], filler: str
) -> tuple[str, list[int]]:
    """The code of each range end to end, one gap apart, with tokens already moved masked."""
    pieces = []
    starts = []
    at = 0
    for _, start, end in ranges:
        piece = code[start:end]
        for taken_start, taken_end in taken:
            if taken_start < end and taken_end > start:
                low, high = max(taken_start, start) - start, min(taken_end, end) - start
                piece = piece[:low] + filler * (high - low) + piece[high:]
        starts.append(at)
        pieces.append(piece)
        at += len(piece) + 1
    gap = _OLD_GAP if filler == _OLD_TAKEN else _NEW_GAP
    return gap.join(pieces), starts


def _locate(starts: list[int], ranges: list[tuple[int, int, int]], position: int) -> tuple[int, int]:
    """(stretch index, token) of a position in a `_laid_out` string."""
    from bisect import bisect_right

    which = bisect_right(starts, position) - 1
    index, start, _ = ranges[which]
    return index, start + position - starts[which]


def _counts_as_passage(
    old: Tokenized, new: Tokenized, run: _Move, min_words: int, min_sentence_words: int
) -> bool:
    old_start, old_end, new_start, new_end = run
    words = sum(map(_is_word, old.tokens[old_start:old_end]))
    if words >= min_words:
        return True
    return (
        words >= min_sentence_words
        and _whole_sentences(old, old_start, old_end)
        and _whole_sentences(new, new_start, new_end)
    )


_FIGURE_OPENERS = frozenset(CURRENCY_SIGNS + ".")


def _is_word(token: str) -> bool:
    """A word or a figure token ("$1.5", ".75" are words to the diff)."""
    first = token[:1]
    return (
        first.isalnum()
        or first == "_"
        or (first in _FIGURE_OPENERS and FIGURE_TOKEN.fullmatch(token) is not None)
    )


def _whole_sentences(text: Tokenized, start: int, end: int) -> bool:
    """Whether tokens [start, end) begin a sentence or line and end one (or the text), once
    the end of the sentence before (".\n") is left out."""
    tokens, code = text.tokens, text.code
    while start < end and not _is_word(tokens[start]):
        start += 1
    while end > start and not tokens[end - 1].strip():
        end -= 1
    if start == end:
        return False
    before = tokens[start - 1] if start else "\n"
    if not (before.isspace() and (code[start - 1] == "\n" or "\n" in before or start == 1)):
        return False
    if end == len(tokens) or not tokens[end] or "\n" in tokens[end]:
        return True
    last = code[end - 1]
    ends = _CODES.sentence_ends
    closed = last in ends or (last in _CODES.closers and end >= 2 and code[end - 2] in ends)
    return closed and not tokens[end].strip()


def _split(stretch: _Stretch, equal_runs: list[_Move]) -> list[_Stretch]:
    """A replaced stretch cut around the equal runs found inside it (in order on both sides)."""
    _, old_at, old_end, new_at, new_end = stretch
    parts: list[_Stretch] = []
    for old_start, old_stop, new_start, new_stop in sorted(equal_runs):
        if old_start > old_at or new_start > new_at:
            parts.append((False, old_at, old_start, new_at, new_start))
        parts.append((True, old_start, old_stop, new_start, new_stop))
        old_at, new_at = old_stop, new_stop
    if old_end > old_at or new_end > new_at:
        parts.append((False, old_at, old_end, new_at, new_end))
    return parts


def _outside(start: int, end: int, taken: list[tuple[int, int]]) -> list[tuple[int, int, bool]]:
    """[start, end) cut into (start, end, is_taken) pieces by the sorted ranges in `taken`."""
    pieces: list[tuple[int, int, bool]] = []
    at = start
    for taken_start, taken_end in taken:
        if taken_end <= at or taken_start >= end:
            continue
        if taken_start > at:
            pieces.append((at, taken_start, False))
        pieces.append((max(taken_start, at), min(taken_end, end), True))
        at = min(taken_end, end)
    if end > at:
        pieces.append((at, end, False))
    return pieces


def _equal(old: Tokenized, new: Tokenized, stretch: _Stretch) -> Segment:
    _, old_start, old_end, new_start, new_end = stretch
    a = (old.offsets[old_start], old.offsets[old_end])
    b = (new.offsets[new_start], new.offsets[new_end])
    text, new_side = old.text[a[0] : a[1]], new.text[b[0] : b[1]]
    return Segment("equal", text, a, b, None if new_side == text else new_side)


def _word_diff(stretches: list[_Stretch], moves: list[_Move], old: Tokenized, new: Tokenized) -> WordDiff:
    """Segments in reading order: each replaced stretch's deletions, then its insertions and
    the moves that arrive in it, in the order of the new text."""
    segments: list[Segment] = []
    added = removed = moved = 0
    old_offsets, new_offsets = old.offsets, new.offsets
    move_origins = sorted((move[0], move[1]) for move in moves)
    arrivals = {move[2]: move for move in moves}
    move_destinations = sorted((move[2], move[3]) for move in moves)
    figures: list[ChangedFigure] = []
    for stretch in stretches:
        equal, old_start, old_end, new_start, new_end = stretch
        if equal:
            segment = _equal(old, new, stretch)
            if not segment.text and not segment.b_text:
                continue  # only the empty token after the last sentence
            last = segments[-1] if segments else None
            if (
                last is not None
                and last.op == "equal"
                and last.a[1] == segment.a[0]
                and last.b[1] == segment.b[0]
            ):
                segment = _joined(segments.pop(), segment)
            segments.append(segment)
            continue
        here_in_new = (new_offsets[new_start],) * 2
        deleted_spans = []
        for start, end, is_move in _outside(old_start, old_end, move_origins):
            if is_move:
                continue
            span = (old_offsets[start], old_offsets[end])
            if span[0] == span[1]:
                continue
            piece = old.text[span[0] : span[1]]
            removed += len(_WORD.findall(piece))
            segments.append(Segment("delete", piece, span, here_in_new))
            deleted_spans.append(span)
        here_in_old = (old_offsets[old_end],) * 2
        inserted_spans = []
        for start, end, is_move in _outside(new_start, new_end, move_destinations):
            span = (new_offsets[start], new_offsets[end])
            if span[0] == span[1]:
                continue
            piece = new.text[span[0] : span[1]]
            if is_move:
                origin_start, origin_end, _, _ = arrivals[start]
                a = (old_offsets[origin_start], old_offsets[origin_end])
                text = old.text[a[0] : a[1]]
                moved += len(_WORD.findall(text))
                segments.append(Segment("move", text, a, span, None if piece == text else piece))
            else:
                added += len(_WORD.findall(piece))
                segments.append(Segment("insert", piece, here_in_old, span))
                inserted_spans.append(span)
        # A figure can change by an insertion alone ("$[+7.+]5 million"): then the figure
        # around the place of the insertion in the old text is the old figure.
        figures.extend(
            changed_figures(
                old.text, deleted_spans or [here_in_old], new.text, inserted_spans or [here_in_new]
            )
        )
    return WordDiff(tuple(segments), added, removed, moved, tuple(figures))


def _joined(first: Segment, second: Segment) -> Segment:
    """Two adjacent equal segments as one."""
    b_text = None
    if first.b_text is not None or second.b_text is not None:
        b_text = first.new_text + second.new_text
    return Segment(
        "equal", first.text + second.text, (first.a[0], second.a[1]), (first.b[0], second.b[1]), b_text
    )


def move_origins(segments: Sequence[Segment]) -> dict[int, list[int]]:
    """Where each move came from, for renderers that show a marker there: segment index →
    indices of the moves whose origin lies just before that segment (len(segments) = at the end)."""
    origins: dict[int, list[int]] = {}
    for index, segment in enumerate(segments):
        if segment.op != "move":
            continue
        place = len(segments)
        for position, other in enumerate(segments):
            if other.op in ("equal", "delete") and other.a[0] >= segment.a[1]:
                place = position
                break
        origins.setdefault(place, []).append(index)
    return origins


# Changed figures: the figure phrases (figures.FIGURE_PHRASE) that a replaced stretch's
# deleted text touches, paired with those its inserted text touches.
_NEXT_WORD = re.compile(r"[ \t-]*([^\W\d_][\w'’-]*)")
# Words between a figure and its unit ("190 of its soldiers"), and words that are no unit.
_UNIT_SKIP = frozenset(
    "of the its his her their our your a an more additional extra other new some about nearly".split()  # noqa: SIM905
)
_NOT_UNIT = frozenset(
    (  # noqa: SIM905
        "to and or in on at by for from with as than that which who was were is are be been had have has "
        "will would could should may might when after before per it them they we he she us you"
    ).split()
)
_FIGURE_REACH = 40  # a phrase touching a change starts this close before it ("September 15th, 2013")
_FIGURE_WINDOW = 60  # and ends this close after it


@dataclass(frozen=True)
class _Figure:
    kind: str  # date, amount, percentage or number (years are numbers too)
    text: str
    unit: str
    span: Span

    @property
    def unit_key(self) -> str:
        return self.unit.casefold().translate(_QUOTES)


def changed_figures(
    old_text: str, deleted: Sequence[Span], new_text: str, inserted: Sequence[Span]
) -> list[ChangedFigure]:
    """The figures one replaced stretch changed, paired old to new.

    A figure counts when its phrase overlaps the changed text, so "[-one-]{+two+} billion
    dlrs" gives one billion → two billion dlrs; an empty span (the place of a pure insertion
    or deletion) touches the phrase around it. Figures equal on both sides (the same text
    and unit) are not changes; the others pair in order, of the same kind (date, amount,
    percentage, number) and unit first, then of the same kind: "190 of its soldiers …
    within 24 hours" against "900 soldiers within 10 days" gives 190 → 900 soldiers and
    24 hours → 10 days. A figure left without a partner is not reported: it was dropped or
    added, not replaced. Each round of pairing is one pass over each side (`pair_in_order`).
    """
    # The side with less changed text first: when it has no figure (a sentence dropped or
    # added), the other side need not be read at all.
    if sum(end - start for start, end in deleted) <= sum(end - start for start, end in inserted):
        old_figures = _figures_touching(old_text, deleted)
        new_figures = _figures_touching(new_text, inserted) if old_figures else []
    else:
        new_figures = _figures_touching(new_text, inserted)
        old_figures = _figures_touching(old_text, deleted) if new_figures else []
    if not old_figures or not new_figures:
        return []
    old_done: set[int] = set()
    new_done: set[int] = set()
    pair_in_order(
        [(figure.kind, figure.text, figure.unit_key) for figure in old_figures],
        [(figure.kind, figure.text, figure.unit_key) for figure in new_figures],
        old_done,
        new_done,
    )
    pairs = pair_in_order(
        [(figure.kind, figure.unit_key) if figure.unit else None for figure in old_figures],
        [(figure.kind, figure.unit_key) for figure in new_figures],
        old_done,
        new_done,
    )
    pairs += pair_in_order(
        [(figure.kind,) for figure in old_figures],
        [(figure.kind,) for figure in new_figures],
        old_done,
        new_done,
    )
    changes = []
    for old_index, new_index in sorted(pairs):
        old_figure, new_figure = old_figures[old_index], new_figures[new_index]
        value = figure_value(old_figure.text)
        if value is not None and value == figure_value(new_figure.text):
            continue  # "eight" → "8": the same figure, written another way
        rewritten = _sentence_inside(old_text, old_figure.span, deleted) and _sentence_inside(
            new_text, new_figure.span, inserted
        )
        if not rewritten and not _same_context(
            _context(old_text, old_figure), _context(new_text, new_figure)
        ):
            continue  # a wrong alignment: the words around the two figures differ
        changes.append(
            ChangedFigure(
                old_figure.text,
                new_figure.text,
                old_figure.unit,
                new_figure.unit,
                old_figure.span,
                new_figure.span,
            )
        )
    return changes


# A figure counts as replaced when the words next to it (one on each side) and the opening
# words of its sentence are the same in both texts, figures masked. The opening catches a
# wrong alignment: "Cattle slaughter is guesstimated at about 120,000" against an inserted
# "Saturday's hog slaughter is guesstimated at about 40,000" is no replaced figure, while
# "rose by 300 mln marks in the third week" → "rose by 200 mln marks in the fourth week" is.
_CONTEXT_WORDS = 1
_OPENING_WORDS = 2
_CONTEXT_REACH = 200  # characters searched on each side for the sentence's bounds
# Where a figure's sentence starts: after a sentence end or a blank line; the words next to
# it stop there too, and at the end of a short line (a table row: wrapped prose fills its
# lines, so a short line there is only where a copy's line breaks fell).
_SENTENCE_BREAK = re.compile(r"[.!?][\"')\]]?\s+|\n[ \t]*\n")
_ROW_BREAK = re.compile(r"[.!?][\"')\]]?\s+|\n[ \t]*\n|(?<![^\n]{50})\n")

_Context = tuple[list[str], list[str], list[str]]


def _context(text: str, figure: _Figure) -> _Context:
    """The opening words of a figure's sentence and the words next to it (after its unit, when
    it has one: "24 hours" → "10 days" is a figure replaced), figures masked and a plural "s"
    dropped ("1 day" → "31 days" is one figure replaced)."""
    start, end = figure.span
    if figure.unit:
        unit_at = text.find(figure.unit, end, end + _CONTEXT_REACH)
        end = end if unit_at < 0 else unit_at + len(figure.unit)
    window_start = sentence_start = max(0, start - _CONTEXT_REACH)
    for match in _SENTENCE_BREAK.finditer(text, window_start, start):
        sentence_start = match.end()
    row_start = sentence_start
    for match in _ROW_BREAK.finditer(text, sentence_start, start):
        row_start = match.end()
    stop = _ROW_BREAK.search(text, end, end + _CONTEXT_REACH)
    row_end = min(len(text), end + _CONTEXT_REACH) if stop is None else stop.start()
    before = [word.rstrip("s") for word in _masked(comparison_words(text[sentence_start:start]))]
    next_to = [word.rstrip("s") for word in _masked(comparison_words(text[row_start:start]))]
    after = [word.rstrip("s") for word in _masked(comparison_words(text[end:row_end]))]
    # A sentence that starts out of reach has no opening to compare: the window's first
    # words fall mid-sentence, in different places in the two texts.
    opening = before[:_OPENING_WORDS] if sentence_start > window_start or window_start == 0 else []
    return opening, next_to[-_CONTEXT_WORDS:], after[:_CONTEXT_WORDS]


def _sentence_inside(text: str, span: Span, changed: Sequence[Span]) -> bool:
    """Whether the sentence holding a figure lies inside the changed text (a sentence
    rewritten whole: "190 of its soldiers would arrive ... within 24 hours" → "plans to
    deploy 900 soldiers within 10 days"), where its figures pair by kind and unit alone."""
    start, end = span
    window_start = sentence_start = max(0, start - _CONTEXT_REACH)
    for match in _SENTENCE_BREAK.finditer(text, window_start, start):
        sentence_start = match.end()
    if sentence_start == window_start and window_start > 0:
        return False  # a sentence longer than the reach: not known to be rewritten whole
    stop = _SENTENCE_BREAK.search(text, end, end + _CONTEXT_REACH)
    if stop is None and end + _CONTEXT_REACH < len(text):
        return False
    sentence_end = len(text) if stop is None else stop.start()
    body = text[sentence_start:sentence_end].rstrip(".!?\"')] ")
    body_end = sentence_start + len(body)
    return any(low <= sentence_start and high >= body_end for low, high in changed)


def _same_context(old: _Context, new: _Context) -> bool:
    """Whether two contexts agree wherever both have words (a line break may end a table row
    on one side only, a sentence may start out of reach)."""
    return all(
        not old_part or not new_part or old_part == new_part
        for old_part, new_part in zip(old, new, strict=True)
    )


def figure_value(text: str) -> tuple[object, ...] | None:
    """What a figure phrase says, whatever the writing: "ten pct" and "10 pct", "747.0 mln"
    and "747 mln", "eight" and "8" say the same. None for a phrase with no plain number."""
    currency = text[:1] if text[:1] in CURRENCY_SIGNS else ""
    parts: list[object] = [currency]
    for word in text.casefold()[len(currency) :].split():
        if word in WORD_VALUES:
            parts.append(float(WORD_VALUES[word]))
        elif re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?", word):
            parts.append(float(word.replace(",", "")))
        else:
            parts.append(word)
    return tuple(parts) if any(isinstance(part, float) for part in parts) else None


def pair_in_order(
    old_keys: Sequence[Hashable | None],
    new_keys: Sequence[Hashable | None],
    old_done: set[int],
    new_done: set[int],
) -> list[tuple[int, int]]:
    """Each old item not in `old_done`, in order, paired with the first new item not in
    `new_done` with an equal key (None pairs with nothing); both sets grow with the pairs.

    A queue of new positions per key makes this linear in the number of items, where trying
    every new item for every old one was quadratic (191 s for two texts of 43,000 figures).
    """
    waiting: dict[Hashable, deque[int]] = {}
    for index, key in enumerate(new_keys):
        if key is not None and index not in new_done:
            waiting.setdefault(key, deque()).append(index)
    pairs = []
    for index, key in enumerate(old_keys):
        if key is None or index in old_done:
            continue
        queue = waiting.get(key)
        if queue:
            partner = queue.popleft()
            old_done.add(index)
            new_done.add(partner)
            pairs.append((index, partner))
    return pairs


def _figures_touching(text: str, spans: Sequence[Span]) -> list[_Figure]:
    found: dict[Span, _Figure] = {}
    for start, end in spans:
        scan_from = max(0, start - _FIGURE_REACH)
        while scan_from > 0 and not text[scan_from - 1].isspace():
            scan_from -= 1  # never from inside a token: its tail would not be a figure
        scan_to = min(len(text), end + _FIGURE_WINDOW)
        for match in FIGURE_PHRASE.finditer(text, scan_from, scan_to):
            if match.start() >= end or match.end() <= start or match.span() in found:
                continue
            figure_text = " ".join(match.group().split())
            if match.group("date"):
                kind, unit = "date", ""
            elif match.group("amount"):
                kind, unit = "amount", _unit_after(text, match.end())
            elif match.group("percent"):
                kind, unit = "percentage", ""
            elif len(figure_text) == 4 and figure_text.isdigit() and 1800 <= int(figure_text) <= 2100:
                kind, unit = "number", ""  # a year
            else:
                kind, unit = "number", _unit_after(text, match.end())
            found[match.span()] = _Figure(kind, figure_text, unit, match.span())
    return [found[span] for span in sorted(found)]


def _unit_after(text: str, position: int) -> str:
    """The word a figure counts: "soldiers" after "190 of its", "" when none follows."""
    for _ in range(4):
        match = _NEXT_WORD.match(text, position)
        if match is None:
            return ""
        word = match.group(1)
        folded = word.casefold()
        if folded in _NOT_UNIT:
            return ""
        if folded not in _UNIT_SKIP:
            return word
        position = match.end()
    return ""


def _coarse_diff(old: Tokenized, new: Tokenized) -> WordDiff:
    """The common start and end of two token lists kept, the middle replaced whole: for texts
    with more distinct tokens than there are code characters (about 120,000 words)."""
    start = _common_prefix(old.tokens, new.tokens)
    end = _common_prefix(old.tokens[start:][::-1], new.tokens[start:][::-1])
    old_end, new_end = len(old.tokens) - end, len(new.tokens) - end
    stretches: list[_Stretch] = [
        (True, 0, start, 0, start),
        (False, start, old_end, start, new_end),
        (True, old_end, len(old.tokens), new_end, len(new.tokens)),
    ]
    return _word_diff([item for item in stretches if item[2] > item[1] or item[4] > item[3]], [], old, new)

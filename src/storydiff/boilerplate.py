"""Named boilerplate rules, grouped in packs, and the function that strips a text with them.

Stripping decides what gets compared, so every removal is recorded with the rule that made
it: the cluster output counts them and later views can show them. Rules work on lines
because news furniture (captions, "Read more:" links, video slugs) comes one per line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .model import Removal

_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"


@dataclass(frozen=True)
class Rule:
    """A named pattern for one kind of boilerplate line, or a block that starts with one.

    A line rule removes each line its `pattern` matches (searched, case-insensitive). With
    `first_line_only` it looks only at the first non-blank line (photo captions lead a page).
    With `takes_title_above` it also removes a short title line just above the match (a
    video's title above its "04:19 - Source: CNN" slug). A block rule (`block_max_words`)
    removes the matched line and the lines after it while they are blank or at most that many
    words long: the shape of a bullet list such as "Story highlights".

    `hints` are lower-case strings of which any line the rule matches must contain one; a
    text that holds none of them is not searched line by line at all, which is what keeps
    stripping fast on corpora where most texts have no furniture.
    """

    name: str
    description: str
    pattern: str
    first_line_only: bool = False
    min_words: int = 0
    takes_title_above: bool = False
    block_max_words: int = 0
    hints: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        try:
            re.compile(self.pattern)
        except re.error as error:
            raise ValueError(f"rule {self.name!r}: invalid pattern {self.pattern!r}: {error}") from None

    @property
    def regex(self) -> re.Pattern[str]:
        return _compiled(self.pattern)


_CACHE: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    regex = _CACHE.get(pattern)
    if regex is None:
        regex = _CACHE[pattern] = re.compile(pattern, re.IGNORECASE)
    return regex


NEWS_RULES: tuple[Rule, ...] = (
    Rule(
        "read-more",
        'Links to other stories: "Read more: ...", "READ MORE: ...".',
        r"^\s*read more\s*:",
        hints=("read more",),
    ),
    Rule(
        "photo-caption",
        'A long first line describing a photo, dated "on January 15, 2013".',
        rf"\bon (?:{_MONTHS}) \d{{1,2}}, \d{{4}}\b",
        first_line_only=True,
        min_words=15,
    ),
    Rule(
        "video-source",
        'A video slug ("04:19 - Source: CNN") and the short video title above it.',
        r"^\s*(?:\d{1,2}:)?\d{1,2}:\d{2}\s*[-–—]\s*source:\s*\S.*$",
        hints=("source:",),
        takes_title_above=True,
    ),
    Rule(
        "story-highlights",
        'The "Story highlights" heading and the short bullet lines under it.',
        r"^\s*story highlights\s*$",
        hints=("story highlights",),
        block_max_words=25,
    ),
    Rule(
        "archive-note",
        '"This article is from the archive of our partner ..." notes.',
        r"^\s*this article is from the archive of our partner\b",
        hints=("archive of our partner",),
    ),
    Rule(
        "contributor",
        '"CNN\'s ... contributed to this report." lines.',
        r"^.{0,200}\bcontributed to this report\W*$",
        hints=("contributed to this report",),
    ),
)

PACKS: dict[str, tuple[Rule, ...]] = {"news": NEWS_RULES, "none": ()}
DEFAULT_PACK = "news"
_TITLE_MAX_WORDS = 12
_FIRST_CONTENT = re.compile(r"\S")


@dataclass(frozen=True)
class Stripped:
    text: str
    removals: tuple[Removal, ...]


def rules_for_pack(pack: str) -> tuple[Rule, ...]:
    try:
        return PACKS[pack]
    except KeyError:
        raise ValueError(f"unknown rule pack {pack!r}; choose one of: {', '.join(sorted(PACKS))}") from None


def strip(text: str, rules: Sequence[Rule], tidy: bool = True) -> Stripped:
    """Remove the lines the rules match; return the remaining text and what each rule took.

    Lines are split on newlines (CR LF and lone CR count as newlines). The kept lines are
    stripped of surrounding spaces and joined with single newlines, without blank lines, so
    the stripped text does not depend on how many blank lines the removed furniture left.
    Most texts match no rule; for them this is a few C-level string passes. With
    `tidy=False` a text that matched no rule comes back as it was: signing only needs the
    words, and skipping the line clean-up there saves a third of its cost.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    lowered_lines: list[str] | None = None
    lowered = ""
    removed_by: dict[int, str] = {}
    for rule in rules:
        if rule.first_line_only:
            first = _FIRST_CONTENT.search(text)
            candidates: Iterable[int] = () if first is None else (text.count("\n", 0, first.start()),)
        elif rule.hints:
            lowered = lowered or text.casefold()
            if not any(hint in lowered for hint in rule.hints):
                continue
            if lowered_lines is None:
                lowered_lines = lowered.split("\n")  # casefold never adds or removes newlines
            candidates = [
                i for i, line in enumerate(lowered_lines) if any(hint in line for hint in rule.hints)
            ]
        else:
            candidates = range(len(lines))
        for index in _matching_lines(lines, rule, candidates):
            if index in removed_by:
                continue
            removed_by[index] = rule.name
            if rule.takes_title_above:
                above = _title_above(lines, index, removed_by)
                if above is not None:
                    removed_by[above] = rule.name
            if rule.block_max_words:
                _take_block(lines, index, rule, removed_by)
    if not removed_by and not tidy:
        return Stripped(text=text, removals=())
    if removed_by:
        kept: Iterable[str] = (line.strip() for index, line in enumerate(lines) if index not in removed_by)
    else:
        kept = map(str.strip, lines)
    removals = tuple(
        Removal(rule=removed_by[index], line_number=index + 1, text=lines[index])
        for index in sorted(removed_by)
    )
    return Stripped(text="\n".join(filter(None, kept)), removals=removals)


def _take_block(lines: Sequence[str], start: int, rule: Rule, removed_by: dict[int, str]) -> None:
    for following in range(start + 1, len(lines)):
        line = lines[following]
        if line.strip() and len(line.split()) > rule.block_max_words:
            return
        if line.strip():
            removed_by.setdefault(following, rule.name)


def _matching_lines(lines: Sequence[str], rule: Rule, candidates: Iterable[int]) -> Iterable[int]:
    regex = rule.regex
    for index in candidates:
        line = lines[index]
        if rule.min_words and len(line.split()) < rule.min_words:
            continue
        if regex.search(line):
            yield index


def _title_above(lines: Sequence[str], index: int, removed_by: dict[int, str]) -> int | None:
    for above in range(index - 1, -1, -1):
        line = lines[above].strip()
        if not line:
            continue
        if above in removed_by:
            return None
        looks_like_title = len(line.split()) <= _TITLE_MAX_WORDS and not line.endswith(
            (".", "?", "!", '"', "”")
        )
        return above if looks_like_title else None
    return None


def count_by_rule(removals: Iterable[Removal]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for removal in removals:
        counts[removal.rule] = counts.get(removal.rule, 0) + 1
    return counts

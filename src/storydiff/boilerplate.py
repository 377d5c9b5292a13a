"""Named boilerplate rules, grouped in packs, and the function that strips a text with them.

Stripping decides what gets compared, so every removal is recorded with the rule that made
it: the cluster output counts them and `storydiff strip` shows them. Rules work on lines
because news furniture (captions, "Read more:" links, video slugs, wire sign-offs) comes one
per line, or as a short block of lines.

Speed: most texts carry no furniture, and for them stripping must cost little more than
reading. Every built-in rule therefore names `hints`, strings that any line it matches must
contain; all hints of a rule set are looked for with a few C-level passes over the
case-folded text (one regular expression for the hints that open a line, one `str.find` per
other hint), and only lines holding a hint are split out and tested against the rules'
patterns. A text with no hint is returned after those passes.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from . import _core, shingles
from .model import Removal

RuleEngine = Literal["python", "rust"]

_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"

REPEATED_LINE = "repeated-line"


@dataclass(frozen=True)
class Rule:
    """A named pattern for one kind of boilerplate line, or for a block that starts with one.

    A line rule removes each line its `pattern` matches (searched, case-insensitive; use
    `(?-i:...)` for a case-sensitive part). `first_line_only` and `last_line_only` look only
    at the first or last non-blank line (a photo caption leads a page, a wire sign-off ends
    a story). Lines of fewer than `min_words` words are never matched, nor lines of more than
    `max_words` (when set): furniture that can be glued to a paragraph ("Copyright 2013 CNN.
    All rights reserved." at the head of a reflowed first paragraph) is a short line of its
    own, and a longer line that opens or ends with it is body text, kept whole. With
    `takes_title_above` the rule also removes a short title line just above the match (a
    video's title above its "04:19 - Source: CNN" slug).

    Blocks: with `block_max_words` the rule removes the matched line and the lines after it
    while they are blank or at most that many words long (a bullet list such as "Story
    highlights"). With `end` (a pattern) it removes the matched line and the lines after it
    up to the first that `end` matches, the matched line included; the end of the text also
    closes the block, and a block that does not close within `block_max_lines` non-blank
    lines is only its first line.

    `hints` are lower-case strings of which every line the rule matches contains one; a
    hint that starts with "^" must open the line (after spaces and tabs). Lines without a
    hint are not tested at all, which is what keeps stripping fast. A rule without hints is
    tested on every line (or on its one line, with `first_line_only` / `last_line_only`):
    correct, but slower on large corpora.

    Patterns run on Python's `re`: the built-in packs are ours, reviewed for backtracking,
    and two of them bound a line's length with a look-ahead. Rules from a configuration
    file are `UserRule`s, which run on the compiled core's linear-time engine.
    """

    name: str
    description: str
    pattern: str
    hints: tuple[str, ...] = ()
    first_line_only: bool = False
    last_line_only: bool = False
    min_words: int = 0
    max_words: int = 0
    takes_title_above: bool = False
    block_max_words: int = 0
    end: str = ""
    block_max_lines: int = 0

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", self.name):
            raise ValueError(f"invalid name {self.name!r}: use lower-case letters, digits, '-', '_' and '.'")
        for label, pattern in (("pattern", self.pattern), ("end", self.end)):
            try:
                _compiled(pattern, self.engine)
            except (re.error, ValueError) as error:
                raise ValueError(f"invalid {label} {pattern!r}: {error}{self._syntax_note}") from None
        if not self.pattern:
            raise ValueError("pattern is empty")
        for hint in self.hints:
            bare = hint[1:] if hint.startswith("^") else hint
            if not bare or "\n" in bare or bare != bare.casefold():
                raise ValueError(f"invalid hint {hint!r}: hints are non-empty lower-case text on one line")
            if hint.startswith("^") and bare[0] in " \t":
                raise ValueError(f"invalid hint {hint!r}: an opening hint starts after the line's spaces")
        if self.first_line_only and self.last_line_only:
            raise ValueError("first_line_only and last_line_only exclude each other")
        if self.block_max_words and self.end:
            raise ValueError("a block ends either by block_max_words or by end, not both")
        if self.end and self.block_max_lines < 1:
            raise ValueError("a block with an end marker needs block_max_lines of 1 or more")
        for label, number in (
            ("min_words", self.min_words),
            ("max_words", self.max_words),
            ("block_max_words", self.block_max_words),
            ("block_max_lines", self.block_max_lines),
        ):
            if number < 0:
                raise ValueError(f"{label} must be 0 or more, got {number}")

    @property
    def engine(self) -> RuleEngine:
        """Which regular-expression engine runs the patterns."""
        return "python"

    @property
    def summary(self) -> str:
        """The description, and the longest line the rule takes when it has a limit."""
        if not self.max_words:
            return self.description
        return (
            f"{self.description} Only lines of at most {self.max_words} words: a longer line"
            " that opens or ends with it is body text and is kept whole."
        )

    def too_long(self, line: str) -> bool:
        return bool(self.max_words) and len(line.split()) > self.max_words

    @property
    def _syntax_note(self) -> str:
        return ""

    @property
    def regex(self) -> Searcher:
        return _compiled(self.pattern, self.engine)

    @property
    def end_regex(self) -> Searcher:
        return _compiled(self.end, self.engine)


@dataclass(frozen=True)
class UserRule(Rule):
    """A rule from a configuration file. Its patterns run on the compiled core's `regex`
    crate, whose matching is linear in the line, so no pattern can hang a run; it has no
    look-around or backreferences (docs/rules-syntax.md)."""

    @property
    def engine(self) -> RuleEngine:
        return "rust"

    @property
    def _syntax_note(self) -> str:
        return " (rule patterns use Rust's regex syntax: see docs/rules-syntax.md)"


class Searcher(Protocol):
    """A compiled rule pattern: `re.Pattern` or the core's linear-time `_core.Pattern`."""

    def search(self, string: str, /) -> object: ...


_CACHE: dict[tuple[str, RuleEngine], Searcher] = {}


def _compiled(pattern: str, engine: RuleEngine) -> Searcher:
    """The pattern compiled case-insensitively for `engine`; ValueError (rust) or re.error
    (python) when it cannot be."""
    regex = _CACHE.get((pattern, engine))
    if regex is None:
        regex = _core.Pattern(pattern) if engine == "rust" else re.compile(pattern, re.IGNORECASE)
        _CACHE[(pattern, engine)] = regex
    return regex


# Pieces of the byline pattern: a capitalised name word, and the agency or title after it.
_NAME = r"(?-i:[A-Z])[\w.'’-]*"
_NAMES = rf"{_NAME}(?:\s+(?:{_NAME}|van|von|de|del|der|da|di|du|la|le|al|bin|ibn)){{0,4}}"
_AFFILIATION = rf"(?:\s*(?:,|\||/|-|–|—)\s*{_NAME}(?:\s+(?:{_NAME}|of|for|and|the|at|in|&)){{0,7}})?"

NEWS_RULES: tuple[Rule, ...] = (
    Rule(
        "photo-caption",
        'A long first line describing a photo, dated "on January 15, 2013".',
        rf"\bon (?:{_MONTHS}) \d{{1,2}}, \d{{4}}\b",
        first_line_only=True,
        min_words=15,
    ),
    Rule(
        "photo-credit",
        'Photo credits: "Photo: ...", "(AP Photo/...)", "... /Getty Images", "REUTERS/...".',
        r"^\s*\(?(?:photo(?:graph)?s?|images?|pictures?)(?:\s+credits?)?\s*:"
        r"|^\s*\(?(?:photo(?:graph)?|picture)s?\s+(?:by|courtesy)\b"
        r"|\((?:[^()]*\s)?photo(?:graph)?s?\s*/[^()]*\)\W*$"
        r"|getty\s+images\W*$"
        r"|^\s*(?:reuters|afp|epa)\s*/\s*\w[^.]{0,60}$",
        hints=(
            "^photo",
            "^(photo",
            "^image",
            "^(image",
            "^picture",
            "^reuters/",
            "^afp/",
            "^epa/",
            "^getty images",
            "photo/",
            "/getty images",
        ),
        max_words=60,
    ),
    Rule(
        "video-source",
        'A video slug ("04:19 - Source: CNN") and the short video title above it.',
        r"^\s*(?:\d{1,2}:)?\d{1,2}:\d{2}\s*[-–—]\s*source:\s*\S.*$",
        hints=("source:",),
        takes_title_above=True,
    ),
    Rule(
        "new-teaser",
        '"NEW:" teaser bullets at the head of an article.',
        r"^\s*new:\s*\S",
        hints=("^new:",),
        max_words=40,
    ),
    Rule(
        "story-highlights",
        'The "Story highlights" heading and the short bullet lines under it.',
        r"^\s*story highlights\s*$",
        hints=("^story highlights",),
        block_max_words=25,
    ),
    Rule(
        "read-more",
        'Links to other stories: "Read more: ...", "READ MORE ...".',
        r"^\s*read more\s*(?::|»|›|>|\.\.\.|…|[-–—]|$)|^\s*(?-i:READ MORE)\b",
        hints=("^read more",),
        max_words=20,
    ),
    Rule(
        "related",
        'Link lists: "Related: ...", "Related stories: ...", "See also: ...".',
        r"^\s*(?:related(?:\s+(?:stories|story|articles?|content|coverage|links?|videos?|news|reading))?"
        r"|see also|also read|more on this(?:\s+story)?)\s*:",
        hints=("^related", "^see also", "^also read", "^more on this"),
        max_words=40,
    ),
    Rule(
        "click-here",
        '"Click here ..." link lines.',
        r"^\s*\(?click here\b",
        hints=("^click here", "^(click here"),
        max_words=25,
    ),
    Rule(
        "archive-note",
        '"This article is from the archive of our partner ..." notes.',
        r"^\s*this article is from the archive of our partner\b",
        hints=("^this article is from the archive",),
        max_words=25,
    ),
    Rule(
        "byline",
        'Bylines: "By Barbara Starr, CNN Pentagon Correspondent".',
        rf"^\s*(?-i:By|BY)\s+{_NAMES}(?:\s*(?:,|and|&)\s*{_NAMES}){{0,3}}{_AFFILIATION}\s*$",
        hints=("^by ",),
    ),
    Rule(
        "contributor",
        '"CNN\'s ... contributed to this report." and "... contributed reporting." lines.',
        r"^.{0,300}\bcontributed\s+(?:to\s+this\s+(?:report|story|article)|reporting\b[^.]{0,100})\W*$",
        hints=("contributed",),
        max_words=25,
    ),
    Rule(
        "wire-credit",
        'Wire credits: "(Reporting by ...; Editing by ...)", "Additional reporting by ...".',
        r"^\s*(?:\(\s*(?:additional\s+)?(?:reporting|editing|writing|compiled)\s+by\b"
        r"|(?-i:(?:Additional reporting|Reporting|Editing|Writing|Compiled) by)\b)",
        hints=(
            "^(reporting",
            "^(editing",
            "^(writing",
            "^(additional",
            "^(compiled",
            "^reporting by",
            "^editing by",
            "^writing by",
            "^additional reporting",
            "^compiled by",
        ),
        max_words=40,
    ),
    Rule(
        "copyright",
        'Copyright lines: "Copyright 2013 CNN", "© 2013 ..." and "All rights reserved".',
        r"^\s*(?:copyright\s*(?:©|\(c\))?\s*(?:\d{4}|©|\(c\))|©\s*(?:\d{4}|\w)|\(c\)\s*\d{4}"
        r"|all rights reserved\b)",
        hints=("^copyright", "^©", "^(c)", "^all rights reserved"),
        max_words=20,
    ),
    Rule(
        "newsletter",
        'Newsletter and sign-up prompts: "Sign up for our newsletter", "Subscribe to ...".',
        r"^(?=.{0,200}$)\W*(?-i:Sign up|SIGN UP|Subscribe|SUBSCRIBE|Get|GET|Receive|Join)\b.*"
        r"\b(?:newsletters?|alerts?|updates|e-?mails?|inbox|here|now|free|today|podcast)\b"
        r"|^(?=.{0,200}$).*\bnewsletters?\b.*\b(?:sign up|subscribe|inbox|delivered)\b",
        hints=("^sign up", "^subscribe", "newsletter"),
    ),
    Rule(
        "share-prompt",
        'Share and follow prompts: "Share this article", "Follow us on Twitter".',
        r"^(?=.{0,80}$)\W*(?-i:Share|SHARE|Follow|FOLLOW|Like us|LIKE US|Tweet|TWEET|Email|EMAIL|Print|PRINT)"
        r"\s+(?:this|on|via|us|@\w+)\b",
        hints=("^share", "^follow", "^like us", "^tweet", "^email", "^print"),
    ),
    Rule(
        "correction-note",
        'Editor\'s notes on a corrected or updated item: "(corrects spelling of town in line five)".',
        r"^\s*(?:(?:\(|-{1,2})\s*(?:[a-z][\w'’.&]*\s+){0,3}?(?-i:[Cc]orrect(?:s|ing))\b"
        r"|note\s*:.*?\b(?-i:[Cc]orrects)\b"
        r"|(?-i:[A-Z])[\w'’.&]*(?:\s+[\w'’.&]+){0,2}?\s+(?-i:corrects)\b"
        r"|(?-i:Correct(?:s|ing))\b"
        r"|\(?(?-i:Adds|ADDS)\b|\((?:updates|recasts|repeats|rewrites|changes|fixes)\b)",
        hints=("correct", "^adds", "^(adds", "^(updates", "^(recasts", "^(repeats", "^(rewrites"),
        end=r"[.)]\s*$",
        block_max_lines=3,
        max_words=40,
    ),
    Rule(
        "cross-reference",
        'Pointers to another wire page: "(See ECRA for Spotlight Index)".',
        r"^\s*\((?:see|index)\b[^()]*\)\s*$",
        hints=("^(see", "^(index"),
    ),
    Rule(
        "story-ref",
        'A wire story\'s reference code alone on a line: "(FXJS 0336)".',
        r"^\s*\([a-z]{4}\s?\d{4}\)\s*$",
        hints=("^(",),
    ),
    Rule(
        "wire-take",
        'Wire transmission markers alone on a line: "MORE", "INTERRUPTED".',
        r"^\s*\(?(?:more(?:\s+(?:follows|to\s+come))?|interrupted)\)?\s*$",
        hints=("^more", "^(more", "^interrupted"),
    ),
    Rule(
        "wire-signoff",
        'The agency\'s sign-off ending a story, also garbled: "Reuter", "REUTER N", "RUTER".',
        r"^\s*r[eui]{1,3}t[et]{0,2}r?\d*(?:\s+(?:[a-z]{1,3}|\d{1,4}))?\s*$",
        last_line_only=True,
    ),
)

PACKS: dict[str, tuple[Rule, ...]] = {"news": NEWS_RULES, "none": ()}
PACK_DESCRIPTIONS: dict[str, str] = {
    "news": "News furniture: captions, credits, links, highlights, bylines, prompts, wire notes.",
    "none": "Strips nothing.",
}
DEFAULT_PACK = "news"
_TITLE_MAX_WORDS = 12
_FIRST_CONTENT = re.compile(r"\S")
# Spaces before a line-opening hint, without backtracking (possessive from Python 3.11).
_LEADING_SPACE = r"[ \t]*+" if sys.version_info >= (3, 11) else r"[ \t]*(?![ \t])"
# Hints that hold one of these characters are only searched for in texts holding it: one
# memchr-speed scan instead of a slower substring search for most texts.
_GATES = "©|@#[]{}*;/():"


@dataclass(frozen=True)
class Stripped:
    text: str
    removals: tuple[Removal, ...]


@dataclass(frozen=True)
class RepeatedLines:
    """Lines found to recur across unrelated documents of a corpus (see `line_key`).

    They are removed from a document only while, together, they hold at most
    `max_document_share` of the words its rules left: a document made mostly of lines that
    recur elsewhere (a template report, a compilation) is content, not furniture.
    """

    keys: frozenset[int] = frozenset()
    min_words: int = 4
    max_document_share: float = 0.5
    seed: int = 0  # of the token hashes the keys were computed from

    def __bool__(self) -> bool:
        return bool(self.keys)


def rules_for_pack(pack: str) -> tuple[Rule, ...]:
    try:
        return PACKS[pack]
    except KeyError:
        raise ValueError(f"unknown rule pack {pack!r}; choose one of: {', '.join(sorted(PACKS))}") from None


def line_key(line: str, min_words: int, seed: int = 0) -> int | None:
    """The key under which a line is counted for repeated-line detection, or None if it has
    fewer than `min_words` tokens.

    Lines compare as their tokens (see shingles.fold: case, quote style, punctuation and
    spacing do not matter); the key is computed from the token hashes of `seed`.
    """
    return shingles.keys_by_line([line], min_words, seed)[0]


def line_keys(text: str, min_words: int, seed: int = 0) -> set[int]:
    """The keys of a text's lines (see `line_key`), each once."""
    keys, _ = shingles.batch_line_keys([_newlines(text)], min_words, seed)
    return set(keys.tolist())


def repeated_line_keys(texts: Sequence[str], repeated: RepeatedLines) -> list[list[int | None]]:
    """The key of every line of each text, in one pass over all of them, for `strip`'s
    `line_keys` (finding them text by text costs several times more)."""
    return shingles.keys_by_lines(
        [_newlines(text).split("\n") for text in texts], repeated.min_words, repeated.seed
    )


def _newlines(text: str) -> str:
    if "\r" in text:
        return text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def strip(
    text: str,
    rules: Sequence[Rule],
    tidy: bool = True,
    repeated: RepeatedLines | None = None,
    line_keys: Sequence[int | None] | None = None,
) -> Stripped:
    """Remove the lines the rules match; return the remaining text and what each rule took.

    Lines are split on newlines (CR LF and lone CR count as newlines). The kept lines are
    stripped of surrounding spaces and joined with single newlines, without blank lines, so
    the stripped text does not depend on how many blank lines the removed furniture left.
    With `repeated`, kept lines whose key is in it are removed as `repeated-line` (the keys
    of the text's lines are computed here unless given as `line_keys`). Most
    texts match no rule; for them this is a few C-level string passes. With `tidy=False` a
    text that matched nothing comes back as it was: signing only needs the words, and
    skipping the line clean-up there saves a third of its cost.
    """
    text = _newlines(text)
    removed_by: dict[int, str] = {}
    lines: list[str] | None = None
    if rules:
        candidates = _plan(rules).candidates(text)
        if candidates:
            lines = text.split("\n")
            _apply(rules, candidates, lines, removed_by)
    if repeated:
        lines = lines if lines is not None else text.split("\n")
        _take_repeated(lines, repeated, removed_by, line_keys)
    if not removed_by and not tidy:
        return Stripped(text=text, removals=())
    lines = lines if lines is not None else text.split("\n")
    if removed_by:
        kept: Iterable[str] = (line.strip() for index, line in enumerate(lines) if index not in removed_by)
    else:
        kept = map(str.strip, lines)
    removals = tuple(
        Removal(rule=removed_by[index], line_number=index + 1, text=lines[index])
        for index in sorted(removed_by)
    )
    return Stripped(text="\n".join(filter(None, kept)), removals=removals)


def _take_repeated(
    lines: Sequence[str],
    repeated: RepeatedLines,
    removed_by: dict[int, str],
    keys: Sequence[int | None] | None,
) -> None:
    if keys is None:
        keys = shingles.keys_by_line(lines, repeated.min_words, repeated.seed)
    elif len(keys) != len(lines):
        raise ValueError(f"{len(keys)} line keys for {len(lines)} lines")
    found = [
        index
        for index, key in enumerate(keys)
        if key is not None and key in repeated.keys and index not in removed_by
    ]
    if not found:
        return
    words_left = sum(len(line.split()) for index, line in enumerate(lines) if index not in removed_by)
    if sum(len(lines[index].split()) for index in found) <= repeated.max_document_share * words_left:
        for index in found:
            removed_by[index] = REPEATED_LINE


def _apply(
    rules: Sequence[Rule], candidates: dict[int, list[int]], lines: list[str], removed_by: dict[int, str]
) -> None:
    """Test each rule on its candidate lines, in rule order; the first rule to match a line names it."""
    for rule_index, rule in enumerate(rules):
        indices = candidates.get(rule_index)
        if not indices:
            continue
        regex = rule.regex
        for index in sorted(set(indices)) if len(indices) > 1 else indices:
            if index in removed_by:
                continue
            line = lines[index]
            if rule.min_words and len(line.split()) < rule.min_words:
                continue
            if rule.too_long(line):
                continue
            if (rule.first_line_only or rule.last_line_only) and rule.hints and not _holds_hint(line, rule):
                continue
            if not regex.search(line):
                continue
            removed_by[index] = rule.name
            if rule.takes_title_above:
                above = _title_above(lines, index, removed_by)
                if above is not None:
                    removed_by[above] = rule.name
            if rule.block_max_words:
                _take_short_lines(lines, index, rule, removed_by)
            elif rule.end:
                _take_until_end(lines, index, rule, removed_by)


def _holds_hint(line: str, rule: Rule) -> bool:
    lowered = line.casefold()
    opening = lowered.lstrip(" \t")
    return any(
        opening.startswith(hint[1:]) if hint.startswith("^") else hint in lowered for hint in rule.hints
    )


def _take_short_lines(lines: Sequence[str], start: int, rule: Rule, removed_by: dict[int, str]) -> None:
    for following in range(start + 1, len(lines)):
        line = lines[following]
        if line.strip() and len(line.split()) > rule.block_max_words:
            return
        if line.strip():
            removed_by.setdefault(following, rule.name)


def _take_until_end(lines: Sequence[str], start: int, rule: Rule, removed_by: dict[int, str]) -> None:
    end_regex = rule.end_regex
    if end_regex.search(lines[start]):
        return
    block: list[int] = []
    for following in range(start + 1, len(lines)):
        if not lines[following].strip():
            continue
        block.append(following)
        if len(block) + 1 > rule.block_max_lines:
            return  # not closed in time: only the first line was furniture-shaped
        if end_regex.search(lines[following]):
            break
    for following in block:
        removed_by.setdefault(following, rule.name)


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


@dataclass(frozen=True)
class _Plan:
    """A rule set prepared for a fast search of the lines each rule matches."""

    rules: tuple[Rule, ...]
    line_openers: re.Pattern[str] | None  # over "\n" + the case-folded text; group 1 = the hint
    opener_rules: dict[str, tuple[int, ...]]  # an opening hint as matched -> rule indices
    gated_hints: tuple[tuple[str, tuple[tuple[str, tuple[int, ...]], ...]], ...]  # (gate or "", hints)
    first_line: tuple[int, ...]
    last_line: tuple[int, ...]
    every_line: tuple[int, ...]
    needs_casefold: bool

    def candidates(self, text: str) -> dict[int, list[int]]:
        """Rule index -> indices of the lines it matches, unsorted, maybe repeated.

        A line holding a hint is tested against the rule's pattern here, by slicing it out
        of the text, so a text whose hints are all false alarms is never split into lines.
        (Case folding keeps newlines; when it also keeps the length, offsets in the folded
        text are offsets in the text. Otherwise the hinted lines are left for `_apply` to test.)
        """
        found: dict[int, list[int]] = {}
        if self.needs_casefold:
            lowered = text.casefold()
            aligned = len(lowered) == len(text)
            if self.line_openers is not None:
                padded = "\n" + lowered
                first_match = self.line_openers.search(padded)
                if first_match is not None:
                    for match in self.line_openers.finditer(padded, first_match.start()):
                        start = match.start()  # where the line starts in `lowered`
                        self._test(text, lowered, aligned, start, self.opener_rules[match.group(1)], found)
            for gate, hints in self.gated_hints:
                if gate and gate not in lowered:
                    continue
                for hint, rule_indices in hints:
                    position = lowered.find(hint)
                    while position >= 0:
                        start = lowered.rfind("\n", 0, position) + 1
                        end = self._test(text, lowered, aligned, start, rule_indices, found)
                        position = lowered.find(hint, end + 1) if end < len(lowered) else -1
        if self.first_line:
            first = _FIRST_CONTENT.search(text)
            if first is not None:
                start = text.rfind("\n", 0, first.start()) + 1
                self._test(text, text, True, start, self.first_line, found)
        if self.last_line:
            last = len(text.rstrip())
            if last:
                start = text.rfind("\n", 0, last) + 1
                self._test(text, text, True, start, self.last_line, found)
        if self.every_line:
            every = list(range(text.count("\n") + 1))
            for rule_index in self.every_line:
                found[rule_index] = every
        return found

    def _test(
        self,
        text: str,
        lowered: str,
        aligned: bool,
        start: int,
        rule_indices: tuple[int, ...],
        found: dict[int, list[int]],
    ) -> int:
        """Record the rules that match the line starting at `start`; return where it ends."""
        end = lowered.find("\n", start)
        if end < 0:
            end = len(lowered)
        line = text[start:end] if aligned else None
        number: int | None = None
        for rule_index in rule_indices:
            if line is not None:
                rule = self.rules[rule_index]
                if rule.min_words and len(line.split()) < rule.min_words:
                    continue
                if not rule.regex.search(line):
                    continue
            if number is None:
                number = lowered.count("\n", 0, start)
            found.setdefault(rule_index, []).append(number)
        return end


_PLANS: dict[int, tuple[Sequence[Rule], _Plan]] = {}
_MAX_PLANS = 32


def _plan(rules: Sequence[Rule]) -> _Plan:
    """The prepared plan for a rule sequence, cached by identity (the cache holds the sequence,
    so its id cannot be reused while cached; hashing the rules on every call would cost more
    than stripping a text without furniture)."""
    entry = _PLANS.get(id(rules))
    if entry is not None and entry[0] is rules:
        return entry[1]
    plan = _build_plan(tuple(rules))
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[id(rules)] = (rules, plan)
    return plan


def _build_plan(rules: tuple[Rule, ...]) -> _Plan:
    openers: dict[str, set[int]] = {}
    anywhere: dict[str, set[int]] = {}
    first_line: list[int] = []
    last_line: list[int] = []
    every_line: list[int] = []
    for index, rule in enumerate(rules):
        if rule.first_line_only:
            first_line.append(index)
        elif rule.last_line_only:
            last_line.append(index)
        elif not rule.hints:
            every_line.append(index)
        else:
            for hint in rule.hints:
                if hint.startswith("^"):
                    openers.setdefault(hint[1:], set()).add(index)
                else:
                    anywhere.setdefault(hint, set()).add(index)
    # A match of the openers' expression is one opening hint; every shorter hint it starts
    # with is present too, so its rules are candidates as well.
    opener_rules = {
        matched: tuple(
            sorted(set().union(*(indices for hint, indices in openers.items() if matched.startswith(hint))))
        )
        for matched in openers
    }
    line_openers = re.compile(rf"\n{_LEADING_SPACE}({_trie_pattern(sorted(openers))})") if openers else None
    gated: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
    for hint in sorted(anywhere):
        gate = next((char for char in _GATES if char in hint), "")
        gated.setdefault(gate, []).append((hint, tuple(sorted(anywhere[hint]))))
    return _Plan(
        rules=rules,
        line_openers=line_openers,
        opener_rules=opener_rules,
        gated_hints=tuple((gate, tuple(hints)) for gate, hints in sorted(gated.items())),
        first_line=tuple(first_line),
        last_line=tuple(last_line),
        every_line=tuple(every_line),
        needs_casefold=bool(openers or anywhere),
    )


class _TrieNode(dict[str, "_TrieNode"]):
    """Hint characters as a trie; the key "" marks the end of a hint."""


def _trie_pattern(words: Sequence[str]) -> str:
    """A regular expression matching any of `words`, longest first, factored as a trie.

    Python's `re` tries the branches of an alternation one by one; sharing prefixes keeps
    the work at each line start to a few character comparisons however many hints there are.
    """
    trie = _TrieNode()
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, _TrieNode())
        node[""] = _TrieNode()

    def build(node: _TrieNode) -> str:
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return f"(?:{body})?" if len(branches) == 1 else body + "?"
        return body

    return build(trie)


def count_by_rule(removals: Iterable[Removal]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for removal in removals:
        counts[removal.rule] = counts.get(removal.rule, 0) + 1
    return counts

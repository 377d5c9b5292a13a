"""Terminal output with rich: per cluster, each member's diff against the representative, in
one of three layouts: inline (one column, edits in place), side by side (the representative
on the left, the member on the right, a row per paragraph) and stat (a line per member).

Every member's diff starts with its changed figures ("190 → 900 soldiers"). A moved passage
is shown once, where it now stands, labelled with an arrow and a number ("moved ↑1"); where
it used to be, a short marker with the same number points to it ("moved ↓1: “Leaders…”").
Without colour (not a terminal, NO_COLOR), edits carry wdiff's markers: [-deleted-],
{+inserted+}, and [=…=] / {=…=} for a move's old and new place.

File text is data: it goes into `rich.text.Text` objects, never through markup, and control
characters are made visible first, so a file cannot restyle or take over the terminal. File
names get the same treatment, and their tabs and newlines are shown too.
"""

from __future__ import annotations

import bisect
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.rule import Rule
from rich.segment import Segments
from rich.table import Table
from rich.text import Text

from ..boilerplate import Rule as BoilerplateRule
from ..diff import diff_tokens, move_origins
from ..model import COPY_KINDS, Cluster, MemberDiff, Report, Segment, StrippedFile, StrippedLine
from ..wording import count, near_duplicate_in
from . import UNSAFE, UNSAFE_CHARACTERS, Layout, RenderOptions

_UNSAFE_IN_NAMES = re.compile(f"[\t\n{UNSAFE_CHARACTERS}]")
DELETE_STYLE = "bold red strike"
STRIPPED_STYLE = "dim"
INSERT_STYLE = "bold green"
MOVE_STYLE = "cyan"
MOVE_LABEL_STYLE = "italic cyan"
FIGURES_STYLE = "bold yellow"
MARKER_STYLE = "dim"
PREVIEW_WORDS = 6  # words of a moved passage quoted where it used to be
MIN_HIDDEN = 12  # an unchanged run is hidden only when it has at least this many words more than its context
STAT_BAR = 30  # widest +/- bar in the stat layout
HEADLINE_CHARACTERS = 100  # a cluster's header quotes at most this much of its first line
SINGLETONS_LISTED = 20  # at most this many documents without a copy are listed unasked


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not valid UTF-8, kept by surrogateescape
        return f"<0x{code - 0xDC00:02X}>"
    return f"<U+{code:04X}>"


def visible(text: str) -> str:
    """Control, bidi and zero-width characters shown as inert escapes such as <U+001B>."""
    return UNSAFE.sub(_shown, text)


def visible_path(path: str) -> str:
    """A file name as inert text on one line: also its tabs and newlines escaped, and the
    bytes that were not UTF-8 shown as <0xE9>."""
    return _UNSAFE_IN_NAMES.sub(_shown, path)


def _is_word(token: str) -> bool:
    return token[:1].isalnum() or token[:1] == "_"


def _take_words(tokens: Sequence[str], count: int) -> int:
    """How many tokens from the start cover `count` words."""
    seen = 0
    for position, token in enumerate(tokens):
        if _is_word(token):
            if seen == count:
                return position
            seen += 1
    return len(tokens)


@dataclass(frozen=True)
class _Event:
    """One thing to show, in reading order: text both versions share (`old` as the
    representative has it, `new` as the member has it), a run of hidden unchanged words, a
    deletion, an insertion, a move where it now stands, or the place a move left."""

    kind: str  # same, gap, delete, insert, move, origin
    old: str = ""
    new: str = ""
    hidden: int = 0  # gap: how many words
    number: int = 0  # move and origin: which move
    upward: bool = False  # move: came from above; origin: went up
    side: str = ""  # stripped: "both", "representative" or "member" (`old` the line, `new` the rule)


def _events(items: Sequence[Segment | StrippedMark], context: int) -> list[_Event]:
    """The segments as events, unchanged stretches cut to `context` words around edits, and
    stripped lines (see `place_stripped`) where they stood."""
    segments = [item for item in items if isinstance(item, Segment)]
    marks: dict[int, list[StrippedMark]] = {}  # segment index → the marks just before it
    seen = 0
    for item in items:
        if isinstance(item, StrippedMark):
            marks.setdefault(seen, []).append(item)
        else:
            seen += 1
    origins = move_origins(segments)
    numbers = {
        index: number for number, index in enumerate(sorted(i for v in origins.values() for i in v), 1)
    }
    origin_place = {index: place for place, indices in origins.items() for index in indices}
    events: list[_Event] = []
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        for move in origins.get(index, ()):
            events.append(_origin(segments[move], numbers[move], upward=move < index))
        events.extend(_stripped_event(mark) for mark in marks.get(index, ()))
        if segment.op == "equal":
            events.extend(_collapsed(segment.text, segment.new_text, context, index == 0, index == last))
        elif segment.op == "delete":
            events.append(_Event("delete", old=segment.text))
        elif segment.op == "insert":
            events.append(_Event("insert", new=segment.text))
        else:
            events.append(
                _Event(
                    "move",
                    segment.text,
                    segment.new_text,
                    number=numbers[index],
                    upward=origin_place[index] > index,
                )
            )
    for move in origins.get(len(segments), ()):
        events.append(_origin(segments[move], numbers[move], upward=True))
    events.extend(_stripped_event(mark) for mark in marks.get(len(segments), ()))
    return events


def _stripped_event(mark: StrippedMark) -> _Event:
    return _Event("stripped", old=mark.text, new=mark.rule, side=mark.side)


def _origin(move: Segment, number: int, upward: bool) -> _Event:
    """The marker where a move used to be: its first words (and, in `new`, the whitespace
    that followed it, to keep a paragraph break)."""
    tokens = diff_tokens(move.text.strip())
    cut = _take_words(tokens, PREVIEW_WORDS)
    preview = "".join(tokens[:cut]).rstrip() + ("…" if cut < len(tokens) else "")
    trail = move.text[len(move.text.rstrip()) :]
    return _Event("origin", old=preview, new=trail, number=number, upward=upward)


def _collapsed(old: str, new: str, context: int, first: bool, last: bool) -> list[_Event]:
    """An unchanged stretch cut down to `context` words on each side that touches an edit.

    Words are found with the diff's word pattern, not by tokenizing the stretch: most of a
    corpus's text is in stretches like these, and only their ends are shown."""
    words = len(_WORD.findall(old))
    # A text's first line (a headline, mostly) is never hidden: it says which story this is.
    keep_head = _first_line_words(old) if first else context
    keep_tail = 0 if last else context
    if words < keep_head + keep_tail + MIN_HIDDEN:
        return [_Event("same", old, new)]
    events = []
    head_old, head_new = _head(old, keep_head), _head(new, keep_head)
    if head_old or head_new:
        if first:  # the first line, then the gap on a line of its own
            head_old, head_new = head_old.rstrip() + "\n", head_new.rstrip() + "\n"
        events.append(_Event("same", head_old.rstrip(" "), head_new.rstrip(" ")))
    events.append(_Event("gap", hidden=words - keep_head - keep_tail))
    tail_old, tail_new = _tail(old, keep_tail), _tail(new, keep_tail)
    if tail_old or tail_new:
        events.append(_Event("same", tail_old, tail_new))
    return events


_WORD = re.compile(r"\w+(?:['’]\w+)*")  # a word token of diff.diff_tokens


def _first_line_words(text: str) -> int:
    """Words up to the end of the first line that has any; 0 for a text of one line."""
    first = _WORD.search(text)
    if first is None:
        return 0
    end = text.find("\n", first.end())
    return 0 if end < 0 else len(_WORD.findall(text, 0, end))


def _head(text: str, words: int) -> str:
    """The text up to the word after its first `words` words."""
    if not words:
        return ""
    for number, word in enumerate(_WORD.finditer(text)):
        if number == words:
            return text[: word.start()]
    return text


def _tail(text: str, words: int) -> str:
    """The text from its `words`-th word from the end."""
    if not words:
        return ""
    window = max(0, len(text) - 12 * (words + 2))  # enough for most words; else the whole text
    starts = [word.start() for word in _WORD.finditer(text, window)]
    if window and len(starts) <= words:
        starts = [word.start() for word in _WORD.finditer(text)]
    return text[starts[-words] :] if len(starts) >= words else text


def _move_label(number: int, upward: bool) -> str:
    """The same at both ends of a move: the direction the passage went, and its number."""
    return f"moved {'up' if upward else 'down'} #{number}"


_EDGES = re.compile(r"(\s*)(.*?)(\s*)", re.DOTALL)


def _append_marked(text: Text, content: str, opening: str, closing: str, style: str, markers: bool) -> None:
    """`content` styled (and between the markers), its leading and trailing whitespace outside
    them, so that "[-a group of-] soldiers" reads like the sentence it is."""
    lead, core, trail = _EDGES.fullmatch(content).groups()  # type: ignore[union-attr]
    if lead and not text.plain[-1:].isspace():
        text.append(lead)
    text.append(f"{opening}{core}{closing}" if markers else core, style=style)
    text.append(trail)


def _ends_with_style(text: Text, style: str) -> bool:
    """Whether `text` ends in a non-blank stretch styled `style` (an edit it would touch)."""
    return bool(text.spans) and text.spans[-1].end == len(text) and text.spans[-1].style == style


def _append_event(text: Text, event: _Event, side: str, markers: bool) -> None:
    """Add an event to a Text: `side` is "both" (inline), "old" or "new" (a column)."""
    if event.kind == "same":
        text.append(visible(event.new if side == "new" else event.old))
    elif event.kind == "gap":
        text.append(f"⋯ {event.hidden} unchanged words ⋯", style=MARKER_STYLE)
    elif event.kind == "delete" and side != "new":
        if event.old.strip():  # a change of whitespace alone is not marked
            if not markers and _ends_with_style(text, INSERT_STYLE):
                text.append(" ")
            _append_marked(text, visible(event.old), "[-", "-]", DELETE_STYLE, markers)
    elif event.kind == "insert" and side != "old":
        if event.new.strip():
            if not markers and _ends_with_style(text, DELETE_STYLE):
                text.append(" ")  # colour alone would run "France" and "French" together
            _append_marked(text, visible(event.new), "{+", "+}", INSERT_STYLE, markers)
        elif not text.plain[-1:].isspace():
            text.append(visible(event.new))
    elif event.kind == "move" and side != "old":
        label = _move_label(event.number, event.upward)
        content = visible(event.new if side == "new" else event.old)
        if markers:
            _append_marked(text, content, f"{{={label}: ", "=}", MOVE_STYLE, markers)
        else:
            text.append(f"⟨{label}⟩ ", style=MOVE_LABEL_STYLE)
            _append_marked(text, content, "", "", MOVE_STYLE, markers)
    elif event.kind == "origin" and side != "new":
        label = f"{_move_label(event.number, event.upward)}: “{visible(event.old)}”"
        text.append(f"[={label}=]" if markers else f"⟨{label}⟩", style=MOVE_LABEL_STYLE)
        text.append("\n" if event.new.endswith("\n") else " ")


@dataclass(frozen=True)
class StrippedMark:
    """A stripped line placed in a diff: removed from both texts, or from one of them only."""

    side: Literal["both", "representative", "member"]
    rule: str
    text: str


def _split(segment: Segment, at: int, old_side: bool) -> tuple[Segment, Segment]:
    """`segment` cut in two at `at` characters into its old (representative) or new (member)
    text; where the two texts differ (an equal stretch with other quotes or spacing), at the
    same token on both sides, so the pieces still pair up."""
    old, new = segment.text, segment.new_text
    if segment.b_text is None or segment.op not in ("equal", "move"):
        old_at = new_at = at
        if segment.op == "insert":
            old_at = 0
    else:
        side = old if old_side else new
        tokens = diff_tokens(side)
        starts = [0]
        for token in tokens:
            starts.append(starts[-1] + len(token))
        index = bisect.bisect_left(starts, at)
        other_tokens = diff_tokens(new if old_side else old)
        other_at = sum(map(len, other_tokens[:index]))
        old_at, new_at = (starts[min(index, len(tokens))], other_at) if old_side else (other_at, at)
    a_at = segment.a[0] + (old_at if segment.op in ("equal", "delete") else 0)
    b_at = segment.b[0] + (new_at if segment.op in ("equal", "insert", "move") else 0)
    text_at = new_at if segment.op == "insert" else old_at

    def b_text(piece: str, new_piece: str) -> str | None:
        return None if segment.b_text is None or piece == new_piece else new_piece

    head = Segment(
        segment.op,
        segment.text[:text_at],
        (segment.a[0], a_at if segment.op in ("equal", "delete") else segment.a[1]),
        (segment.b[0], b_at if segment.op in ("equal", "insert", "move") else segment.b[1]),
        b_text(old[:old_at], new[:new_at]),
    )
    tail = Segment(
        segment.op,
        segment.text[text_at:],
        (a_at, segment.a[1]) if segment.op in ("equal", "delete") else segment.a,
        (b_at, segment.b[1]) if segment.op in ("equal", "insert", "move") else segment.b,
        b_text(old[old_at:], new[new_at:]),
    )
    return head, tail


def place_stripped(
    segments: Sequence[Segment],
    representative: Sequence[StrippedLine] = (),
    member: Sequence[StrippedLine] = (),
) -> list[Segment | StrippedMark]:
    """The diff's segments with the stripped lines of both texts put where they stood.

    A representative's line is placed before the character of the representative's side
    (the `equal` and `delete` texts joined) at its offset, a member's before the character
    of the member's side (the `equal`, `insert` and `move` new texts joined) at its offset.
    Where the two texts run equal and both had the same line removed at the same place, it
    is shown once, as removed from both. Cut segments keep their positions (`a`, `b`).
    """
    pending_representative = sorted(representative, key=lambda line: line.offset)
    pending_member = sorted(member, key=lambda line: line.offset)
    items: list[Segment | StrippedMark] = []
    representative_at = member_at = 0  # offsets in the two sides at the segment's start
    for segment in segments:
        old_length = len(segment.text) if segment.op in ("equal", "delete") else 0
        new_length = len(segment.new_text) if segment.op in ("equal", "insert", "move") else 0
        cuts: dict[int, list[StrippedMark]] = {}  # by offset in the segment's old side, or new
        old_side = segment.op in ("equal", "delete")
        if old_side:
            while (
                pending_representative and pending_representative[0].offset < representative_at + old_length
            ):
                line = pending_representative.pop(0)
                cuts.setdefault(max(line.offset - representative_at, 0), []).append(
                    StrippedMark("representative", line.rule, line.text)
                )
        if segment.op in ("equal", "insert", "move"):
            while pending_member and pending_member[0].offset < member_at + new_length:
                line = pending_member.pop(0)
                at = max(line.offset - member_at, 0)
                if segment.op == "move":
                    at = 0  # a move is shown whole: its lines go before it
                elif segment.op == "equal" and segment.b_text is not None:
                    at = len(_split(segment, at, old_side=False)[0].text)  # to the old side
                marks = cuts.setdefault(at, [])
                twin = next(
                    (
                        index
                        for index, mark in enumerate(marks)
                        if segment.op == "equal"
                        and mark.side == "representative"
                        and (mark.rule, mark.text) == (line.rule, line.text)
                    ),
                    None,
                )
                if twin is None:
                    marks.append(StrippedMark("member", line.rule, line.text))
                else:
                    marks[twin] = StrippedMark("both", line.rule, line.text)
        rest, done = segment, 0
        for at in sorted(cuts):
            if at > done:
                # Offsets in `cuts` count in the old side, except in insertions and moves.
                head, rest = _split(rest, at - done, old_side=segment.op != "insert")
                items.append(head)
                done = at
            items.extend(cuts[at])
        if rest.text or rest.new_text or not cuts:
            items.append(rest)
        representative_at += old_length
        member_at += new_length
    # Lines removed after the last kept line of a text.
    ends = [StrippedMark("representative", line.rule, line.text) for line in pending_representative]
    for line in pending_member:
        twin = next(
            (
                index
                for index, mark in enumerate(ends)
                if mark.side == "representative" and (mark.rule, mark.text) == (line.rule, line.text)
            ),
            None,
        )
        if twin is None:
            ends.append(StrippedMark("member", line.rule, line.text))
        else:
            ends[twin] = StrippedMark("both", line.rule, line.text)
    items.extend(ends)
    return items


_SIDE_NOTES = {"both": "", "representative": ", representative only", "member": ", this copy only"}


def _stripped_note(event: _Event) -> str:
    return f"✂ {event.new}{_SIDE_NOTES[event.side]}: {visible(event.old)}"


def diff_text(segments: Sequence[Segment | StrippedMark], context: int, markers: bool) -> Text:
    """One member's diff as styled text in one column; with `markers`, wdiff's markers.

    Stripped lines (from `place_stripped`) appear dimmed on lines of their own, with the
    rule that removed them and whether both texts or only one had them.
    """
    text = Text()
    for event in _events(segments, context):
        if event.kind == "gap":
            if text.plain and not text.plain.endswith("\n"):
                text.append(" ")
            _append_event(text, event, "both", markers)
            text.append("\n")
            continue
        if event.kind == "stripped":
            lead = "\n" if text.plain and not text.plain.endswith("\n") else ""
            text.append(f"{lead}{_stripped_note(event)}\n", style=STRIPPED_STYLE)
            continue
        if event.kind == "same" and text.plain.endswith("⋯\n"):
            event = _Event("same", event.old.lstrip(), event.new.lstrip())
        _append_event(text, event, "both", markers)
    if text.plain.endswith("⋯\n"):
        text.right_crop(1)
    return text


def side_by_side(
    segments: Sequence[Segment | StrippedMark], context: int, markers: bool, old_title: str, new_title: str
) -> Table:
    """The two versions in two columns, a row per paragraph of the representative."""
    table = Table(box=box.SIMPLE_HEAD, expand=True, padding=(0, 1), show_edge=False)
    for title in (old_title, new_title):
        # The file name only: the member's full path is right above the table.
        heading = Text(
            visible_path(os.path.basename(title) or title), style="bold", overflow="ellipsis", no_wrap=True
        )
        table.add_column(heading, ratio=1, overflow="fold")
    left, right = Text(), Text()

    def finish() -> None:
        nonlocal left, right
        if left.plain.strip() or right.plain.strip():
            left.rstrip()
            right.rstrip()
            table.add_row(left, right)
        left, right = Text(), Text()

    for event in _events(segments, context):
        if event.kind == "gap":
            finish()
            gap = Text(f"⋯ {event.hidden} unchanged words ⋯", style=MARKER_STYLE)
            table.add_row(gap, gap.copy())
        elif event.kind == "stripped":
            finish()
            note = Text(f"✂ {event.new}: {visible(event.old)}", style=STRIPPED_STYLE)
            table.add_row(
                note if event.side != "member" else Text(),
                note.copy() if event.side != "representative" else Text(),
            )
        elif event.kind == "same":
            old_lines, new_lines = event.old.split("\n"), event.new.split("\n")
            if len(old_lines) != len(new_lines):
                # The texts break lines in different places: each side keeps its own breaks.
                old_lines, new_lines = [event.old], [event.new]
            for number, (old_line, new_line) in enumerate(zip(old_lines, new_lines, strict=True)):
                if number:
                    finish()
                left.append(visible(old_line))
                right.append(visible(new_line))
        else:
            _append_event(left, event, "old", markers)
            _append_event(right, event, "new", markers)
            if event.kind in ("origin", "move") and event.new.endswith("\n"):
                finish()  # the moved passage was a paragraph of its own
    finish()
    return table


def member_header(member: MemberDiff, title: str | None = None) -> Text:
    """The member's path, then its kind (when known), similarity and words changed."""
    header = Text()
    header.append(visible_path(title or member.path), style="bold")
    header.append("\n")
    if member.kind is not None:
        header.append(KIND_LABELS[member.kind], style=KIND_STYLE)
        header.append(" · ", style=MARKER_STYLE)
    header.append(
        f"Jaccard {member.jaccard:.2f} · containment {member.containment:.2f} · ", style=MARKER_STYLE
    )
    header.append(f"+{member.added_words:,}", style="green")
    header.append(" / ", style=MARKER_STYLE)
    header.append(f"−{member.removed_words:,}", style="red")
    header.append(" words", style=MARKER_STYLE)
    if member.moved_words:
        header.append(" · ", style=MARKER_STYLE)
        header.append(f"{member.moved_words:,} moved", style=MOVE_STYLE)
    return header


KIND_STYLE = "bold magenta"
# How a copy's kind reads in text and HTML output (see model.CopyKind).
KIND_LABELS = {
    "identical": "identical",
    "reformatted": "reformatted",
    "figures": "figures changed",
    "edited": "edited",
}


def changed_figures_line(member: MemberDiff) -> Text | None:
    """ "Changed figures: 190 → 900 soldiers · 24 hours → 10 days", or None."""
    if not member.changed_figures:
        return None
    line = Text()
    line.append("Changed figures: ", style=MARKER_STYLE)
    for number, figure in enumerate(member.changed_figures):
        if number:
            line.append(" · ", style=MARKER_STYLE)
        line.append(visible(figure.label), style=FIGURES_STYLE)
    return line


def _has_edits(member: MemberDiff) -> bool:
    return any(segment.op != "equal" for segment in member.segments)


def member_parts(
    member: MemberDiff, representative: str, options: RenderOptions, markers: bool, title: str | None = None
) -> list[RenderableType]:
    """A member's header, changed figures and diff: Texts, or a Table side by side."""
    parts: list[RenderableType] = [member_header(member, title)]
    figures = changed_figures_line(member)
    if figures is not None:
        parts.append(figures)
    items: Sequence[Segment | StrippedMark] = member.segments
    if member.representative_stripped or member.member_stripped:  # --show-stripped
        items = place_stripped(member.segments, member.representative_stripped, member.member_stripped)
    if not _has_edits(member):
        if len(items) != len(member.segments):
            parts.append(diff_text(items, options.context, markers))
        parts.append(Text("(same text after normalisation)", style=MARKER_STYLE))
    elif options.layout is Layout.SIDE_BY_SIDE:
        parts.append(side_by_side(items, options.context, markers, representative, member.path))
    else:
        parts.append(diff_text(items, options.context, markers))
    return parts


def member_renderable(
    member: MemberDiff, representative: str, options: RenderOptions, markers: bool, title: str | None = None
) -> RenderableType:
    return Group(*member_parts(member, representative, options, markers, title))


def old_text_start(member: MemberDiff, limit: int = 2000) -> str:
    """The start of the representative's cleaned text, rebuilt from a member's diff (its
    equal, deleted and moved stretches in the representative's order)."""
    pieces = sorted(
        (segment.a[0], segment.text)
        for segment in member.segments
        if segment.op in ("equal", "delete", "move")
    )
    text = ""
    for _, piece in pieces:
        text += piece
        if len(text) >= limit or "\n" in text:
            break
    return text


def headline(cluster: Cluster) -> str | None:
    """The representative's first non-blank line, from any copy's diff; None for a cluster
    whose copies carry no diff."""
    for member in cluster.members:
        if member.is_representative or not member.segments:
            continue
        for line in old_text_start(member).split("\n"):
            if line.strip():
                shown = " ".join(line.split())
                return shown if len(shown) <= HEADLINE_CHARACTERS else shown[: HEADLINE_CHARACTERS - 1] + "…"
        return None
    return None


def similarity_range(members: Sequence[MemberDiff]) -> str:
    """ "Jaccard 0.82" or "Jaccard 0.82–0.97" over a cluster's copies."""
    values = [member.jaccard for member in members]
    low, high = f"{min(values, default=1.0):.2f}", f"{max(values, default=1.0):.2f}"
    return f"Jaccard {low}" if low == high else f"Jaccard {low}–{high}"


def kinds_summary(members: Sequence[MemberDiff]) -> str | None:
    """ "2 edited, 1 identical": the copies by kind, most changed first; None while a copy's
    kind is unknown (a report from before kinds, or kinds not computed)."""
    if any(member.kind is None for member in members) or not members:
        return None
    counts = {kind: sum(member.kind == kind for member in members) for kind in reversed(COPY_KINDS)}
    return ", ".join(f"{number:,} {KIND_LABELS[kind]}" for kind, number in counts.items() if number)


def related_note(cluster: Cluster) -> str | None:
    if not cluster.related:
        return None
    ids = ", ".join(str(number) for number in cluster.related)
    return f"also close to {'cluster' if len(cluster.related) == 1 else 'clusters'} {ids}"


def cluster_title(cluster: Cluster) -> Text:
    copies = [member for member in cluster.members if not member.is_representative]
    title = Text(f"Cluster {cluster.id} · {count(len(cluster.members), 'document')}", style="bold")
    title.append(f" · {similarity_range(copies)}", style="bold")
    return title


def cluster_head(cluster: Cluster) -> Text:
    """Under the cluster's title: its headline, representative, copies' kinds, related clusters."""
    copies = [member for member in cluster.members if not member.is_representative]
    head = Text()
    first_line = headline(cluster)
    if first_line is not None:
        head.append(f"“{visible(first_line)}”\n", style="bold")
    head.append("representative: ", style=MARKER_STYLE)
    head.append(visible_path(cluster.representative), style="bold")
    kinds = kinds_summary(copies)
    notes = [f"{count(len(copies), 'copy', 'copies')}" + (f": {kinds}" if kinds else "")]
    related = related_note(cluster)
    if related is not None:
        notes.append(related)
    head.append("\n" + " · ".join(notes), style=MARKER_STYLE)
    return head


class TextWriter:
    """Prints blocks of output: at a terminal through Rich (wrapped to its width, in colour);
    otherwise as data for grep: plain lines, never wrapped, padded or ending in spaces.

    At a terminal, consecutive texts are gathered into one Text and printed with one call at
    `flush` (each `console.print` costs about half a millisecond before it prints anything:
    at a cluster's dozen prints, most of the cost of showing a corpus)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.plain = not console.is_terminal
        self.markers = console.no_color or console.color_system is None
        self._pending = Text()

    def write_lines(self, text: str) -> None:
        """Plain lines as they are, less any trailing spaces, and a line break."""
        if "\n" in text or text.endswith(" "):
            text = "\n".join(line.rstrip() for line in text.split("\n"))
        self.console.file.write(text + "\n")

    def text(self, text: Text) -> None:
        if self.plain:
            self.write_lines(text.plain)
        else:
            self._pending.append_text(text)
            self._pending.append("\n")

    def rule(self, title: Text) -> None:
        """A title on a line of its own; at a terminal, followed by a rule to the right edge."""
        if self.plain:
            self.write_lines(title.plain)
            return
        line = title.copy()
        line.truncate(self.console.width - 2, overflow="ellipsis")
        line.append(" " + "─" * max(0, self.console.width - line.cell_len - 1), style="rule.line")
        self.text(line)

    def block(self, renderable: RenderableType) -> None:
        """Any renderable; when plain, a table's columns at the console's width, lines stripped."""
        if isinstance(renderable, Text):
            self.text(renderable)
        elif self.plain:
            with self.console.capture() as captured:
                self.console.print(renderable)
            self.write_lines(captured.get().rstrip("\n"))
        else:
            self.flush()
            self.console.print(renderable)

    def blank(self) -> None:
        if self.plain:
            self.console.file.write("\n")
        else:
            self._pending.append("\n")

    def flush(self) -> None:
        """Print what was gathered (at a terminal)."""
        if self._pending:
            # Rich's word wrapping costs as much as everything else together, and hard-wrapped
            # text (wire copy) needs none: when every line fits, it is printed as it is.
            # Segments, not the Text: printing a Text splits it into lines again, for nothing.
            segments = wrapped(self._pending, self.console.width).render(self.console)
            self.console.print(Segments(segments), soft_wrap=True)
            self._pending = Text()


_WORDS = re.compile(r"\S+")


def wrapped(text: Text, width: int) -> Text:
    """`text` word-wrapped to `width` columns by turning the space before each word that would
    cross the edge into a line break: the same length, so its styles stay where they were.

    Rich's own wrapping (Text.wrap) costs more than everything else in showing a corpus; this
    is a fraction of it. A word wider than the line is left whole, for the terminal to fold.
    """
    plain = text.plain
    characters: list[str] | None = None
    line_start = 0
    for line in plain.split("\n"):
        narrow = line.isascii() or cell_len(line) == len(line)
        if narrow and len(line) > width:
            # A column per character: break at the last space that keeps each line in width.
            position = 0
            while len(line) - position > width:
                cut = line.rfind(" ", position + 1, position + width + 1)
                if cut < 0:
                    cut = line.find(" ", position + width)  # a word wider than the line
                    if cut < 0:
                        break
                if characters is None:
                    characters = list(plain)
                characters[line_start + cut] = "\n"
                position = cut + 1
        elif not narrow:  # wide characters (CJK, emoji): measured word by word
            column, previous_end = 0, 0
            for word in _WORDS.finditer(line):
                start, end = word.span()
                gap, size = cell_len(line[previous_end:start]), cell_len(word.group())
                if previous_end and column + gap + size > width:
                    if characters is None:
                        characters = list(plain)
                    characters[line_start + previous_end] = "\n"  # the gap's first space
                    column = gap - 1 + size
                else:
                    column += gap + size
                previous_end = end
        line_start += len(line) + 1
    if characters is None:
        return text
    return Text("".join(characters), style=text.style, end=text.end, spans=list(text.spans))


def cluster_renderable(cluster: Cluster, options: RenderOptions, markers: bool) -> RenderableType:
    parts: list[RenderableType] = [Rule(cluster_title(cluster), align="left"), cluster_head(cluster)]
    for member in cluster.members:
        if not member.is_representative:
            parts.append(Text())
            parts.extend(member_parts(member, cluster.representative, options, markers))
    parts.append(Text())
    return Group(*parts)


def _write_cluster(writer: TextWriter, cluster: Cluster, options: RenderOptions) -> None:
    writer.rule(cluster_title(cluster))
    writer.text(cluster_head(cluster))
    for member in cluster.members:
        if member.is_representative:
            continue
        writer.blank()
        for part in member_parts(member, cluster.representative, options, writer.markers):
            writer.block(part)
    writer.blank()
    writer.flush()  # a cluster at a time: the reader sees the first while the rest renders


def stat_lines(report: Report, width: int, plain: bool) -> list[Text]:
    """A line per copy, as git's --stat: path, labelled similarity, words added, removed and
    moved, and a +/- bar on a log scale (so that small changes still show), under a header
    that says what the numbers are; changed figures on the line under it. `plain` output is
    not padded into columns."""
    members = [
        member for cluster in report.clusters for member in cluster.members if not member.is_representative
    ]
    widest = max((member.added_words + member.removed_words for member in members), default=0)
    numbers = {id(member): _stat_numbers(member) for member in members}
    path_width = (
        0 if plain else min(max((cell_len(visible_path(m.path)) for m in members), default=0), width // 2)
    )
    longest = max((line.cell_len for line in numbers.values()), default=0)
    room = STAT_BAR if plain else max(0, min(STAT_BAR, width - 2 - path_width - longest - 2))
    lines: list[Text] = []
    if members:
        key = Text(
            "J: Jaccard similarity, C: containment, then words added (+), removed (−) and moved (~)",
            style=MARKER_STYLE,
        )
        if widest and room >= 5:
            key.append("; bars on a log scale", style=MARKER_STYLE)
        lines.append(key)
    for cluster in report.clusters:
        if report.kind == "clusters":
            title = cluster_title(cluster)
            title.append(" · representative ", style=MARKER_STYLE)
            title.append(visible_path(cluster.representative))
            lines.append(title)
        for member in cluster.members:
            if member.is_representative:
                continue
            line = Text("  ")
            path = visible_path(member.path)
            line.append(path if plain else path.ljust(path_width), style="bold")
            line.append_text(numbers[id(member)])
            spare = room if plain else min(room, width - line.cell_len - 2)
            if widest and spare >= 5:
                plus, minus = (
                    _bar(member.added_words, widest, spare),
                    _bar(member.removed_words, widest, spare),
                )
                if plus + minus > spare:
                    plus, minus = (plus * spare) // (plus + minus), (minus * spare) // (plus + minus)
                if plus or minus:
                    line.append("  ")
                    line.append("+" * plus, style="green")
                    line.append("-" * minus, style="red")
            lines.append(line)
            figures = changed_figures_line(member)
            if figures is not None:
                lines.append(Text("      ") + figures)
    return lines


def _bar(words: int, widest: int, room: int) -> int:
    """A bar's length for `words` changed: log-scaled to the corpus's widest change, at least
    one character for any change."""
    if words <= 0:
        return 0
    return max(1, round(room / 2 * math.log1p(words) / math.log1p(widest)))


def stat_renderable(report: Report, width: int) -> RenderableType:
    return Group(*stat_lines(report, width, plain=False))


def _stat_numbers(member: MemberDiff) -> Text:
    """The figures of a stat line after the path: "  J 0.71  C 0.87  +64 −144 ~10"."""
    line = Text()
    line.append(f"  J {member.jaccard:.2f}  C {member.containment:.2f}  ", style=MARKER_STYLE)
    line.append(f"+{member.added_words:,}", style="green")
    line.append(f" −{member.removed_words:,}", style="red")
    if member.moved_words:
        line.append(f" ~{member.moved_words:,}", style=MOVE_STYLE)
    return line


def natural_key(path: str) -> tuple[tuple[int, int | str], ...]:
    """Sorts "9997.txt" before "10000.txt": digit runs compare as numbers."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in _DIGIT_RUNS.split(path) if part)


_DIGIT_RUNS = re.compile(r"(\d+)")


def render_text(report: Report, console: Console, options: RenderOptions) -> None:
    """Every cluster (header, then each copy's diff), the documents without a copy (a count, or
    listed), and a closing summary, to `console`, cluster by cluster as it goes."""
    writer = TextWriter(console)
    if options.layout is Layout.STAT:
        for line in stat_lines(report, console.width, writer.plain):
            writer.text(line)
    elif report.kind == "pair":
        for cluster in report.clusters:
            representative, member = cluster.members
            title = f"{representative.path} → {member.path}"
            for part in member_parts(member, representative.path, options, writer.markers, title):
                writer.block(part)
        writer.flush()
        return
    else:
        for cluster in report.clusters:
            _write_cluster(writer, cluster, options)
    if report.kind != "clusters":
        writer.flush()
        return
    if report.singletons:
        listed = options.list_singletons or len(report.singletons) <= SINGLETONS_LISTED
        heading = Text(f"{count(len(report.singletons), 'document')} without a copy", style="bold")
        if not listed:
            heading.append(" (--list-singletons lists them)", style=MARKER_STYLE)
        writer.rule(heading)
        if listed:
            paths = "\n".join(visible_path(path) for path in sorted(report.singletons, key=natural_key))
            writer.text(Text(paths))
        writer.blank()
    if report.unplaced:
        writer.rule(Text(unplaced_heading(len(report.unplaced)), style="bold"))
        writer.text(
            Text(
                "\n".join(
                    f"{visible_path(path)}  ({near_duplicate_in(related)})"
                    for path, related in sorted(report.unplaced, key=lambda item: natural_key(item[0]))
                )
            )
        )
        writer.blank()
    writer.text(Text(summary_line(report), style="bold"))
    writer.flush()


def unplaced_heading(number: int) -> str:
    """The heading over the documents star clustering left out (`Report.unplaced`)."""
    if number == 1:
        return "1 document is a near-duplicate of a copy in a cluster but not of its representative"
    return f"{number:,} documents are near-duplicates of a copy in a cluster but not of its representative"


def summary_line(report: Report) -> str:
    clustered = sum(len(cluster.members) for cluster in report.clusters)
    return (
        f"{count(report.documents, 'document')}: {count(len(report.clusters), 'cluster')} holding "
        f"{count(clustered, 'document')}, {len(report.singletons):,} without a copy, "
        + (
            f"{count(len(report.unplaced), 'near-duplicate')} of a copy in a cluster, "
            if report.unplaced
            else ""
        )
        + f"{len(report.skipped):,} skipped"
    )


STRUCK_STYLE = "red strike"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def stripped_file_renderable(file: StrippedFile, markers: bool, removed_only: bool = False) -> RenderableType:
    """One file for `storydiff strip`: its lines, the removed ones struck through with the
    rule's name in the margin. With `markers` (no colour) removed text is also wrapped in [-…-]."""
    title = Text(visible_path(file.path), style="bold")
    title.append(f" · {len(file.removed):,} of {count(file.line_count, 'line')} removed", style=MARKER_STYLE)
    rule_of = {span.line_number: span.rule for span in file.removed}
    margin = max((len(span.rule) for span in file.removed), default=0)
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True, style=MARKER_STYLE, min_width=margin)
    grid.add_column(justify="right", no_wrap=True, style=MARKER_STYLE)
    grid.add_column(overflow="fold")
    if removed_only:
        rows = [(span.line_number, span.text) for span in file.removed]
    else:
        lines = _LINE_BREAK.split(file.text)
        if len(lines) > 1 and lines[-1] == "":
            lines.pop()  # the break that ends the last line does not start another
        rows = list(enumerate(lines, start=1))
    for number, line in rows:
        rule = rule_of.get(number)
        content = visible(line)
        if rule is None:
            grid.add_row("", str(number), Text(content))
        else:
            grid.add_row(
                rule, str(number), Text(f"[-{content}-]" if markers else content, style=STRUCK_STYLE)
            )
    return Group(Rule(title, align="left"), grid, Text())


def print_stripped_file(console: Console, file: StrippedFile, removed_only: bool = False) -> None:
    """`stripped_file_renderable` at a terminal; piped, the same rows as plain lines that are
    neither wrapped nor padded (rule, line number, text, separated by spaces)."""
    writer = TextWriter(console)
    if not writer.plain:
        console.print(stripped_file_renderable(file, writer.markers, removed_only))
        return
    title = f"{visible_path(file.path)} · {len(file.removed):,} of {count(file.line_count, 'line')} removed"
    rule_of = {span.line_number: span.rule for span in file.removed}
    if removed_only:
        rows = [(span.line_number, span.text) for span in file.removed]
    else:
        lines = _LINE_BREAK.split(file.text)
        if len(lines) > 1 and lines[-1] == "":
            lines.pop()
        rows = list(enumerate(lines, start=1))
    margin = max((len(span.rule) for span in file.removed), default=0)
    digits = len(str(rows[-1][0])) if rows else 1
    out = [title]
    for number, line in rows:
        rule = rule_of.get(number)
        content = visible(line) if rule is None else f"[-{visible(line)}-]"
        out.append(
            f"{rule or '':>{margin}} {number:>{digits}} {content}"
            if margin
            else f"{number:>{digits}} {content}"
        )
    writer.write_lines("\n".join(out) + "\n")


def strip_summary(files: int, counts: dict[str, int], skipped: int) -> str:
    by_rule = ", ".join(f"{rule} {number:,}" for rule, number in sorted(counts.items()))
    head = f"{count(files, 'file')}: {count(sum(counts.values()), 'line')} removed"
    return head + (f" ({by_rule})" if by_rule else "") + f", {skipped:,} skipped"


def rules_renderable(
    packs: Sequence[tuple[str, str, Sequence[BoilerplateRule]]],
    default_pack: str,
    repeated_description: str,
    in_use: RulesInUse,
) -> RenderableType:
    """`storydiff rules`: every pack and its rules, then what a run at a path would use."""
    parts: list[RenderableType] = []
    for name, description, rules in packs:
        title = Text(f"Pack {name}" + (" (default)" if name == default_pack else ""), style="bold")
        title.append(f" · {description}", style=MARKER_STYLE)
        parts.append(Rule(title, align="left"))
        parts.append(_rule_table([(rule.name, rule.summary, "") for rule in rules]))
        parts.append(Text())
    parts.append(Rule(Text("Corpus-wide", style="bold"), align="left"))
    parts.append(_rule_table([("repeated-line", repeated_description, "")]))
    parts.append(Text())
    title = Text(f"In use for {visible_path(in_use.path)}", style="bold")
    parts.append(Rule(title, align="left"))
    source = f"configuration {in_use.config_source}" if in_use.config_source else "no configuration file"
    parts.append(
        Text(
            f"pack {in_use.pack} · {visible_path(source)} · {len(in_use.rules)} rules · "
            f"repeated-line {'on' if in_use.repeated_lines else 'off'}"
        )
    )
    builtin = {rule.name: rule for _, _, rules in packs for rule in rules}
    rows = [
        (rule.name, rule.description, "replaced" if rule.name in builtin else "added")
        for rule in in_use.rules
        if builtin.get(rule.name) != rule
    ]
    rows.extend((name, "", "disabled") for name in in_use.disabled)
    if rows:
        parts.append(_rule_table(rows))
    return Group(*parts)


@dataclass(frozen=True)
class RulesInUse:
    path: str
    pack: str
    rules: tuple[BoilerplateRule, ...]
    disabled: tuple[str, ...]
    repeated_lines: bool
    config_source: str | None


def _rule_table(rows: Sequence[tuple[str, str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold")
    table.add_column(overflow="fold")
    for name, description, note in rows:
        text = Text(visible(description))
        if note:
            text.append(f" ({note})" if description else note, style=MARKER_STYLE)
        table.add_row(visible(name), text)
    return table

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
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from ..boilerplate import Rule as BoilerplateRule
from ..diff import diff_tokens, move_origins
from ..model import Cluster, MemberDiff, Report, Segment, StrippedFile, StrippedLine
from ..wording import count
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
STAT_BAR = 30  # widest +/- bar in the stat layout


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
    """An unchanged stretch cut down to `context` words on each side that touches an edit."""
    old_tokens = diff_tokens(old)
    words = sum(map(_is_word, old_tokens))
    keep_head = 0 if first else context
    keep_tail = 0 if last else context
    if words <= keep_head + keep_tail + 3:
        return [_Event("same", old, new)]
    new_tokens = old_tokens if new == old else diff_tokens(new)
    events = []
    head_old, head_new = (_head(tokens, keep_head) for tokens in (old_tokens, new_tokens))
    if head_old or head_new:
        events.append(_Event("same", head_old.rstrip(), head_new.rstrip()))
    events.append(_Event("gap", hidden=words - keep_head - keep_tail))
    tail_old, tail_new = (_tail(tokens, keep_tail) for tokens in (old_tokens, new_tokens))
    if tail_old or tail_new:
        events.append(_Event("same", tail_old, tail_new))
    return events


def _head(tokens: list[str], words: int) -> str:
    return "".join(tokens[: _take_words(tokens, words)]) if words else ""


def _tail(tokens: list[str], words: int) -> str:
    if not words:
        return ""
    start = len(tokens) - _take_words(list(reversed(tokens)), words)
    while start < len(tokens) and not _is_word(tokens[start]):
        start += 1  # start the tail on a word, not on the punctuation before it
    return "".join(tokens[start:])


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


def _append_event(text: Text, event: _Event, side: str, markers: bool) -> None:
    """Add an event to a Text: `side` is "both" (inline), "old" or "new" (a column)."""
    if event.kind == "same":
        text.append(visible(event.new if side == "new" else event.old))
    elif event.kind == "gap":
        text.append(f"⋯ {event.hidden} unchanged words ⋯", style=MARKER_STYLE)
    elif event.kind == "delete" and side != "new":
        if event.old.strip():  # a change of whitespace alone is not marked
            _append_marked(text, visible(event.old), "[-", "-]", DELETE_STYLE, markers)
    elif event.kind == "insert" and side != "old":
        if event.new.strip():
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
                old_lines, new_lines = [event.old.replace("\n", " ")], [event.new.replace("\n", " ")]
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
    header = Text()
    header.append(visible_path(title or member.path), style="bold")
    header.append(
        f"\nJaccard {member.jaccard:.2f} · containment {member.containment:.2f} · ", style=MARKER_STYLE
    )
    header.append(f"+{member.added_words}", style="green")
    header.append(" / ", style=MARKER_STYLE)
    header.append(f"−{member.removed_words}", style="red")
    header.append(" words", style=MARKER_STYLE)
    if member.moved_words:
        header.append(" · ", style=MARKER_STYLE)
        header.append(f"{member.moved_words} moved", style=MOVE_STYLE)
    if member.kind is not None:
        header.append(f" · {member.kind}", style=MARKER_STYLE)
    return header


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


def member_renderable(
    member: MemberDiff, representative: str, options: RenderOptions, markers: bool, title: str | None = None
) -> RenderableType:
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
    return Group(*parts)


def cluster_renderable(cluster: Cluster, options: RenderOptions, markers: bool) -> RenderableType:
    title = Text(f"Cluster {cluster.id} · {len(cluster.members)} documents", style="bold")
    parts: list[RenderableType] = [Rule(title, align="left")]
    representative = Text("representative: ", style=MARKER_STYLE)
    representative.append(visible_path(cluster.representative), style="bold")
    parts.append(representative)
    if cluster.related:
        numbers = ", ".join(str(number) for number in cluster.related)
        parts.append(Text(f"near-duplicates also in clusters: {numbers}", style=MARKER_STYLE))
    for member in cluster.members:
        if member.is_representative:
            continue
        parts.append(Text())
        parts.append(member_renderable(member, cluster.representative, options, markers))
    parts.append(Text())
    return Group(*parts)


def stat_renderable(report: Report, width: int) -> RenderableType:
    """A line per member, as git's --stat: path, similarity, words added, removed and moved,
    and a +/- bar scaled to the largest change and the room left; its changed figures on the
    line under it."""
    members = [
        member for cluster in report.clusters for member in cluster.members if not member.is_representative
    ]
    widest = max((member.added_words + member.removed_words for member in members), default=0)
    lines = {id(member): _stat_line(member) for member in members}
    path_width = min(max((cell_len(visible_path(member.path)) for member in members), default=0), width // 2)
    longest = max((line.cell_len for line in lines.values()), default=0)
    room = min(STAT_BAR, width - 2 - path_width - longest - 2)  # indent, path, figures, gap
    parts: list[RenderableType] = []
    for cluster in report.clusters:
        if report.kind == "clusters":
            title = Text()
            title.append(f"Cluster {cluster.id} · {len(cluster.members)} documents · ", style="bold")
            title.append("representative ", style=MARKER_STYLE)
            title.append(visible_path(cluster.representative))
            parts.append(title)
        for member in cluster.members:
            if member.is_representative:
                continue
            line = Text("  ")
            line.append(visible_path(member.path).ljust(path_width), style="bold")
            line.append_text(lines[id(member)])
            if widest and room >= 5:
                scale = min(1.0, room / widest)
                plus, minus = round(member.added_words * scale), round(member.removed_words * scale)
                spare = width - line.cell_len - 2  # a path longer than the column leaves less
                if plus + minus > spare:
                    plus, minus = plus * spare // (plus + minus), minus * spare // (plus + minus)
                line.append("  ")
                line.append("+" * plus, style="green")
                line.append("-" * minus, style="red")
            parts.append(line)
            figures = changed_figures_line(member)
            if figures is not None:
                parts.append(Text("      ") + figures)
    return Group(*parts)


def _stat_line(member: MemberDiff) -> Text:
    """The figures of a stat line after the path: "  0.71/0.87  +64 −144 ~10"."""
    line = Text()
    line.append(f"  {member.jaccard:.2f}/{member.containment:.2f}  ", style=MARKER_STYLE)
    line.append(f"+{member.added_words}", style="green")
    line.append(f" −{member.removed_words}", style="red")
    if member.moved_words:
        line.append(f" ~{member.moved_words}", style=MOVE_STYLE)
    return line


def render_text(report: Report, console: Console, options: RenderOptions) -> None:
    """Print every cluster, then the singletons, to `console`."""
    markers = console.no_color or console.color_system is None
    if options.layout is Layout.STAT:
        console.print(stat_renderable(report, console.width))
    elif report.kind == "pair":
        for cluster in report.clusters:
            representative, member = cluster.members
            title = f"{representative.path} → {member.path}"
            console.print(member_renderable(member, representative.path, options, markers, title))
    else:
        for cluster in report.clusters:
            console.print(cluster_renderable(cluster, options, markers))
    if report.singletons and options.layout is not Layout.STAT:
        console.print(Rule(Text(f"{len(report.singletons)} not duplicated", style="bold"), align="left"))
        for path in report.singletons:
            console.print(Text(visible_path(path)))


def summary_line(report: Report) -> str:
    clustered = sum(len(cluster.members) for cluster in report.clusters)
    return (
        f"{count(report.documents, 'document')}: {count(len(report.clusters), 'cluster')} holding "
        f"{count(clustered, 'document')}, {len(report.singletons):,} not duplicated, "
        f"{len(report.skipped):,} skipped"
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

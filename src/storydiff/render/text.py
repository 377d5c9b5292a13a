"""Terminal output with rich: per cluster, each member's word diff against the representative.

File text is data: it goes into `rich.text.Text` objects, never through markup, and control
characters are made visible first, so a file cannot restyle or take over the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.console import Console, Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from ..boilerplate import Rule as BoilerplateRule
from ..diff import diff_tokens
from ..model import Cluster, MemberDiff, Report, Segment, StrippedFile, StrippedLine
from ..wording import count

_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
DELETE_STYLE = "bold red strike"
STRIPPED_STYLE = "dim"
INSERT_STYLE = "bold green"
MARKER_STYLE = "dim"


def visible(text: str) -> str:
    """Control, bidi and zero-width characters shown as inert escapes such as <U+001B>."""
    return _INVISIBLE.sub(lambda match: f"<U+{ord(match.group()):04X}>", text)


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


def _collapsed(text: str, context: int, first: bool, last: bool) -> list[tuple[str, str]]:
    """An unchanged stretch cut down to `context` words on each side that touches an edit."""
    tokens = diff_tokens(text)
    words = sum(map(_is_word, tokens))
    keep_head = 0 if first else context
    keep_tail = 0 if last else context
    if words <= keep_head + keep_tail + 3:
        return [(text, "")]
    head = "".join(tokens[: _take_words(tokens, keep_head)]) if keep_head else ""
    tail_start = len(tokens) - _take_words(list(reversed(tokens)), keep_tail) if keep_tail else len(tokens)
    while tail_start < len(tokens) and not _is_word(tokens[tail_start]):
        tail_start += 1  # start the tail on a word, not on the punctuation before it
    tail = "".join(tokens[tail_start:])
    hidden = words - keep_head - keep_tail
    pieces: list[tuple[str, str]] = []
    if head:
        pieces.append((head.rstrip(), ""))
    pieces.append(
        ((" " if head else "") + f"⋯ {hidden} unchanged words ⋯" + ("\n" if tail else ""), MARKER_STYLE)
    )
    if tail:
        pieces.append((tail.lstrip(), ""))
    return pieces


@dataclass(frozen=True)
class StrippedMark:
    """A stripped line placed in a diff: removed from both texts, or from one of them only."""

    side: Literal["both", "representative", "member"]
    rule: str
    text: str


def place_stripped(
    segments: Sequence[Segment],
    representative: Sequence[StrippedLine] = (),
    member: Sequence[StrippedLine] = (),
) -> list[Segment | StrippedMark]:
    """The diff's segments with the stripped lines of both texts put where they stood.

    A representative's line is placed before the character of the representative's cleaned
    text at its offset (so inside an `equal` or `delete` segment), a member's inside an
    `equal` or `insert` segment. Where the two texts run equal and both had the same line
    removed at the same place, it is shown once, as removed from both.
    """
    pending_representative = sorted(representative, key=lambda line: line.offset)
    pending_member = sorted(member, key=lambda line: line.offset)
    items: list[Segment | StrippedMark] = []
    representative_at = member_at = 0  # offsets in the two cleaned texts at the segment's start
    for segment in segments:
        length = len(segment.text)
        cuts: dict[int, list[StrippedMark]] = {}
        if segment.op in ("equal", "delete"):
            while pending_representative and pending_representative[0].offset < representative_at + length:
                line = pending_representative.pop(0)
                cuts.setdefault(max(line.offset - representative_at, 0), []).append(
                    StrippedMark("representative", line.rule, line.text)
                )
        if segment.op in ("equal", "insert"):
            while pending_member and pending_member[0].offset < member_at + length:
                line = pending_member.pop(0)
                at = max(line.offset - member_at, 0)
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
        start = 0
        for at in sorted(cuts):
            if at > start:
                items.append(Segment(segment.op, segment.text[start:at]))
            items.extend(cuts[at])
            start = at
        if start < length or not cuts:
            items.append(Segment(segment.op, segment.text[start:]))
        if segment.op in ("equal", "delete"):
            representative_at += length
        if segment.op in ("equal", "insert"):
            member_at += length
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


def diff_text(segments: Sequence[Segment | StrippedMark], context: int, markers: bool) -> Text:
    """One member's diff as styled text; with `markers`, wdiff's [-deleted-] and {+inserted+}.

    Stripped lines (from `place_stripped`) appear dimmed on lines of their own, with the
    rule that removed them and whether both texts or only one had them.
    """
    text = Text()
    at_line_start = True
    for index, segment in enumerate(segments):
        if isinstance(segment, StrippedMark):
            note = f"✂ {segment.rule}{_SIDE_NOTES[segment.side]}: {visible(segment.text)}\n"
            text.append(note if at_line_start else "\n" + note, style=STRIPPED_STYLE)
            at_line_start = True
            continue
        content = visible(segment.text)
        if not content:
            continue
        if segment.op == "equal":
            first, last = index == 0, index == len(segments) - 1
            for piece, style in _collapsed(content, context, first, last):
                text.append(piece, style=style)
        elif segment.op == "delete":
            text.append(f"[-{content}-]" if markers else content, style=DELETE_STYLE)
        else:
            text.append(f"{{+{content}+}}" if markers else content, style=INSERT_STYLE)
        at_line_start = content.endswith("\n")
    return text


def member_header(member: MemberDiff) -> Text:
    header = Text(visible(member.path), style="bold")
    header.append(
        f"\nJaccard {member.jaccard:.2f} · containment {member.containment:.2f} · ", style=MARKER_STYLE
    )
    header.append(f"+{member.added_words}", style="green")
    header.append(" / ", style=MARKER_STYLE)
    header.append(f"−{member.removed_words}", style="red")
    header.append(" words", style=MARKER_STYLE)
    return header


def cluster_renderable(cluster: Cluster, context: int, markers: bool) -> RenderableType:
    title = Text(f"Cluster {cluster.id} · {len(cluster.members)} documents", style="bold")
    parts: list[RenderableType] = [Rule(title, align="left")]
    representative = Text("representative: ", style=MARKER_STYLE)
    representative.append(visible(cluster.representative), style="bold")
    parts.append(representative)
    for member in cluster.members:
        if member.is_representative:
            continue
        parts.append(Text())
        parts.append(member_header(member))
        edited = any(segment.op != "equal" for segment in member.segments)
        stripped = member.representative_stripped or member.member_stripped
        if edited or stripped:
            items = place_stripped(member.segments, member.representative_stripped, member.member_stripped)
            parts.append(diff_text(items, context, markers))
        if not edited:
            parts.append(Text("(same text after normalisation)", style=MARKER_STYLE))
    parts.append(Text())
    return Group(*parts)


def render_text(report: Report, console: Console, context: int) -> None:
    """Print every cluster, then the singletons, to `console`."""
    markers = console.no_color or console.color_system is None
    for cluster in report.clusters:
        console.print(cluster_renderable(cluster, context, markers))
    if report.singletons:
        console.print(Rule(Text(f"{len(report.singletons)} not duplicated", style="bold"), align="left"))
        for path in report.singletons:
            console.print(Text(visible(path)))


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
    title = Text(visible(file.path), style="bold")
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
        parts.append(_rule_table([(rule.name, rule.description, "") for rule in rules]))
        parts.append(Text())
    parts.append(Rule(Text("Corpus-wide", style="bold"), align="left"))
    parts.append(_rule_table([("repeated-line", repeated_description, "")]))
    parts.append(Text())
    title = Text(f"In use for {visible(in_use.path)}", style="bold")
    parts.append(Rule(title, align="left"))
    source = f"configuration {in_use.config_source}" if in_use.config_source else "no configuration file"
    parts.append(
        Text(
            f"pack {in_use.pack} · {visible(source)} · {len(in_use.rules)} rules · "
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

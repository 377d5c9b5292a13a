"""Terminal output with rich: per cluster, each member's word diff against the representative.

File text is data: it goes into `rich.text.Text` objects, never through markup, and control
characters are made visible first, so a file cannot restyle or take over the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.console import Console, Group, RenderableType
from rich.rule import Rule
from rich.text import Text

from ..diff import diff_tokens
from ..model import Cluster, MemberDiff, Report, Segment
from ..wording import count

_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
DELETE_STYLE = "bold red strike"
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


def diff_text(segments: Sequence[Segment], context: int, markers: bool) -> Text:
    """One member's diff as styled text; with `markers`, wdiff's [-deleted-] and {+inserted+}."""
    text = Text()
    for index, segment in enumerate(segments):
        content = visible(segment.text)
        if segment.op == "equal":
            for piece, style in _collapsed(content, context, index == 0, index == len(segments) - 1):
                text.append(piece, style=style)
        elif segment.op == "delete":
            text.append(f"[-{content}-]" if markers else content, style=DELETE_STYLE)
        else:
            text.append(f"{{+{content}+}}" if markers else content, style=INSERT_STYLE)
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
        if member.segments and any(segment.op != "equal" for segment in member.segments):
            parts.append(diff_text(member.segments, context, markers))
        else:
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

from __future__ import annotations

import io

from rich.console import Console

from storydiff.model import Cluster, MemberDiff, Report, Segment
from storydiff.render.text import diff_text, render_text, visible


def report_with(segments: tuple[Segment, ...], path: str = "b.txt") -> Report:
    members = (
        MemberDiff("a.txt", 1.0, 1.0, 0, 0, (), is_representative=True),
        MemberDiff(path, 0.8, 0.9, 1, 1, segments),
    )
    return Report({}, 3, (Cluster(1, "a.txt", members),), ("c.txt",), ())


def render(report: Report, **console_options: object) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, **console_options)  # type: ignore[arg-type]
    render_text(report, console, context=3)
    return buffer.getvalue()


def test_without_colour_edits_use_wdiff_markers() -> None:
    out = render(
        report_with((Segment("equal", "Nigeria sends "), Segment("delete", "190"), Segment("insert", "900")))
    )
    assert "Nigeria sends [-190-]{+900+}" in out
    assert "Jaccard 0.80 · containment 0.90 · +1 / −1 words" in out
    assert "c.txt" in out


def test_with_colour_edits_are_styled_not_marked() -> None:
    out = render(report_with((Segment("delete", "190"), Segment("insert", "900"))), force_terminal=True)
    assert "[-" not in out and "\x1b[" in out


def test_long_unchanged_stretches_collapse_around_edits() -> None:
    words = " ".join(f"w{number}" for number in range(40))
    text = diff_text((Segment("equal", words), Segment("insert", "new"), Segment("equal", words)), 3, True)
    plain = text.plain
    assert plain.startswith("⋯ 37 unchanged words ⋯\nw37 w38 w39{+new+}w0 w1 w2 ⋯ 37 unchanged words ⋯")


def test_file_content_cannot_style_or_control_the_terminal() -> None:
    nasty = "[bold red]alarm[/] \x1b[2J\x1b]8;;http://x\x07link\u202eevil\r"
    out = render(report_with((Segment("insert", nasty),), path="[blink]x.txt"))
    assert "[bold red]alarm[/]" in out
    assert "[blink]x.txt" in out
    assert "\x1b" not in out and "\u202e" not in out and "\r" not in out
    assert "<U+001B>[2J" in out and "<U+202E>" in out


def test_visible_keeps_newlines_and_tabs() -> None:
    assert visible("a\tb\nc\x07") == "a\tb\nc<U+0007>"

from __future__ import annotations

import io

from rich.console import Console

from storydiff.model import Cluster, MemberDiff, Report, Segment, StrippedLine
from storydiff.render.text import StrippedMark, diff_text, place_stripped, render_text, visible


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


def test_stripped_lines_are_placed_where_they_stood() -> None:
    segments = (Segment("equal", "One.\nTwo "), Segment("delete", "three"), Segment("insert", "3"))
    representative = (
        StrippedLine(0, "photo-caption", "A caption."),
        StrippedLine(5, "read-more", "Read more: x"),
        StrippedLine(14, "contributor", "A contributed to this report."),
    )
    member = (StrippedLine(5, "read-more", "Read more: x"), StrippedLine(10, "contributor", "B contributed."))
    assert place_stripped(segments, representative, member) == [
        StrippedMark("representative", "photo-caption", "A caption."),
        Segment("equal", "One.\n"),
        StrippedMark("both", "read-more", "Read more: x"),
        Segment("equal", "Two "),
        Segment("delete", "three"),
        Segment("insert", "3"),
        StrippedMark("representative", "contributor", "A contributed to this report."),
        StrippedMark("member", "contributor", "B contributed."),
    ]


def test_stripped_lines_show_dimmed_on_lines_of_their_own() -> None:
    members = (
        MemberDiff("a.txt", 1.0, 1.0, 0, 0, (), is_representative=True),
        MemberDiff(
            "b.txt",
            0.8,
            0.9,
            1,
            1,
            (Segment("equal", "Nigeria sends "), Segment("delete", "190"), Segment("insert", "900")),
            representative_stripped=(StrippedLine(0, "photo-caption", "[bold]A caption[/]"),),
            member_stripped=(StrippedLine(17, "contributor", "CNN's B contributed to this report"),),
        ),
    )
    report = Report({}, 2, (Cluster(1, "a.txt", members),), (), ())
    out = render(report)
    assert (
        "✂ photo-caption, representative only: [bold]A caption[/]\n"
        "Nigeria sends [-190-]{+900+}\n"
        "✂ contributor, this copy only: CNN's B contributed to this report\n"
    ) in out
    coloured = render(report, force_terminal=True)
    assert "\x1b[2m✂ photo-caption" in coloured  # dim

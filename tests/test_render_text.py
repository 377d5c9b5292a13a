from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text

from storydiff.diff import word_diff
from storydiff.model import Cluster, MemberDiff, Report, Segment, StrippedLine
from storydiff.pipeline import run_cluster
from storydiff.render import UNSAFE, Layout, RenderOptions
from storydiff.render.text import (
    StrippedMark,
    diff_text,
    place_stripped,
    render_text,
    visible,
    visible_path,
    wrapped,
)
from storydiff.settings import Settings

UN = "The United Nations said preparations are under way to send African troops to Bamako."
PLANE = "A Canadian military transport plane departed for Mali on Wednesday."
NIGERIA = "Nigeria will send 190 soldiers within 24 hours."
OLD = "\n".join([UN, PLANE, NIGERIA, "The fighting went on for days in the north of the country."])
NEW = "\n".join(
    [PLANE, UN, NIGERIA.replace("190", "900"), "The fighting went on for days in the north of the country."]
)


def report_with(segments: tuple[Segment, ...], path: str = "b.txt", **member: object) -> Report:
    members = (
        MemberDiff("a.txt", 1.0, 1.0, 0, 0, (), is_representative=True),
        MemberDiff(path, 0.8, 0.9, 1, 1, segments, **member),  # type: ignore[arg-type]
    )
    return Report({}, 3, (Cluster(1, "a.txt", members),), ("c.txt",), ())


def diffed_report(old: str, new: str) -> Report:
    change = word_diff(old, new)
    return report_with(
        change.segments,
        moved_words=change.moved_words,
        changed_figures=change.changed_figures,
    )


def render(
    report: Report, width: int = 100, layout: Layout = Layout.INLINE, context: int = 3, **options: object
) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, **options)  # type: ignore[arg-type]
    render_text(report, console, RenderOptions(context=context, layout=layout))
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


def test_no_color_keeps_the_markers_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = render(report_with((Segment("delete", "190"), Segment("insert", "900"))), force_terminal=True)
    assert "[-190-]{+900+}" in re.sub(r"\x1b\[[0-9;]*m", "", out)  # bold stays: it is no colour
    assert "\x1b[31m" not in out and "\x1b[32m" not in out


def test_force_color_styles_edits_even_into_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    out = render(report_with((Segment("delete", "190"), Segment("insert", "900"))))
    assert "[-" not in out and "\x1b[" in out


def test_long_unchanged_stretches_collapse_around_edits() -> None:
    words = " ".join(f"w{number}" for number in range(40))
    text = diff_text((Segment("equal", words), Segment("insert", "new"), Segment("equal", words)), 3, True)
    assert text.plain == "⋯ 37 unchanged words ⋯\nw37 w38 w39{+new+}w0 w1 w2 ⋯ 37 unchanged words ⋯"


def test_whitespace_around_an_edit_stays_outside_the_markers() -> None:
    segments = word_diff("when a group of soldiers toppled it", "when soldiers toppled it").segments
    assert diff_text(segments, 8, True).plain == "when [-a group of-] soldiers toppled it"


def test_file_content_cannot_style_or_control_the_terminal() -> None:
    nasty = "[bold red]alarm[/] \x1b[2J\x1b]8;;http://x\x07link\u202eevil\r"
    out = render(report_with((Segment("insert", nasty),), path="[blink]x.txt"))
    assert "[bold red]alarm[/]" in out
    assert "[blink]x.txt" in out
    assert "\x1b" not in out and "\u202e" not in out and "\r" not in out
    assert "<U+001B>[2J" in out and "<U+202E>" in out


def test_visible_keeps_newlines_and_tabs() -> None:
    assert visible("a\tb\nc\x07") == "a\tb\nc<U+0007>"


# Moves and changed figures


def test_a_move_is_shown_once_with_a_marker_where_it_was() -> None:
    out = render(diffed_report(OLD, NEW), context=20)
    assert out.count("A Canadian military transport plane departed for Mali on Wednesday.") == 1
    assert "{=moved up #1: A Canadian military transport plane departed for Mali on Wednesday.=}" in out
    assert "[=moved up #1: “A Canadian military transport plane departed…”=]" in out
    body = out.split("b.txt\n", 1)[1]  # the cluster's header quotes the representative's first line
    assert body.index("{=moved up #1") < body.index(UN) < body.index("[=moved up #1")
    assert "· 10 moved" in out


def test_changed_figures_head_the_diff() -> None:
    lines = render(diffed_report(OLD, NEW)).splitlines()
    header = next(number for number, line in enumerate(lines) if line.startswith("Jaccard"))
    assert lines[header + 1] == "Changed figures: 190 → 900 soldiers"
    assert any("[-190-]{+900+}" in line for line in lines[header + 2 :])


# Layouts at 80 and 120 columns


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def render_at_terminal(report: Report, width: int, layout: Layout, context: int = 3) -> str:
    """What a terminal without colour (NO_COLOR) shows: wrapped to its width, wdiff's markers."""
    out = render(report, width=width, layout=layout, context=context, force_terminal=True, no_color=True)
    return ANSI.sub("", out)


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("layout", list(Layout))
def test_each_layout_fits_the_terminal_and_keeps_edits_apart(layout: Layout, width: int) -> None:
    out = render_at_terminal(diffed_report(OLD, NEW), width, layout)
    assert max(len(line) for line in out.splitlines()) <= width
    flat = " ".join(out.split())
    assert "Changed figures: 190 → 900 soldiers" in flat
    if layout is Layout.STAT:
        assert re.search(r"b\.txt J 0\.80 C 0\.90 \+1 −1 ~10 \++-+ ", flat)
    else:
        assert "[-190-]" in flat and "{+900+}" in flat and "moved up #1" in flat


@pytest.mark.parametrize("layout", [Layout.INLINE, Layout.STAT])
def test_piped_output_is_neither_wrapped_nor_padded(layout: Layout) -> None:
    report = report_with(
        (
            Segment("equal", "Troops will stay for " + "many " * 30),
            Segment("delete", "1"),
            Segment("insert", "32"),
            Segment("equal", " days, officials said."),
        ),
        path="a/long/path/" * 8 + "b.txt",
    )
    out = render(report, width=40, layout=layout, context=3)
    lines = out.splitlines()
    assert all(line == line.rstrip() for line in lines)
    if layout is Layout.INLINE:
        assert "many many many [-1-]{+32+} days, officials said." in lines
        assert lines[-1] == "3 documents: 1 cluster holding 2 documents, 1 without a copy, 0 skipped"
    else:
        assert "  " + "a/long/path/" * 8 + "b.txt  J 0.80  C 0.90  +1 −1  +++++++++---------" in lines


def test_side_by_side_puts_the_versions_in_two_columns() -> None:
    out = render(diffed_report(OLD, NEW), width=120, layout=Layout.SIDE_BY_SIDE, context=20)
    row = next(line for line in out.splitlines() if "[-190-]" in line)
    assert row.index("[-190-]") < 60 < row.index("{+900+}")
    header = next(line for line in out.splitlines() if "a.txt" in line and "b.txt" in line)
    assert header.index("a.txt") < 60 < header.index("b.txt")


def test_side_by_side_with_colour_has_no_markers() -> None:
    out = render(diffed_report(OLD, NEW), layout=Layout.SIDE_BY_SIDE, force_terminal=True)
    assert "[-" not in out and "{+" not in out and "⟨moved up #1⟩" in out


def test_stat_gives_one_labelled_line_per_member() -> None:
    out = render(diffed_report(OLD, NEW), width=80, layout=Layout.STAT)
    assert out.splitlines() == [
        "J: Jaccard similarity, C: containment, then words added (+), removed (−) and moved (~); "
        "bars on a log scale",
        "Cluster 1 · 2 documents · Jaccard 0.80 · representative a.txt",
        "  b.txt  J 0.80  C 0.90  +1 −1 ~10  +++++++++---------",
        "      Changed figures: 190 → 900 soldiers",
        "1 document without a copy",
        "c.txt",
        "",
        "3 documents: 1 cluster holding 2 documents, 1 without a copy, 0 skipped",
    ]


def test_stat_with_a_path_wider_than_the_terminal_does_not_crash() -> None:
    path = "/srv/corpora/reuters-21578/" + "nested/" * 12 + "10000.txt"
    out = render_at_terminal(report_with((Segment("delete", "old"),), path=path), 80, Layout.STAT)
    assert "J 0.80 C 0.90 +1 −1" in " ".join(out.split()) and "10000.txt" in out.replace("\n", "")


# The seeds


@pytest.fixture(scope="module")
def seeds_report() -> Report:
    return run_cluster([str(Path(__file__).resolve().parent.parent / "examples" / "seeds")], Settings())


def test_seeds_fit_one_screen_per_member_at_100_columns(seeds_report: Report) -> None:
    out = render(seeds_report, width=100, context=8)
    member = out.split("examples/seeds/001_f0087190d5a72797.txt\n", 1)[1].split("without a copy")[0]
    assert len(member.splitlines()) <= 50
    assert "Changed figures: 190 → 900 soldiers · 24 hours → 10 days" in member


@pytest.mark.parametrize("layout", list(Layout))
def test_seeds_in_every_layout_show_the_nigeria_figures(seeds_report: Report, layout: Layout) -> None:
    for width in (80, 120):
        out = render_at_terminal(seeds_report, width, layout, context=8)
        assert max(len(line) for line in out.splitlines()) <= width
        assert "Changed figures: 190 → 900 soldiers · 24 hours → 10 days" in " ".join(out.split())


# Stripped lines


def test_stripped_lines_are_placed_where_they_stood() -> None:
    segments = (
        Segment("equal", "One.\nTwo ", (0, 9), (0, 9)),
        Segment("delete", "three", (9, 14), (9, 9)),
        Segment("insert", "3", (14, 14), (9, 10)),
    )
    representative = (
        StrippedLine(0, "photo-caption", "A caption."),
        StrippedLine(5, "read-more", "Read more: x"),
        StrippedLine(14, "contributor", "A contributed to this report."),
    )
    member = (StrippedLine(5, "read-more", "Read more: x"), StrippedLine(10, "contributor", "B contributed."))
    assert place_stripped(segments, representative, member) == [
        StrippedMark("representative", "photo-caption", "A caption."),
        Segment("equal", "One.\n", (0, 5), (0, 5)),
        StrippedMark("both", "read-more", "Read more: x"),
        Segment("equal", "Two ", (5, 9), (5, 9)),
        *segments[1:],
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


HOSTILE = (
    "[bold red]alarm[/] :warning: \x1b[31mred\x1b[0m \x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\ "
    "\x9b2J over\rwrite back\x08\x08 bell\x07 \u202eevil\u202c \u2066iso\u2069 zero\u200bwidth "
    "tag\U000e0041 line\u2028sep"
)


def test_no_control_character_reaches_the_terminal_in_text_or_names() -> None:
    out = render(
        report_with(
            (Segment("equal", "Before "), Segment("insert", HOSTILE)), path="b\x1b[2J\n[red]x\udce9.txt"
        ),
        force_terminal=True,
    )
    # Only Rich's own styling escapes (CSI ... m) remain; nothing from the file.
    assert UNSAFE.sub("", out.replace("\x1b[", "")).count("\x1b") == 0
    plain = render(report_with((Segment("insert", HOSTILE),), path="b\x1b[2J\n[red]x\udce9.txt"))
    assert not UNSAFE.search(plain.replace("\n", ""))
    plain = " ".join(plain.split())  # undo the wrapping at the console width
    for shown in (
        "[bold red]alarm[/] :warning:",
        "<U+001B>[31mred<U+001B>[0m",
        "<U+001B>]8;;https://evil.example<U+001B>\\link",
        "<U+009B>2J over<U+000D>write back<U+0008><U+0008> bell<U+0007>",
        "<U+202E>evil<U+202C> <U+2066>iso<U+2069> zero<U+200B>width tag<U+E0041> line<U+2028>sep",
        "b<U+001B>[2J<U+000A>[red]x<0xE9>.txt",
    ):
        assert shown in plain


def test_file_names_are_shown_on_one_line() -> None:
    assert visible_path("a\tb\nc\udcff.txt") == "a<U+0009>b<U+000A>c<0xFF>.txt"
    assert visible("a\tb\nc\udcff") == "a\tb\nc<0xFF>"


def test_side_by_side_keeps_each_sides_own_line_breaks() -> None:
    old, new = (
        "A cycle of unrest\nMali had military rulers.",
        "A cycle of unrest\n\nMali had military rulers.",
    )
    segments = (
        Segment("equal", old, (0, len(old)), (0, len(new)), b_text=new),
        Segment("insert", " For decades.", (len(old), len(old)), (len(new), len(new) + 13)),
    )
    out = render_at_terminal(report_with(segments), 100, Layout.SIDE_BY_SIDE, context=20)
    lines = out.splitlines()
    table = lines[lines.index("─" * 100) + 1 : lines.index("─" * 100) + 4]
    assert [row[:50].strip() for row in table] == ["A cycle of unrest", "Mali had military rulers.", ""]
    assert [row[50:].strip() for row in table] == [
        "A cycle of unrest",
        "",
        "Mali had military rulers. {+For decades.+}",
    ]


def test_colour_keeps_a_deletion_and_an_insertion_apart() -> None:
    out = render(
        report_with(
            (Segment("equal", "Troops from "), Segment("delete", "France"), Segment("insert", "French"))
        ),
        force_terminal=True,
    )
    assert "France French" in ANSI.sub("", out)


def test_short_unchanged_runs_and_the_first_line_are_not_elided() -> None:
    headline = "WHEAT STOCKS RISE IN THE WEEK TO MARCH TEN SAYS THE BOARD OF GRAIN"
    body = " ".join(f"word{n}" for n in range(40))
    short = " ".join(f"kept{n}" for n in range(14))
    segments = (
        Segment("equal", f"{headline}\n{body} "),
        Segment("delete", "190"),
        Segment("equal", f" {short} "),
        Segment("insert", "900"),
        Segment("equal", " end."),
    )
    lines = render(report_with(segments), context=3).splitlines()
    start = lines.index("Jaccard 0.80 · containment 0.90 · +1 / −1 words")
    assert lines[start + 1 : start + 3] == [headline, "⋯ 37 unchanged words ⋯"]
    assert f"word37 word38 word39 [-190-] {short} {{+900+}} end." in lines  # 14 words: fewer than 3+3+12


def test_terminal_wrapping_breaks_at_spaces_and_keeps_styles_in_place() -> None:
    text = Text("alpha beta gamma delta epsilon")
    text.stylize("bold", 11, 16)
    out = wrapped(text, 12)
    assert out.plain == "alpha beta\ngamma delta\nepsilon"
    assert [(span.start, span.end, out.plain[span.start : span.end]) for span in out.spans] == [
        (11, 16, "gamma")
    ]
    assert wrapped(Text("日本語 日本語 ab"), 9).plain == "日本語\n日本語 ab"  # two columns a character
    assert wrapped(Text("short\nlines"), 12).plain == "short\nlines"


def test_documents_without_a_copy_are_counted_or_listed_in_natural_order() -> None:
    members = (
        MemberDiff("1.txt", 1.0, 1.0, 0, 0, (), is_representative=True),
        MemberDiff("2.txt", 0.8, 0.9, 1, 0, (Segment("insert", "new"),)),
    )
    few = Report({}, 5, (Cluster(1, "1.txt", members),), ("10000.txt", "9997.txt", "a/b.txt"), ())
    lines = render(few).splitlines()
    start = lines.index("3 documents without a copy")
    assert lines[start + 1 : start + 4] == ["9997.txt", "10000.txt", "a/b.txt"]
    many = Report({}, 25, (Cluster(1, "1.txt", members),), tuple(f"{n}.txt" for n in range(23)), ())
    out = render(many)
    assert "23 documents without a copy (--list-singletons lists them)" in out and "7.txt" not in out
    buffer = io.StringIO()
    render_text(many, Console(file=buffer, width=100), RenderOptions(list_singletons=True))
    assert "22.txt" in buffer.getvalue().splitlines()

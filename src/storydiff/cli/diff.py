"""`storydiff diff`."""

from __future__ import annotations

import click

from ..render import Layout, OutputFormat, RenderOptions
from ..render.pager import paged
from .exits import EXIT_DIFFERENT
from .group import cli
from .io import _close_pager, _stdout, _write
from .options import _check_encoding, output_options, settings_from_options


@cli.command("diff")
@click.argument("old", type=click.Path(path_type=str))
@click.argument("new", type=click.Path(path_type=str))
@click.option("--no-strip", is_flag=True, help="Compare the files as they are, without removing boilerplate.")
@click.option(
    "--encoding",
    default=None,
    metavar="CODEC",
    help="Encoding to try for files that are not valid UTF-8 (e.g. cp1252).",
)
@output_options
def diff_command(
    old: str,
    new: str,
    no_strip: bool,
    encoding: str | None,
    output_format: str,
    layout: str,
    context: int,
    html_path: str | None,
    show_stripped: bool,
    no_pager: bool,
) -> None:
    """Show how NEW differs from OLD, as `cluster` shows a copy against its representative.

    Both files are cleaned as `cluster` cleans them (boilerplate stripped), whatever their
    similarity.

    \b
    Examples:
      storydiff diff old.txt new.txt
      storydiff diff old.txt new.txt --layout side-by-side
      storydiff diff old.txt new.txt --format json
      storydiff diff old.txt new.txt --html diff.html

    \b
    Exit codes: 0 the texts are the same after cleaning (quote style and spacing aside),
    1 they differ, 2 usage or input error.
    """
    from ..pipeline import diff_files

    _check_encoding(encoding)
    settings = settings_from_options(click.get_current_context().params)
    report = diff_files(old, new, settings)
    out = paged(_stdout(), output_format == OutputFormat.TEXT.value and not no_pager)
    try:
        _write(report, output_format, RenderOptions(context, Layout(layout)), html_path, out)
    finally:
        _close_pager(out)
    member = report.clusters[0].members[1]
    if any(segment.op != "equal" for segment in member.segments):
        raise click.exceptions.Exit(EXIT_DIFFERENT)

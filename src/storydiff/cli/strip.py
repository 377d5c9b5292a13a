"""`storydiff strip`."""

from __future__ import annotations

from collections import Counter

import click

from ..render import OutputFormat
from .group import cli
from .io import _chatter, _progress, _stderr_console, _stdout, _stdout_console
from .options import (
    STRIP_SETTINGS,
    _check_encoding,
    _rules_config,
    _say_config,
    input_options,
    jobs_option,
    rules_options,
    settings_from_options,
)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str, readable=False))
@rules_options
@input_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice([OutputFormat.TEXT.value, OutputFormat.JSON.value]),
    default=OutputFormat.TEXT.value,
    show_default=True,
    help="text to read the files with their removed lines struck through; json for the removed lines.",
)
@click.option("--removed-only", is_flag=True, help="In text output, show only the removed lines.")
@jobs_option
def strip(
    paths: tuple[str, ...],
    pack: str | None,
    config_path: str | None,
    glob: str,
    exclude: tuple[str, ...],
    encoding: str | None,
    max_bytes: int,
    output_format: str,
    removed_only: bool,
    jobs: int | None,
) -> None:
    """Show what boilerplate stripping removes from the files under PATHS, and why.

    Each removed line is struck through, with the name of the rule that removed it in the
    margin (see `storydiff rules`). Lines repeated across unrelated files are found among
    the files given, so give the whole corpus to see them.

    \b
    Examples:
      storydiff strip examples/seeds
      storydiff strip corpus/ --removed-only
      storydiff strip corpus/ --format json > removed.json
    """

    from ..engines.local import LocalEngine
    from ..model import Skipped, StrippedFile
    from ..pipeline import run_strip
    from ..render.json import render_strip_json
    from ..render.text import print_stripped_file, strip_summary

    rules_config = _rules_config(paths, config_path)
    settings = settings_from_options(click.get_current_context().params, rules_config)
    _check_encoding(encoding)
    errors = _stderr_console()
    _say_config(errors, rules_config, True)
    as_json = OutputFormat(output_format) is OutputFormat.JSON
    out = _stdout()
    console = _stdout_console(out)
    files: list[StrippedFile] = []  # kept for JSON only; text output is printed file by file
    skipped: list[Skipped] = []
    file_count = 0
    counts: Counter[str] = Counter()
    with _progress(errors) as progress, LocalEngine(jobs) as engine:
        for item in run_strip(list(paths), settings, progress, engine, keep_text=not as_json):
            if isinstance(item, Skipped):
                skipped.append(item)
                continue
            file_count += 1
            counts.update(span.rule for span in item.removed)
            if as_json:
                files.append(item)
            else:
                print_stripped_file(console, item, removed_only)
    for problem in skipped:
        _chatter(errors, f"storydiff: skipped {problem.path}: {problem.reason}")
    if as_json:
        shown = {key: value for key, value in settings.as_dict().items() if key in STRIP_SETTINGS}
        out.write(render_strip_json(shown, files, skipped, dict(counts)))
    out.flush()
    summary = strip_summary(file_count, dict(counts), len(skipped))
    errors.print(summary, markup=False, highlight=False, soft_wrap=True, style="dim")

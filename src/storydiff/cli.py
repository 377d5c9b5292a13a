"""The storydiff command line: parse options, build Settings, call the pipeline, render, exit.

Exit codes: 0 on success (whether or not duplicates were found; for `diff`, when the two
texts are the same), 1 when `diff` finds differences, 2 on usage or input errors, 130 when
interrupted with Ctrl-C.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import __version__
from .errors import StorydiffError
from .render import RENDERERS, Layout, OutputFormat, RenderOptions
from .settings import (
    DEFAULT_CONTAINMENT,
    DEFAULT_CONTEXT_WORDS,
    DEFAULT_NGRAM,
    DEFAULT_NUM_PERM,
    DEFAULT_SEED,
    DEFAULT_THRESHOLD,
    KEEP_POLICIES,
    Settings,
)

if TYPE_CHECKING:
    from .model import Report

F = TypeVar("F", bound=Callable[..., Any])

EXIT_DIFFERENT = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


def _fraction(_ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not 0.0 < value <= 1.0:
        raise click.BadParameter(f"must be greater than 0 and at most 1, got {value}")
    return value


def similarity_options(function: F) -> F:
    """Options that decide what counts as a near-duplicate; shared by every command that compares."""
    options = [
        click.option(
            "--threshold",
            type=float,
            default=DEFAULT_THRESHOLD,
            show_default=True,
            callback=_fraction,
            help="Jaccard similarity of shingle sets at or above which two texts are near-duplicates.",
        ),
        click.option(
            "--containment",
            type=float,
            default=DEFAULT_CONTAINMENT,
            show_default=True,
            callback=_fraction,
            help="Share of the shorter text's shingles found in the longer one at or above which they are "
            "near-duplicates (only for texts of 50 shingles or more).",
        ),
        click.option(
            "--ngram",
            type=click.IntRange(min=1),
            default=DEFAULT_NGRAM,
            show_default=True,
            help="Words per shingle.",
        ),
        click.option(
            "--num-perm",
            type=click.IntRange(min=2),
            default=DEFAULT_NUM_PERM,
            show_default=True,
            help="MinHash permutations per signature.",
        ),
        click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="MinHash seed."),
        click.option(
            "--no-strip", is_flag=True, help="Compare the files as they are, without removing boilerplate."
        ),
        click.option(
            "--glob", default="*.txt", show_default=True, help="Which files to read in directories."
        ),
        click.option(
            "--exclude", multiple=True, metavar="PATTERN", help="Skip files or directories matching this."
        ),
        click.option(
            "--encoding",
            default=None,
            metavar="CODEC",
            help="Encoding to try for files that are not valid UTF-8 (e.g. cp1252); "
            "without it such files are skipped.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def jobs_option(function: F) -> F:
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=1),
        default=None,
        help="Worker processes [default: all cores]. Output does not depend on it.",
    )(function)


def output_options(function: F) -> F:
    """How results are shown; shared by `cluster` and `diff`."""
    options = [
        click.option(
            "--format",
            "output_format",
            type=click.Choice([item.value for item in OutputFormat]),
            default=OutputFormat.TEXT.value,
            show_default=True,
            help="text for reading, json for one document, jsonl for one record per line, "
            "html for a self-contained report.",
        ),
        click.option(
            "--layout",
            type=click.Choice([item.value for item in Layout]),
            default=Layout.INLINE.value,
            show_default=True,
            help="Text output: edits inline, the two versions side by side, or a stat line per member.",
        ),
        click.option(
            "--context",
            type=click.IntRange(min=0),
            default=DEFAULT_CONTEXT_WORDS,
            show_default=True,
            help="Unchanged words shown around each edit in text and HTML output.",
        ),
        click.option(
            "--html",
            "html_path",
            type=click.Path(dir_okay=False, writable=True, path_type=str),
            default=None,
            metavar="PATH",
            help="Also write the HTML report to PATH, whatever --format is.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _settings(**values: Any) -> Settings:
    try:
        return Settings(**values)
    except ValueError as error:
        raise click.UsageError(str(error)) from None


class UserError(click.ClickException):
    """A StorydiffError as click shows it: one line on stderr, exit code 2."""

    exit_code = EXIT_USAGE

    def format_message(self) -> str:
        return self.message


class StorydiffGroup(click.Group):
    """Maps the core's exceptions and Ctrl-C to messages and exit codes, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StorydiffError as error:
            raise UserError(str(error)) from None
        except KeyboardInterrupt:
            click.echo("\nstorydiff: interrupted", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


@click.group(cls=StorydiffGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="storydiff")
def cli() -> None:
    """Find near-duplicate texts in a corpus and show exactly how the copies differ.

    \b
    Exit codes: 0 success (with or without duplicates), 2 usage or input error,
    130 interrupted; `storydiff diff` exits 1 when the texts differ.
    """


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@similarity_options
@click.option(
    "--keep",
    type=click.Choice(KEEP_POLICIES),
    default="longest",
    show_default=True,
    help="Which member represents a cluster (the others are diffed against it).",
)
@output_options
@jobs_option
@click.option("--timings", is_flag=True, help="Print how long each stage took, on stderr.")
def cluster(
    paths: tuple[str, ...],
    threshold: float,
    containment: float,
    ngram: int,
    num_perm: int,
    seed: int,
    no_strip: bool,
    glob: str,
    exclude: tuple[str, ...],
    encoding: str | None,
    keep: str,
    output_format: str,
    layout: str,
    context: int,
    html_path: str | None,
    jobs: int | None,
    timings: bool,
) -> None:
    """Cluster the near-duplicate texts under PATHS and show how each copy differs.

    PATHS are directories (searched recursively for --glob) or files.

    \b
    Examples:
      storydiff cluster examples/seeds
      storydiff cluster examples/seeds --layout side-by-side
      storydiff cluster corpus/ --format json > clusters.json
      storydiff cluster corpus/ --html report.html --layout stat
      storydiff cluster corpus/ --threshold 0.8 --exclude 'drafts/*'
    """
    from .engines.local import LocalEngine
    from .pipeline import run_cluster
    from .render.text import summary_line

    settings = _settings(
        glob=glob,
        exclude=exclude,
        strip=not no_strip,
        ngram=ngram,
        num_perm=num_perm,
        seed=seed,
        threshold=threshold,
        containment=containment,
        keep=keep,
        encoding=encoding,
        context_words=context,
    )
    _check_encoding(encoding)
    errors = _stderr_console()
    with _progress(errors) as progress, LocalEngine(jobs) as engine:
        report = run_cluster(list(paths), settings, progress, engine)
    if timings:
        for stage, seconds in progress.timings:
            errors.print(f"{stage}: {seconds:.2f} s", markup=False, highlight=False, soft_wrap=True)
    for item in report.skipped:
        errors.print(
            f"storydiff: skipped {item.path}: {item.reason}", markup=False, highlight=False, soft_wrap=True
        )

    _write(report, output_format, RenderOptions(context, Layout(layout)), html_path)
    errors.print(summary_line(report), markup=False, highlight=False, soft_wrap=True, style="dim")


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
    from .pipeline import diff_files

    _check_encoding(encoding)
    settings = _settings(strip=not no_strip, encoding=encoding, context_words=context)
    report = diff_files(old, new, settings)
    _write(report, output_format, RenderOptions(context, Layout(layout)), html_path)
    member = report.clusters[0].members[1]
    if any(segment.op != "equal" for segment in member.segments):
        raise click.exceptions.Exit(EXIT_DIFFERENT)


def _write(report: Report, output_format: str, options: RenderOptions, html_path: str | None) -> None:
    """The report on stdout in the chosen format, and as HTML to `html_path` if given."""
    RENDERERS[OutputFormat(output_format)](report, sys.stdout, options)
    sys.stdout.flush()
    if html_path is not None:
        try:
            with open(html_path, "w", encoding="utf-8") as handle:
                RENDERERS[OutputFormat.HTML](report, handle, options)
        except OSError as error:
            raise UserError(f"{html_path}: cannot write the HTML report ({error.strerror})") from None


def _check_encoding(encoding: str | None) -> None:
    if encoding is None:
        return
    import codecs

    try:
        codecs.lookup(encoding)
    except LookupError:
        raise click.BadParameter(f"unknown encoding {encoding!r}", param_hint="--encoding") from None


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


class _RichProgress:
    """A progress bar on stderr, drawn only when stderr is a terminal; also times the stages."""

    def __init__(self, console: Any) -> None:
        import time

        self._clock = time.perf_counter
        self.timings: list[tuple[str, float]] = []
        self._stage_started = self._clock()
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self._task: Any = None

    def __enter__(self) -> _RichProgress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._close_stage()
        self._bar.__exit__(None, None, None)

    def _close_stage(self) -> None:
        now = self._clock()
        if self.timings:
            stage, _ = self.timings[-1]
            self.timings[-1] = (stage, now - self._stage_started)
        self._stage_started = now

    def start(self, stage: str, total: int) -> None:
        self._close_stage()
        self.timings.append((stage, 0.0))
        if self._task is not None:
            self._bar.remove_task(self._task)
        self._task = self._bar.add_task(stage, total=total)

    def advance(self, amount: int = 1) -> None:
        if self._task is not None:
            self._bar.advance(self._task, amount)


def _progress(console: Any) -> _RichProgress:
    return _RichProgress(console)


def main() -> None:
    """Console-script entry point; also stops quietly when the reader of stdout goes away."""
    try:
        cli(prog_name="storydiff")
    except BrokenPipeError:
        # `storydiff ... | head`: point stdout at /dev/null so the final flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_BROKEN_PIPE)

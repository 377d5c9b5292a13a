"""The storydiff command line: parse options, build Settings, call the pipeline, render, exit.

Exit codes: 0 on success (whether or not duplicates were found), 2 on usage or input
errors, 130 when interrupted with Ctrl-C, 141 (silently) when the reader of stdout goes
away, as in `storydiff cluster corpus | head`.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from . import __version__
from .errors import StorydiffError
from .render import OutputFormat
from .settings import (
    DEFAULT_CONTAINMENT,
    DEFAULT_CONTEXT_WORDS,
    DEFAULT_MAX_BYTES,
    DEFAULT_NGRAM,
    DEFAULT_NUM_PERM,
    DEFAULT_SEED,
    DEFAULT_THRESHOLD,
    KEEP_POLICIES,
    Settings,
)

F = TypeVar("F", bound=Callable[..., Any])

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


def _fraction(_ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not 0.0 < value <= 1.0:
        raise click.BadParameter(f"must be greater than 0 and at most 1, got {value}")
    return value


_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def _byte_size(_ctx: click.Context, _param: click.Parameter, value: str | int) -> int:
    """A number of bytes, with an optional binary unit: 500000, 64K, 16M, 1G."""
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"\s*(\d+)\s*([kmg]?)(?:i?b)?\s*", value, re.IGNORECASE)
    if match is None or int(match[1]) == 0:
        raise click.BadParameter(f"expected a size such as 500000, 64K, 16M or 1G, got {value!r}")
    return int(match[1]) * _SIZE_UNITS[match[2].lower()]


def _size_text(size: int) -> str:
    for unit in ("g", "m", "k"):
        if size % _SIZE_UNITS[unit] == 0:
            return f"{size // _SIZE_UNITS[unit]}{unit.upper()}"
    return str(size)


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
        click.option(
            "--max-bytes",
            metavar="SIZE",
            default=_size_text(DEFAULT_MAX_BYTES),
            show_default=True,
            callback=_byte_size,
            help="Skip files larger than this, unread (K, M and G are binary units).",
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
    """Maps the core's exceptions, Ctrl-C and a closed stdout to messages and exit codes, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StorydiffError as error:
            from .render.text import visible_path

            raise UserError(visible_path(str(error))) from None
        except KeyboardInterrupt:
            # The pipeline's workers ignore Ctrl-C and the engine has waited for them, so this
            # is the only line printed. The newline ends the terminal's "^C".
            click.echo("\nstorydiff: interrupted", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            # `storydiff ... | head`: the reader has all it wants. Say nothing, and point stdout
            # at /dev/null so that the flush at exit cannot fail again.
            _discard_stdout()
            raise click.exceptions.Exit(EXIT_BROKEN_PIPE) from None


def _discard_stdout() -> None:
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (tests capture it)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


@click.group(cls=StorydiffGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="storydiff")
def cli() -> None:
    """Find near-duplicate texts in a corpus and show exactly how the copies differ.

    \b
    Exit codes: 0 success (with or without duplicates), 2 usage or input error,
    130 interrupted.
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
@click.option(
    "--format",
    "output_format",
    type=click.Choice([item.value for item in OutputFormat]),
    default=OutputFormat.TEXT.value,
    show_default=True,
    help="text for reading, json for one document, jsonl for one record per line.",
)
@click.option(
    "--context",
    type=click.IntRange(min=0),
    default=DEFAULT_CONTEXT_WORDS,
    show_default=True,
    help="Unchanged words shown around each edit in text output.",
)
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
    max_bytes: int,
    keep: str,
    output_format: str,
    context: int,
    jobs: int | None,
    timings: bool,
) -> None:
    """Cluster the near-duplicate texts under PATHS and show how each copy differs.

    PATHS are directories (searched recursively for --glob) or files.

    \b
    Examples:
      storydiff cluster examples/seeds
      storydiff cluster corpus/ --format json > clusters.json
      storydiff cluster corpus/ --threshold 0.8 --exclude 'drafts/*'
    """
    from .engines.local import LocalEngine
    from .pipeline import run_cluster
    from .render.json import render_json, render_jsonl
    from .render.text import render_text, summary_line, visible_path

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
        max_bytes=max_bytes,
        context_words=context,
    )
    _check_encoding(encoding)
    errors = _stderr_console()
    with _progress(errors) as progress, LocalEngine(jobs) as engine:
        report = run_cluster(list(paths), settings, progress, engine)
    if timings:
        for stage, seconds in progress.timings:
            errors.print(f"{stage}: {seconds:.2f} s", soft_wrap=True)
    for item in report.skipped:
        errors.print(f"storydiff: skipped {visible_path(item.path)}: {item.reason}", soft_wrap=True)

    chosen = OutputFormat(output_format)
    out = _stdout()
    if chosen is OutputFormat.JSON:
        out.write(render_json(report))
    elif chosen is OutputFormat.JSONL:
        for line in render_jsonl(report):
            out.write(line)
    else:
        render_text(report, _stdout_console(out), context)
    out.flush()
    errors.print(summary_line(report), soft_wrap=True, style="dim")


def _check_encoding(encoding: str | None) -> None:
    if encoding is None:
        return
    import codecs

    try:
        codecs.lookup(encoding)
    except LookupError:
        raise click.BadParameter(f"unknown encoding {encoding!r}", param_hint="--encoding") from None


class _Stdout:
    """Output to stdout's file descriptor in UTF-8, every byte written or an error raised.

    sys.stdout's buffered writer can take a pipe's short write for the whole of a large
    write: when the reader stops early (`| head`), the rest of the output was dropped without
    an error and the run "succeeded". os.write in a loop sees the broken pipe. UTF-8 whatever
    the locale, as JSON requires.
    """

    encoding = "utf-8"
    _FLUSH_AT = 1 << 16

    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, text: str) -> int:
        data = text.encode("utf-8", "replace")
        self._pending.append(data)
        self._size += len(data)
        if self._size >= self._FLUSH_AT:
            self.flush()
        return len(text)

    def flush(self) -> None:
        view = memoryview(b"".join(self._pending))
        self._pending, self._size = [], 0
        while view:
            view = view[os.write(self._descriptor, view) :]

    def isatty(self) -> bool:
        return os.isatty(self._descriptor)

    def fileno(self) -> int:
        return self._descriptor


def _stdout() -> Any:
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (tests capture it)
        return sys.stdout
    sys.stdout.flush()
    return _Stdout(descriptor)


def _stdout_console(out: Any) -> Any:
    from rich.console import Console

    class StdoutConsole(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError  # handled with the others (Rich would exit with status 1)

    return StdoutConsole(file=out, highlight=False, emoji=False)


def _stderr_console() -> Any:
    """Chatter on stderr; its lines hold file names, so no markup, highlighting or :emoji: codes."""
    from rich.console import Console

    return Console(stderr=True, markup=False, highlight=False, emoji=False)


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
    """Console-script entry point."""
    cli(prog_name="storydiff")

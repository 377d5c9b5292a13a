"""The storydiff command line: parse options, build Settings, call the pipeline, render, exit.

Exit codes: 0 on success (whether or not duplicates were found), 2 on usage or input
errors, 130 when interrupted with Ctrl-C; `check` exits 1 when it finds a near-duplicate.
"""

from __future__ import annotations

import os
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


CACHE_ENVIRONMENT = "STORYDIFF_CACHE"
CACHE_FILE_NAME = "signatures.sqlite"


def default_cache_path() -> str:
    """$STORYDIFF_CACHE, else signatures.sqlite in the user's application directory for storydiff."""
    return os.environ.get(CACHE_ENVIRONMENT) or os.path.join(click.get_app_dir("storydiff"), CACHE_FILE_NAME)


def cache_options(function: F) -> F:
    """--cache and --no-cache, for every command that signs documents."""
    function = click.option(
        "--no-cache", is_flag=True, help="Sign every file again; neither read nor write the signature cache."
    )(function)
    return click.option(
        "--cache",
        "cache_path",
        type=click.Path(dir_okay=False, path_type=str),
        default=None,
        help=f"Signature cache file [default: ${CACHE_ENVIRONMENT}, else {CACHE_FILE_NAME} in storydiff's "
        "application directory; see `storydiff cache info`].",
    )(function)


def _open_cache(cache_path: str | None, no_cache: bool, errors: Any) -> Any:
    """The signature cache to use, or None; its problems are reported, never fatal."""
    if no_cache:
        return None
    from .cache import SignatureCache

    signature_cache = SignatureCache.open(cache_path or default_cache_path())
    _print_cache_warnings(signature_cache, errors)
    return signature_cache


def _print_cache_warnings(signature_cache: Any, errors: Any) -> None:
    if signature_cache is None:
        return
    for warning in signature_cache.warnings:
        errors.print(f"storydiff: {warning}", markup=False, highlight=False, soft_wrap=True)
    signature_cache.warnings.clear()


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
    130 interrupted; check: 1 when it finds near-duplicates.
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
@cache_options
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
    context: int,
    jobs: int | None,
    cache_path: str | None,
    no_cache: bool,
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
    from .render.text import render_text, summary_line

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
    signature_cache = _open_cache(cache_path, no_cache, errors)
    try:
        with _progress(errors) as progress, LocalEngine(jobs) as engine:
            report = run_cluster(list(paths), settings, progress, engine, signature_cache)
    finally:
        _print_cache_warnings(signature_cache, errors)
        if signature_cache is not None:
            signature_cache.close()
    if timings:
        for stage, seconds in progress.timings:
            errors.print(f"{stage}: {seconds:.2f} s", markup=False, highlight=False, soft_wrap=True)
    for item in report.skipped:
        errors.print(
            f"storydiff: skipped {item.path}: {item.reason}", markup=False, highlight=False, soft_wrap=True
        )

    chosen = OutputFormat(output_format)
    if chosen is OutputFormat.JSON:
        sys.stdout.write(render_json(report))
    elif chosen is OutputFormat.JSONL:
        for line in render_jsonl(report):
            sys.stdout.write(line)
    else:
        from rich.console import Console

        render_text(report, Console(highlight=False), context)
    sys.stdout.flush()
    errors.print(summary_line(report), markup=False, highlight=False, soft_wrap=True, style="dim")


EXIT_FINDINGS = 1


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@similarity_options
@click.option(
    "--corpus",
    type=click.Path(exists=True, path_type=str),
    default=None,
    help="Directory to compare with [default: corpus in [tool.storydiff] of ./pyproject.toml, "
    "else the git repository's tracked files matching --glob].",
)
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="Accepted near-duplicates [default: .storydiff-baseline.json].",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for reading, json for one document.",
)
@click.option(
    "--context",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Unchanged words shown around each edit in text output.",
)
@jobs_option
@cache_options
def check(
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
    corpus: str | None,
    baseline_path: str | None,
    output_format: str,
    context: int,
    jobs: int | None,
    cache_path: str | None,
    no_cache: bool,
) -> None:
    """Fail when a file in PATHS is a near-duplicate of another file not accepted in the baseline.

    Each file in PATHS (what pre-commit passes) is compared with the whole corpus and with
    the other files given. Exit codes: 0 clean, 1 near-duplicates found, 2 usage or input error.

    \b
    Examples:
      storydiff check new/article.txt
      storydiff check --corpus corpus/ corpus/new.txt --format json
    """
    from .check import BASELINE_FILE, corpus_paths, load_baseline, run_check
    from .engines.local import LocalEngine
    from .render.check import check_summary, render_check_json, render_check_text

    settings = _settings(
        glob=glob,
        exclude=exclude,
        strip=not no_strip,
        ngram=ngram,
        num_perm=num_perm,
        seed=seed,
        threshold=threshold,
        containment=containment,
        encoding=encoding,
        context_words=context,
    )
    _check_encoding(encoding)
    errors = _stderr_console()
    baseline_file = baseline_path or BASELINE_FILE
    if not paths:
        errors.print("storydiff: no files to check", markup=False, highlight=False)
        return
    baseline = load_baseline(baseline_file)
    corpus_list = corpus_paths(corpus, settings)
    signature_cache = _open_cache(cache_path, no_cache, errors)
    try:
        with _progress(errors) as progress, LocalEngine(jobs) as engine:
            result = run_check(
                list(paths), corpus_list, settings, baseline, progress, engine, signature_cache
            )
    finally:
        _print_cache_warnings(signature_cache, errors)
        if signature_cache is not None:
            signature_cache.close()
    for item in result.skipped:
        errors.print(
            f"storydiff: skipped {item.path}: {item.reason}", markup=False, highlight=False, soft_wrap=True
        )
    if result.stale:
        errors.print(
            f"storydiff: {baseline_file}: {len(result.stale)} accepted hashes match no file any more "
            "(run storydiff baseline --update): " + ", ".join(result.stale),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if output_format == "json":
        sys.stdout.write(render_check_json(result))
    else:
        from rich.console import Console

        render_check_text(result, Console(highlight=False), context)
    sys.stdout.flush()
    errors.print(check_summary(result), markup=False, highlight=False, soft_wrap=True, style="dim")
    if result.findings:
        raise click.exceptions.Exit(EXIT_FINDINGS)


@cli.command()
@similarity_options
@click.option(
    "--corpus",
    type=click.Path(exists=True, path_type=str),
    default=None,
    help="Directory to read [default: as for check].",
)
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="Where to write it [default: .storydiff-baseline.json].",
)
@click.option("--update", is_flag=True, help="Rewrite an existing baseline from the corpus as it is now.")
@jobs_option
@cache_options
def baseline(
    threshold: float,
    containment: float,
    ngram: int,
    num_perm: int,
    seed: int,
    no_strip: bool,
    glob: str,
    exclude: tuple[str, ...],
    encoding: str | None,
    corpus: str | None,
    baseline_path: str | None,
    update: bool,
    jobs: int | None,
    cache_path: str | None,
    no_cache: bool,
) -> None:
    """Accept the near-duplicates the corpus holds now, so that check stays quiet about them.

    Writes .storydiff-baseline.json: each accepted cluster by the content hashes of its
    files (renaming or moving a file keeps it accepted), sorted, without timestamps.

    \b
    Examples:
      storydiff baseline
      storydiff baseline --update
    """
    from .check import BASELINE_FILE, build_baseline, corpus_paths
    from .engines.local import LocalEngine

    settings = _settings(
        glob=glob,
        exclude=exclude,
        strip=not no_strip,
        ngram=ngram,
        num_perm=num_perm,
        seed=seed,
        threshold=threshold,
        containment=containment,
        encoding=encoding,
    )
    _check_encoding(encoding)
    baseline_file = baseline_path or BASELINE_FILE
    if os.path.exists(baseline_file) and not update:
        raise UserError(f"{baseline_file} exists (use --update to rewrite it from the corpus)")
    errors = _stderr_console()
    corpus_list = corpus_paths(corpus, settings)
    signature_cache = _open_cache(cache_path, no_cache, errors)
    try:
        with _progress(errors) as progress, LocalEngine(jobs) as engine:
            accepted = build_baseline(corpus_list, settings, progress, engine, signature_cache)
    finally:
        _print_cache_warnings(signature_cache, errors)
        if signature_cache is not None:
            signature_cache.close()
    temporary = baseline_file + ".tmp"
    with open(temporary, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(accepted.dumps())
    os.replace(temporary, baseline_file)
    files = sum(len(group) for group in accepted.paths)
    errors.print(
        f"wrote {baseline_file}: {len(accepted.clusters)} accepted clusters holding {files} files",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@cli.group()
def cache() -> None:
    """Inspect or empty the signature cache.

    \b
    Examples:
      storydiff cache info
      storydiff cache clear --cache /tmp/storydiff.sqlite
    """


@cache.command("info")
@click.option("--cache", "cache_path", type=click.Path(dir_okay=False, path_type=str), default=None)
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def cache_info(cache_path: str | None, output_format: str) -> None:
    """Show where the cache is, how big, and how many entries each settings fingerprint has.

    \b
    Example:
      storydiff cache info --format json
    """
    import json

    from .cache import SignatureCache

    errors = _stderr_console()
    with SignatureCache.open(cache_path or default_cache_path()) as signature_cache:
        _print_cache_warnings(signature_cache, errors)
        info = signature_cache.info()
    if output_format == "json":
        click.echo(json.dumps(info, sort_keys=True))
        return
    click.echo(f"path: {info['path']}")
    click.echo(f"size: {info['size_bytes']} bytes")
    click.echo(f"entries: {info['entries']}")
    click.echo(f"stat rows: {info['stat_rows']}")
    fingerprints = info["fingerprints"]
    assert isinstance(fingerprints, dict)
    for fingerprint, count in fingerprints.items():
        click.echo(f"fingerprint {fingerprint}: {count} entries")


@cache.command("clear")
@click.option("--cache", "cache_path", type=click.Path(dir_okay=False, path_type=str), default=None)
def cache_clear(cache_path: str | None) -> None:
    """Delete every entry of the signature cache.

    \b
    Example:
      storydiff cache clear
    """
    from .cache import SignatureCache

    errors = _stderr_console()
    with SignatureCache.open(cache_path or default_cache_path()) as signature_cache:
        removed = signature_cache.clear()
        _print_cache_warnings(signature_cache, errors)
        click.echo(f"removed {removed} entries from {signature_cache.path}")


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

"""The storydiff command line: parse options, build Settings, call the pipeline, render, exit.

Exit codes: 0 on success (whether or not duplicates were found; for `diff`, when the two
texts are the same), 1 when `diff` finds differences or `check` finds a near-duplicate, 2 on
usage or input errors, 130 when interrupted with Ctrl-C, 141 (silently) when the reader of
stdout goes away, as in `storydiff cluster corpus | head`.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import __version__
from .boilerplate import DEFAULT_PACK, PACK_DESCRIPTIONS, PACKS
from .config import RulesConfig, find_config, load_config
from .errors import StorydiffError
from .model import COPY_KINDS, CopyKind
from .render import RENDERERS, Layout, ManifestFormat, OutputFormat, RenderOptions, output_environment
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

if TYPE_CHECKING:
    from .dedup import DedupPlan
    from .model import Report

F = TypeVar("F", bound=Callable[..., Any])

EXIT_DIFFERENT = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
# The settings that decide what `storydiff strip` removes, as its JSON reports them.
STRIP_SETTINGS = (
    "glob",
    "exclude",
    "pack",
    "rules",
    "repeated_lines",
    "repeated_min_words",
    "repeated_min_documents",
    "repeated_min_share",
    "repeated_max_document_share",
    "encoding",
    "max_bytes",
)


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
    ]
    function = input_options(function)
    for option in reversed(options):
        function = option(function)
    return function


def input_options(function: F) -> F:
    """Which files to read and how to decode them."""
    options = [
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


def rules_options(function: F) -> F:
    """Which boilerplate rules to strip with."""
    options = [
        click.option(
            "--pack",
            type=click.Choice(sorted(PACKS)),
            default=None,
            help=f"Boilerplate rule pack [default: the configuration's, else {DEFAULT_PACK}].",
        ),
        click.option(
            "--config",
            "config_path",
            type=click.Path(exists=True, dir_okay=False, path_type=str),
            default=None,
            help="Configuration file with boilerplate rules [default: .storydiff.toml or "
            "pyproject.toml with [tool.storydiff], searched upward from the corpus].",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _rules_config(paths: Sequence[str], config_path: str | None) -> RulesConfig:
    """The configuration that applies to a corpus (the defaults if there is none)."""
    found = config_path or find_config(paths)
    return load_config(found) if found else RulesConfig()


def _rules_settings(rules_config: RulesConfig, pack: str | None) -> dict[str, Any]:
    """Settings fields for boilerplate stripping, from the configuration and --pack."""
    return {
        "pack": pack or rules_config.pack,
        "rules": rules_config.resolve(pack),
        "repeated_lines": rules_config.repeated_lines,
        "repeated_min_words": rules_config.repeated_min_words,
        "repeated_min_documents": rules_config.repeated_min_documents,
        "repeated_min_share": rules_config.repeated_min_share,
        "repeated_max_document_share": rules_config.repeated_max_document_share,
    }


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
        click.option(
            "--show-stripped",
            is_flag=True,
            help="Show the lines stripping removed in each diff, dimmed, with the rule that removed them.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


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
    130 interrupted; `storydiff diff` exits 1 when the texts differ, check 1 when it
    finds near-duplicates.
    """


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@similarity_options
@rules_options
@click.option(
    "--keep",
    type=click.Choice(KEEP_POLICIES),
    default="longest",
    show_default=True,
    help="Which member represents a cluster (the others are diffed against it).",
)
@output_options
@jobs_option
@cache_options
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="local: processes on this machine; dask: a Dask cluster (pip install 'storydiff[dask]').",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Dask scheduler to use with --engine dask, e.g. tcp://host:8786 [default: "
    "$DASK_SCHEDULER_ADDRESS, else a local cluster with --jobs workers].",
)
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
    pack: str | None,
    config_path: str | None,
    keep: str,
    output_format: str,
    layout: str,
    context: int,
    html_path: str | None,
    show_stripped: bool,
    jobs: int | None,
    cache_path: str | None,
    no_cache: bool,
    engine: str,
    scheduler: str | None,
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
      storydiff cluster corpus/ --show-stripped
      storydiff cluster s3://bucket/news/ --engine dask --scheduler tcp://10.0.0.5:8786
    """
    from . import replay
    from .pipeline import run_cluster
    from .render.text import summary_line, visible_path

    rules_config = _rules_config(paths, config_path)
    settings = _settings(
        glob=glob,
        exclude=exclude,
        strip=not no_strip,
        **_rules_settings(rules_config, pack),
        ngram=ngram,
        num_perm=num_perm,
        seed=seed,
        threshold=threshold,
        containment=containment,
        keep=keep,
        encoding=encoding,
        max_bytes=max_bytes,
        context_words=context,
        show_stripped=show_stripped,
    )
    _check_encoding(encoding)
    if scheduler is not None and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask")
    errors = _stderr_console()
    _say_config(errors, rules_config, settings.strip)
    encoded = None
    if output_format in (OutputFormat.JSON.value, OutputFormat.JSONL.value):
        from .render.json import EncodedMembers

        encoded = EncodedMembers()  # filled while the run diffs (see render_json)
    options = RenderOptions(context, Layout(layout), encoded=encoded)
    signature_cache = _open_cache(cache_path, no_cache, errors)
    try:
        out = _stdout()
        view = None
        discovered: list[Any] = []  # what look found, handed over to the run (see below)
        if signature_cache is not None and html_path is None:
            started = time.perf_counter()
            output_key = [
                output_format,
                layout,
                context,
                output_environment(OutputFormat(output_format), out, options),
            ]
            looked = replay.look(list(paths), settings, signature_cache, output_key)
            if looked is not None:
                view, found = looked
                discovered.append(found)
                del looked, found
            stored = None if view is None else replay.stored(signature_cache, view)
            if stored is not None:
                out.write(stored.output.decode("utf-8"))
                out.flush()
                *skipped_lines, summary = stored.chatter
                if timings:
                    errors.print(
                        f"Replaying the output stored for these files: {time.perf_counter() - started:.2f} s"
                    )
                for line in skipped_lines:
                    errors.print(line, soft_wrap=True)
                errors.print(summary, soft_wrap=True, style="dim")
                return
        with _progress(errors) as progress, _engine(engine, jobs, scheduler, errors) as running:
            # Popped, so that the run holds the only reference to the stats of every file and
            # can let them go once it has signed (100,000 stat results are about 50 MB).
            report = run_cluster(
                list(paths),
                settings,
                progress,
                running,
                signature_cache,
                discovered.pop() if discovered else None,
                None if encoded is None else encoded.add,
            )
        if timings:
            for stage, seconds in progress.timings:
                errors.print(f"{stage}: {seconds:.2f} s", soft_wrap=True)
        chatter = [f"storydiff: skipped {visible_path(item.path)}: {item.reason}" for item in report.skipped]
        for line in chatter:
            errors.print(line, soft_wrap=True)
        writing_started = time.perf_counter()
        if view is not None and view.settled:
            # Kept for a re-run over the same files (see replay), once all of it was written.
            tee = _Tee(out)
            _write(report, output_format, options, html_path, tee)
            replay.keep(signature_cache, view, tee.compressed, (*chatter, summary_line(report)))
        else:
            _write(report, output_format, options, html_path, out)
        if timings:
            errors.print(f"Writing the output: {time.perf_counter() - writing_started:.2f} s", soft_wrap=True)
        errors.print(summary_line(report), soft_wrap=True, style="dim")
    finally:
        _print_cache_warnings(signature_cache, errors)
        if signature_cache is not None:
            signature_cache.close()


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
    settings = _settings(
        strip=not no_strip, encoding=encoding, context_words=context, show_stripped=show_stripped
    )
    report = diff_files(old, new, settings)
    _write(report, output_format, RenderOptions(context, Layout(layout)), html_path)
    member = report.clusters[0].members[1]
    if any(segment.op != "equal" for segment in member.segments):
        raise click.exceptions.Exit(EXIT_DIFFERENT)


def _write(
    report: Report, output_format: str, options: RenderOptions, html_path: str | None, out: Any = None
) -> None:
    """The report on `out` (else stdout) in the chosen format, and as HTML to `html_path` if given."""
    out = out or _stdout()
    RENDERERS[OutputFormat(output_format)](report, out, options)
    out.flush()
    if html_path is not None:
        try:
            with open(html_path, "w", encoding="utf-8") as handle:
                RENDERERS[OutputFormat.HTML](report, handle, options)
        except OSError as error:
            raise UserError(f"{html_path}: cannot write the HTML report ({error.strerror})") from None


def _engine(name: str, jobs: int | None, scheduler: str | None, errors: Any) -> Any:
    """The engine `cluster` runs on; the Dask dashboard's address goes to stderr."""
    if name == "dask":
        from .engines.dask import DaskEngine

        dask_engine = DaskEngine(scheduler=scheduler, workers=jobs)
        if dask_engine.dashboard_link:
            errors.print(
                f"storydiff: Dask dashboard at {dask_engine.dashboard_link}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        return dask_engine
    from .engines.local import LocalEngine

    return LocalEngine(jobs)


SIMILARITY_OPTIONS = (
    "threshold",
    "containment",
    "ngram",
    "num_perm",
    "seed",
    "no_strip",
    "glob",
    "exclude",
    "encoding",
)


@cli.command()
@click.argument("directory", required=False, type=click.Path(path_type=str))
@click.option(
    "--from",
    "from_report",
    metavar="REPORT.json",
    type=click.Path(dir_okay=False, path_type=str),
    help="Act on a saved `storydiff cluster DIR --format json` report instead of clustering; "
    "every file is re-hashed first and nothing is done if any changed or vanished.",
)
@click.option(
    "--out",
    "out_dir",
    metavar="OUTDIR",
    type=click.Path(file_okay=False, path_type=str),
    help="Write the kept files here, at their paths below the input directory.",
)
@click.option(
    "--manifest",
    metavar="PATH",
    help="Write the list of kept and dropped files, with cluster and reason (- for stdout).",
)
@click.option(
    "--manifest-format",
    type=click.Choice([item.value for item in ManifestFormat]),
    default=None,
    help="json or csv [default: from the --manifest extension; json for -].",
)
@click.option(
    "--move-dropped-to",
    "move_to",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=str),
    help="Move the dropped copies out of the input directory into DIR, at the same relative paths. "
    "Never overwrites; the only option that changes the input directory.",
)
@click.option("--dry-run", is_flag=True, help="Print the plan and what would be written; write nothing.")
@click.option(
    "--drop",
    "drop_kinds",
    metavar="KINDS",
    default=",".join(COPY_KINDS),
    show_default=True,
    callback=lambda _ctx, _param, value: _copy_kinds(value),
    help="Which copies to drop, by how they differ from the kept one: a comma list of "
    "identical, reformatted, figures (only numbers, amounts, dates changed), edited.",
)
@click.option(
    "--keep",
    type=click.Choice(KEEP_POLICIES),
    default=None,
    help="Which copy of each cluster to keep (newest/oldest: by modification time) "
    "[default: longest; with --from, the report's].",
)
@similarity_options
@rules_options
@jobs_option
def dedup(
    directory: str | None,
    from_report: str | None,
    out_dir: str | None,
    manifest: str | None,
    manifest_format: str | None,
    move_to: str | None,
    dry_run: bool,
    drop_kinds: tuple[CopyKind, ...],
    keep: str | None,
    pack: str | None,
    config_path: str | None,
    jobs: int | None,
    **similarity: Any,
) -> None:
    """Keep one copy of each near-duplicate: write a deduplicated corpus, a manifest, or both.

    The copy kept from each cluster is its representative (see --keep); every file with no
    near-duplicate is kept too. Give DIRECTORY to cluster it now, or --from a saved report.
    The input directory is never changed, except by --move-dropped-to, which moves the
    dropped copies (never deletes them); no option deletes a file. The summary goes to stderr.

    \b
    Examples:
      storydiff dedup examples/seeds --out deduped/
      storydiff dedup corpus/ --keep newest --manifest plan.csv --dry-run
      storydiff cluster corpus/ --format json > report.json
      storydiff dedup --from report.json --out deduped/ --manifest deduped.json
      storydiff dedup corpus/ --move-dropped-to duplicates/
      storydiff dedup corpus/ --drop identical,reformatted --out deduped/

    \b
    Exit codes: 0 done, 2 usage or input error, or a refusal (a file changed
    since the report, an output inside the input, a file in the way).
    """
    from . import dedup as core

    _check_dedup_usage(directory, from_report, out_dir, manifest, manifest_format, move_to, dry_run)
    chosen_format = core.manifest_format_for(manifest, manifest_format) if manifest else None
    errors = _stderr_console()
    with _progress(errors) as progress:
        rules = (pack, config_path)
        report, root = _dedup_input(directory, from_report, keep, jobs, similarity, rules, progress)
        plan = core.build_plan(report, root, drop_kinds)
        core.check_destinations(plan, out_dir, move_to, manifest)
        core.check_unchanged(plan, progress)
        if dry_run:
            done = _would_do(plan, out_dir, move_to, manifest)
        else:
            done = _act(plan, out_dir, move_to, manifest, chosen_format, progress)
    for item in plan.skipped:
        _chatter(errors, f"storydiff: skipped {item.path}: {item.reason} (not copied)")
    if dry_run:
        for line in core.plan_lines(plan):
            click.echo(_printable(line))
    for line in done:
        _chatter(errors, line)
    _chatter(errors, core.summary_line(plan))


def _copy_kinds(value: str) -> tuple[CopyKind, ...]:
    from .dedup import parse_kinds

    try:
        return parse_kinds(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _check_dedup_usage(
    directory: str | None,
    from_report: str | None,
    out_dir: str | None,
    manifest: str | None,
    manifest_format: str | None,
    move_to: str | None,
    dry_run: bool,
) -> None:
    if (directory is None) == (from_report is None):
        raise click.UsageError("give either DIRECTORY or --from REPORT.json")
    if not (out_dir or manifest or move_to or dry_run):
        raise click.UsageError("nothing to do: give --out, --manifest, --move-dropped-to or --dry-run")
    if manifest_format is not None and manifest is None:
        raise click.UsageError("--manifest-format needs --manifest")
    if from_report is not None:
        ctx = click.get_current_context()
        given = [
            "--config" if name == "config_path" else f"--{name.replace('_', '-')}"
            for name in (*SIMILARITY_OPTIONS, "pack", "config_path", "keep")
            if ctx.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)
        ]
        if given:
            raise click.UsageError(
                f"{', '.join(given)} cannot be used with --from: the report's settings made its clusters "
                "(run storydiff cluster again to change them)"
            )


def _dedup_input(
    directory: str | None,
    from_report: str | None,
    keep: str | None,
    jobs: int | None,
    similarity: dict[str, Any],
    rules: tuple[str | None, str | None],
    progress: _RichProgress,
) -> tuple[Report, str]:
    """The report to act on (saved, or made now) and the directory its paths are below."""
    from . import dedup as core
    from .engines.local import LocalEngine
    from .pipeline import run_cluster

    if from_report is not None:
        report = core.read_report(from_report)
        core.check_input_directory(report.inputs[0])
        return report, report.inputs[0]
    assert directory is not None  # _check_dedup_usage asked for one or the other
    core.check_input_directory(directory)
    _check_encoding(similarity["encoding"])
    options = {name: value for name, value in similarity.items() if name != "no_strip"}
    pack, config_path = rules
    rules_settings = _rules_settings(_rules_config([directory], config_path), pack)
    settings = _settings(
        **options, **rules_settings, strip=not similarity["no_strip"], keep=keep or "longest"
    )
    with LocalEngine(jobs) as engine:
        return run_cluster([directory], settings, progress, engine), directory


def _act(
    plan: DedupPlan,
    out_dir: str | None,
    move_to: str | None,
    manifest: str | None,
    manifest_format: ManifestFormat | None,
    progress: _RichProgress,
) -> list[str]:
    """Copy, then move, then list: the kept files are read before any dropped one leaves the input."""
    from . import dedup as core
    from .wording import count

    done = []
    if out_dir is not None:
        copied = core.write_kept(plan, out_dir, progress)
        done.append(f"copied {count(copied, 'file')} to {out_dir}")
    if move_to is not None:
        moved = core.move_dropped(plan, move_to, progress)
        done.append(f"moved {count(moved, 'dropped file')} to {move_to}")
    if manifest == "-" and manifest_format is not None:
        sys.stdout.write(core.render_manifest(plan, manifest_format))
        sys.stdout.flush()
        done.append("wrote the manifest to stdout")
    elif manifest is not None and manifest_format is not None:
        core.write_manifest(plan, manifest, manifest_format)
        done.append(f"wrote the manifest {manifest}")
    return done


def _would_do(plan: DedupPlan, out_dir: str | None, move_to: str | None, manifest: str | None) -> list[str]:
    from .wording import count

    lines = []
    if out_dir is not None:
        lines.append(f"dry run: would copy {count(len(plan.kept), 'file')} to {out_dir}")
    if move_to is not None:
        lines.append(f"dry run: would move {count(len(plan.dropped), 'dropped file')} to {move_to}")
    if manifest is not None:
        lines.append(f"dry run: would write the manifest {manifest}")
    lines.append("dry run: nothing was written")
    return lines


def _printable(text: str) -> str:
    """A line holding file names as inert text on one line (see render.text.visible_path)."""
    from .render.text import visible_path

    return visible_path(text)


def _chatter(console: Any, text: str, style: str | None = None) -> None:
    """One line on stderr; text holding file names is never read as markup or :emoji: codes."""
    console.print(_printable(text), markup=False, highlight=False, emoji=False, soft_wrap=True, style=style)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
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

    from .engines.local import LocalEngine
    from .model import Skipped, StrippedFile
    from .pipeline import run_strip
    from .render.json import render_strip_json
    from .render.text import strip_summary, stripped_file_renderable

    rules_config = _rules_config(paths, config_path)
    settings = _settings(
        glob=glob,
        exclude=exclude,
        encoding=encoding,
        max_bytes=max_bytes,
        **_rules_settings(rules_config, pack),
    )
    _check_encoding(encoding)
    errors = _stderr_console()
    _say_config(errors, rules_config, True)
    as_json = OutputFormat(output_format) is OutputFormat.JSON
    out = _stdout()
    console = _stdout_console(out)
    markers = console.no_color or console.color_system is None
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
                console.print(stripped_file_renderable(item, markers, removed_only))
    for problem in skipped:
        _chatter(errors, f"storydiff: skipped {problem.path}: {problem.reason}")
    if as_json:
        shown = {key: value for key, value in settings.as_dict().items() if key in STRIP_SETTINGS}
        out.write(render_strip_json(shown, files, skipped, dict(counts)))
    out.flush()
    summary = strip_summary(file_count, dict(counts), len(skipped))
    errors.print(summary, markup=False, highlight=False, soft_wrap=True, style="dim")


@cli.command()
@click.argument("path", required=False, default=".", type=click.Path(path_type=str))
@rules_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice([OutputFormat.TEXT.value, OutputFormat.JSON.value]),
    default=OutputFormat.TEXT.value,
    show_default=True,
    help="text for reading, json for scripts.",
)
def rules(path: str, pack: str | None, config_path: str | None, output_format: str) -> None:
    """List the boilerplate rule packs and their rules, and the rules in use for PATH.

    PATH (default: the current directory) decides which configuration file applies:
    .storydiff.toml, or pyproject.toml with a [tool.storydiff] table, searched upward.

    \b
    Examples:
      storydiff rules
      storydiff rules corpus/ --format json
    """
    from rich.console import Console

    from .render.json import rule_record
    from .render.text import RulesInUse, rules_renderable

    rules_config = _rules_config([path], config_path)
    active = rules_config.resolve(pack)
    repeated = (
        f"A line of {rules_config.repeated_min_words} or more words found in"
        f" {rules_config.repeated_min_documents} or more groups of documents and in"
        f" {rules_config.repeated_min_share:.0%} of all groups, where each cluster of near-duplicates"
        " is one group; not taken from a document where such lines hold more than"
        f" {rules_config.repeated_max_document_share:.0%} of the words."
    )
    disabled = list(rules_config.disable)
    if OutputFormat(output_format) is OutputFormat.JSON:
        import json

        document = {
            "default_pack": DEFAULT_PACK,
            "packs": [
                {
                    "name": name,
                    "description": PACK_DESCRIPTIONS[name],
                    "rules": [rule_record(r) for r in rules],
                }
                for name, rules in PACKS.items()
            ],
            "repeated_lines": {
                "enabled": rules_config.repeated_lines,
                "min_words": rules_config.repeated_min_words,
                "min_documents": rules_config.repeated_min_documents,
                "min_share": rules_config.repeated_min_share,
                "max_document_share": rules_config.repeated_max_document_share,
            },
            "config": rules_config.source,
            "pack": pack or rules_config.pack,
            "rules": [rule_record(rule) for rule in active],
            "disabled": disabled,
        }
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return
    packs = [(name, PACK_DESCRIPTIONS[name], rules) for name, rules in PACKS.items()]
    in_use = RulesInUse(
        path=path,
        pack=pack or rules_config.pack,
        rules=active,
        disabled=tuple(disabled),
        repeated_lines=rules_config.repeated_lines,
        config_source=rules_config.source,
    )
    Console(highlight=False, emoji=False).print(rules_renderable(packs, DEFAULT_PACK, repeated, in_use))


def _say_config(errors: Any, rules_config: RulesConfig, strip: bool) -> None:
    if rules_config.source and strip:
        _chatter(errors, f"storydiff: boilerplate rules from {rules_config.source}", style="dim")


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
@rules_options
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
    max_bytes: int,
    corpus: str | None,
    baseline_path: str | None,
    output_format: str,
    context: int,
    pack: str | None,
    config_path: str | None,
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

    rules_config = _rules_config([corpus or "."], config_path)
    settings = _settings(
        glob=glob,
        exclude=exclude,
        strip=not no_strip,
        **_rules_settings(rules_config, pack),
        ngram=ngram,
        num_perm=num_perm,
        seed=seed,
        threshold=threshold,
        containment=containment,
        encoding=encoding,
        max_bytes=max_bytes,
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
        _chatter(errors, f"storydiff: skipped {item.path}: {item.reason}")
    if result.stale:
        _chatter(
            errors,
            f"storydiff: {baseline_file}: {len(result.stale)} accepted hashes match no file any more "
            "(run storydiff baseline --update): " + ", ".join(result.stale),
        )
    out = _stdout()
    if output_format == "json":
        out.write(render_check_json(result))
    else:
        render_check_text(result, _stdout_console(out), context)
    out.flush()
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
@rules_options
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
    max_bytes: int,
    corpus: str | None,
    baseline_path: str | None,
    update: bool,
    pack: str | None,
    config_path: str | None,
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

    rules_config = _rules_config([corpus or "."], config_path)
    settings = _settings(
        glob=glob,
        exclude=exclude,
        strip=not no_strip,
        **_rules_settings(rules_config, pack),
        ngram=ngram,
        num_perm=num_perm,
        seed=seed,
        threshold=threshold,
        containment=containment,
        encoding=encoding,
        max_bytes=max_bytes,
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


class _Tee:
    """Stdout that also keeps what was written to it, for the cache (see replay), compressed
    as it goes (replay.Compressor): a 40 MB report is not held twice more."""

    encoding = "utf-8"

    def __init__(self, out: Any) -> None:
        from .replay import Compressor

        self._out = out
        self._compressor = Compressor()

    def write(self, text: str) -> int:
        self._compressor.add(text.encode("utf-8", "replace"))
        return int(self._out.write(text))

    def flush(self) -> None:
        self._out.flush()

    def isatty(self) -> bool:
        return bool(self._out.isatty())

    def fileno(self) -> int:
        return int(self._out.fileno())

    def compressed(self) -> bytes:
        """Everything written, as one zlib stream."""
        return self._compressor.finish()


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
    from .engines.local import relax_garbage_collection

    relax_garbage_collection()
    cli(prog_name="storydiff")

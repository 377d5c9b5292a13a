"""`storydiff cluster`."""

from __future__ import annotations

import time
from typing import Any

import click

from ..render import Layout, OutputFormat, RenderOptions, output_environment
from ..render.pager import paged
from ..settings import (
    KEEP_POLICIES,
)
from .group import cli
from .io import _close_pager, _progress, _stderr_console, _stdout, _Tee, _text_on_terminal, _write
from .options import (
    _check_encoding,
    _engine,
    _open_cache,
    _print_cache_warnings,
    _rules_config,
    _say_config,
    cache_options,
    jobs_option,
    output_options,
    rules_options,
    settings_from_options,
    similarity_options,
)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str, readable=False))
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
@click.option(
    "--no-diffs",
    is_flag=True,
    help="JSON and JSONL output: each member's similarities only, no word diffs (much faster).",
)
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
@click.option(
    "--list-singletons",
    is_flag=True,
    help="Text output: list every document without a copy (otherwise only up to 20 are listed).",
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
    no_diffs: bool,
    no_pager: bool,
    jobs: int | None,
    cache_path: str | None,
    no_cache: bool,
    engine: str,
    scheduler: str | None,
    list_singletons: bool,
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
    from ..pipeline import run_cluster
    from ..render.text import summary_line, visible_path
    from ..store import replay

    rules_config = _rules_config(paths, config_path)
    settings = settings_from_options(click.get_current_context().params, rules_config)
    _check_encoding(encoding)
    if scheduler is not None and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask")
    if no_diffs and (output_format not in (OutputFormat.JSON.value, OutputFormat.JSONL.value) or html_path):
        raise click.UsageError("--no-diffs needs --format json or jsonl (and no --html)")
    errors = _stderr_console()
    _say_config(errors, rules_config, settings.strip)
    encoded = None
    if output_format in (OutputFormat.JSON.value, OutputFormat.JSONL.value):
        from ..render.json import EncodedMembers

        encoded = EncodedMembers(diffs=not no_diffs)  # filled while the run diffs (see render_json)
    options = RenderOptions(context, Layout(layout), encoded=encoded, list_singletons=list_singletons)
    signature_cache = _open_cache(cache_path, no_cache, errors)
    out = paged(_stdout(), output_format == OutputFormat.TEXT.value and not no_pager)
    try:
        view = None
        discovered: list[Any] = []  # what look found, handed over to the run (see below)
        if signature_cache is not None and html_path is None:
            started = time.perf_counter()
            output_key = [
                output_format,
                layout,
                context,
                output_environment(OutputFormat(output_format), out, options),
                *(["no-diffs"] if no_diffs else []),
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
                if not _text_on_terminal(output_format, out):
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
                diffs=not no_diffs,
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
        if not _text_on_terminal(output_format, out):  # text output ends with the summary
            errors.print(summary_line(report), soft_wrap=True, style="dim")
    finally:
        _close_pager(out)
        _print_cache_warnings(signature_cache, errors)
        if signature_cache is not None:
            signature_cache.close()

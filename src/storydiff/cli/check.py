"""`storydiff check` and `storydiff baseline`."""

from __future__ import annotations

import os

import click

from ..settings import DEFAULT_CONTEXT_WORDS
from .exits import UserError
from .group import cli
from .io import _chatter, _progress, _stderr_console, _stdout, _stdout_console
from .options import (
    _check_encoding,
    _open_cache,
    _print_cache_warnings,
    _rules_config,
    cache_options,
    jobs_option,
    rules_options,
    settings_from_options,
    similarity_options,
)

EXIT_FINDINGS = 1


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str, readable=False))
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
    default=DEFAULT_CONTEXT_WORDS,
    show_default=True,
    help="Unchanged words shown around each edit in text output (as for cluster and diff).",
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
    from ..check import BASELINE_FILE, corpus_paths, load_baseline, run_check
    from ..engines.local import LocalEngine
    from ..render.check import check_advice, check_summary, render_check_json, render_check_text
    from ..wording import count

    rules_config = _rules_config([corpus or "."], config_path)
    settings = settings_from_options(click.get_current_context().params, rules_config)
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
            f"storydiff: {baseline_file}: {count(len(result.stale), 'accepted hash', 'accepted hashes')} "
            f"{'matches' if len(result.stale) == 1 else 'match'} no file any more "
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
        errors.print(
            check_advice(baseline_file, BASELINE_FILE), markup=False, highlight=False, soft_wrap=True
        )
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
    from ..check import BASELINE_FILE, build_baseline, corpus_paths
    from ..engines.local import LocalEngine
    from ..safe_paths import replace_file
    from ..wording import count

    rules_config = _rules_config([corpus or "."], config_path)
    settings = settings_from_options(click.get_current_context().params, rules_config)
    _check_encoding(encoding)
    baseline_file = baseline_path or BASELINE_FILE
    if os.path.exists(baseline_file) and not update:
        raise UserError(f"{baseline_file} exists (use --update to rewrite it from the corpus)")
    if os.path.exists(baseline_file) and not os.path.isfile(baseline_file):
        raise UserError(
            f"{baseline_file}: not a regular file (remove it, or name another file with --baseline)"
        )
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
    try:
        replace_file(baseline_file, accepted.dumps())
    except OSError as error:
        remedy = "remove it, or name another file with --baseline"
        raise UserError(f"{baseline_file}: cannot write: {error.strerror} ({remedy})") from None
    files = sum(len(group) for group in accepted.paths)
    errors.print(
        f"wrote {baseline_file}: {count(len(accepted.clusters), 'accepted cluster')} holding "
        f"{count(files, 'file')}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )

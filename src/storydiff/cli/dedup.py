"""`storydiff dedup`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from ..model import COPY_KINDS, CopyKind
from ..render import ManifestFormat
from ..settings import (
    KEEP_POLICIES,
)

if TYPE_CHECKING:
    from ..dedup import DedupPlan
    from ..model import Report
from .group import cli
from .io import _chatter, _printable, _progress, _RichProgress, _stderr_console
from .options import (
    SIMILARITY_OPTIONS,
    _check_encoding,
    _rules_config,
    jobs_option,
    rules_options,
    settings_from_options,
    similarity_options,
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
    from .. import dedup as core

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
    from ..dedup import parse_kinds

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
    from .. import dedup as core
    from ..engines.local import LocalEngine
    from ..pipeline import run_cluster

    if from_report is not None:
        report = core.read_report(from_report)
        core.check_input_directory(report.inputs[0])
        return report, report.inputs[0]
    assert directory is not None  # _check_dedup_usage asked for one or the other
    core.check_input_directory(directory)
    _check_encoding(similarity["encoding"])
    _, config_path = rules
    settings = settings_from_options(
        click.get_current_context().params, _rules_config([directory], config_path)
    )
    with LocalEngine(jobs) as engine:
        return run_cluster([directory], settings, progress, engine, diffs=False), directory


def _act(
    plan: DedupPlan,
    out_dir: str | None,
    move_to: str | None,
    manifest: str | None,
    manifest_format: ManifestFormat | None,
    progress: _RichProgress,
) -> list[str]:
    """Copy, then move, then list: the kept files are read before any dropped one leaves the input."""
    from .. import dedup as core
    from ..wording import count

    done = []
    if out_dir is not None:
        try:
            copied = core.write_kept(plan, out_dir, progress)
        except BaseException as error:
            if not isinstance(error, Exception):  # Ctrl-C, SIGTERM, SIGHUP
                message = f"{out_dir} is incomplete; run the same command again to complete it"
                click.echo(f"storydiff: {_printable(message)}", err=True)
            raise
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
    from ..wording import count

    lines = []
    if out_dir is not None:
        lines.append(f"dry run: would copy {count(len(plan.kept), 'file')} to {out_dir}")
    if move_to is not None:
        lines.append(f"dry run: would move {count(len(plan.dropped), 'dropped file')} to {move_to}")
    if manifest is not None:
        lines.append(f"dry run: would write the manifest {manifest}")
    lines.append("dry run: nothing was written")
    return lines

"""Deduplicate a corpus: from a Report to a plan of which files to keep, then act on the plan.

Plan, then act, as fclones and rmlint do: `build_plan` turns a Report into a frozen
DedupPlan without touching a file, `check_unchanged` re-hashes every planned file and
refuses when any changed or vanished, and only then do `write_kept`, `move_dropped` and
`write_manifest` write. Nothing here deletes a file: the one change to the input directory
is `move_dropped`, which moves files elsewhere and never overwrites.

The copy kept from a cluster is its representative, chosen by the pipeline with the
Report's keep policy, so `cluster` and `dedup` always agree on it.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from . import __version__, ingest, safe_paths
from .errors import ChangedFilesError, DestinationError, InputError
from .model import COPY_KINDS, Cluster, CopyKind, FileRecord, Report, Skipped
from .pipeline import Progress
from .render import ManifestFormat
from .render.json import json_safe, report_from_object
from .wording import count, near_duplicate_in

Action = Literal["keep", "drop"]

# How many changed files a refusal names before it says "and N more".
NAMED_IN_REFUSAL = 20

_POLICY_WORDS = {
    "longest": "the longest",
    "shortest": "the shortest",
    "first": "the first by path",
    "last": "the last by path",
    "newest": "the newest",
    "oldest": "the oldest",
}


@dataclass(frozen=True)
class PlannedFile:
    """One document and what dedup does with it.

    `relative_path` is the path below the input directory: where the file lands under OUTDIR
    (kept) or under --move-dropped-to (dropped). `kept_copy` is the file kept in its place
    (itself when kept); `cluster` is None for a file with no near-duplicate. `kind` is how a
    cluster member differs from the representative (None for representatives and singletons).
    """

    path: str
    relative_path: str
    action: Action
    cluster: int | None
    kept_copy: str
    reason: str
    content_hash: str
    size_bytes: int
    kind: CopyKind | None = None


@dataclass(frozen=True)
class DedupPlan:
    """Every document of a report, kept or dropped, in report order (clusters, then the rest);
    `drop`: the kinds of copies dropped (see `build_plan`)."""

    root: str
    keep: str
    clusters: int
    files: tuple[PlannedFile, ...]
    skipped: tuple[Skipped, ...] = ()
    drop: tuple[CopyKind, ...] = COPY_KINDS

    @property
    def dropped_by_kind(self) -> dict[str, int]:
        """How many copies of each kind are dropped, every kind named (in COPY_KINDS order)."""
        counts: dict[str, int] = dict.fromkeys(COPY_KINDS, 0)
        for item in self.dropped:
            if item.kind is not None:
                counts[item.kind] += 1
        return counts

    @property
    def kept(self) -> tuple[PlannedFile, ...]:
        return tuple(item for item in self.files if item.action == "keep")

    @property
    def dropped(self) -> tuple[PlannedFile, ...]:
        return tuple(item for item in self.files if item.action == "drop")

    @property
    def bytes_saved(self) -> int:
        return sum(item.size_bytes for item in self.dropped)


def check_input_directory(root: str) -> None:
    """Dedup works on one directory: OUTDIR mirrors the paths below it."""
    if not os.path.lexists(root):
        raise InputError(f"{root}: no such file or directory")
    if not os.path.isdir(root):
        raise InputError(f"{root}: not a directory (dedup works on the files below one directory)")


def read_report(path: str) -> Report:
    """A saved `storydiff cluster --format json` report that dedup can act on, or InputError."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as error:
        raise InputError(f"{path}: cannot read: {_reason(error)}") from None
    except ValueError as error:
        raise InputError(f"{path}: not JSON ({error}); save a report with --format json") from None
    try:
        report = report_from_object(data)
    except ValueError as error:
        raise InputError(f"{path}: {error}") from None
    if report.documents and not report.files:
        raise InputError(
            f"{path}: the report has no content hashes (made by an older storydiff); "
            "make a new one with storydiff cluster DIR --format json"
        )
    if len(report.inputs) != 1:
        raise InputError(
            f"{path}: the report was made from {len(report.inputs)} paths; "
            "dedup --from needs a report of one directory"
        )
    return report


def parse_kinds(text: str) -> tuple[CopyKind, ...]:
    """A comma list of copy kinds ("identical,reformatted"), in COPY_KINDS order; ValueError
    naming the kinds there are when one is not."""
    named = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in named if part not in COPY_KINDS]
    if unknown or not named:
        raise ValueError(
            f"{', '.join(unknown) or 'no kind'}: expected a comma list of {', '.join(COPY_KINDS)}"
        )
    return tuple(kind for kind in COPY_KINDS if kind in named)


def build_plan(report: Report, root: str, drop: Sequence[CopyKind] = COPY_KINDS) -> DedupPlan:
    """Keep each cluster's representative, every singleton and every document in no cluster
    that is a near-duplicate of a member (`Report.unplaced`); drop the other members whose
    kind (how they differ from the representative) is in `drop`, keep the rest.

    Every dropped member is a near-duplicate of the representative kept in its place: the
    pipeline's clusters are centred on their representative (cluster.star_clusters), and
    this is checked again here against the report's own similarities and settings.
    """
    records = {item.path: item for item in report.files}
    keep = str(report.settings.get("keep", "longest"))
    chosen = tuple(kind for kind in COPY_KINDS if kind in drop)
    planned = [
        item
        for cluster in report.clusters
        for item in _cluster_plan(cluster, records, root, keep, chosen, report.settings)
    ]
    for path in report.singletons:
        planned.append(_planned(_record(records, path), root, "keep", None, path, "no near-duplicate"))
    for path, related in report.unplaced:
        representatives = "its representative" if len(related) == 1 else "their representatives"
        reason = f"{near_duplicate_in(related)}, not of {representatives}"
        planned.append(_planned(_record(records, path), root, "keep", None, path, reason))
    return DedupPlan(root, keep, len(report.clusters), tuple(planned), report.skipped, chosen)


def _cluster_plan(
    cluster: Cluster,
    records: dict[str, FileRecord],
    root: str,
    keep: str,
    drop: tuple[CopyKind, ...],
    settings: dict[str, object],
) -> list[PlannedFile]:
    threshold = float(cast(float, settings.get("threshold", 0.0)))
    containment = float(cast(float, settings.get("containment", 0.0)))
    planned = []
    for member in cluster.members:
        kind = None if member.is_representative else member.kind
        if member.is_representative:
            action: Action = "keep"
            reason = f"{_POLICY_WORDS.get(keep, keep)} of {len(cluster.members)} near-duplicates"
        elif member.jaccard < threshold and member.containment < containment:
            # A report saved before clusters were centred on their representative chained members.
            action = "keep"
            reason = (
                f"not a near-duplicate of {cluster.representative} "
                f"(Jaccard {member.jaccard:.2f}, containment {member.containment:.2f})"
            )
        elif kind is None and drop != COPY_KINDS:
            raise InputError(
                f"{member.path}: the report does not say how this copy differs (made by an older "
                "storydiff); make a new one with storydiff cluster DIR --format json, or drop all kinds"
            )
        elif kind is not None and kind not in drop:
            action = "keep"
            reason = f"{kind} copy of {cluster.representative}, kept (--drop {','.join(drop)})"
        else:
            action = "drop"
            reason = (
                f"{kind + ' ' if kind else ''}near-duplicate of {cluster.representative} "
                f"(Jaccard {member.jaccard:.2f}, containment {member.containment:.2f})"
            )
        record = _record(records, member.path)
        planned.append(_planned(record, root, action, cluster.id, cluster.representative, reason, kind))
    return planned


def _record(records: dict[str, FileRecord], path: str) -> FileRecord:
    try:
        return records[path]
    except KeyError:
        raise InputError(f"{path}: listed in the report but not in its files (a damaged report?)") from None


def _planned(
    record: FileRecord,
    root: str,
    action: Action,
    cluster: int | None,
    kept_copy: str,
    reason: str,
    kind: CopyKind | None = None,
) -> PlannedFile:
    return PlannedFile(
        path=record.path,
        relative_path=relative_path(record.path, root),
        action=action,
        cluster=cluster,
        kept_copy=kept_copy,
        reason=reason,
        content_hash=record.content_hash,
        size_bytes=record.size_bytes,
        kind=kind,
    )


def relative_path(path: str, root: str) -> str:
    """`path` below `root`; both are display paths, so this is a lexical comparison."""
    relative = os.path.relpath(path, root)
    if relative == os.curdir or relative.split(os.sep)[0] == os.pardir:
        raise InputError(f"{path}: not below {root} (dedup works on the files below one directory)")
    return relative


def changed_files(plan: DedupPlan, progress: Progress | None = None) -> list[str]:
    """Each planned file whose bytes are not those planned from, as 'path (what happened)'."""
    problems = []
    if progress:
        progress.start("Checking files", len(plan.files))
    for item in plan.files:
        try:
            with open(item.path, "rb") as handle:
                if ingest.content_hash(handle.read()) != item.content_hash:
                    problems.append(f"{item.path} (changed)")
        except FileNotFoundError:
            problems.append(f"{item.path} (vanished)")
        except OSError as error:
            problems.append(f"{item.path} (cannot read: {_reason(error)})")
        if progress:
            progress.advance()
    return problems


def check_unchanged(plan: DedupPlan, progress: Progress | None = None) -> None:
    """Refuse, naming the files, when any file changed or vanished since the report."""
    problems = changed_files(plan, progress)
    if not problems:
        return
    raise ChangedFilesError(
        f"refusing to act: {count(len(problems), 'file')} changed or vanished since the report: "
        f"{_named(problems)}; "
        "make a new report with storydiff cluster (its paths are relative to where it was made)"
    )


def check_destinations(
    plan: DedupPlan, out_dir: str | None, move_to: str | None, manifest: str | None
) -> None:
    """Refuse, before anything is written, outputs that would overwrite or land in the input."""
    places = [("--out", out_dir), ("--move-dropped-to", move_to)]
    for option, place in places:
        if place is not None and _nested(place, plan.root):
            raise DestinationError(
                f"{place}: {option} must be outside the input directory {plan.root}, and not hold it"
            )
    if out_dir is not None and move_to is not None and _nested(out_dir, move_to):
        raise DestinationError(f"{move_to}: --move-dropped-to must be apart from --out {out_dir}")
    if manifest is not None and manifest != "-":
        if _within(manifest, plan.root):
            raise DestinationError(
                f"{manifest}: the manifest must be outside the input directory {plan.root}"
            )
        if out_dir is not None and _same(manifest, copy_targets(plan, out_dir)):
            raise DestinationError(f"{manifest}: the manifest would overwrite a kept file in {out_dir}")
    copied = _copied(plan, out_dir)
    for place, targets in ((out_dir, copy_targets), (move_to, move_targets)):
        if place is not None:
            _refuse_existing([target for target in targets(plan, place) if target not in copied])
            _refuse_landing_inside(targets(plan, place), plan.root)
    if move_to is not None:
        _refuse_unmovable(plan)
        _refuse_moving_from_outside(plan)


def copy_targets(plan: DedupPlan, out_dir: str) -> list[str]:
    return [os.path.join(out_dir, item.relative_path) for item in plan.kept]


def move_targets(plan: DedupPlan, move_to: str) -> list[str]:
    return [os.path.join(move_to, item.relative_path) for item in plan.dropped]


def _copied(plan: DedupPlan, out_dir: str | None) -> set[str]:
    """The copies an interrupted `dedup --out` already made: a re-run completes OUTDIR."""
    if out_dir is None:
        return set()
    return {
        target
        for item, target in zip(plan.kept, copy_targets(plan, out_dir), strict=True)
        if _holds(target, item)
    }


def _holds(target: str, item: PlannedFile) -> bool:
    """Whether `target` is a regular file with the planned bytes of `item`."""
    try:
        if os.path.islink(target) or os.path.getsize(target) != item.size_bytes:
            return False
        with open(target, "rb") as handle:
            return ingest.content_hash(handle.read()) == item.content_hash
    except OSError:
        return False


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def _refuse_existing(targets: Sequence[str]) -> None:
    existing = [target for target in targets if os.path.lexists(target)]
    if existing:
        raise DestinationError(
            f"refusing to overwrite {count(len(existing), 'existing file')}: {_named(existing)} "
            "(choose an empty directory)"
        )


def _refuse_landing_inside(targets: Sequence[str], root: str) -> None:
    inside = safe_paths.landing_inside(list(targets), root)
    if inside:
        raise DestinationError(
            f"refusing to write into the input directory {root} through a symbolic link: {_named(inside)}"
        )


def _refuse_moving_from_outside(plan: DedupPlan) -> None:
    outside = safe_paths.living_outside([item.path for item in plan.dropped], plan.root)
    if outside:
        raise DestinationError(
            f"refusing to move files that live outside the input directory {plan.root} (reached "
            f"through a symbolic link): {_named(outside)} (use --out to copy the kept files instead)"
        )


def _refuse_unmovable(plan: DedupPlan) -> None:
    """A file can only leave a directory we may write to: find out before the first move."""
    locked = sorted({os.path.dirname(item.path) or os.curdir for item in plan.dropped})
    locked = [directory for directory in locked if not os.access(directory, os.W_OK | os.X_OK)]
    if locked:
        raise DestinationError(
            f"cannot move files out of directories that are not writable: {_named(locked)} "
            "(use --out to copy the kept files instead)"
        )


def _named(items: Sequence[str]) -> str:
    """The first NAMED_IN_REFUSAL items, then how many more: a refusal stays one readable line."""
    named = ", ".join(items[:NAMED_IN_REFUSAL])
    hidden = len(items) - NAMED_IN_REFUSAL
    return f"{named} and {hidden} more" if hidden > 0 else named


def _within(path: str, directory: str) -> bool:
    """Whether `path` is `directory` or below it, links resolved."""
    real_path, real_directory = os.path.realpath(path), os.path.realpath(directory)
    return os.path.commonpath([real_path, real_directory]) == real_directory


def _nested(first: str, second: str) -> bool:
    return _within(first, second) or _within(second, first)


def _same(path: str, targets: Sequence[str]) -> bool:
    real = os.path.realpath(path)
    return any(os.path.realpath(target) == real for target in targets)


def write_kept(plan: DedupPlan, out_dir: str, progress: Progress | None = None) -> int:
    """Copy every kept file to `out_dir` at its relative path; returns how many were written.

    Each copy is made from bytes checked against the planned hash, with the source's times
    (newest/oldest stay meaningful in the copy), and is created exclusively: an existing file
    is never overwritten, even one that appeared after `check_destinations`.
    """
    if progress:
        progress.start("Copying", len(plan.kept))
    for item in plan.kept:
        target = os.path.join(out_dir, item.relative_path)
        try:
            _refuse_landing_inside([target], plan.root)  # again: a link may have appeared since
            os.makedirs(os.path.dirname(target) or os.curdir, exist_ok=True)
            if not _holds(target, item):  # else copied by an earlier run that was interrupted
                with open(item.path, "rb") as source:
                    data = source.read()
                if ingest.content_hash(data) != item.content_hash:
                    raise ChangedFilesError(f"refusing to copy {item.path}: it changed since the report")
                _create(target, data)
            shutil.copystat(item.path, target)
        except FileExistsError:
            raise DestinationError(f"refusing to overwrite {target}") from None
        except OSError as error:
            raise DestinationError(f"cannot copy {item.path} to {target}: {_reason(error)}") from None
        if progress:
            progress.advance()
    return len(plan.kept)


def _create(target: str, data: bytes) -> None:
    """A new file holding `data`, or none: a copy cut short (Ctrl-C, SIGTERM, a full disk) is
    removed, so that a re-run does not take it for a file in the way."""
    with open(target, "xb") as copy:
        try:
            copy.write(data)
            copy.flush()
        except BaseException:
            os.unlink(target)
            raise


def move_dropped(plan: DedupPlan, move_to: str, progress: Progress | None = None) -> int:
    """Move every dropped file below `move_to` at its relative path; returns how many moved."""
    if progress:
        progress.start("Moving", len(plan.dropped))
    for item in plan.dropped:
        target = os.path.join(move_to, item.relative_path)
        try:
            _refuse_landing_inside([target], plan.root)  # again: a link may have appeared since
            os.makedirs(os.path.dirname(target) or os.curdir, exist_ok=True)
            _move_without_overwriting(item.path, target)
        except FileExistsError:
            raise DestinationError(f"refusing to overwrite {target}") from None
        except OSError as error:
            raise DestinationError(f"cannot move {item.path} to {target}: {_reason(error)}") from None
        if progress:
            progress.advance()
    return len(plan.dropped)


def _move_without_overwriting(source: str, target: str) -> None:
    """A move that fails rather than replace `target`.

    os.rename would silently replace an existing target, so the file is hard-linked (which
    fails if the target exists) and then unlinked from its old name. Across filesystems, or
    where hard links are not allowed, it is copied to a newly created file instead. If the
    old name cannot be removed, the new one is, so a failed move leaves things as they were.
    """
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
            raise
        with open(source, "rb") as original, open(target, "xb") as copy:
            shutil.copyfileobj(original, copy)
        shutil.copystat(source, target)
    try:
        os.unlink(source)
    except OSError:
        os.unlink(target)  # the new name we just made, never the user's file: the move did not happen
        raise


MANIFEST_FIELDS = (
    "action",
    "path",
    "relative_path",
    "cluster",
    "kind",
    "kept_copy",
    "reason",
    "bytes",
    "content_hash",
)


def manifest_format_for(path: str, explicit: str | None = None) -> ManifestFormat:
    """The format asked for, else the one the file name ends with (JSON for stdout)."""
    if explicit is not None:
        return ManifestFormat(explicit)
    if path == "-":
        return ManifestFormat.JSON
    extension = os.path.splitext(path)[1].lower().lstrip(".")
    try:
        return ManifestFormat(extension)
    except ValueError:
        raise InputError(
            f"{path}: cannot tell the manifest format from the name (end it in .json or .csv, "
            "or use --manifest-format)"
        ) from None


def manifest_rows(plan: DedupPlan) -> list[dict[str, str | int | None]]:
    return [
        {
            "action": item.action,
            "path": json_safe(item.path),
            "relative_path": json_safe(item.relative_path),
            "cluster": item.cluster,
            "kind": item.kind,
            "kept_copy": json_safe(item.kept_copy),
            "reason": json_safe(item.reason),
            "bytes": item.size_bytes,
            "content_hash": item.content_hash,
        }
        for item in plan.files
    ]


def _manifest_json(plan: DedupPlan) -> str:
    from .render.json import escape_unsafe, path_bytes

    rows = manifest_rows(plan)
    for row, item in zip(rows, plan.files, strict=True):
        exact = path_bytes(item.path)  # as in reports: the name's bytes when it is not UTF-8
        if exact is not None:
            row["path_bytes"] = exact
    document = {
        "storydiff_version": __version__,
        "input": json_safe(plan.root),
        "keep": plan.keep,
        **summary_counts(plan),
        "dropped_by_kind": plan.dropped_by_kind,
        "files": rows,
    }
    return escape_unsafe(json.dumps(document, ensure_ascii=False, indent=1)) + "\n"


def _manifest_csv(plan: DedupPlan) -> str:
    output = io.StringIO()
    writer = csv.DictWriter(output, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(manifest_rows(plan))
    return output.getvalue()


MANIFEST_RENDERERS: dict[ManifestFormat, Callable[[DedupPlan], str]] = {
    ManifestFormat.JSON: _manifest_json,
    ManifestFormat.CSV: _manifest_csv,
}


def render_manifest(plan: DedupPlan, manifest_format: ManifestFormat) -> str:
    return MANIFEST_RENDERERS[manifest_format](plan)


def write_manifest(plan: DedupPlan, path: str, manifest_format: ManifestFormat) -> None:
    try:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(render_manifest(plan, manifest_format))
    except OSError as error:
        raise DestinationError(f"{path}: cannot write the manifest: {_reason(error)}") from None


def summary_counts(plan: DedupPlan) -> dict[str, int]:
    return {
        "documents_in": len(plan.files),
        "documents_out": len(plan.kept),
        "clusters": plan.clusters,
        "dropped": len(plan.dropped),
        "bytes_saved": plan.bytes_saved,
    }


def summary_line(plan: DedupPlan) -> str:
    counts = summary_counts(plan)
    by_kind = ", ".join(f"{number:,} {kind}" for kind, number in plan.dropped_by_kind.items() if number)
    return (
        f"{count(counts['documents_in'], 'document')} in, {counts['documents_out']:,} out: "
        f"{count(counts['clusters'], 'cluster')}, {count(counts['dropped'], 'copy', 'copies')} dropped"
        f"{f' ({by_kind})' if by_kind else ''}, {counts['bytes_saved']:,} bytes saved"
    )


def plan_lines(plan: DedupPlan) -> list[str]:
    """The plan for reading, one line per file: what happens to it and why."""
    lines = []
    for item in plan.files:
        where = f"cluster {item.cluster}: " if item.cluster is not None else ""
        lines.append(f"{item.action}  {item.path}  ({where}{item.reason})")
    return lines

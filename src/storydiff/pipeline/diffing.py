"""Clusters to member diffs: the batch function the engines run and the stage that orders
clusters and hands them out."""

from __future__ import annotations

import bisect
import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt

from .. import cluster, ingest, shingles, spill
from ..boilerplate import RepeatedLines
from ..diff import WordDiff, copy_kind, diff_tokens, tokenize, word_diff
from ..errors import InputError
from ..model import (
    CleanedDocument,
    Cluster,
    FileRecord,
    MemberDiff,
    Pair,
    Removal,
    Report,
    Segment,
    Skipped,
    SourceFile,
    StrippedLine,
)
from ..settings import Settings
from ..store import cache
from ..store.keys import (
    cluster_key,
    diff_context,
)
from . import batching, corpus_table, signing
from .batching import _chunks
from .corpus_table import Corpus
from .protocols import Engine, Progress


@dataclass(frozen=True)
class DiffTask:
    """One cluster to diff: its representative and other members, as (path, fs_path, content hash);
    each member's (Jaccard, containment) against the representative when verification measured
    it, else None; and, in the order of representative then members, where the exact shingle
    sets needed for the others were spilled, as (file, start, end), else None.

    Verification has measured most members against their representative already: reading
    both sets again and intersecting them cost a tenth of the diff stage.
    """

    representative: tuple[str, str, str]
    members: tuple[tuple[str, str, str], ...]
    similarities: tuple[tuple[float, float] | None, ...]
    sets: tuple[tuple[str, int, int] | None, ...]
    # Representative, then members: whether it held a repeated line (see clean_each); all
    # True when not known.
    holding: tuple[bool, ...] = ()


def diff_batch(
    tasks: Sequence[DiffTask], settings: Settings, repeated: RepeatedLines | None = None, diffs: bool = True
) -> list[list[MemberDiff | Skipped]]:
    """Read each cluster's texts again and diff every member against the representative.

    The first item of each result is the representative (or why it could not be read again).
    Without `diffs`, each member gets its similarity to the representative and its kind only
    (what dedup and `--no-diffs` need): word diffs, most of this stage, are skipped.
    """
    with spill.SetReader() as reader:
        results: list[list[MemberDiff | Skipped]] = []
        listed = [(task.representative, *task.members) for task in tasks]
        cleaned = signing.clean_each(
            (SourceFile(path, fs_path) for members in listed for path, fs_path, _ in members),
            settings,
            repeated=repeated,
            holding=(
                holds
                for task, members in zip(tasks, listed, strict=True)
                for holds in (task.holding or (True,) * len(members))
            ),
        )
        for task, members in zip(tasks, listed, strict=True):
            texts: list[CleanedDocument | Skipped] = []
            for (path, _, content_hash), item in zip(members, cleaned, strict=False):
                if isinstance(item, CleanedDocument) and item.document.content_hash != content_hash:
                    item = Skipped(path, "changed while storydiff was reading it (run again)")
                texts.append(item)
            base = texts[0]
            if isinstance(base, Skipped):
                results.append([base])
                continue
            base_tokens = tokenize(base.text, representative=True) if diffs else None
            outcome: list[MemberDiff | Skipped] = [
                MemberDiff(base.document.path, 1.0, 1.0, 0, 0, (), is_representative=True)
            ]
            base_set = None
            for item, similarity, location in zip(texts[1:], task.similarities, task.sets[1:], strict=True):
                if isinstance(item, Skipped):
                    outcome.append(item)
                    continue
                if similarity is None:
                    if base_set is None:
                        base_set = reader.read(*cast(tuple[str, int, int], task.sets[0]))
                    similarity = cluster.similarity(
                        base_set, reader.read(*cast(tuple[str, int, int], location))
                    )
                jaccard, containment = similarity
                if base_tokens is None:
                    kind = copy_kind(base.text, item.text)
                    outcome.append(MemberDiff(item.document.path, jaccard, containment, 0, 0, (), kind=kind))
                    continue
                outcome.append(
                    _member_diff(
                        base, item, jaccard, containment, word_diff(base_tokens, item.text), settings
                    )
                )
            results.append(outcome)
    return results


def _member_diff(
    base: CleanedDocument,
    item: CleanedDocument,
    jaccard: float,
    containment: float,
    change: WordDiff,
    settings: Settings,
) -> MemberDiff:
    """`item`'s diff against the representative `base`, with the stripped lines of both when
    the settings ask to show them."""
    return MemberDiff(
        path=item.document.path,
        jaccard=jaccard,
        containment=containment,
        added_words=change.added_words,
        removed_words=change.removed_words,
        segments=change.segments,
        moved_words=change.moved_words,
        changed_figures=change.changed_figures,
        kind=copy_kind(base.text, item.text),
        representative_stripped=(
            on_representative_side(stripped_lines(base), change.segments) if settings.show_stripped else ()
        ),
        member_stripped=(
            on_member_side(stripped_lines(item), item.text, change.segments) if settings.show_stripped else ()
        ),
    )


def stripped_lines(item: CleanedDocument) -> tuple[StrippedLine, ...]:
    """The document's removed lines with the offsets in its cleaned text where they stood.

    The cleaned text is the kept non-blank lines, stripped, joined by newlines (see
    boilerplate.strip), so each kept line starts one past the end of the one before.
    """
    if not item.removals:
        return ()
    text = item.document.text
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if "\r" in text else text.split("\n")
    removed_at = {removal.line_number - 1: removal for removal in item.removals}
    placed: list[StrippedLine] = []
    waiting: list[Removal] = []
    offset = 0
    for index, line in enumerate(lines):
        if index in removed_at:
            waiting.append(removed_at[index])
            continue
        kept = line.strip()
        if not kept:
            continue
        placed.extend(StrippedLine(offset, removal.rule, removal.text.strip()) for removal in waiting)
        waiting = []
        offset += len(kept) + 1
    placed.extend(StrippedLine(len(item.text), removal.rule, removal.text.strip()) for removal in waiting)
    return tuple(placed)


def on_representative_side(
    lines: tuple[StrippedLine, ...], segments: Sequence[Segment]
) -> tuple[StrippedLine, ...]:
    """Representative offsets moved from its cleaned text to the representative's side of the
    diff (its `equal` and `delete` texts joined, in reading order).

    The two are the same unless a passage moved: a moved passage stands at its new place, so
    its old text is not on that side. A line that stood where a moved passage was goes
    before the next `equal` or `delete` segment.
    """
    if not lines or not any(segment.op == "move" for segment in segments):
        return lines
    spans: list[tuple[int, int, int]] = []  # (start, end) in the cleaned text, start on the side
    side_at = 0
    for segment in segments:
        if segment.op in ("equal", "delete"):
            spans.append((segment.a[0], segment.a[1], side_at))
            side_at += len(segment.text)
    placed = []
    for line in lines:
        offset = side_at
        for start, end, at in spans:
            if line.offset < end:
                offset = at + max(line.offset - start, 0)
                break
        placed.append(dataclasses.replace(line, offset=offset))
    return tuple(placed)


def on_member_side(
    lines: tuple[StrippedLine, ...], text: str, segments: Sequence[Segment]
) -> tuple[StrippedLine, ...]:
    """Member offsets moved from the member's cleaned text to the member's side of the diff.

    The member's side of the diff is its `equal`, `insert` and `move` segments' new texts
    joined, in reading order; it is the member's text token for token (and a stripped line
    always stands at a token start), so offsets are mapped token by token.
    """
    if not lines:
        return lines
    token_starts = [0]
    for token in diff_tokens(text):
        token_starts.append(token_starts[-1] + len(token))
    side_starts = [0]
    for segment in segments:
        if segment.op != "delete":
            for token in diff_tokens(segment.new_text):
                side_starts.append(side_starts[-1] + len(token))
    if len(side_starts) != len(token_starts):  # not expected; keep the offsets, within the side
        return tuple(dataclasses.replace(line, offset=min(line.offset, side_starts[-1])) for line in lines)
    return tuple(
        dataclasses.replace(line, offset=side_starts[bisect.bisect_left(token_starts, line.offset)])
        for line in lines
    )


def _diff_clusters(
    verified: Sequence[Pair],
    corpus: Corpus,
    settings: Settings,
    engine: Engine,
    progress: Progress,
    repeated: RepeatedLines,
    signature_cache: cache.SignatureCache | None = None,
    set_ids: Sequence[str] | None = None,
    spill_to: str = "",
    on_diffed: Callable[[Sequence[MemberDiff]], None] | None = None,
    holding: npt.NDArray[np.bool_] | None = None,
    diffs: bool = True,
) -> tuple[list[Cluster], dict[str, Skipped], list[str]]:
    """Diff every cluster; returns the clusters in output order, the files that vanished, and
    with the cache, each cluster's key in it (see below; none without).

    A member that vanished or changed since it was signed is skipped, and the rest of its
    cluster is clustered again from the verified pairs that do not involve it (it may have
    been what joined them), until every cluster was diffed whole.

    With `set_ids` (see verified_pairs) and the cache, a cluster diffed by an earlier run
    (the same members, contents, representative and settings: `cluster_key`) is taken from
    the cache, and the clusters diffed here are stored.

    `on_diffed` sees each cluster's members as they come (see run_cluster); `holding` marks
    the rows that held a repeated line (`holding_repeated`), the only ones whose lines the
    re-read looks up among the repeated lines (None: all of them). Without `diffs`, members
    carry their similarities only (see diff_batch) and nothing is taken from or kept in the cache.
    """
    memo = diffs and signature_cache is not None and signature_cache.enabled and set_ids is not None
    context = diff_context(settings, repeated) if memo else ""
    word_counts, mtimes = corpus.word_counts.tolist(), corpus.mtimes.tolist()
    rank = cluster.keep_rank(settings.keep, word_counts, mtimes)
    components = cluster.star_clusters(len(corpus.paths), verified, rank, corpus.content_hashes)
    measured = {(pair.left, pair.right): (pair.jaccard, pair.containment) for pair in verified}
    progress.start("Diffing", sum(len(component) - 1 for component in components))
    vanished: dict[str, Skipped] = {}
    clusters: list[tuple[Cluster, str]] = []  # each with its key in the cache ("" without)
    while components:
        orders = []
        keys: list[str] = []
        for component in components:
            ordered = tuple(component)  # the representative first
            orders.append(ordered)
            if memo and set_ids is not None:
                keys.append(
                    cluster_key(
                        context,
                        [(corpus.paths[row], corpus.content_hashes[row], set_ids[row]) for row in ordered],
                    )
                )
        stored = signature_cache.get_diffs(keys) if memo and signature_cache is not None else {}
        to_diff = [ordered for number, ordered in enumerate(orders) if not keys or keys[number] not in stored]
        similarities = [
            tuple(measured.get((min(ordered[0], member), max(ordered[0], member))) for member in ordered[1:])
            for ordered in to_diff
        ]
        needed = [_sets_needed(ordered, known) for ordered, known in zip(to_diff, similarities, strict=True)]
        if corpus.unloaded is not None:  # verification took pairs from the cache: these sets may be unread
            rows = np.array([row for wanted in needed for row in wanted], dtype=np.int64)
            corpus = corpus_table.load_sets(corpus, rows, settings, signature_cache, spill_to, engine)
        tasks = [
            DiffTask(
                corpus.source(ordered[0]),
                tuple(corpus.source(member) for member in ordered[1:]),
                known,
                tuple(corpus.set_location(row) if row in wanted else None for row in ordered),
                () if holding is None else tuple(holding[list(ordered)].tolist()),
            )
            for ordered, known, wanted in zip(to_diff, similarities, needed, strict=True)
        ]
        diffed = (
            outcome
            for results in engine.map(
                diff_batch, _chunks(tasks, batching.DIFF_BATCH_CLUSTERS), settings, repeated, diffs
            )
            for outcome in results
        )
        fresh: dict[str, list[MemberDiff]] = {}
        survivors: set[int] = set()
        for number, component in enumerate(components):
            if keys and keys[number] in stored:
                members = list(stored[keys[number]])
                progress.advance(len(members) - 1)
                clusters.append(
                    (Cluster(id=0, representative=members[0].path, members=tuple(members)), keys[number])
                )
                if on_diffed is not None:
                    on_diffed(members)
                continue
            outcome = next(diffed)
            progress.advance(len(outcome) - 1)
            lost = {item.path: item for item in outcome if isinstance(item, Skipped)}
            if lost:
                vanished.update(lost)
                survivors.update(member for member in component if corpus.paths[member] not in lost)
                continue
            members = [item for item in outcome if isinstance(item, MemberDiff)]
            members[1:] = sorted(members[1:], key=lambda item: item.path)
            clusters.append(
                (
                    Cluster(id=0, representative=members[0].path, members=tuple(members)),
                    keys[number] if keys else "",
                )
            )
            if on_diffed is not None:
                on_diffed(members)
            if keys:
                fresh[keys[number]] = members
                if len(fresh) >= batching.DIFF_STORE_CLUSTERS and signature_cache is not None:
                    # Encoded now, while the workers diff the next clusters, not all at the end.
                    signature_cache.put_diffs(fresh)
                    fresh = {}
        if fresh and signature_cache is not None:
            signature_cache.put_diffs(fresh)
        remaining = [pair for pair in verified if pair.left in survivors and pair.right in survivors]
        components = cluster.star_clusters(len(corpus.paths), remaining, rank, corpus.content_hashes)
    clusters.sort(key=lambda item: (-len(item[0].members), item[0].members[0].path))
    row_of = {path: row for row, path in enumerate(corpus.paths)}
    related = cluster.related_clusters(
        [[row_of[member.path] for member in item.members] for item, _ in clusters],
        [
            pair
            for pair in verified
            if corpus.paths[pair.left] not in vanished and corpus.paths[pair.right] not in vanished
        ],
    )
    numbered = [
        Cluster(number, item.representative, item.members, tuple(other + 1 for other in linked))
        for number, ((item, _), linked) in enumerate(zip(clusters, related, strict=True), start=1)
    ]
    return numbered, vanished, [key for _, key in clusters] if memo else []


def _sets_needed(ordered: tuple[int, ...], similarities: tuple[tuple[float, float] | None, ...]) -> set[int]:
    """The rows of a cluster (representative first) whose sets its diff reads: the members that
    verification did not measure against the representative (joined to the cluster through
    another member) and, when there are any, the representative."""
    unmeasured = {row for row, known in zip(ordered[1:], similarities, strict=True) if known is None}
    return {ordered[0], *unmeasured} if unmeasured else set()


def diff_files(old_path: str, new_path: str, settings: Settings) -> Report:
    """Two files read and cleaned as `cluster` would, and the second diffed against the first,
    as a report of one cluster (the first file its representative), whatever their similarity.

    Raises InputError when either cannot be read (missing, a directory, not text, empty).
    """
    texts = []
    for path in (old_path, new_path):
        if os.path.isdir(path):
            raise InputError(f"{path}: is a directory (storydiff diff compares two files)")
        if not os.path.lexists(path):
            raise InputError(f"{path}: no such file or directory")
        item = signing.clean(SourceFile(ingest.display_path(path), path), settings)
        if isinstance(item, Skipped):
            raise InputError(f"{item.path}: {item.reason}")
        texts.append(item)
    old, new = texts
    old_set, new_set = shingles.shingle_sets([old.text, new.text], settings.ngram, settings.seed)
    jaccard, containment = cluster.similarity(old_set, new_set)
    members = (
        MemberDiff(old.document.path, 1.0, 1.0, 0, 0, (), is_representative=True),
        _member_diff(old, new, jaccard, containment, word_diff(old.text, new.text), settings),
    )
    return Report(
        settings=settings.as_dict(),
        documents=2,
        clusters=(Cluster(1, old.document.path, members),),
        singletons=(),
        skipped=(),
        kind="pair",
        inputs=(old.document.path, new.document.path),
        files=tuple(
            sorted(
                {
                    FileRecord(item.document.path, item.document.content_hash, item.document.size_bytes)
                    for item in (old, new)
                },
                key=lambda record: record.path,
            )
        ),
    )

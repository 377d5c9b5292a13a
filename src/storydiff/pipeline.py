"""The cluster pipeline: files → documents → cleaned text → shingles → signatures →
candidate pairs → verified pairs → clusters → diffs → report.

`run_cluster` wires the stages together. The heavy work is done by three batch functions
(`sign_batch`, `verify_batch`, `diff_batch`) that take and return picklable values, so an
engine can run them in this process, in a process pool or on a Dask cluster. Signing keeps
no text: it spills each document's exact shingle set to a temporary file for verification,
and only the documents that end up in a cluster are read again, for their diffs.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from . import boilerplate, cluster, ingest, shingles, spill
from .diff import WordDiff, tokenize, word_diff
from .errors import InputError
from .model import CleanedDocument, Cluster, MemberDiff, Pair, Report, SignedBatch, Skipped, SourceFile
from .settings import Settings
from .signatures import batch_signatures

SIGN_BATCH_FILES = 512
VERIFY_BATCH_PAIRS = 8192
DIFF_BATCH_CLUSTERS = 32


class Progress(Protocol):
    """Where the pipeline reports how far it has got; the CLI draws it, tests ignore it."""

    def start(self, stage: str, total: int) -> None: ...

    def advance(self, amount: int = 1) -> None: ...


class Engine(Protocol):
    def map(self, function: Any, batches: Sequence[Any], *args: Any) -> Any: ...


class _NoProgress:
    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass


def rules_for(settings: Settings) -> tuple[boilerplate.Rule, ...]:
    return boilerplate.rules_for_pack(settings.pack) if settings.strip else ()


def clean(source: SourceFile, settings: Settings, tidy: bool = True) -> CleanedDocument | Skipped:
    """Read one file and strip its boilerplate (`tidy`: see boilerplate.strip)."""
    document = ingest.read_document(source, settings.encoding)
    if isinstance(document, Skipped):
        return document
    stripped = boilerplate.strip(document.text, rules_for(settings), tidy)
    return CleanedDocument(document=document, text=stripped.text, removals=stripped.removals)


def sign_batch(job: tuple[str, Sequence[SourceFile]], settings: Settings, spill_to: str) -> SignedBatch:
    """Read, clean, shingle and sign a batch of files; the exact sets go to a file in `spill_to`."""
    name, sources = job
    cleaned = [clean(source, settings, tidy=False) for source in sources]
    kept = [item for item in cleaned if isinstance(item, CleanedDocument)]
    batch = shingles.batch_shingles([item.text for item in kept], settings.ngram, settings.seed)
    set_values, set_offsets = shingles.distinct_sets(batch)
    totals: Counter[str] = Counter()
    for item in kept:
        totals.update(removal.rule for removal in item.removals)
    return SignedBatch(
        paths=tuple(item.document.path for item in kept),
        fs_paths=tuple(item.document.fs_path for item in kept),
        content_hashes=tuple(item.document.content_hash for item in kept),
        sizes=np.array([item.document.size_bytes for item in kept], dtype=np.int64),
        word_counts=batch.word_counts,
        shingle_counts=np.diff(set_offsets),
        signatures=batch_signatures(batch, settings.num_perm, settings.seed),
        set_file=spill.write_sets(spill_to, name, set_values),
        set_offsets=set_offsets,
        skipped=tuple(item for item in cleaned if isinstance(item, Skipped)),
        boilerplate=tuple(sorted(totals.items())),
    )


@dataclass(frozen=True)
class VerifyJob:
    """Candidate pairs and where each side's exact set lies in the spilled files."""

    pairs: npt.NDArray[np.int64]
    files: tuple[str, ...]
    left: npt.NDArray[np.int64]  # rows of (file index, start, end)
    right: npt.NDArray[np.int64]


def verify_batch(
    job: VerifyJob,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Exact Jaccard, containment and smaller set size of each pair."""
    reader = spill.SetReader()
    count = len(job.pairs)
    jaccard = np.zeros(count)
    containment = np.zeros(count)
    smaller = np.zeros(count, dtype=np.int64)
    for index in range(count):
        file_left, start_left, end_left = job.left[index].tolist()
        file_right, start_right, end_right = job.right[index].tolist()
        left = reader.read(job.files[file_left], start_left, end_left)
        right = reader.read(job.files[file_right], start_right, end_right)
        jaccard[index], containment[index] = cluster.similarity(left, right)
        smaller[index] = min(len(left), len(right))
    return jaccard, containment, smaller


@dataclass(frozen=True)
class DiffTask:
    """One cluster to diff: its representative and other members, as (path, fs_path, content hash),
    and where each one's exact shingle set was spilled, as (file, start, end), in the same order."""

    representative: tuple[str, str, str]
    members: tuple[tuple[str, str, str], ...]
    sets: tuple[tuple[str, int, int], ...]


def diff_batch(tasks: Sequence[DiffTask], settings: Settings) -> list[list[MemberDiff | Skipped]]:
    """Read each cluster's texts again and diff every member against the representative.

    The first item of each result is the representative (or why it could not be read again).
    """
    reader = spill.SetReader()
    results: list[list[MemberDiff | Skipped]] = []
    for task in tasks:
        texts: list[CleanedDocument | Skipped] = []
        for path, fs_path, content_hash in (task.representative, *task.members):
            item = clean(SourceFile(path, fs_path), settings)
            if isinstance(item, CleanedDocument) and item.document.content_hash != content_hash:
                item = Skipped(path, "changed while storydiff was reading it (run again)")
            texts.append(item)
        base = texts[0]
        if isinstance(base, Skipped):
            results.append([base])
            continue
        sets = [reader.read(*location) for location in task.sets]
        base_tokens = tokenize(base.text)
        outcome: list[MemberDiff | Skipped] = [
            MemberDiff(base.document.path, 1.0, 1.0, 0, 0, (), is_representative=True)
        ]
        for item, member_set in zip(texts[1:], sets[1:], strict=True):
            if isinstance(item, Skipped):
                outcome.append(item)
                continue
            jaccard, containment = cluster.similarity(sets[0], member_set)
            outcome.append(
                _member_diff(item.document.path, jaccard, containment, word_diff(base_tokens, item.text))
            )
        results.append(outcome)
    return results


def _member_diff(path: str, jaccard: float, containment: float, change: WordDiff) -> MemberDiff:
    return MemberDiff(
        path=path,
        jaccard=jaccard,
        containment=containment,
        added_words=change.added_words,
        removed_words=change.removed_words,
        segments=change.segments,
        moved_words=change.moved_words,
        changed_figures=change.changed_figures,
    )


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


@dataclass(frozen=True)
class _Corpus:
    """All signed batches joined: one row per document, in path order."""

    paths: tuple[str, ...]
    fs_paths: tuple[str, ...]
    content_hashes: tuple[str, ...]
    word_counts: npt.NDArray[np.int64]
    shingle_counts: npt.NDArray[np.int64]
    signatures: npt.NDArray[np.uint32]
    set_files: tuple[str, ...]
    set_locations: npt.NDArray[np.int64]  # rows of (file index, start, end)

    def source(self, index: int) -> tuple[str, str, str]:
        return self.paths[index], self.fs_paths[index], self.content_hashes[index]

    def set_location(self, index: int) -> tuple[str, int, int]:
        file, start, end = self.set_locations[index].tolist()
        return self.set_files[file], start, end


def _join(batches: Sequence[SignedBatch], num_perm: int) -> _Corpus:
    def joined(arrays: list[npt.NDArray[Any]], empty: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.concatenate(arrays) if arrays else empty

    locations = [
        np.stack((np.full(len(batch), index), batch.set_offsets[:-1], batch.set_offsets[1:]), axis=1)
        for index, batch in enumerate(batches)
    ]
    return _Corpus(
        paths=tuple(path for batch in batches for path in batch.paths),
        fs_paths=tuple(path for batch in batches for path in batch.fs_paths),
        content_hashes=tuple(value for batch in batches for value in batch.content_hashes),
        word_counts=joined([batch.word_counts for batch in batches], np.empty(0, np.int64)),
        shingle_counts=joined([batch.shingle_counts for batch in batches], np.empty(0, np.int64)),
        signatures=joined(
            [batch.signatures for batch in batches], np.empty((0, num_perm), np.uint32)
        ).reshape(-1, num_perm),
        set_files=tuple(batch.set_file for batch in batches),
        set_locations=joined(locations, np.empty((0, 3), np.int64)).astype(np.int64),
    )


def run_cluster(
    paths: Sequence[str],
    settings: Settings,
    progress: Progress | None = None,
    engine: Engine | None = None,
) -> Report:
    """Cluster the near-duplicates among the files under `paths` and diff each cluster."""
    from .engines.local import LocalEngine

    progress = progress or _NoProgress()
    if engine is None:
        with LocalEngine(jobs=1) as local:
            return run_cluster(paths, settings, progress, local)

    sources, walk_problems = ingest.discover(paths, settings.glob, settings.exclude)
    skipped: list[Skipped] = list(walk_problems)
    with spill.spill_directory() as spill_to:
        progress.start("Signing", len(sources))
        batches: list[SignedBatch] = []
        totals: Counter[str] = Counter()
        jobs = [(f"{number:06d}", chunk) for number, chunk in enumerate(_chunks(sources, SIGN_BATCH_FILES))]
        for signed in engine.map(sign_batch, jobs, settings, spill_to):
            batches.append(signed)
            skipped.extend(signed.skipped)
            totals.update(dict(signed.boilerplate))
            progress.advance(len(signed) + len(signed.skipped))
        corpus = _join(batches, settings.num_perm)
        del batches

        progress.start("Finding candidates", 1)
        candidates = cluster.candidate_pairs(
            corpus.signatures,
            corpus.shingle_counts > 0,
            corpus.shingle_counts,
            settings.lsh_bands,
            settings.rows_per_band,
        )
        likely = cluster.likely_pairs(candidates, corpus.signatures, corpus.shingle_counts, settings)
        del candidates
        progress.advance()

        progress.start("Verifying", len(likely))
        verified: list[Pair] = []
        verify_jobs = [
            VerifyJob(
                chunk, corpus.set_files, corpus.set_locations[chunk[:, 0]], corpus.set_locations[chunk[:, 1]]
            )
            for chunk in (
                likely[start : start + VERIFY_BATCH_PAIRS]
                for start in range(0, len(likely), VERIFY_BATCH_PAIRS)
            )
        ]
        for job, (jaccard, containment, smaller) in zip(
            verify_jobs, engine.map(verify_batch, verify_jobs), strict=True
        ):
            keep = np.flatnonzero(cluster.near_duplicate_mask(jaccard, containment, smaller, settings))
            verified.extend(
                Pair(int(job.pairs[i, 0]), int(job.pairs[i, 1]), float(jaccard[i]), float(containment[i]))
                for i in keep
            )
            progress.advance(len(job.pairs))
        components = cluster.connected_components(len(corpus.paths), verified)
        clusters, vanished = _diff_clusters(components, corpus, settings, engine, progress)
    skipped.extend(item for item in vanished.values())
    clustered = {path for item in clusters for path in (member.path for member in item.members)}
    return Report(
        settings=settings.as_dict(),
        documents=len(corpus.paths) - len(vanished),
        clusters=tuple(clusters),
        singletons=tuple(path for path in corpus.paths if path not in clustered and path not in vanished),
        skipped=tuple(sorted(skipped, key=lambda item: item.path)),
        boilerplate=tuple(sorted(totals.items())),
    )


def _diff_clusters(
    components: Sequence[Sequence[int]],
    corpus: _Corpus,
    settings: Settings,
    engine: Engine,
    progress: Progress,
) -> tuple[list[Cluster], dict[str, Skipped]]:
    """Diff every cluster; returns the clusters in output order and the files that vanished."""
    word_counts = corpus.word_counts.tolist()
    tasks = []
    for component in components:
        representative = cluster.choose_representative(component, word_counts, settings.keep)
        others = [member for member in component if member != representative]
        tasks.append(
            DiffTask(
                corpus.source(representative),
                tuple(corpus.source(member) for member in others),
                tuple(corpus.set_location(member) for member in (representative, *others)),
            )
        )

    progress.start("Diffing", sum(len(task.members) for task in tasks))
    vanished: dict[str, Skipped] = {}
    clusters = []
    for results in engine.map(diff_batch, _chunks(tasks, DIFF_BATCH_CLUSTERS), settings):
        for outcome in results:
            progress.advance(len(outcome) - 1)
            for item in outcome:
                if isinstance(item, Skipped):
                    vanished[item.path] = item
            members = [item for item in outcome if isinstance(item, MemberDiff)]
            if isinstance(outcome[0], MemberDiff) and len(members) > 1:
                members[1:] = sorted(members[1:], key=lambda item: item.path)
                clusters.append(Cluster(id=0, representative=members[0].path, members=tuple(members)))
    clusters.sort(key=lambda item: (-len(item.members), item.members[0].path))
    numbered = [
        Cluster(number, item.representative, item.members) for number, item in enumerate(clusters, start=1)
    ]
    return numbered, vanished


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
        item = clean(SourceFile(ingest.display_path(path), path), settings)
        if isinstance(item, Skipped):
            raise InputError(f"{item.path}: {item.reason}")
        texts.append(item)
    old, new = texts
    old_set, new_set = shingles.shingle_sets([old.text, new.text], settings.ngram, settings.seed)
    jaccard, containment = cluster.similarity(old_set, new_set)
    members = (
        MemberDiff(old.document.path, 1.0, 1.0, 0, 0, (), is_representative=True),
        _member_diff(new.document.path, jaccard, containment, word_diff(old.text, new.text)),
    )
    return Report(
        settings=settings.as_dict(),
        documents=2,
        clusters=(Cluster(1, old.document.path, members),),
        singletons=(),
        skipped=(),
        kind="pair",
    )

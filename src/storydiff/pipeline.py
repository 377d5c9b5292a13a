"""The cluster pipeline: files → documents → cleaned text → shingles → signatures →
candidate pairs → verified pairs → clusters → diffs → report.

`run_cluster` wires the stages together. The heavy per-file work is done by three batch
functions (`sign_batch`, `load_batch`, `diff_batch`) that take and return picklable values,
so an engine can run them in this process, in a process pool or on a Dask cluster. Signing
keeps no text; only the documents that turn out to be candidates are read again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from . import boilerplate, cluster, ingest, shingles
from .diff import WordDiff, word_diff
from .model import CleanedDocument, Cluster, MemberDiff, Report, SignedBatch, Skipped, SourceFile
from .settings import Settings
from .signatures import batch_signatures

SIGN_BATCH_FILES = 512
LOAD_BATCH_FILES = 256
DIFF_BATCH_PAIRS = 64


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


def clean(source: SourceFile, settings: Settings) -> CleanedDocument | Skipped:
    """Read one file and strip its boilerplate."""
    document = ingest.read_document(source, settings.encoding)
    if isinstance(document, Skipped):
        return document
    stripped = boilerplate.strip(document.text, rules_for(settings))
    return CleanedDocument(document=document, text=stripped.text, removals=stripped.removals)


def sign_batch(sources: Sequence[SourceFile], settings: Settings) -> SignedBatch:
    """Read, clean, shingle and sign a batch of files; no text leaves this function."""
    cleaned = [clean(source, settings) for source in sources]
    kept = [item for item in cleaned if isinstance(item, CleanedDocument)]
    batch = shingles.batch_shingles([item.text for item in kept], settings.ngram, settings.seed)
    totals: Counter[str] = Counter()
    for item in kept:
        totals.update(removal.rule for removal in item.removals)
    return SignedBatch(
        paths=tuple(item.document.path for item in kept),
        fs_paths=tuple(item.document.fs_path for item in kept),
        content_hashes=tuple(item.document.content_hash for item in kept),
        sizes=np.array([item.document.size_bytes for item in kept], dtype=np.int64),
        word_counts=batch.word_counts,
        # Windows, not distinct windows: an estimate for candidate filtering only (repeats
        # are rare in prose); verification counts the exact sets.
        shingle_counts=np.diff(batch.offsets),
        signatures=batch_signatures(batch, settings.num_perm, settings.seed),
        skipped=tuple(item for item in cleaned if isinstance(item, Skipped)),
        boilerplate=tuple(sorted(totals.items())),
    )


@dataclass(frozen=True)
class LoadedDocument:
    """A document's cleaned text and exact shingle set, loaded again for verification and diffs."""

    text: str
    shingle_set: npt.NDArray[np.uint64]


def load_batch(items: Sequence[tuple[str, str, str]], settings: Settings) -> list[LoadedDocument | Skipped]:
    """Re-read (path, fs_path, content_hash) items; a file whose bytes changed since signing is skipped."""
    cleaned: list[CleanedDocument | Skipped] = []
    for path, fs_path, content_hash in items:
        result = clean(SourceFile(path, fs_path), settings)
        if isinstance(result, CleanedDocument) and result.document.content_hash != content_hash:
            result = Skipped(path, "changed while storydiff was reading it (run again)")
        cleaned.append(result)
    texts = [item.text for item in cleaned if isinstance(item, CleanedDocument)]
    sets = iter(shingles.shingle_sets(texts, settings.ngram, settings.seed))
    return [
        LoadedDocument(item.text, next(sets)) if isinstance(item, CleanedDocument) else item
        for item in cleaned
    ]


def diff_batch(pairs: Sequence[tuple[str, str]]) -> list[WordDiff]:
    """Word diffs of (representative text, member text) pairs."""
    return [word_diff(old, new) for old, new in pairs]


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


def _join(batches: Sequence[SignedBatch], num_perm: int) -> _Corpus:
    return _Corpus(
        paths=tuple(path for batch in batches for path in batch.paths),
        fs_paths=tuple(path for batch in batches for path in batch.fs_paths),
        content_hashes=tuple(value for batch in batches for value in batch.content_hashes),
        word_counts=np.concatenate([batch.word_counts for batch in batches] or [np.empty(0, np.int64)]),
        shingle_counts=np.concatenate([batch.shingle_counts for batch in batches] or [np.empty(0, np.int64)]),
        signatures=np.concatenate(
            [batch.signatures for batch in batches] or [np.empty((0, num_perm), np.uint32)]
        ).reshape(-1, num_perm),
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

    progress.start("Signing", len(sources))
    batches: list[SignedBatch] = []
    totals: Counter[str] = Counter()
    for signed in engine.map(sign_batch, _chunks(sources, SIGN_BATCH_FILES), settings):
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
    progress.advance()

    needed = np.unique(likely).tolist()
    progress.start("Verifying", len(needed))
    loaded: dict[int, LoadedDocument] = {}
    vanished: set[int] = set()
    requests = [(corpus.paths[i], corpus.fs_paths[i], corpus.content_hashes[i]) for i in needed]
    chunks = _chunks(needed, LOAD_BATCH_FILES)
    for chunk, results in zip(
        chunks, engine.map(load_batch, _chunks(requests, LOAD_BATCH_FILES), settings), strict=True
    ):
        for index, outcome in zip(chunk, results, strict=True):
            if isinstance(outcome, Skipped):
                skipped.append(outcome)
                vanished.add(index)
            else:
                loaded[index] = outcome
        progress.advance(len(chunk))
    verified = cluster.verified_pairs(
        [pair for pair in likely.tolist() if pair[0] not in vanished and pair[1] not in vanished],
        {index: item.shingle_set for index, item in loaded.items()},
        settings,
    )
    components = cluster.connected_components(len(corpus.paths), verified)

    clusters = _diff_clusters(components, corpus, loaded, settings, engine, progress)
    clustered = {index for members in components for index in members}
    return Report(
        settings=settings.as_dict(),
        documents=len(corpus.paths) - len(vanished),
        clusters=tuple(clusters),
        singletons=tuple(
            path
            for index, path in enumerate(corpus.paths)
            if index not in clustered and index not in vanished
        ),
        skipped=tuple(sorted(skipped, key=lambda item: item.path)),
        boilerplate=tuple(sorted(totals.items())),
    )


def _diff_clusters(
    components: Sequence[Sequence[int]],
    corpus: _Corpus,
    loaded: dict[int, LoadedDocument],
    settings: Settings,
    engine: Engine,
    progress: Progress,
) -> list[Cluster]:
    word_counts = corpus.word_counts.tolist()
    plans = []
    jobs: list[tuple[str, str]] = []
    for component in components:
        representative = cluster.choose_representative(component, word_counts, settings.keep)
        others = [member for member in component if member != representative]
        plans.append((representative, others))
        jobs.extend((loaded[representative].text, loaded[member].text) for member in others)

    progress.start("Diffing", len(jobs))
    diffs: list[WordDiff] = []
    for results in engine.map(diff_batch, _chunks(jobs, DIFF_BATCH_PAIRS)):
        diffs.extend(results)
        progress.advance(len(results))

    clusters = []
    position = 0
    for representative, others in plans:
        members: list[MemberDiff] = [
            MemberDiff(corpus.paths[representative], 1.0, 1.0, 0, 0, (), is_representative=True),
        ]
        for member in others:
            jaccard, containment = cluster.similarity(
                loaded[representative].shingle_set, loaded[member].shingle_set
            )
            change = diffs[position]
            position += 1
            members.append(
                MemberDiff(
                    path=corpus.paths[member],
                    jaccard=jaccard,
                    containment=containment,
                    added_words=change.added_words,
                    removed_words=change.removed_words,
                    segments=change.segments,
                )
            )
        members[1:] = sorted(members[1:], key=lambda item: item.path)
        clusters.append(Cluster(id=0, representative=corpus.paths[representative], members=tuple(members)))
    clusters.sort(key=lambda item: (-len(item.members), item.members[0].path))
    return [
        Cluster(number, item.representative, item.members) for number, item in enumerate(clusters, start=1)
    ]

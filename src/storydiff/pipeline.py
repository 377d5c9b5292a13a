"""The cluster pipeline: files → documents → cleaned text → shingles → signatures →
candidate pairs → verified pairs → clusters → diffs → report.

Each step is a function over plain data. `run_cluster` wires them together in one process;
the heavy per-file steps (`sign_batch`, `load_batch`) take and return picklable values so
that other engines can run them elsewhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from . import boilerplate, cluster, ingest, shingles
from .diff import word_diff
from .model import (
    CleanedDocument,
    Cluster,
    MemberDiff,
    Pair,
    Report,
    SignedDocument,
    Skipped,
    SourceFile,
)
from .settings import Settings
from .signatures import signature

BATCH_SIZE = 256


class Progress(Protocol):
    """Where the pipeline reports how far it has got; the CLI draws it, tests ignore it."""

    def start(self, stage: str, total: int) -> None: ...

    def advance(self, amount: int = 1) -> None: ...


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


def sign_batch(sources: Sequence[SourceFile], settings: Settings) -> list[SignedDocument | Skipped]:
    """Read, clean, shingle and sign a batch of files; no text leaves this function."""
    cleaned = [clean(source, settings) for source in sources]
    texts = [item for item in cleaned if isinstance(item, CleanedDocument)]
    word_lists = [shingles.tokens(item.text) for item in texts]
    hashes, offsets = shingles.batch_shingle_hashes(word_lists, settings.ngram)
    signed: dict[int, SignedDocument] = {}
    for position, (item, words) in enumerate(zip(texts, word_lists, strict=True)):
        document_shingles = np.unique(hashes[offsets[position] : offsets[position + 1]])
        signed[id(item)] = SignedDocument(
            path=item.document.path,
            fs_path=item.document.fs_path,
            content_hash=item.document.content_hash,
            size_bytes=item.document.size_bytes,
            word_count=len(words),
            shingle_count=len(document_shingles),
            signature=signature(document_shingles, settings.num_perm, settings.seed),
            boilerplate=tuple(sorted(boilerplate.count_by_rule(item.removals).items())),
        )
    return [signed[id(item)] if isinstance(item, CleanedDocument) else item for item in cleaned]


@dataclass(frozen=True)
class LoadedDocument:
    """A document's cleaned text and exact shingle set, loaded again for verification and diffs."""

    text: str
    shingle_set: npt.NDArray[np.uint64]


def load_batch(documents: Sequence[SignedDocument], settings: Settings) -> list[LoadedDocument | Skipped]:
    """Re-read documents that are candidates; a file whose bytes changed since signing is skipped."""
    loaded: list[LoadedDocument | Skipped] = []
    for document in documents:
        cleaned = clean(SourceFile(document.path, document.fs_path), settings)
        if isinstance(cleaned, Skipped):
            loaded.append(cleaned)
        elif cleaned.document.content_hash != document.content_hash:
            loaded.append(Skipped(document.path, "changed while storydiff was reading it (run again)"))
        else:
            loaded.append(LoadedDocument(cleaned.text, shingles.shingle_set(cleaned.text, settings.ngram)))
    return loaded


def _batches(items: Sequence[SourceFile], size: int) -> Iterable[Sequence[SourceFile]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_cluster(
    paths: Sequence[str],
    settings: Settings,
    progress: Progress | None = None,
) -> Report:
    """Cluster the near-duplicates among the files under `paths` and diff each cluster."""
    progress = progress or _NoProgress()
    sources, skipped = ingest.discover(paths, settings.glob, settings.exclude)
    skipped = list(skipped)

    progress.start("Signing", len(sources))
    documents: list[SignedDocument] = []
    for batch in _batches(sources, BATCH_SIZE):
        for result in sign_batch(batch, settings):
            if isinstance(result, Skipped):
                skipped.append(result)
            else:
                documents.append(result)
        progress.advance(len(batch))

    if documents:
        signatures = np.stack([document.signature for document in documents])
    else:
        signatures = np.empty((0, settings.num_perm), dtype=np.uint32)
    shingle_counts = np.array([document.shingle_count for document in documents], dtype=np.int64)
    candidates = cluster.candidate_pairs(signatures, shingle_counts, settings)
    likely = cluster.likely_pairs(candidates, signatures, shingle_counts, settings)

    needed = sorted({index for pair in likely for index in pair})
    progress.start("Verifying", len(needed))
    loaded: dict[int, LoadedDocument] = {}
    vanished: set[int] = set()
    for start in range(0, len(needed), BATCH_SIZE):
        chunk = needed[start : start + BATCH_SIZE]
        for index, outcome in zip(chunk, load_batch([documents[i] for i in chunk], settings), strict=True):
            if isinstance(outcome, Skipped):
                skipped.append(outcome)
                vanished.add(index)
            else:
                loaded[index] = outcome
        progress.advance(len(chunk))
    verified = cluster.verified_pairs(
        (pair for pair in likely if not vanished.intersection(pair)),
        {index: item.shingle_set for index, item in loaded.items()},
        settings,
    )

    components = cluster.connected_components(len(documents), verified)
    progress.start("Diffing", len(components))
    clusters = []
    word_counts = [document.word_count for document in documents]
    for members in components:
        clusters.append(_build_cluster(members, documents, loaded, word_counts, settings))
        progress.advance()
    clusters.sort(key=lambda item: (-len(item.members), item.members[0].path))
    clusters = [
        Cluster(id=number, representative=item.representative, members=item.members)
        for number, item in enumerate(clusters, start=1)
    ]

    clustered = {index for members in components for index in members}
    kept_documents = [d for i, d in enumerate(documents) if i not in vanished]
    totals: Counter[str] = Counter()
    for document in kept_documents:
        totals.update(dict(document.boilerplate))
    return Report(
        settings=settings.as_dict(),
        documents=len(kept_documents),
        clusters=tuple(clusters),
        singletons=tuple(d.path for i, d in enumerate(documents) if i not in clustered and i not in vanished),
        skipped=tuple(sorted(skipped, key=lambda item: item.path)),
        boilerplate=tuple(sorted(totals.items())),
    )


def _build_cluster(
    members: Sequence[int],
    documents: Sequence[SignedDocument],
    loaded: dict[int, LoadedDocument],
    word_counts: Sequence[int],
    settings: Settings,
) -> Cluster:
    representative = cluster.choose_representative(members, word_counts, settings.keep)
    base = loaded[representative]
    diffs = [
        MemberDiff(
            path=documents[representative].path,
            jaccard=1.0,
            containment=1.0,
            added_words=0,
            removed_words=0,
            segments=(),
            is_representative=True,
        )
    ]
    for member in members:
        if member == representative:
            continue
        jaccard, containment = cluster.similarity(base.shingle_set, loaded[member].shingle_set)
        changes = word_diff(base.text, loaded[member].text)
        diffs.append(
            MemberDiff(
                path=documents[member].path,
                jaccard=jaccard,
                containment=containment,
                added_words=changes.added_words,
                removed_words=changes.removed_words,
                segments=changes.segments,
            )
        )
    return Cluster(id=0, representative=documents[representative].path, members=tuple(diffs))


__all__ = ["Pair", "Progress", "load_batch", "run_cluster", "sign_batch"]

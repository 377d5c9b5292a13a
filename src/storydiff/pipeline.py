"""The cluster pipeline: files → documents → cleaned text → shingles → signatures →
candidate pairs → verified pairs → clusters → diffs → report.

`run_cluster` wires the stages together. The heavy work is done by three batch functions
(`sign_batch`, `verify_batch`, `diff_batch`) that take and return picklable values, so an
engine can run them in this process, in a process pool or on a Dask cluster. An engine that
is a `SignatureKeeper` (the Dask engine) also keeps the signatures out of this process and
runs the candidate stage itself, with the same `cluster` functions. Signing keeps
no text: it spills each document's exact shingle set to a temporary file for verification,
and only the documents that end up in a cluster are read again, for their diffs (and, on
a warm run, those whose pairs were not verified before: the cache keeps no sets).

Boilerplate: every stage reads files through `clean`, with the rules in Settings and the
corpus's repeated lines, so all of them compare the same text. Repeated lines are found
after a first clustering (`repeated_lines`); only the documents holding one are signed
again. `run_strip` shows what stripping removes (`storydiff strip`).
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import json
import math
import os
import queue
import re
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast, runtime_checkable

import numpy as np
import numpy.typing as npt
import xxhash

from . import boilerplate, cache, cluster, ingest, shingles, spill
from .boilerplate import REPEATED_LINE, RepeatedLines
from .diff import WordDiff, copy_kind, diff_tokens, tokenize, word_diff
from .errors import InputError
from .ingest import stat_all as _stat_all
from .model import (
    CleanedDocument,
    Cluster,
    Document,
    FileRecord,
    MemberDiff,
    Pair,
    Removal,
    RemovedSpan,
    Report,
    Segment,
    SignedBatch,
    Skipped,
    SourceFile,
    StrippedFile,
    StrippedLine,
)
from .settings import Settings
from .signatures import batch_signatures

SIGN_BATCH_FILES = 512
# Rows (entries and stat rows) of signed batches the signature cache stores in one transaction
# (see SignatureCache.add): a commit per batch made a first run write five times the cache's size.
STORE_ROWS = 16384
# Shingling holds about 40 bytes per character of the texts it is given at once, so a batch
# of large files is shingled in parts of at most this many characters (a single larger file
# is a part of its own; --max-bytes bounds it).
SIGN_PART_CHARS = 8 << 20
VERIFY_BATCH_PAIRS = 8192
CANDIDATE_JOBS = 8  # groups of LSH bands, each an engine task
LIKELY_BATCH_PAIRS = 1 << 18  # candidates per estimate-filter task
DIFF_BATCH_CLUSTERS = 32
# Diffed clusters handed to the signature cache at a time, as they come (see _diff_clusters).
DIFF_STORE_CLUSTERS = 512


class Progress(Protocol):
    """Where the pipeline reports how far it has got; the CLI draws it, tests ignore it."""

    def start(self, stage: str, total: int) -> None: ...

    def advance(self, amount: int = 1) -> None: ...


class Engine(Protocol):
    def map(self, function: Any, batches: Sequence[Any], *args: Any) -> Any: ...


class KeptSignatures(Protocol):
    """Signatures an engine keeps where they were computed (the Dask engine: on its workers)."""

    def __len__(self) -> int: ...

    def with_rows(self, documents: npt.NDArray[np.int64], block: Any) -> KeptSignatures:
        """These signatures with those of `documents` replaced by the rows of a kept `block`."""
        ...


@runtime_checkable
class SignatureKeeper(Protocol):
    """An engine that runs the candidate stage itself, on signatures it keeps out of this process."""

    def map_keeping(
        self,
        function: Any,
        batches: Sequence[Any],
        *args: Any,
        split: Callable[[Any], tuple[Any, Any]],
    ) -> Iterator[tuple[Any, Any]]: ...

    def hold(self, handles: Sequence[tuple[Any, int]]) -> KeptSignatures: ...

    def likely_pairs(
        self, signatures: object, shingle_counts: npt.NDArray[np.int64], settings: Settings
    ) -> npt.NDArray[np.int64]: ...


def set_signatures_aside(batch: SignedBatch) -> tuple[SignedBatch, npt.NDArray[np.uint32]]:
    """A signed batch without its signatures, and the signatures (for `SignatureKeeper.map_keeping`)."""
    empty = np.empty((0, batch.signatures.shape[1]), dtype=np.uint32)
    return dataclasses.replace(batch, signatures=empty), batch.signatures


class _NoProgress:
    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass


def clean(
    source: SourceFile, settings: Settings, tidy: bool = True, repeated: RepeatedLines | None = None
) -> CleanedDocument | Skipped:
    """Read one file and strip its boilerplate (`tidy`: see boilerplate.strip).

    Every stage that reads a file goes through here, so signing, diffing and `storydiff
    strip` remove the same lines: the rules in `settings`, and the corpus's repeated lines.
    """
    document = ingest.read_document(source, settings.encoding, settings.max_bytes)
    if isinstance(document, Skipped):
        return document
    stripped = boilerplate.strip(document.text, settings.active_rules, tidy, repeated)
    return CleanedDocument(document=document, text=stripped.text, removals=stripped.removals)


def clean_each(
    sources: Iterable[SourceFile],
    settings: Settings,
    tidy: bool = True,
    repeated: RepeatedLines | None = None,
    holding: Iterable[bool] | None = None,
) -> Iterator[CleanedDocument | Skipped]:
    """`clean` for many files, in order. With repeated lines to take, the keys of the lines
    of up to SIGN_PART_CHARS characters of text are found in one pass.

    `holding` says, source by source, whether it held a repeated line when it was signed
    (`holding_repeated`); those that did not are cleaned without looking for one, as the
    keys of their lines cost more than the rest of cleaning them and would find nothing.
    """
    if not repeated:
        for source in sources:
            yield clean(source, settings, tidy)
        return
    pending: list[tuple[Document | Skipped, bool]] = []
    characters = 0
    flagged = ((item, True) for item in sources) if holding is None else zip(sources, holding, strict=True)
    for source, holds in flagged:
        document = ingest.read_document(source, settings.encoding, settings.max_bytes)
        pending.append((document, holds))
        characters += len(document.text) if isinstance(document, Document) else 0
        if characters >= SIGN_PART_CHARS:
            yield from _clean_read(pending, settings, tidy, repeated)
            pending, characters = [], 0
    yield from _clean_read(pending, settings, tidy, repeated)


def _clean_read(
    documents: Sequence[tuple[Document | Skipped, bool]],
    settings: Settings,
    tidy: bool,
    repeated: RepeatedLines,
) -> Iterator[CleanedDocument | Skipped]:
    texts = [document.text for document, holds in documents if holds and isinstance(document, Document)]
    keys = iter(boilerplate.repeated_line_keys(texts, repeated))
    for document, holds in documents:
        if isinstance(document, Skipped):
            yield document
            continue
        if holds:
            stripped = boilerplate.strip(document.text, settings.active_rules, tidy, repeated, next(keys))
        else:
            stripped = boilerplate.strip(document.text, settings.active_rules, tidy)
        yield CleanedDocument(document=document, text=stripped.text, removals=stripped.removals)


def holding_repeated(corpus: Corpus, repeated: RepeatedLines) -> npt.NDArray[np.bool_]:
    """Which documents hold one of the repeated lines, by the line keys of their first signing."""
    wanted = np.fromiter(repeated.keys, np.uint64, len(repeated.keys))
    document_of = np.repeat(np.arange(len(corpus.paths)), np.diff(corpus.line_key_offsets))
    holding = np.zeros(len(corpus.paths), dtype=bool)
    holding[document_of[np.isin(corpus.line_keys, wanted)]] = True
    return holding


@dataclass(frozen=True)
class CacheSpec:
    """Where signing workers look documents up (see cache.py), and whether to ask it for sets.

    Documents found in the cache without a set (the cache keeps none since format 7; only
    caches written before have them, and only with `with_sets`) are spilled with an empty
    set and marked `without_set` (their `shingle_counts` are still right): `load_sets`
    signs them again when verification or a diff needs their set.

    Without `look_up` (the cache held nothing signed with these settings when the run began:
    a first run) workers do not ask it: at most a copy of a file signed earlier in the same
    run could be found, for about 2 ms of queries a batch.
    """

    path: str
    fingerprint: str
    with_sets: bool = True
    look_up: bool = True


def sign_batch(
    job: tuple[str, Sequence[SourceFile]],
    settings: Settings,
    spill_to: str,
    repeated: RepeatedLines | None = None,
    cache_spec: CacheSpec | None = None,
) -> SignedBatch:
    """Read, clean, shingle and sign a batch of files; the exact sets go to a file in `spill_to`.

    On the first pass (no `repeated` yet) it also returns each document's line keys, from
    which the corpus's repeated lines are found.

    With a `cache_spec` (first pass only: the cache holds what is signed before repeated
    lines are known), documents already in the signature cache are taken from it (without
    even opening files whose stat is unchanged) and what the cache lacks is returned in
    `cache_update` for the parent to store: workers only read the cache.
    """
    name, sources = job
    if cache_spec is not None:
        if repeated is not None:
            raise ValueError("the signature cache holds first-pass signatures only")
        return _sign_with_cache(name, sources, settings, spill_to, cache_spec)
    documents: list[tuple[str, str, str, int, int]] = []  # path, fs_path, hash, size, mtime: no text
    skipped: list[Skipped] = []
    totals: Counter[str] = Counter()
    wants_line_keys = settings.finds_repeated_lines and repeated is None
    parts = _PartSigner(settings, with_line_keys=wants_line_keys)
    for item in clean_each(sources, settings, tidy=False, repeated=repeated):
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        document = item.document
        documents.append(
            (document.path, document.fs_path, document.content_hash, document.size_bytes, document.mtime_ns)
        )
        totals.update(removal.rule for removal in item.removals)
        parts.add(item.text)
    signed = parts.finish()
    columns = tuple(zip(*documents, strict=True)) if documents else ((), (), (), (), ())
    paths, fs_paths, content_hashes, sizes, mtimes = columns
    return SignedBatch(
        paths=tuple(paths),
        fs_paths=tuple(fs_paths),
        content_hashes=tuple(content_hashes),
        sizes=np.array(sizes, dtype=np.int64),
        mtimes=np.array(mtimes, dtype=np.int64),
        word_counts=signed.word_counts,
        shingle_counts=np.diff(signed.set_offsets),
        signatures=signed.signatures,
        set_file=spill.write_sets(spill_to, name, signed.set_values),
        set_offsets=signed.set_offsets,
        skipped=tuple(skipped),
        boilerplate=tuple(sorted(totals.items())),
        line_keys=signed.line_keys,
        line_key_offsets=signed.line_key_offsets,
    )


@dataclass(frozen=True)
class _SignedTexts:
    """Signing's result for a list of texts: row i of each array, or slice i of the sets
    and of the line keys (none unless asked for)."""

    word_counts: npt.NDArray[np.int64]
    set_values: npt.NDArray[np.uint64]
    set_offsets: npt.NDArray[np.int64]
    signatures: npt.NDArray[np.uint32]
    line_keys: npt.NDArray[np.uint64]
    line_key_offsets: npt.NDArray[np.int64]


class _PartSigner:
    """Shingles and signs texts in parts of at most SIGN_PART_CHARS characters (a longer text
    alone), dropping each part's texts once it is signed, and joins the parts in order."""

    def __init__(self, settings: Settings, with_line_keys: bool = False) -> None:
        self._settings = settings
        self._with_line_keys = with_line_keys
        self._texts: list[str] = []
        self._characters = 0
        self._parts: list[_SignedTexts] = []

    def add(self, text: str) -> None:
        if self._texts and self._characters + len(text) > SIGN_PART_CHARS:
            self._sign()
        self._texts.append(text)
        self._characters += len(text)

    def _sign(self) -> None:
        settings = self._settings
        if self._with_line_keys:
            batch, line_keys, line_key_offsets = shingles.batch_shingles_and_line_keys(
                self._texts, settings.ngram, settings.seed, settings.repeated_min_words
            )
        else:
            batch = shingles.batch_shingles(self._texts, settings.ngram, settings.seed)
            line_keys, line_key_offsets = np.empty(0, np.uint64), np.zeros(len(self._texts) + 1, np.int64)
        set_values, set_offsets = shingles.distinct_sets(batch)
        signatures = batch_signatures(batch, settings.num_perm, settings.seed)
        self._parts.append(
            _SignedTexts(batch.word_counts, set_values, set_offsets, signatures, line_keys, line_key_offsets)
        )
        self._texts, self._characters = [], 0

    def finish(self) -> _SignedTexts:
        if self._texts or not self._parts:
            self._sign()
        parts = self._parts
        set_offsets = np.zeros(sum(len(part.word_counts) for part in parts) + 1, dtype=np.int64)
        np.cumsum(np.concatenate([np.diff(part.set_offsets) for part in parts]), out=set_offsets[1:])
        line_key_offsets = np.zeros(len(set_offsets), dtype=np.int64)
        np.cumsum(
            np.concatenate([np.diff(part.line_key_offsets) for part in parts]), out=line_key_offsets[1:]
        )
        return _SignedTexts(
            word_counts=np.concatenate([part.word_counts for part in parts]),
            set_values=np.concatenate([part.set_values for part in parts]),
            set_offsets=set_offsets,
            signatures=np.concatenate([part.signatures for part in parts]).reshape(
                -1, self._settings.num_perm
            ),
            line_keys=np.concatenate([part.line_keys for part in parts]),
            line_key_offsets=line_key_offsets,
        )


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _within(status: os.stat_result | None, max_bytes: int) -> os.stat_result | None:
    return None if status is None or status.st_size > max_bytes else status


def _sign_with_cache(
    name: str, sources: Sequence[SourceFile], settings: Settings, spill_to: str, spec: CacheSpec
) -> SignedBatch:
    """sign_batch with the cache: stat, look up, read and sign only what is missing, reassemble in order."""
    # A file over --max-bytes is never taken from the cache: reading it says it is too large.
    statuses = [_within(_stat(source.fs_path), settings.max_bytes) for source in sources]
    directory = os.getcwd()
    absolute = [cache.stat_key(source.fs_path, directory) for source in sources]
    hashes: list[str | None] = [None] * len(sources)
    entries: dict[str, cache.Entry] = {}
    reader = cache.CacheReader(spec.path) if spec.look_up else None
    try:
        if reader is not None:
            known = reader.hashes_for_stats(
                [path for path, status in zip(absolute, statuses, strict=True) if status is not None],
                [status for status in statuses if status is not None],
            )
            hashes = [known.get(path) for path in absolute]
            entries = reader.entries(spec.fingerprint, [value for value in hashes if value], spec.with_sets)
        read: dict[int, Document | Skipped] = {
            index: ingest.read_document(source, settings.encoding, settings.max_bytes)
            for index, source in enumerate(sources)
            if hashes[index] not in entries
        }
        for index, document in read.items():
            hashes[index] = document.content_hash if isinstance(document, Document) else None
        if reader is not None:
            entries.update(
                reader.entries(
                    spec.fingerprint,
                    [item.content_hash for item in read.values() if isinstance(item, Document)],
                    spec.with_sets,
                )
            )
    finally:
        if reader is not None:
            reader.close()

    missing = {
        index: document
        for index, document in read.items()
        if isinstance(document, Document) and document.content_hash not in entries
    }
    stripped = {
        index: boilerplate.strip(document.text, settings.active_rules, tidy=False)
        for index, document in missing.items()
    }
    finds_lines = settings.finds_repeated_lines
    parts = _PartSigner(settings, with_line_keys=finds_lines)
    for item in stripped.values():
        parts.add(item.text)
    batch = parts.finish()
    fresh_values, fresh_offsets, fresh_signatures = batch.set_values, batch.set_offsets, batch.signatures
    fresh_row = {index: row for row, index in enumerate(stripped)}

    fresh_hashes = [hashes[index] or "" for index in stripped]
    fresh_removals = [
        tuple(sorted(boilerplate.count_by_rule(item.removals).items())) for item in stripped.values()
    ]
    fresh_shingle_counts = np.diff(fresh_offsets)
    new_entries = cache.entry_rows(
        fresh_hashes,
        batch.word_counts,
        fresh_shingle_counts,
        fresh_removals,
        fresh_signatures,
        batch.line_keys,
        batch.line_key_offsets,
    )
    kept: list[int] = []
    sizes: list[int] = []
    mtimes: list[int] = []
    stat_rows: list[cache.StatRow] = []
    skipped: list[Skipped] = []
    totals: Counter[str] = Counter()
    now = time.time()
    for index in range(len(sources)):
        read_now = read.get(index)
        if isinstance(read_now, Skipped):
            skipped.append(read_now)
            continue
        content_hash = hashes[index]
        assert content_hash is not None
        status = statuses[index]
        if read_now is not None:
            sizes.append(read_now.size_bytes)
            mtimes.append(read_now.mtime_ns)
            fresh_stat = (
                None if status is None else cache.stat_row(absolute[index], status, content_hash, now)
            )
            if fresh_stat is not None:
                stat_rows.append(fresh_stat)
        else:
            assert status is not None
            sizes.append(status.st_size)
            mtimes.append(status.st_mtime_ns)
        kept.append(index)
    for removed in fresh_removals:
        totals.update(dict(removed))

    if len(fresh_row) == len(kept):
        # Nothing came from the cache (a first run): the signed batch is the batch, in order.
        word_counts = batch.word_counts.astype(np.int64, copy=False)
        shingle_counts = fresh_shingle_counts.astype(np.int64, copy=False)
        signatures = fresh_signatures.astype(np.uint32, copy=False)
        set_values, set_offsets = fresh_values, fresh_offsets
        line_keys, line_key_offsets = batch.line_keys, batch.line_key_offsets
        without_set = None
    else:
        sets: list[npt.NDArray[np.uint64]] = []
        rows_signatures: list[npt.NDArray[np.uint32]] = []
        rows_word_counts: list[int] = []
        rows_shingle_counts: list[int] = []
        rows_line_keys: list[npt.NDArray[np.uint64]] = []
        taken_without_set: list[bool] = []  # taken from the cache, which had no set: spilled empty
        for index in kept:
            if index in fresh_row:
                row = fresh_row[index]
                sets.append(fresh_values[fresh_offsets[row] : fresh_offsets[row + 1]])
                rows_signatures.append(fresh_signatures[row])
                rows_word_counts.append(int(batch.word_counts[row]))
                rows_shingle_counts.append(len(sets[-1]))
                rows_line_keys.append(
                    batch.line_keys[batch.line_key_offsets[row] : batch.line_key_offsets[row + 1]]
                )
                taken_without_set.append(False)
            else:
                entry = entries[hashes[index] or ""]
                sets.append(entry.shingles if entry.shingles is not None else np.empty(0, np.uint64))
                taken_without_set.append(entry.shingles is None)
                rows_signatures.append(entry.signature)
                rows_word_counts.append(entry.word_count)
                rows_shingle_counts.append(entry.shingle_count)
                rows_line_keys.append(entry.line_keys)
                totals.update(dict(entry.removals))
        word_counts = np.array(rows_word_counts, dtype=np.int64)
        shingle_counts = np.array(rows_shingle_counts, dtype=np.int64)
        signatures = (
            np.stack(rows_signatures) if rows_signatures else np.empty((0, settings.num_perm), np.uint32)
        ).astype(np.uint32, copy=False)
        set_values = np.concatenate(sets) if sets else np.empty(0, np.uint64)
        set_offsets = np.zeros(len(kept) + 1, dtype=np.int64)
        np.cumsum([len(values) for values in sets], out=set_offsets[1:])
        line_keys = (
            np.concatenate(rows_line_keys).astype(np.uint64, copy=False)
            if rows_line_keys
            else np.zeros(0, np.uint64)
        )
        line_key_offsets = np.zeros(len(kept) + 1, dtype=np.int64)
        np.cumsum([len(keys) for keys in rows_line_keys], out=line_key_offsets[1:])
        without_set = np.array(taken_without_set, dtype=bool) if any(taken_without_set) else None

    return SignedBatch(
        paths=tuple(sources[index].path for index in kept),
        fs_paths=tuple(sources[index].fs_path for index in kept),
        content_hashes=tuple(hashes[index] or "" for index in kept),
        sizes=np.array(sizes, dtype=np.int64),
        mtimes=np.array(mtimes, dtype=np.int64),
        word_counts=word_counts,
        shingle_counts=shingle_counts,
        signatures=signatures,
        set_file=spill.write_sets(spill_to, name, set_values),
        set_offsets=set_offsets,
        skipped=tuple(skipped),
        boilerplate=tuple(sorted(totals.items())),
        cache_update=cache.CacheUpdate(new_entries, tuple(stat_rows)),
        line_keys=line_keys,
        line_key_offsets=line_key_offsets,
        without_set=without_set,
    )


@dataclass(frozen=True)
class SignatureFile:
    """The corpus's signature matrix written to the spill directory, for workers to map:
    the candidate stages read it whole, and each worker would otherwise get its own copy."""

    path: str
    documents: int
    num_perm: int

    def open(self) -> npt.NDArray[np.uint32]:
        if self.documents == 0:
            return np.zeros((0, self.num_perm), dtype=np.uint32)
        return np.memmap(self.path, dtype=np.uint32, mode="r", shape=(self.documents, self.num_perm))


def spill_signatures(signatures: npt.NDArray[np.uint32], directory: str | None) -> SignatureFile:
    """Write the matrix to a new file in `directory` (the system's temporary directory if None)."""
    descriptor, path = tempfile.mkstemp(prefix="signatures-", suffix=".u32", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            np.ascontiguousarray(signatures, dtype=np.uint32).tofile(handle)
    except BaseException:
        os.unlink(path)
        raise
    return SignatureFile(path, len(signatures), signatures.shape[1])


@dataclass(frozen=True)
class CandidateJob:
    """Bands `first_band` to `first_band + bands - 1` of the banding (see cluster.candidate_codes)."""

    signatures: SignatureFile
    first_band: int
    bands: int
    rows: int
    comparable: npt.NDArray[np.bool_]
    sizes: npt.NDArray[np.int64]


def candidate_batch(job: CandidateJob) -> npt.NDArray[np.int64]:
    """The candidate pair codes of some bands."""
    columns = slice(job.first_band * job.rows, (job.first_band + job.bands) * job.rows)
    signatures = np.ascontiguousarray(job.signatures.open()[:, columns])
    return cluster.candidate_codes(signatures, job.comparable, job.sizes, job.bands, job.rows)


@dataclass(frozen=True)
class LikelyJob:
    """Candidates `start` to `end - 1` of those whose pair codes were spilled to `codes_path`."""

    signatures: SignatureFile
    codes_path: str
    start: int
    end: int
    shingle_counts: npt.NDArray[np.int64]


def likely_batch(job: LikelyJob, settings: Settings) -> npt.NDArray[np.bool_]:
    """Which pairs pass the signature-estimate filter (cluster.likely_pair_mask)."""
    codes = np.fromfile(job.codes_path, dtype=np.int64, count=job.end - job.start, offset=8 * job.start)
    pairs = cluster.pairs_from_codes(codes, job.signatures.documents)
    return cluster.likely_pair_mask(pairs, job.signatures.open(), job.shingle_counts, settings)


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
    count = len(job.pairs)
    jaccard = np.zeros(count)
    containment = np.zeros(count)
    smaller = np.zeros(count, dtype=np.int64)
    left_rows, right_rows = job.left.tolist(), job.right.tolist()
    previous_left: list[int] = []
    left = np.empty(0, dtype=np.uint64)
    with spill.SetReader() as reader:
        for index in range(count):
            if left_rows[index] != previous_left:  # pairs come sorted: a left side repeats
                previous_left = left_rows[index]
                file_left, start_left, end_left = previous_left
                left = reader.read(job.files[file_left], start_left, end_left)
            file_right, start_right, end_right = right_rows[index]
            right = reader.read(job.files[file_right], start_right, end_right)
            jaccard[index], containment[index] = cluster.similarity(left, right)
            smaller[index] = min(len(left), len(right))
    return jaccard, containment, smaller


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
    tasks: Sequence[DiffTask], settings: Settings, repeated: RepeatedLines | None = None
) -> list[list[MemberDiff | Skipped]]:
    """Read each cluster's texts again and diff every member against the representative.

    The first item of each result is the representative (or why it could not be read again).
    """
    with spill.SetReader() as reader:
        results: list[list[MemberDiff | Skipped]] = []
        listed = [(task.representative, *task.members) for task in tasks]
        cleaned = clean_each(
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
            base_tokens = tokenize(base.text, representative=True)
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


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def strip_batch(
    sources: Sequence[SourceFile], settings: Settings, repeated: RepeatedLines, keep_text: bool
) -> list[StrippedFile | Skipped]:
    """Strip a batch of files and locate every removed line in its file."""
    results: list[StrippedFile | Skipped] = []
    for item in clean_each(sources, settings, repeated=repeated):
        if isinstance(item, Skipped):
            results.append(item)
            continue
        text = item.document.text
        starts = [0, *(match.end() for match in _LINE_BREAK.finditer(text))]
        ends = [match.start() for match in _LINE_BREAK.finditer(text)] + [len(text)]
        removed = tuple(
            RemovedSpan(
                rule=removal.rule,
                line_number=removal.line_number,
                start=starts[removal.line_number - 1],
                end=ends[removal.line_number - 1],
                text=removal.text,
            )
            for removal in item.removals
        )
        line_count = len(starts) - (1 if len(starts) > 1 and starts[-1] == len(text) else 0)
        results.append(StrippedFile(item.document.path, line_count, removed, text if keep_text else ""))
    return results


def run_strip(
    paths: Sequence[str],
    settings: Settings,
    progress: Progress | None = None,
    engine: Engine | None = None,
    keep_text: bool = True,
) -> Iterator[StrippedFile | Skipped]:
    """Strip every file under `paths`, in path order, as `storydiff cluster` would.

    Repeated lines are found among these files first (signing and clustering them), so the
    view shows them too; that pass is skipped when there are too few files to hold any.
    """
    from .engines.local import LocalEngine

    progress = progress or _NoProgress()
    if engine is None:
        with LocalEngine(jobs=1) as local:
            yield from run_strip(paths, settings, progress, local, keep_text)
        return

    sources, walk_problems = ingest.discover(paths, settings.glob, settings.exclude)
    yield from walk_problems
    repeated = RepeatedLines(min_words=settings.repeated_min_words, seed=settings.seed)
    if settings.finds_repeated_lines and len(sources) >= settings.repeated_min_documents:
        with spill.spill_directory() as spill_to:
            corpus, _, _ = sign_all(sources, settings, progress, engine, spill_to)
            corpus, components = verified_components(corpus, settings, progress, engine, spill_to=spill_to)
            repeated = repeated_lines(corpus, components, settings)
    progress.start("Stripping", len(sources))
    for results in engine.map(strip_batch, _chunks(sources, SIGN_BATCH_FILES), settings, repeated, keep_text):
        progress.advance(len(results))
        yield from results


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


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


@dataclass(frozen=True)
class Corpus:
    """All signed batches joined: one row per document, in path order."""

    paths: tuple[str, ...]
    fs_paths: tuple[str, ...]
    content_hashes: tuple[str, ...]
    sizes: npt.NDArray[np.int64]
    mtimes: npt.NDArray[np.int64]
    word_counts: npt.NDArray[np.int64]
    shingle_counts: npt.NDArray[np.int64]
    signatures: npt.NDArray[np.uint32] | KeptSignatures  # kept by the engine: see SignatureKeeper
    set_files: tuple[str, ...]
    set_locations: npt.NDArray[np.int64]  # rows of (file index, start, end)
    line_keys: npt.NDArray[np.uint64]
    line_key_offsets: npt.NDArray[np.int64]
    unloaded: npt.NDArray[np.bool_] | None = None  # rows whose sets are in the cache only (load_sets)
    # Rows whose file changed or vanished after signing, found when load_sets read it again:
    # their set is empty, so none of their pairs is stored, and the run reports them skipped.
    changed_meanwhile: frozenset[int] = frozenset()

    def source(self, index: int) -> tuple[str, str, str]:
        return self.paths[index], self.fs_paths[index], self.content_hashes[index]

    @property
    def local_signatures(self) -> npt.NDArray[np.uint32]:
        """The signatures, which are in this process unless `sign_all` was asked to keep them out."""
        if not isinstance(self.signatures, np.ndarray):
            raise TypeError("the signatures are kept by the engine, not in this process")
        return self.signatures

    def set_location(self, index: int) -> tuple[str, int, int]:
        file, start, end = self.set_locations[index].tolist()
        return self.set_files[file], start, end


def _join(batches: Sequence[SignedBatch], num_perm: int) -> Corpus:
    def joined(arrays: list[npt.NDArray[Any]], empty: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.concatenate(arrays) if arrays else empty

    locations = [
        np.stack((np.full(len(batch), index), batch.set_offsets[:-1], batch.set_offsets[1:]), axis=1)
        for index, batch in enumerate(batches)
    ]
    return Corpus(
        paths=tuple(path for batch in batches for path in batch.paths),
        fs_paths=tuple(path for batch in batches for path in batch.fs_paths),
        content_hashes=tuple(value for batch in batches for value in batch.content_hashes),
        sizes=joined([batch.sizes for batch in batches], np.empty(0, np.int64)),
        mtimes=joined([batch.mtimes for batch in batches], np.empty(0, np.int64)),
        word_counts=joined([batch.word_counts for batch in batches], np.empty(0, np.int64)),
        shingle_counts=joined([batch.shingle_counts for batch in batches], np.empty(0, np.int64)),
        signatures=joined(
            [batch.signatures for batch in batches], np.empty((0, num_perm), np.uint32)
        ).reshape(-1, num_perm),
        set_files=tuple(batch.set_file for batch in batches),
        set_locations=joined(locations, np.empty((0, 3), np.int64)).astype(np.int64),
        line_keys=joined([batch.line_keys for batch in batches], np.empty(0, np.uint64)),
        line_key_offsets=_joined_offsets([batch.line_key_offsets for batch in batches]),
        unloaded=(
            np.concatenate(
                [
                    batch.without_set if batch.without_set is not None else np.zeros(len(batch), dtype=bool)
                    for batch in batches
                ]
            )
            if any(batch.without_set is not None for batch in batches)
            else None
        ),
    )


def _joined_offsets(offsets: Sequence[npt.NDArray[np.int64]]) -> npt.NDArray[np.int64]:
    """Offset arrays (each starting at 0) of consecutive pieces, as one offset array."""
    joined = [np.zeros(1, np.int64)]
    base = 0
    for piece in offsets:
        joined.append(piece[1:] + base)
        base += int(piece[-1])
    return np.concatenate(joined)


def run_cluster(
    paths: Sequence[str],
    settings: Settings,
    progress: Progress | None = None,
    engine: Engine | None = None,
    signature_cache: cache.SignatureCache | None = None,
    discovered: Discovered | None = None,
    on_diffed: Callable[[Sequence[MemberDiff]], None] | None = None,
) -> Report:
    """Cluster the near-duplicates among the files under `paths` and diff each cluster.

    With a `signature_cache`, unchanged documents are not signed again; the report is the
    same with or without it. `discovered` is what `discover` found under `paths` (and each
    file's stat), if the caller walked them already. `on_diffed` sees each cluster's members
    as soon as they are diffed, while the rest still are (a renderer can start on them).
    """
    from .engines.local import LocalEngine

    progress = progress or _NoProgress()
    if engine is None:
        with LocalEngine(jobs=1) as local:
            return run_cluster(paths, settings, progress, local, signature_cache, discovered, on_diffed)

    if signature_cache is not None:
        signature_cache.prefetch(cache.fingerprint(settings.signature_inputs()))
    if discovered is None:
        discovered = Discovered(*discover(paths, settings, signature_cache))
    sources, walk_problems = discovered.sources, discovered.problems
    with spill.spill_directory() as spill_to:
        statuses, discovered = discovered.statuses, None  # (the stats go once signed)
        corpus, signing_skipped, totals = sign_all(
            sources,
            settings,
            progress,
            engine,
            spill_to,
            signature_cache,
            keep_signatures=True,
            statuses=statuses,
        )
        del statuses
        first_skipped = [*walk_problems, *signing_skipped]
        memo_key = None
        if signature_cache is not None and signature_cache.enabled:
            # Keyed on the first pass: the repeated lines follow from the corpus and settings.
            memo_key = report_key(settings, corpus, first_skipped, paths)
            stored = signature_cache.get_report(memo_key)
            if stored is not None:
                return stored

        def verify(
            corpus: Corpus, set_ids: Sequence[str], name: str, earlier: Any = None
        ) -> tuple[Corpus, list[Pair], PassMemo]:
            pass_key = stored_pass_key(settings, paths, name)
            return verified_pairs(
                corpus, settings, progress, engine, signature_cache, spill_to, set_ids, pass_key, earlier
            )

        set_ids: Sequence[str] = corpus.content_hashes  # each row's exact set, for the cache's pairs
        corpus, verified, memo = verify(corpus, set_ids, "first")
        repeated = RepeatedLines()
        holding = None  # which documents hold one of the repeated lines
        if settings.finds_repeated_lines:
            components = cluster.connected_components(len(corpus.paths), verified)
            repeated = repeated_lines(corpus, components, settings)
            if repeated:
                # Documents holding a repeated line are signed again without it (batches the
                # cache kept from an earlier run with the same contents are taken from it).
                holding = holding_repeated(corpus, repeated)
                signed = _strip_repeated(
                    _Signed(corpus, tuple(signing_skipped), totals),
                    repeated,
                    holding,
                    settings,
                    spill_to,
                    engine,
                    progress,
                    signature_cache,
                )
                corpus, totals = signed.corpus, signed.boilerplate
                stripped = f"+{repeated_digest(repeated)}"
                set_ids = [
                    content_hash + stripped if row in signed.resigned else content_hash
                    for row, content_hash in enumerate(corpus.content_hashes)
                ]
                changed = np.zeros(len(corpus.paths), dtype=bool)
                changed[sorted(signed.resigned)] = True
                corpus, verified, _ = verify(corpus, set_ids, "second", (memo, changed))
        clusters, vanished, cluster_keys = _diff_clusters(
            verified,
            corpus,
            settings,
            engine,
            progress,
            repeated,
            signature_cache,
            set_ids,
            spill_to,
            on_diffed,
            holding,
        )
    for row in sorted(corpus.changed_meanwhile):  # compared with an empty set: not to be trusted
        path = corpus.paths[row]
        vanished.setdefault(path, Skipped(path, "changed while storydiff was reading it (run again)"))
    skipped = [*first_skipped, *vanished.values()]
    clustered = {path for item in clusters for path in (member.path for member in item.members)}
    report = Report(
        settings=settings.as_dict(),
        documents=len(corpus.paths) - len(vanished),
        clusters=tuple(clusters),
        singletons=tuple(path for path in corpus.paths if path not in clustered and path not in vanished),
        skipped=tuple(sorted(skipped, key=lambda item: item.path)),
        boilerplate=tuple(sorted(totals.items())),
        inputs=tuple(ingest.display_path(path) for path in paths),
        files=tuple(
            FileRecord(path, corpus.content_hashes[index], int(corpus.sizes[index]))
            for index, path in enumerate(corpus.paths)
            if path not in vanished
        ),
    )
    if (
        memo_key is not None
        and signature_cache is not None
        and not vanished
        and len(cluster_keys) == len(report.clusters)  # (each cluster's diffs are in the cache)
    ):
        signature_cache.put_report(memo_key, report, cluster_keys)
    if signature_cache is not None:
        signature_cache.checkpoint()  # (the run's writes are queued: see checkpoint)
    return report


@dataclass(frozen=True)
class Discovered:
    """The files found under a run's inputs, what could not be listed, and each file's stat
    when the caller took them (before reading any: see sign_all)."""

    sources: Sequence[SourceFile]
    problems: Sequence[Skipped]
    statuses: Sequence[os.stat_result | None] | None = None


def discover(
    paths: Sequence[str], settings: Settings, signature_cache: cache.SignatureCache | None = None
) -> tuple[list[SourceFile], list[Skipped]]:
    """ingest.discover, or with the cache, what the last walk of the same inputs found while
    none of the directories it listed (nor the files named directly) changed (cache.Walk):
    adding, removing or renaming a file changes its directory's stat. Walks that met a link,
    a file under two paths, a URL or a problem are not kept (see ingest.discover)."""
    if signature_cache is None or not signature_cache.enabled:
        return ingest.discover(paths, settings.glob, settings.exclude)
    directory = os.getcwd()
    key = xxhash.xxh3_128_hexdigest(
        json.dumps([list(paths), directory, settings.glob, list(settings.exclude)]).encode(
            "utf-8", "surrogatepass"
        )
    )
    stored = signature_cache.get_walk(key)
    if stored is not None and stored.unchanged():
        return [
            SourceFile(path, fs_path) for path, fs_path in zip(stored.paths, stored.fs_paths, strict=True)
        ], []
    started_ns = time.time_ns()
    walked: list[tuple[str, os.stat_result | None]] = []
    sources, skipped = ingest.discover(paths, settings.glob, settings.exclude, walked)
    if not skipped and all(status is not None for _, status in walked):
        recorded = tuple(
            (path, status.st_dev, status.st_ino, status.st_mtime_ns, status.st_ctime_ns)
            for path, status in walked
            if status is not None
        )
        signature_cache.put_walk(
            key,
            cache.Walk(
                started_ns,
                recorded,
                tuple(source.path for source in sources),
                tuple(source.fs_path for source in sources),
            ),
        )
    return sources, skipped


def report_key(
    settings: Settings, corpus: Corpus, skipped: Sequence[Skipped], inputs: Sequence[str] = ()
) -> str:
    """Everything a cluster report depends on, hashed: the settings (with the resolved rules,
    user rules included, and the repeated-line settings), the code that makes the report, the
    paths the run was given, and each document's path and content (files that vanish during
    a run are not stored); with `keep` newest or oldest, each document's modification time
    too. The code is that of the stages after signing; signing's is in signature_inputs."""
    digest = xxhash.xxh3_128()
    digest.update(
        json.dumps(
            [settings.as_dict(), settings.signature_inputs(), [ingest.display_path(path) for path in inputs]],
            sort_keys=True,
        ).encode()
    )
    digest.update(code_digest().encode())
    for values in (corpus.paths, corpus.content_hashes):
        digest.update("\0".join(values).encode("utf-8", "surrogatepass"))
    if settings.keep in ("newest", "oldest"):
        digest.update(np.ascontiguousarray(corpus.mtimes, dtype=np.int64).tobytes())
    for item in sorted(skipped, key=lambda item: (item.path, item.reason)):
        digest.update(f"{item.path}\0{item.reason}\0".encode("utf-8", "surrogatepass"))
    return str(digest.hexdigest())


def sign_all(
    sources: Sequence[SourceFile],
    settings: Settings,
    progress: Progress,
    engine: Engine,
    spill_to: str,
    signature_cache: cache.SignatureCache | None = None,
    with_sets: bool = True,
    keep_signatures: bool = False,
    statuses: Sequence[os.stat_result | None] | None = None,
) -> tuple[Corpus, list[Skipped], Counter[str]]:
    """Sign every source in batches on the engine; the parent stores what the cache lacked.

    With `keep_signatures`, an engine that can (a `SignatureKeeper`) keeps the signatures where
    they were computed and the corpus holds its handle to them, unless the signature cache is
    in use: the cache is this process's, so the signatures pass through it anyway.

    With a cache, the parent first stats every file and takes the documents whose stat
    and entry are known in one query (`SignatureCache.known`), without their shingle sets:
    their rows are marked `unloaded` and `load_sets` fetches the sets of the few rows that
    verification needs. Only the rest goes to the workers. `statuses` are the sources' stats
    if the caller took them already, before reading any of them.
    """
    cache_spec = None
    if signature_cache is not None and signature_cache.enabled:
        fingerprint = cache.fingerprint(settings.signature_inputs())
        held = signature_cache.holds_entries(fingerprint)
        cache_spec = CacheSpec(signature_cache.path, fingerprint, with_sets, look_up=held)
    progress.start("Signing", len(sources))
    batches: list[SignedBatch] = []
    skipped: list[Skipped] = []
    totals: Counter[str] = Counter()
    to_sign: Sequence[SourceFile] = sources
    known_rows: list[int] = []
    signed_already: set[int] = set()
    if (
        cache_spec is not None
        and signature_cache is not None
        and signature_cache.holds(cache_spec.fingerprint)
    ):
        fs_paths = [source.fs_path for source in sources]
        within = [
            _within(status, settings.max_bytes)
            for status in (_stat_all(fs_paths) if statuses is None else statuses)
        ]
        known = signature_cache.known(cache_spec.fingerprint, cache.stat_keys(fs_paths, os.getcwd()), within)
        if len(known.rows):
            known_rows = known.rows.tolist()
            batches.append(_known_batch(sources, within, known, settings, spill_to, totals))
            signed_already = set(known_rows)
            to_sign = [source for index, source in enumerate(sources) if index not in signed_already]
            progress.advance(len(known_rows))
    jobs = [(f"{number:06d}", chunk) for number, chunk in enumerate(_chunks(to_sign, SIGN_BATCH_FILES))]
    # (sign_batch's `repeated` is None: this is the first pass.)
    cache_args = () if cache_spec is None else (None, cache_spec)
    keeper = (
        engine if keep_signatures and cache_spec is None and isinstance(engine, SignatureKeeper) else None
    )
    kept: list[tuple[Any, int]] = []
    store = _BackgroundStore() if cache_spec is not None else None
    unstored: list[cache.CacheUpdate] = []
    try:
        for signed, handle in (
            keeper.map_keeping(sign_batch, jobs, settings, spill_to, split=set_signatures_aside)
            if keeper is not None
            else ((signed, None) for signed in engine.map(sign_batch, jobs, settings, spill_to, *cache_args))
        ):
            kept.append((handle, len(signed)))
            # Without its rows for the cache, which are the writer's to hold (until stored):
            # kept here, a first run's rows were 150 MB more at 100,000 files.
            batches.append(dataclasses.replace(signed, cache_update=None) if signed.cache_update else signed)
            skipped.extend(signed.skipped)
            totals.update(dict(signed.boilerplate))
            if store is not None and signed.cache_update:
                unstored.append(signed.cache_update)
                if sum(map(len, unstored)) >= STORE_ROWS:
                    assert signature_cache is not None and cache_spec is not None
                    store.submit(functools.partial(signature_cache.add, cache_spec.fingerprint, unstored))
                    unstored = []
            progress.advance(len(signed) + len(signed.skipped))
        if store is not None and unstored:
            assert signature_cache is not None and cache_spec is not None
            store.submit(functools.partial(signature_cache.add, cache_spec.fingerprint, unstored))
    except BaseException:
        if store is not None:
            store.close(abandon=True)
        raise
    if store is not None:
        store.close()
    corpus = _join(batches, settings.num_perm)
    if keeper is not None:
        corpus = dataclasses.replace(corpus, signatures=keeper.hold(kept))
    if known_rows:
        # Back to the sources' (path) order: the known batch came first, the signed ones after it.
        index_of = {source.path: index for index, source in enumerate(to_sign)}
        positions_to_sign = [index for index, _ in enumerate(sources) if index not in signed_already]
        signed_rows = [positions_to_sign[index_of[path]] for path in corpus.paths[len(known_rows) :]]
        order = np.argsort(np.array(known_rows + signed_rows, dtype=np.int64), kind="stable")
        corpus = _reorder(corpus, order.astype(np.int64), len(known_rows))
    return corpus, skipped, totals


def _known_batch(
    sources: Sequence[SourceFile],
    statuses: Sequence[os.stat_result | None],
    known: cache.Known,
    settings: Settings,
    spill_to: str,
    totals: Counter[str],
) -> SignedBatch:
    for text, count in Counter(known.removals).items():
        for rule, lines in json.loads(text):
            totals[rule] += lines * count
    rows = known.rows.tolist()
    line_keys = [np.frombuffer(keys, dtype=np.uint64) for keys in known.line_keys]
    line_key_offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(keys) for keys in line_keys], out=line_key_offsets[1:])
    return SignedBatch(
        paths=tuple(sources[index].path for index in rows),
        fs_paths=tuple(sources[index].fs_path for index in rows),
        content_hashes=tuple(known.content_hashes),
        sizes=np.array([getattr(statuses[index], "st_size", 0) for index in rows], dtype=np.int64),
        mtimes=np.array([getattr(statuses[index], "st_mtime_ns", 0) for index in rows], dtype=np.int64),
        word_counts=known.word_counts,
        shingle_counts=known.shingle_counts,
        signatures=np.frombuffer(known.signatures, dtype=np.uint32)
        .reshape(len(rows), settings.num_perm)
        .copy(),
        set_file=spill.write_sets(spill_to, "known", np.empty(0, np.uint64)),
        set_offsets=np.zeros(len(rows) + 1, dtype=np.int64),
        line_keys=np.concatenate(line_keys) if line_keys else np.zeros(0, np.uint64),
        line_key_offsets=line_key_offsets,
    )


def _reorder(corpus: Corpus, order: npt.NDArray[np.int64], unloaded: int) -> Corpus:
    """The corpus with its rows in `order`; the first `unloaded` rows (before reordering) have
    their sets still in the cache only."""
    marks = np.zeros(len(corpus.paths), dtype=bool) if corpus.unloaded is None else corpus.unloaded.copy()
    marks[:unloaded] = True
    key_counts = np.diff(corpus.line_key_offsets)[order]
    key_offsets = np.zeros(len(order) + 1, dtype=np.int64)
    np.cumsum(key_counts, out=key_offsets[1:])
    key_at = np.repeat(corpus.line_key_offsets[:-1][order] - key_offsets[:-1], key_counts) + np.arange(
        int(key_offsets[-1]), dtype=np.int64
    )
    return Corpus(
        paths=tuple(corpus.paths[index] for index in order.tolist()),
        fs_paths=tuple(corpus.fs_paths[index] for index in order.tolist()),
        content_hashes=tuple(corpus.content_hashes[index] for index in order.tolist()),
        sizes=corpus.sizes[order],
        mtimes=corpus.mtimes[order],
        word_counts=corpus.word_counts[order],
        shingle_counts=corpus.shingle_counts[order],
        signatures=corpus.local_signatures[order],
        set_files=corpus.set_files,
        set_locations=corpus.set_locations[order],
        line_keys=corpus.line_keys[key_at],
        line_key_offsets=key_offsets,
        unloaded=marks[order],
    )


def load_sets(
    corpus: Corpus,
    rows: npt.NDArray[np.int64],
    settings: Settings,
    signature_cache: cache.SignatureCache | None,
    spill_to: str,
    engine: Engine | None = None,
) -> Corpus:
    """The corpus with the exact sets of `rows` that signing took from the cache (which keeps
    no sets, except in caches written before) spilled like the others.

    The files are read and shingled again, on the engine's workers; a file that changed
    meanwhile gets an empty set, so it verifies against nothing (and the diff stage reports
    it as changed).
    """
    if corpus.unloaded is None:
        return corpus
    wanted = np.unique(rows)
    wanted = wanted[corpus.unloaded[wanted]]
    if len(wanted) == 0:
        return corpus
    fingerprint = cache.fingerprint(settings.signature_inputs())
    hashes = [corpus.content_hashes[row] for row in wanted.tolist()]
    entries: dict[str, cache.Entry] = {}
    if signature_cache is not None:  # sets kept by caches written before
        reader = cache.CacheReader(signature_cache.path)
        try:
            entries = reader.entries(fingerprint, hashes, with_sets=True)
        finally:
            reader.close()
    stored: dict[int, npt.NDArray[np.uint64]] = {}
    for row, content_hash in zip(wanted.tolist(), hashes, strict=True):
        entry = entries.get(content_hash)
        if entry is not None and entry.shingles is not None:
            stored[row] = entry.shingles
    locations = corpus.set_locations.copy()
    set_files = list(corpus.set_files)
    # First an empty set for every row, then the sets found: a file that changed since
    # keeps the empty one.
    values = [np.empty(0, np.uint64), *stored.values()]
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum([len(found) for found in values], out=offsets[1:])
    locations[wanted] = (len(set_files), 0, 0)
    if stored:
        locations[list(stored)] = np.stack(
            (np.full(len(stored), len(set_files)), offsets[1:-1], offsets[2:]), axis=1
        )
    set_files.append(spill.write_sets(spill_to, f"loaded-{len(set_files):06d}", np.concatenate(values)))
    again = [row for row in wanted.tolist() if row not in stored]
    row_of = {corpus.paths[row]: row for row in again}
    jobs = [
        (f"again-{len(set_files):06d}-{number:06d}", chunk)
        for number, chunk in enumerate(
            _chunks([SourceFile(corpus.paths[row], corpus.fs_paths[row]) for row in again], SIGN_BATCH_FILES)
        )
    ]
    changed = set(again)
    for batch in (engine or _InProcess()).map(sign_batch, jobs, settings, spill_to, RepeatedLines()):
        file_index = len(set_files)
        set_files.append(batch.set_file)
        for position, (path, content_hash) in enumerate(zip(batch.paths, batch.content_hashes, strict=True)):
            row = row_of[path]
            if content_hash == corpus.content_hashes[row]:
                locations[row] = (file_index, batch.set_offsets[position], batch.set_offsets[position + 1])
                changed.discard(row)
    unloaded = corpus.unloaded.copy()
    unloaded[wanted] = False
    return dataclasses.replace(
        corpus,
        set_files=tuple(set_files),
        set_locations=locations,
        unloaded=unloaded,
        changed_meanwhile=corpus.changed_meanwhile | changed,
    )


class _InProcess:
    def map(self, function: Any, batches: Sequence[Any], *args: Any) -> Iterator[Any]:
        return (function(batch, *args) for batch in batches)


class _BackgroundStore:
    """Runs cache writes in order on a thread of their own, so the main thread goes on handing
    batches to the workers while SQLite writes (it releases the GIL): on a first run, storing
    100,000 signed documents took about half as long as signing them. Until `close`, only
    this thread uses the cache's connection."""

    def __init__(self) -> None:
        self._tasks: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="storydiff-cache-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (task := self._tasks.get()) is not None:
            if self._error is None:
                try:
                    task()
                except BaseException as error:  # raised in the main thread by submit or close
                    self._error = error

    def submit(self, task: Callable[[], None]) -> None:
        if self._error is not None:
            raise self._error
        self._tasks.put(task)

    def close(self, abandon: bool = False) -> None:
        """Wait for the writes submitted (with `abandon`, only the one under way) to finish.

        A Ctrl-C while waiting is held until the writer is done: the connection must not be
        closed under a transaction in progress.
        """
        if abandon:
            while True:
                try:
                    self._tasks.get_nowait()
                except queue.Empty:
                    break
        self._tasks.put(None)
        interrupted = False
        while self._thread.is_alive():
            try:
                self._thread.join()
            except KeyboardInterrupt:
                interrupted = abandon = True
                while True:  # drop what is not started, then wait for the write under way
                    try:
                        self._tasks.get_nowait()
                    except queue.Empty:
                        break
                self._tasks.put(None)
        if interrupted:
            raise KeyboardInterrupt
        if self._error is not None and not abandon:
            raise self._error


def verified_components(
    corpus: Corpus,
    settings: Settings,
    progress: Progress,
    engine: Engine,
    signature_cache: cache.SignatureCache | None = None,
    spill_to: str = "",
) -> tuple[Corpus, list[list[int]]]:
    """Candidates by LSH, the estimate filter, exact verification, union-find: the clusters' rows."""
    corpus, verified, _ = verified_pairs(corpus, settings, progress, engine, signature_cache, spill_to)
    return corpus, cluster.connected_components(len(corpus.paths), verified)


@dataclass(frozen=True)
class PassMemo:
    """What one pass of `verified_pairs` found, by pair key (left * documents + right, sorted):
    its candidates, the likely ones among them, and their exact similarities.

    A later pass over the same corpus in which only some documents were signed again (the
    repeated-line pass) takes every pair of two unchanged documents from here: the same
    signatures and sets give the same answers, so only pairs touching a changed document
    are estimated and verified again.
    """

    candidate_keys: npt.NDArray[np.int64]
    likely_keys: npt.NDArray[np.int64]
    jaccard: npt.NDArray[np.float64]
    containment: npt.NDArray[np.float64]
    smaller: npt.NDArray[np.int64]


def _pair_keys(pairs: cluster.PairArray, documents: int) -> npt.NDArray[np.int64]:
    keys: npt.NDArray[np.int64] = pairs[:, 0] * np.int64(documents) + pairs[:, 1]
    return keys


def _positions_in(
    keys: npt.NDArray[np.int64], sorted_keys: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Which keys are in `sorted_keys`, and where (meaningful only where found)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool), np.zeros(len(keys), dtype=np.int64)
    where = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    found: npt.NDArray[np.bool_] = sorted_keys[where] == keys
    return found, where


def _likely_candidates(
    corpus: Corpus,
    signature_file: SignatureFile,
    settings: Settings,
    engine: Engine,
    earlier: tuple[PassMemo, npt.NDArray[np.bool_]] | None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """LSH candidates (their pair codes), which are likely, and which came from `earlier`.

    Groups of bands, then ranges of candidates, are engine tasks over the spilled signatures
    and candidate codes: the parent holds 8 bytes and two flags a candidate, never a pair
    list (a corpus whose documents share passages can have tens of candidates a document).
    """
    documents = len(corpus.paths)
    bands = settings.lsh_bands
    step = max(1, -(-bands // CANDIDATE_JOBS))
    candidate_jobs = [
        CandidateJob(
            signature_file,
            first,
            min(step, bands - first),
            settings.rows_per_band,
            corpus.shingle_counts > 0,
            corpus.shingle_counts,
        )
        for first in range(0, bands, step)
    ]
    candidate_keys = np.empty(0, dtype=np.int64)
    for codes in engine.map(candidate_batch, candidate_jobs):  # merged as they come
        candidate_keys = cluster.merged_codes([candidate_keys, codes])
    remembered = np.zeros(len(candidate_keys), dtype=bool)
    is_likely = np.zeros(len(candidate_keys), dtype=bool)
    if earlier is not None:
        memo, changed = earlier
        remembered, _ = _positions_in(candidate_keys, memo.candidate_keys)
        for start in range(0, len(candidate_keys), 1 << 20):
            part = slice(start, start + (1 << 20))
            pairs = cluster.pairs_from_codes(candidate_keys[part], documents)
            remembered[part] &= ~(changed[pairs[:, 0]] | changed[pairs[:, 1]])
        is_likely[remembered], _ = _positions_in(candidate_keys[remembered], memo.likely_keys)
    fresh_keys = candidate_keys if earlier is None else candidate_keys[~remembered]
    directory = os.path.dirname(signature_file.path)
    descriptor, codes_path = tempfile.mkstemp(prefix="candidates-", suffix=".i64", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            fresh_keys.tofile(handle)
        likely_jobs = [
            LikelyJob(
                signature_file,
                codes_path,
                start,
                min(start + LIKELY_BATCH_PAIRS, len(fresh_keys)),
                corpus.shingle_counts,
            )
            for start in range(0, len(fresh_keys), LIKELY_BATCH_PAIRS)
        ]
        masks = list(engine.map(likely_batch, likely_jobs, settings))
    finally:
        os.unlink(codes_path)
    fresh_likely = np.concatenate(masks) if masks else np.zeros(0, dtype=bool)
    if earlier is None:
        is_likely = fresh_likely
    else:
        is_likely[~remembered] = fresh_likely
    return candidate_keys, is_likely, remembered


def verified_pairs(
    corpus: Corpus,
    settings: Settings,
    progress: Progress,
    engine: Engine,
    signature_cache: cache.SignatureCache | None = None,
    spill_to: str = "",
    set_ids: Sequence[str] | None = None,
    pass_key: str | None = None,
    earlier: tuple[PassMemo, npt.NDArray[np.bool_]] | None = None,
) -> tuple[Corpus, list[Pair], PassMemo]:
    """Candidates by LSH, the estimate filter, exact verification: the near-duplicate pairs,
    and a memo of this pass for a later one in this run.

    Three ways to skip work, each giving the same pairs:
    - with `earlier` (a memo of a pass over this corpus in this run, and which documents
      were signed again since), pairs of unchanged documents are answered from the memo;
    - with `set_ids` (what identifies each row's exact set: see `pair_key`) and the cache,
      pairs verified by an earlier run are taken from the cache, and only the others are
      verified (and stored);
    - with a `pass_key` too, the pass is stored under it for the next run, and the one
      stored there by the last run is the starting point: when few documents changed since,
      only they are banded (cluster.likely_pairs_after_change).
    """
    cached = signature_cache is not None and signature_cache.enabled and set_ids is not None
    documents = len(corpus.paths)
    progress.start("Finding candidates", 1)
    likely: npt.NDArray[np.int64] | None = None
    kept: tuple[npt.NDArray[Any], ...] | None = None
    from_memo: npt.NDArray[np.bool_] | None = None
    if (
        cached
        and pass_key is not None
        and signature_cache is not None
        and set_ids is not None
        and isinstance(corpus.signatures, np.ndarray)
    ):
        found = _likely_from_pass(corpus, settings, signature_cache, set_ids, pass_key)
        if found is not None:
            likely, kept = found[0], found[1:]
            candidate_keys = _pair_keys(likely, documents)  # the candidates are not known here
    if likely is None and isinstance(engine, SignatureKeeper):
        # The engine bands where it keeps the signatures; only likely pairs come back.
        likely = engine.likely_pairs(corpus.signatures, corpus.shingle_counts, settings)
        candidate_keys = _pair_keys(likely, documents)
    if likely is None:
        signature_file = spill_signatures(corpus.local_signatures, spill_to or None)
        try:
            candidate_keys, is_likely, remembered = _likely_candidates(
                corpus, signature_file, settings, engine, earlier
            )
        finally:
            os.unlink(signature_file.path)
        likely = cluster.pairs_from_codes(candidate_keys[is_likely], documents)
        from_memo = remembered[is_likely]
    likely_keys = _pair_keys(likely, documents)
    if from_memo is None:
        from_memo = np.zeros(len(likely), dtype=bool)
        if earlier is not None:
            from_memo, _ = _positions_in(likely_keys, earlier[0].likely_keys)
            from_memo &= ~(earlier[1][likely[:, 0]] | earlier[1][likely[:, 1]])
    progress.advance()

    progress.start("Verifying", len(likely))
    jaccard = np.zeros(len(likely))
    containment = np.zeros(len(likely))
    smaller = np.zeros(len(likely), dtype=np.int64)
    done = np.zeros(len(likely), dtype=bool)
    if earlier is not None and from_memo.any():
        memo = earlier[0]
        _, where = _positions_in(likely_keys[from_memo], memo.likely_keys)
        jaccard[from_memo] = memo.jaccard[where]
        containment[from_memo] = memo.containment[where]
        smaller[from_memo] = memo.smaller[where]
        done |= from_memo
    if kept is not None and len(kept[0]):
        _, at = _positions_in(_pair_keys(kept[0], documents), likely_keys)
        jaccard[at], containment[at], smaller[at] = kept[1], kept[2], kept[3]
        done[at] = True
    keys: list[str] = []
    if cached and signature_cache is not None and set_ids is not None and not done.all():
        fingerprint = cache.fingerprint(settings.signature_inputs())
        keys = [
            "" if done[index] else pair_key(fingerprint, set_ids[left], set_ids[right])
            for index, (left, right) in enumerate(likely.tolist())
        ]
        stored = signature_cache.get_pairs([key for key in keys if key])
        for index, key in enumerate(keys):
            if key in stored:
                jaccard[index], containment[index], smaller[index] = stored[key]
                done[index] = True
    todo = np.flatnonzero(~done)
    progress.advance(len(likely) - len(todo))
    corpus = load_sets(corpus, likely[todo].ravel(), settings, signature_cache, spill_to, engine)
    chunks = [todo[start : start + VERIFY_BATCH_PAIRS] for start in range(0, len(todo), VERIFY_BATCH_PAIRS)]
    verify_jobs = [
        VerifyJob(
            likely[chunk],
            corpus.set_files,
            corpus.set_locations[likely[chunk, 0]],
            corpus.set_locations[likely[chunk, 1]],
        )
        for chunk in chunks
    ]
    for chunk, (chunk_jaccard, chunk_containment, chunk_smaller) in zip(
        chunks, engine.map(verify_batch, verify_jobs), strict=True
    ):
        jaccard[chunk], containment[chunk], smaller[chunk] = chunk_jaccard, chunk_containment, chunk_smaller
        progress.advance(len(chunk))
    if cached and signature_cache is not None and set_ids is not None:
        changed = corpus.changed_meanwhile
        if keys:
            signature_cache.put_pairs(
                [
                    (keys[index], float(jaccard[index]), float(containment[index]), int(smaller[index]))
                    for index in todo.tolist()
                    if keys[index] and not (changed and {*likely[index].tolist()} & changed)
                ]
            )
        if pass_key is not None and isinstance(corpus.signatures, np.ndarray) and not changed:
            extra = [row for row, set_id in enumerate(set_ids) if set_id != corpus.content_hashes[row]]
            signature_cache.put_pass(
                pass_key,
                cache.Pass(
                    paths=corpus.paths,
                    set_ids=tuple(set_ids),
                    shingle_counts=corpus.shingle_counts,
                    pairs=likely,
                    jaccard=jaccard,
                    containment=containment,
                    smaller=smaller,
                    extra_ids=tuple(set_ids[row] for row in extra),
                    extra_signatures=corpus.signatures[extra],
                ),
            )
    keep = np.flatnonzero(cluster.near_duplicate_mask(jaccard, containment, smaller, settings))
    verified = [
        Pair(int(left), int(right), float(pair_jaccard), float(pair_containment))
        for left, right, pair_jaccard, pair_containment in zip(
            likely[keep, 0].tolist(),
            likely[keep, 1].tolist(),
            jaccard[keep].tolist(),
            containment[keep].tolist(),
            strict=True,
        )
    ]
    return corpus, verified, PassMemo(candidate_keys, likely_keys, jaccard, containment, smaller)


# A re-run bands only what changed while this many documents changed, or 1 in 100 of them.
PASS_CHANGED_LIMIT = 1000


def _likely_from_pass(
    corpus: Corpus,
    settings: Settings,
    signature_cache: cache.SignatureCache,
    set_ids: Sequence[str],
    pass_key: str,
) -> tuple[npt.NDArray[Any], ...] | None:
    """The likely pairs from the pass stored under `pass_key` and what changed since, with the
    kept pairs (as rows of this corpus) and their stored Jaccard, containment and smaller set
    size; None when there is no such pass, too much changed, or the change touched a large
    band bucket."""
    state = signature_cache.get_pass(pass_key, settings.num_perm)
    if state is None:
        return None
    if state.paths == corpus.paths:  # the usual re-run: the same files, a few of them edited
        previous = np.arange(len(state.paths), dtype=np.int64)
        previous[
            [row for row, (was, now) in enumerate(zip(state.set_ids, set_ids, strict=True)) if was != now]
        ] = -1
    else:
        row_of = {item: row for row, item in enumerate(zip(corpus.paths, set_ids, strict=True))}
        previous = np.array(
            [row_of.get(item, -1) for item in zip(state.paths, state.set_ids, strict=True)], dtype=np.int64
        )
    seen = np.zeros(len(corpus.paths), dtype=bool)
    seen[previous[previous >= 0]] = True
    changed = np.flatnonzero(~seen)
    removed = np.flatnonzero(previous < 0)
    if len(changed) + len(removed) > max(PASS_CHANGED_LIMIT, len(corpus.paths) // 100):
        return None
    removed = removed[state.shingle_counts[removed] > 0]
    removed_ids = [state.set_ids[row] for row in removed.tolist()]
    extra = {set_id: row for row, set_id in enumerate(state.extra_ids)}
    reader = cache.CacheReader(signature_cache.path)
    try:
        entries = reader.entries(
            cache.fingerprint(settings.signature_inputs()),
            [set_id for set_id in removed_ids if set_id not in extra],
            with_sets=False,
        )
    finally:
        reader.close()
    signatures = []
    for set_id in removed_ids:
        if set_id in extra:
            signatures.append(state.extra_signatures[extra[set_id]])
        elif set_id in entries:
            signatures.append(entries[set_id].signature)
        else:
            return None  # gone from the cache (cleared): band the whole corpus
    removed_signatures = (
        np.stack(signatures).astype(np.uint32)
        if signatures
        else np.empty((0, settings.num_perm), dtype=np.uint32)
    )
    mapped = previous[state.pairs] if len(state.pairs) else np.empty((0, 2), dtype=np.int64)
    keep = (mapped >= 0).all(axis=1)
    kept_pairs = mapped[keep]
    likely = cluster.likely_pairs_after_change(
        kept_pairs, changed, removed_signatures, corpus.local_signatures, corpus.shingle_counts, settings
    )
    if likely is None:
        return None
    return likely, kept_pairs, state.jaccard[keep], state.containment[keep], state.smaller[keep]


def stored_pass_key(settings: Settings, inputs: Sequence[str], name: str) -> str:
    """Where `cluster` keeps a pass for the next run over the same inputs (see verified_pairs):
    the settings that decide the likely pairs, the code, and which pass."""
    text = json.dumps(
        [
            cache.fingerprint(settings.signature_inputs()),
            code_digest(),
            [settings.lsh_bands, settings.threshold, settings.containment, settings.min_containment_shingles],
            [ingest.display_path(path) for path in inputs],
            name,
        ]
    )
    return xxhash.xxh3_128_hexdigest(text.encode("utf-8", "surrogatepass"))


def pair_key(fingerprint: str, left: str, right: str) -> str:
    """The cache's key for a verified pair: the signature fingerprint and what identifies the
    two exact sets, in either order (a content hash; with `+` and a digest of the repeated
    lines stripped from it for a document signed again without them)."""
    first, second = sorted((left, right))
    return xxhash.xxh3_128_hexdigest(f"{fingerprint}\0{first}\0{second}".encode("utf-8", "surrogatepass"))


def diff_context(settings: Settings, repeated: RepeatedLines) -> str:
    """What every cluster's diffs depend on besides its members, digested: the settings, the
    code and the repeated lines (see `cluster_key`)."""
    text = json.dumps(
        [
            settings.as_dict(),
            cache.fingerprint(settings.signature_inputs()),
            code_digest(),
            repeated_digest(repeated),
        ],
        sort_keys=True,
    )
    return xxhash.xxh3_128_hexdigest(text.encode("utf-8", "surrogatepass"))


def cluster_key(context: str, members: Sequence[tuple[str, str, str]]) -> str:
    """The cache's key for a diffed cluster: everything its members' diffs depend on, that is
    `diff_context` and each member's path, content and exact set, representative first
    (`members` are (path, content hash, set id); none holds a NUL)."""
    text = "\0".join([context, *(value for member in members for value in member)])
    return xxhash.xxh3_128_hexdigest(text.encode("utf-8", "surrogatepass"))


def repeated_digest(repeated: RepeatedLines) -> str:
    """A short digest of the repeated lines and how they are stripped."""
    keys = np.array(sorted(repeated.keys), dtype=np.uint64).tobytes()
    digest = xxhash.xxh3_64(keys)
    digest.update(f"{repeated.min_words}\0{repeated.max_document_share}".encode())
    return str(digest.hexdigest())


_REPORT_MODULES = ("pipeline", "cluster", "diff", "figures", "model", "cache")
_CODE_DIGESTS: dict[tuple[str, ...], str] = {}


def code_digest(extra_modules: Sequence[str] = ()) -> str:
    """A digest of the code that makes a report from signatures (the stages after signing;
    signing's own is in Settings.signature_inputs) and of `extra_modules` (storydiff's,
    named relative to it), read once per process."""
    modules = (*_REPORT_MODULES, *extra_modules)
    if modules not in _CODE_DIGESTS:
        import importlib

        digest = xxhash.xxh3_128()
        for module in modules:
            source = importlib.import_module(f"storydiff.{module}").__file__
            if source:
                with open(source, "rb") as handle:
                    digest.update(handle.read())
        _CODE_DIGESTS[modules] = str(digest.hexdigest())
    return _CODE_DIGESTS[modules]


@dataclass(frozen=True)
class _Signed:
    corpus: Corpus
    skipped: tuple[Skipped, ...]
    boilerplate: Counter[str]
    resigned: frozenset[int] = frozenset()  # rows signed again without their repeated lines


def repeated_lines(corpus: Corpus, components: Sequence[Sequence[int]], settings: Settings) -> RepeatedLines:
    """The lines that recur across unrelated documents: boilerplate that no rule names.

    Documents are first put in groups: each cluster of near-duplicates is one group, every
    other document a group of its own, so the shared body of two versions of one story
    counts once. A line (of at least `repeated_min_words` words, compared by its tokens: see
    boilerplate.line_key) is repeated when it is found in at least `repeated_min_documents` groups
    and in at least `repeated_min_share` of all groups. (Stripping then leaves them in a
    document they would mostly empty: see RepeatedLines.) Counting per document first is one
    numpy pass; only the few lines that pass on documents are counted again per group.
    """
    empty = RepeatedLines(min_words=settings.repeated_min_words, seed=settings.seed)  # nothing to take
    keys, offsets = corpus.line_keys, corpus.line_key_offsets
    if not len(keys):
        return empty
    documents = len(corpus.paths)
    groups = documents - sum(len(component) - 1 for component in components)
    needed = max(settings.repeated_min_documents, math.ceil(settings.repeated_min_share * groups))
    values, counts = np.unique(keys, return_counts=True)  # keys are distinct within a document
    frequent = values[counts >= needed]
    if not len(frequent):
        return empty
    group_of = np.arange(documents)
    for number, component in enumerate(components):
        group_of[component] = documents + number
    document_of = np.repeat(np.arange(documents), np.diff(offsets))
    mask = np.isin(keys, frequent)
    line_keys, line_groups = keys[mask], group_of[document_of[mask]]
    order = np.lexsort((line_groups, line_keys))
    line_keys, line_groups = line_keys[order], line_groups[order]
    first_in_group = np.ones(len(line_keys), dtype=bool)
    first_in_group[1:] = (line_keys[1:] != line_keys[:-1]) | (line_groups[1:] != line_groups[:-1])
    values, counts = np.unique(line_keys[first_in_group], return_counts=True)
    repeated = values[counts >= needed]
    return RepeatedLines(
        frozenset(int(key) for key in repeated),
        settings.repeated_min_words,
        settings.repeated_max_document_share,
        settings.seed,
    )


def _strip_repeated(
    signed: _Signed,
    repeated: RepeatedLines,
    holding: npt.NDArray[np.bool_],
    settings: Settings,
    spill_to: str,
    engine: Engine,
    progress: Progress,
    signature_cache: cache.SignatureCache | None = None,
) -> _Signed:
    """Sign again, without their repeated lines, the documents that hold one (`holding`).

    With the cache, a batch of documents whose contents an earlier run signed again with the
    same repeated lines (cache.Stripped, keyed by `_stripped_key`) is taken from the cache;
    the others are signed and stored.
    """
    corpus = signed.corpus
    affected = np.flatnonzero(holding).tolist()
    sources = [SourceFile(corpus.paths[index], corpus.fs_paths[index]) for index in affected]
    row_of = {corpus.paths[index]: index for index in affected}

    progress.start("Stripping repeated lines", len(sources))
    signatures = corpus.signatures.copy() if isinstance(corpus.signatures, np.ndarray) else corpus.signatures
    shingle_counts = corpus.shingle_counts.copy()
    word_counts = corpus.word_counts.copy()
    set_locations = corpus.set_locations.copy()
    set_files = list(corpus.set_files)
    totals = Counter(signed.boilerplate)
    resigned: set[int] = set()
    jobs = [
        (f"repeated-{number:06d}", chunk) for number, chunk in enumerate(_chunks(sources, SIGN_BATCH_FILES))
    ]
    if not isinstance(signatures, np.ndarray):
        # Signatures kept by the engine (Dask, without the cache): replaced where they are.
        keeper = engine
        assert isinstance(keeper, SignatureKeeper)
        for batch, kept_block in keeper.map_keeping(
            sign_batch, jobs, settings, spill_to, repeated, split=set_signatures_aside
        ):
            file_index = len(set_files)
            set_files.append(batch.set_file)
            indices = np.array([row_of[path] for path in batch.paths], dtype=np.int64)
            if any(
                corpus.content_hashes[index] != content_hash
                for index, content_hash in zip(indices.tolist(), batch.content_hashes, strict=True)
            ):
                # A file changed since the first pass: the batch keeps its first signatures
                # (the rows are kept together on the workers), as a vanished file does.
                progress.advance(len(batch) + len(batch.skipped))
                continue
            signatures = signatures.with_rows(indices, kept_block)
            for row, index in enumerate(indices.tolist()):
                shingle_counts[index] = batch.shingle_counts[row]
                word_counts[index] = batch.word_counts[row]
                set_locations[index] = (file_index, batch.set_offsets[row], batch.set_offsets[row + 1])
                resigned.add(index)
            totals[REPEATED_LINE] += dict(batch.boilerplate).get(REPEATED_LINE, 0)
            progress.advance(len(batch) + len(batch.skipped))
    else:
        memo = signature_cache is not None and signature_cache.enabled
        prefix = (
            f"{cache.fingerprint(settings.signature_inputs())}\0{repeated_digest(repeated)}" if memo else ""
        )
        keys = [_stripped_key(prefix, corpus, chunk, row_of) for _, chunk in jobs] if memo else []
        stored = signature_cache.get_stripped(keys, settings.num_perm) if memo and signature_cache else {}
        fresh: dict[str, cache.Stripped] = {}
        computed = iter(
            engine.map(
                sign_batch,
                [job for number, job in enumerate(jobs) if not keys or keys[number] not in stored],
                settings,
                spill_to,
                repeated,
            )
        )
        for number, (name, chunk) in enumerate(jobs):
            if keys and keys[number] in stored:
                kept = stored[keys[number]]
                paths: Sequence[str] = [source.path for source in chunk]
                set_file = spill.write_sets(spill_to, name, kept.set_values)
            else:
                batch = next(computed)
                paths = batch.paths
                set_file = batch.set_file
                kept = cache.Stripped(
                    batch.word_counts,
                    batch.shingle_counts,
                    batch.signatures,
                    spill.read_sets(batch.set_file),
                    batch.set_offsets,
                    dict(batch.boilerplate).get(REPEATED_LINE, 0),
                )
                unchanged = [
                    corpus.content_hashes[row_of[path]] == content_hash
                    for path, content_hash in zip(batch.paths, batch.content_hashes, strict=True)
                ]
                if keys and len(batch.paths) == len(chunk) and all(unchanged):  # none vanished or changed
                    fresh[keys[number]] = kept
            file_index = len(set_files)
            set_files.append(set_file)
            for row, path in enumerate(paths):
                if not (keys and keys[number] in stored) and not unchanged[row]:
                    continue  # a file that changed (or vanished) since keeps its first signature
                index = row_of[path]
                signatures[index] = kept.signatures[row]
                shingle_counts[index] = kept.shingle_counts[row]
                word_counts[index] = kept.word_counts[row]
                set_locations[index] = (file_index, kept.set_offsets[row], kept.set_offsets[row + 1])
                resigned.add(index)
            totals[REPEATED_LINE] += kept.repeated_lines
            progress.advance(len(chunk))
        if fresh and signature_cache is not None:
            signature_cache.put_stripped(fresh)
    unloaded = None
    if corpus.unloaded is not None:  # signed again here: their sets are in the spill now
        unloaded = corpus.unloaded.copy()
        unloaded[sorted(resigned)] = False
    corpus = dataclasses.replace(
        corpus,
        signatures=signatures,
        shingle_counts=shingle_counts,
        word_counts=word_counts,
        set_locations=set_locations,
        set_files=tuple(set_files),
        unloaded=unloaded,
    )
    return _Signed(corpus, signed.skipped, totals, frozenset(resigned))


def _stripped_key(prefix: str, corpus: Corpus, chunk: Sequence[SourceFile], row_of: dict[str, int]) -> str:
    """The cache's key for a batch signed again without repeated lines: `prefix` (the
    signature fingerprint and the repeated lines' digest) and the contents of the batch's
    documents, in order."""
    text = "\0".join([prefix, *(corpus.content_hashes[row_of[source.path]] for source in chunk)])
    return xxhash.xxh3_128_hexdigest(text.encode("utf-8", "surrogatepass"))


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
    re-read looks up among the repeated lines (None: all of them).
    """
    memo = signature_cache is not None and signature_cache.enabled and set_ids is not None
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
            corpus = load_sets(corpus, rows, settings, signature_cache, spill_to, engine)
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
            for results in engine.map(diff_batch, _chunks(tasks, DIFF_BATCH_CLUSTERS), settings, repeated)
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
                if len(fresh) >= DIFF_STORE_CLUSTERS and signature_cache is not None:
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
        item = clean(SourceFile(ingest.display_path(path), path), settings)
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

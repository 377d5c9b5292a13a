"""Read, clean, shingle and sign batches of files (the work an engine runs), with the signature
cache's entries handed in by the orchestrator's spec."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .. import boilerplate, ingest, shingles, spill
from ..boilerplate import RepeatedLines
from ..model import (
    CleanedDocument,
    Document,
    SignedBatch,
    Skipped,
    SourceFile,
)
from ..settings import Settings
from ..signatures import batch_signatures
from ..store import cache
from . import batching


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
        if characters >= batching.SIGN_PART_CHARS:
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
        if self._texts and self._characters + len(text) > batching.SIGN_PART_CHARS:
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

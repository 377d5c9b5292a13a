"""The document table (Corpus): signed batches joined in path order, and the functions that
fill it (sign_all) and load the exact sets it lacks (load_sets)."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import queue
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import spill
from ..boilerplate import RepeatedLines
from ..ingest import stat_all as _stat_all
from ..model import (
    SignedBatch,
    Skipped,
    SourceFile,
)
from ..settings import Settings
from ..store import cache
from ..store.keys import (
    signature_fingerprint,
)
from . import batching, signing
from .batching import _chunks, _InProcess
from .protocols import Engine, KeptSignatures, Progress, SignatureKeeper, set_signatures_aside
from .signing import CacheSpec, _within


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
        fingerprint = signature_fingerprint(settings)
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
    jobs = [
        (f"{number:06d}", chunk) for number, chunk in enumerate(_chunks(to_sign, batching.SIGN_BATCH_FILES))
    ]
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
            keeper.map_keeping(signing.sign_batch, jobs, settings, spill_to, split=set_signatures_aside)
            if keeper is not None
            else (
                (signed, None)
                for signed in engine.map(signing.sign_batch, jobs, settings, spill_to, *cache_args)
            )
        ):
            kept.append((handle, len(signed)))
            # Without its rows for the cache, which are the writer's to hold (until stored):
            # kept here, a first run's rows were 150 MB more at 100,000 files.
            batches.append(dataclasses.replace(signed, cache_update=None) if signed.cache_update else signed)
            skipped.extend(signed.skipped)
            totals.update(dict(signed.boilerplate))
            if store is not None and signed.cache_update:
                unstored.append(signed.cache_update)
                if sum(map(len, unstored)) >= batching.STORE_ROWS:
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
    fingerprint = signature_fingerprint(settings)
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
            _chunks(
                [SourceFile(corpus.paths[row], corpus.fs_paths[row]) for row in again],
                batching.SIGN_BATCH_FILES,
            )
        )
    ]
    changed = set(again)
    for batch in (engine or _InProcess()).map(signing.sign_batch, jobs, settings, spill_to, RepeatedLines()):
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

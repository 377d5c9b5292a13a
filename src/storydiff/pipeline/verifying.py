"""Candidate pairs to verified pairs: LSH candidates, the estimate filter and exact similarity,
with the passes kept for an incremental re-run."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import cluster, spill
from ..model import (
    Pair,
)
from ..settings import Settings
from ..store import cache
from ..store.keys import (
    pair_key,
    signature_fingerprint,
)
from . import batching, corpus_table
from .corpus_table import Corpus
from .protocols import Engine, Progress, SignatureKeeper


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
    step = max(1, -(-bands // batching.CANDIDATE_JOBS))
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
                min(start + batching.LIKELY_BATCH_PAIRS, len(fresh_keys)),
                corpus.shingle_counts,
            )
            for start in range(0, len(fresh_keys), batching.LIKELY_BATCH_PAIRS)
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
        fingerprint = signature_fingerprint(settings)
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
    corpus = corpus_table.load_sets(corpus, likely[todo].ravel(), settings, signature_cache, spill_to, engine)
    chunks = [
        todo[start : start + batching.VERIFY_BATCH_PAIRS]
        for start in range(0, len(todo), batching.VERIFY_BATCH_PAIRS)
    ]
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
    if len(changed) + len(removed) > max(batching.PASS_CHANGED_LIMIT, len(corpus.paths) // 100):
        return None
    removed = removed[state.shingle_counts[removed] > 0]
    removed_ids = [state.set_ids[row] for row in removed.tolist()]
    extra = {set_id: row for row, set_id in enumerate(state.extra_ids)}
    reader = cache.CacheReader(signature_cache.path)
    try:
        entries = reader.entries(
            signature_fingerprint(settings),
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

"""Repeated lines: found from a first clustering, stripped by signing the documents that hold
one again."""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import xxhash

from .. import spill
from ..boilerplate import REPEATED_LINE, RepeatedLines
from ..model import (
    Skipped,
    SourceFile,
)
from ..settings import Settings
from ..store import cache
from ..store.keys import (
    repeated_digest,
    signature_fingerprint,
)
from . import batching, signing
from .batching import _chunks
from .corpus_table import Corpus
from .protocols import Engine, Progress, SignatureKeeper, set_signatures_aside


def holding_repeated(corpus: Corpus, repeated: RepeatedLines) -> npt.NDArray[np.bool_]:
    """Which documents hold one of the repeated lines, by the line keys of their first signing."""
    wanted = np.fromiter(repeated.keys, np.uint64, len(repeated.keys))
    document_of = np.repeat(np.arange(len(corpus.paths)), np.diff(corpus.line_key_offsets))
    holding = np.zeros(len(corpus.paths), dtype=bool)
    holding[document_of[np.isin(corpus.line_keys, wanted)]] = True
    return holding


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
        (f"repeated-{number:06d}", chunk)
        for number, chunk in enumerate(_chunks(sources, batching.SIGN_BATCH_FILES))
    ]
    if not isinstance(signatures, np.ndarray):
        # Signatures kept by the engine (Dask, without the cache): replaced where they are.
        keeper = engine
        assert isinstance(keeper, SignatureKeeper)
        for batch, kept_block in keeper.map_keeping(
            signing.sign_batch, jobs, settings, spill_to, repeated, split=set_signatures_aside
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
        prefix = f"{signature_fingerprint(settings)}\0{repeated_digest(repeated)}" if memo else ""
        keys = [_stripped_key(prefix, corpus, chunk, row_of) for _, chunk in jobs] if memo else []
        stored = signature_cache.get_stripped(keys, settings.num_perm) if memo and signature_cache else {}
        fresh: dict[str, cache.Stripped] = {}
        computed = iter(
            engine.map(
                signing.sign_batch,
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

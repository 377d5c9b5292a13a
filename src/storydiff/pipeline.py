"""The cluster pipeline: files → documents → cleaned text → shingles → signatures →
candidate pairs → verified pairs → clusters → diffs → report.

`run_cluster` wires the stages together. The heavy work is done by three batch functions
(`sign_batch`, `verify_batch`, `diff_batch`) that take and return picklable values, so an
engine can run them in this process, in a process pool or on a Dask cluster. Signing keeps
no text: it spills each document's exact shingle set to a temporary file for verification,
and only the documents that end up in a cluster are read again, for their diffs.

Boilerplate: every stage reads files through `clean`, with the rules in Settings and the
corpus's repeated lines, so all of them compare the same text. Repeated lines are found
after a first clustering (`repeated_lines`); only the documents holding one are signed
again. `run_strip` shows what stripping removes (`storydiff strip`).
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from . import boilerplate, cluster, ingest, shingles, spill
from .boilerplate import REPEATED_LINE, RepeatedLines
from .diff import diff_tokens, tokenize, word_diff
from .model import (
    CleanedDocument,
    Cluster,
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
# Shingling holds about 40 bytes per character of the texts it is given at once, so a batch
# of large files is shingled in parts of at most this many characters (a single larger file
# is a part of its own; --max-bytes bounds it).
SIGN_PART_CHARS = 8 << 20
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


def sign_batch(
    job: tuple[str, Sequence[SourceFile]],
    settings: Settings,
    spill_to: str,
    repeated: RepeatedLines | None = None,
) -> SignedBatch:
    """Read, clean, shingle and sign a batch of files; the exact sets go to a file in `spill_to`.

    On the first pass (no `repeated` yet) it also returns each document's line keys, from
    which the corpus's repeated lines are found. Texts are shingled in parts of about
    SIGN_PART_CHARS characters and dropped after, so memory follows the part, not the batch,
    when the files are large.
    """
    name, sources = job
    documents: list[tuple[str, str, str, int, int]] = []  # path, fs_path, hash, size, mtime: no text
    skipped: list[Skipped] = []
    totals: Counter[str] = Counter()
    wants_line_keys = settings.finds_repeated_lines and repeated is None
    line_keys_of: list[set[int]] = []
    parts: list[
        tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64], npt.NDArray[np.int64], npt.NDArray[np.uint32]]
    ] = []
    texts: list[str] = []
    characters = 0

    def sign_part() -> None:
        nonlocal texts, characters
        batch = shingles.batch_shingles(texts, settings.ngram, settings.seed)
        set_values, set_offsets = shingles.distinct_sets(batch)
        signatures = batch_signatures(batch, settings.num_perm, settings.seed)
        parts.append((batch.word_counts, set_values, set_offsets, signatures))
        texts, characters = [], 0

    for source in sources:
        item = clean(source, settings, tidy=False, repeated=repeated)
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        document = item.document
        documents.append(
            (document.path, document.fs_path, document.content_hash, document.size_bytes, document.mtime_ns)
        )
        totals.update(removal.rule for removal in item.removals)
        if wants_line_keys:
            line_keys_of.append(boilerplate.line_keys(item.text, settings.repeated_min_words))
        if texts and characters + len(item.text) > SIGN_PART_CHARS:
            sign_part()
        texts.append(item.text)
        characters += len(item.text)
    if texts or not parts:
        sign_part()
    set_values = np.concatenate([part[1] for part in parts])
    set_offsets = np.zeros(len(documents) + 1, dtype=np.int64)
    np.cumsum(np.concatenate([np.diff(part[2]) for part in parts]), out=set_offsets[1:])
    line_keys, line_key_offsets = np.zeros(0, np.uint64), np.zeros(len(documents) + 1, np.int64)
    if wants_line_keys:
        line_key_offsets[1:] = np.cumsum([len(keys) for keys in line_keys_of])
        line_keys = np.fromiter(
            (key for keys in line_keys_of for key in keys), np.uint64, int(line_key_offsets[-1])
        )
    columns = tuple(zip(*documents, strict=True)) if documents else ((), (), (), (), ())
    paths, fs_paths, content_hashes, sizes, mtimes = columns
    return SignedBatch(
        paths=tuple(paths),
        fs_paths=tuple(fs_paths),
        content_hashes=tuple(content_hashes),
        sizes=np.array(sizes, dtype=np.int64),
        mtimes=np.array(mtimes, dtype=np.int64),
        word_counts=np.concatenate([part[0] for part in parts]),
        shingle_counts=np.diff(set_offsets),
        signatures=np.concatenate([part[3] for part in parts]).reshape(-1, settings.num_perm),
        set_file=spill.write_sets(spill_to, name, set_values),
        set_offsets=set_offsets,
        skipped=tuple(skipped),
        boilerplate=tuple(sorted(totals.items())),
        line_keys=line_keys,
        line_key_offsets=line_key_offsets,
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


def diff_batch(
    tasks: Sequence[DiffTask], settings: Settings, repeated: RepeatedLines | None = None
) -> list[list[MemberDiff | Skipped]]:
    """Read each cluster's texts again and diff every member against the representative.

    The first item of each result is the representative (or why it could not be read again).
    """
    reader = spill.SetReader()
    results: list[list[MemberDiff | Skipped]] = []
    for task in tasks:
        texts: list[CleanedDocument | Skipped] = []
        for path, fs_path, content_hash in (task.representative, *task.members):
            item = clean(SourceFile(path, fs_path), settings, repeated=repeated)
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
            change = word_diff(base_tokens, item.text)
            outcome.append(
                MemberDiff(
                    path=item.document.path,
                    jaccard=jaccard,
                    containment=containment,
                    added_words=change.added_words,
                    removed_words=change.removed_words,
                    segments=change.segments,
                    representative_stripped=stripped_lines(base) if settings.show_stripped else (),
                    member_stripped=(
                        on_member_side(stripped_lines(item), item.text, change.segments)
                        if settings.show_stripped
                        else ()
                    ),
                )
            )
        results.append(outcome)
    return results


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def strip_batch(
    sources: Sequence[SourceFile], settings: Settings, repeated: RepeatedLines, keep_text: bool
) -> list[StrippedFile | Skipped]:
    """Strip a batch of files and locate every removed line in its file."""
    results: list[StrippedFile | Skipped] = []
    for source in sources:
        item = clean(source, settings, repeated=repeated)
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
    repeated = RepeatedLines(min_words=settings.repeated_min_words)
    if settings.finds_repeated_lines and len(sources) >= settings.repeated_min_documents:
        with spill.spill_directory() as spill_to:
            signed = _sign(sources, settings, spill_to, engine, progress)
            repeated = repeated_lines(
                signed.corpus, _components(signed.corpus, settings, engine, progress), settings
            )
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


def on_member_side(
    lines: tuple[StrippedLine, ...], text: str, segments: Sequence[Segment]
) -> tuple[StrippedLine, ...]:
    """Member offsets moved from the member's cleaned text to the member's side of the diff.

    The diff's `equal` segments hold the representative's wording, which may differ from
    the member's in whitespace, quote style or Unicode form, so the member's side of the
    diff (its `equal` and `insert` texts joined) is not the member's text character for
    character; it is token for token, and a stripped line always stands at a token start.
    """
    if not lines:
        return lines
    token_starts = [0]
    for token in diff_tokens(text):
        token_starts.append(token_starts[-1] + len(token))
    side_starts = [0]
    for segment in segments:
        if segment.op != "delete":
            for token in diff_tokens(segment.text):
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
class _Corpus:
    """All signed batches joined: one row per document, in path order."""

    paths: tuple[str, ...]
    fs_paths: tuple[str, ...]
    content_hashes: tuple[str, ...]
    sizes: npt.NDArray[np.int64]
    mtimes: npt.NDArray[np.int64]
    word_counts: npt.NDArray[np.int64]
    shingle_counts: npt.NDArray[np.int64]
    signatures: npt.NDArray[np.uint32]
    set_files: tuple[str, ...]
    set_locations: npt.NDArray[np.int64]  # rows of (file index, start, end)
    line_keys: npt.NDArray[np.uint64]
    line_key_offsets: npt.NDArray[np.int64]

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
) -> Report:
    """Cluster the near-duplicates among the files under `paths` and diff each cluster."""
    from .engines.local import LocalEngine

    progress = progress or _NoProgress()
    if engine is None:
        with LocalEngine(jobs=1) as local:
            return run_cluster(paths, settings, progress, local)

    sources, walk_problems = ingest.discover(paths, settings.glob, settings.exclude)
    with spill.spill_directory() as spill_to:
        signed = _sign(sources, settings, spill_to, engine, progress)
        verified = _verified(signed.corpus, settings, engine, progress)
        repeated = RepeatedLines()
        if settings.finds_repeated_lines:
            components = cluster.connected_components(len(signed.corpus.paths), verified)
            repeated = repeated_lines(signed.corpus, components, settings)
            if repeated:
                signed = _strip_repeated(signed, repeated, settings, spill_to, engine, progress)
                verified = _verified(signed.corpus, settings, engine, progress)
        corpus = signed.corpus
        clusters, vanished = _diff_clusters(verified, corpus, settings, engine, progress, repeated)
    skipped = [*walk_problems, *signed.skipped, *vanished.values()]
    clustered = {path for item in clusters for path in (member.path for member in item.members)}
    return Report(
        settings=settings.as_dict(),
        documents=len(corpus.paths) - len(vanished),
        clusters=tuple(clusters),
        singletons=tuple(path for path in corpus.paths if path not in clustered and path not in vanished),
        skipped=tuple(sorted(skipped, key=lambda item: item.path)),
        boilerplate=tuple(sorted(signed.boilerplate.items())),
        inputs=tuple(ingest.display_path(path) for path in paths),
        files=tuple(
            FileRecord(path, corpus.content_hashes[index], int(corpus.sizes[index]))
            for index, path in enumerate(corpus.paths)
            if path not in vanished
        ),
    )


@dataclass(frozen=True)
class _Signed:
    corpus: _Corpus
    skipped: tuple[Skipped, ...]
    boilerplate: Counter[str]


def _sign(
    sources: Sequence[SourceFile], settings: Settings, spill_to: str, engine: Engine, progress: Progress
) -> _Signed:
    progress.start("Signing", len(sources))
    batches: list[SignedBatch] = []
    skipped: list[Skipped] = []
    totals: Counter[str] = Counter()
    jobs = [(f"{number:06d}", chunk) for number, chunk in enumerate(_chunks(sources, SIGN_BATCH_FILES))]
    for signed in engine.map(sign_batch, jobs, settings, spill_to):
        batches.append(signed)
        skipped.extend(signed.skipped)
        totals.update(dict(signed.boilerplate))
        progress.advance(len(signed) + len(signed.skipped))
    return _Signed(_join(batches, settings.num_perm), tuple(skipped), totals)


def _components(corpus: _Corpus, settings: Settings, engine: Engine, progress: Progress) -> list[list[int]]:
    """Candidate pairs, verified on the exact sets, joined into clusters (lists of document indices)."""
    verified = _verified(corpus, settings, engine, progress)
    return [list(component) for component in cluster.connected_components(len(corpus.paths), verified)]


def _verified(corpus: _Corpus, settings: Settings, engine: Engine, progress: Progress) -> list[Pair]:
    """The candidate pairs that pass verification on the exact shingle sets."""
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
            likely[start : start + VERIFY_BATCH_PAIRS] for start in range(0, len(likely), VERIFY_BATCH_PAIRS)
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
    return verified


def repeated_lines(corpus: _Corpus, components: Sequence[Sequence[int]], settings: Settings) -> RepeatedLines:
    """The lines that recur across unrelated documents: boilerplate that no rule names.

    Documents are first put in groups: each cluster of near-duplicates is one group, every
    other document a group of its own, so the shared body of two versions of one story
    counts once. A line (of at least `repeated_min_words` words, compared case-folded with
    single spaces) is repeated when it is found in at least `repeated_min_documents` groups
    and in at least `repeated_min_share` of all groups. (Stripping then leaves them in a
    document they would mostly empty: see RepeatedLines.) Counting per document first is one
    numpy pass; only the few lines that pass on documents are counted again per group.
    """
    empty = RepeatedLines(min_words=settings.repeated_min_words)  # nothing to take
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
    )


def _strip_repeated(
    signed: _Signed,
    repeated: RepeatedLines,
    settings: Settings,
    spill_to: str,
    engine: Engine,
    progress: Progress,
) -> _Signed:
    """Sign again, without their repeated lines, the documents that hold one."""
    corpus = signed.corpus
    wanted = np.fromiter(repeated.keys, np.uint64, len(repeated.keys))
    document_of = np.repeat(np.arange(len(corpus.paths)), np.diff(corpus.line_key_offsets))
    affected = np.unique(document_of[np.isin(corpus.line_keys, wanted)]).tolist()
    sources = [SourceFile(corpus.paths[index], corpus.fs_paths[index]) for index in affected]
    row_of = {corpus.paths[index]: index for index in affected}

    progress.start("Stripping repeated lines", len(sources))
    signatures = corpus.signatures.copy()
    shingle_counts = corpus.shingle_counts.copy()
    word_counts = corpus.word_counts.copy()
    set_locations = corpus.set_locations.copy()
    set_files = list(corpus.set_files)
    totals = Counter(signed.boilerplate)
    jobs = [
        (f"repeated-{number:06d}", chunk) for number, chunk in enumerate(_chunks(sources, SIGN_BATCH_FILES))
    ]
    for batch in engine.map(sign_batch, jobs, settings, spill_to, repeated):
        file_index = len(set_files)
        set_files.append(batch.set_file)
        for row, path in enumerate(batch.paths):
            index = row_of[path]  # a file that changed or vanished since keeps its first signature
            signatures[index] = batch.signatures[row]
            shingle_counts[index] = batch.shingle_counts[row]
            word_counts[index] = batch.word_counts[row]
            set_locations[index] = (file_index, batch.set_offsets[row], batch.set_offsets[row + 1])
        totals[REPEATED_LINE] += dict(batch.boilerplate).get(REPEATED_LINE, 0)
        progress.advance(len(batch) + len(batch.skipped))
    corpus = dataclasses.replace(
        corpus,
        signatures=signatures,
        shingle_counts=shingle_counts,
        word_counts=word_counts,
        set_locations=set_locations,
        set_files=tuple(set_files),
    )
    return _Signed(corpus, signed.skipped, totals)


def _diff_clusters(
    verified: Sequence[Pair],
    corpus: _Corpus,
    settings: Settings,
    engine: Engine,
    progress: Progress,
    repeated: RepeatedLines,
) -> tuple[list[Cluster], dict[str, Skipped]]:
    """Diff every cluster; returns the clusters in output order and the files that vanished.

    A member that vanished or changed since it was signed is skipped, and the rest of its
    cluster is clustered again from the verified pairs that do not involve it (it may have
    been what joined them), until every cluster was diffed whole.
    """
    word_counts, mtimes = corpus.word_counts.tolist(), corpus.mtimes.tolist()
    components = cluster.connected_components(len(corpus.paths), verified)
    progress.start("Diffing", sum(len(component) - 1 for component in components))
    vanished: dict[str, Skipped] = {}
    clusters = []
    while components:
        tasks = []
        for component in components:
            representative = cluster.choose_representative(component, settings.keep, word_counts, mtimes)
            others = [member for member in component if member != representative]
            tasks.append(
                DiffTask(
                    corpus.source(representative),
                    tuple(corpus.source(member) for member in others),
                    tuple(corpus.set_location(member) for member in (representative, *others)),
                )
            )
        outcomes = (
            outcome
            for results in engine.map(diff_batch, _chunks(tasks, DIFF_BATCH_CLUSTERS), settings, repeated)
            for outcome in results
        )
        survivors: set[int] = set()
        for component, outcome in zip(components, outcomes, strict=True):
            progress.advance(len(outcome) - 1)
            lost = {item.path: item for item in outcome if isinstance(item, Skipped)}
            if lost:
                vanished.update(lost)
                survivors.update(member for member in component if corpus.paths[member] not in lost)
                continue
            members = [item for item in outcome if isinstance(item, MemberDiff)]
            members[1:] = sorted(members[1:], key=lambda item: item.path)
            clusters.append(Cluster(id=0, representative=members[0].path, members=tuple(members)))
        remaining = [pair for pair in verified if pair.left in survivors and pair.right in survivors]
        components = cluster.connected_components(len(corpus.paths), remaining)
    clusters.sort(key=lambda item: (-len(item.members), item.members[0].path))
    numbered = [
        Cluster(number, item.representative, item.members) for number, item in enumerate(clusters, start=1)
    ]
    return numbered, vanished

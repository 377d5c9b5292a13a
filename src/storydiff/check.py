"""`storydiff check` and the baseline: a pre-commit gate against near-duplicates.

`run_check` compares a few given files (what pre-commit passes) with the whole corpus and
with each other. It reuses the cluster pipeline's stages: the corpus is signed by
`pipeline.sign_all` (so, with the signature cache, a warm run opens only changed files),
band keys propose the pairs that involve a given file (`cluster.pairs_involving`), the
signature estimate filters them (`cluster.likely_pairs`), and the few that remain are
verified on exact shingle sets and diffed from the files themselves. Every given file is
compared with the whole corpus whatever else was given, so pre-commit splitting the file list
over several calls changes nothing but how the findings are grouped.

The baseline (`.storydiff-baseline.json`) lists accepted clusters by content hash, not
path, so renaming or moving an accepted file keeps it accepted. A pair is accepted when
both files' contents belong to one accepted cluster. The file is sorted and has no
timestamps, so it diffs cleanly in review; the paths it records are for the reader only.
"""

from __future__ import annotations

import bisect
import json
import os
import stat
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import xxhash

from . import cluster, ingest, pipeline, shingles, spill
from .config import configured_corpus
from .diff import word_diff
from .errors import ConfigError, InputError
from .file_selection import FileSelection
from .model import CleanedDocument, MemberDiff, Skipped, SourceFile
from .safe_paths import NotARegularFile, open_regular_file
from .settings import Settings
from .store import cache, keys
from .store.cache import SignatureCache

BASELINE_FILE = ".storydiff-baseline.json"
BASELINE_VERSION = 1


@dataclass(frozen=True)
class Finding:
    """A given file that is a near-duplicate of `match`, with its diff against the match."""

    path: str
    match: str
    diff: MemberDiff  # `diff.path` is `path`; segments turn the match's text into this file's


@dataclass(frozen=True)
class CheckResult:
    findings: tuple[Finding, ...]
    accepted: int  # near-duplicate pairs left out because the baseline accepts them
    stale: tuple[str, ...]  # baseline hashes found in no file of the corpus
    skipped: tuple[Skipped, ...]
    checked: int  # given files
    documents: int  # documents compared with them, given files included


@dataclass(frozen=True)
class Baseline:
    """Accepted clusters: each a sorted tuple of content hashes, with the paths they had."""

    clusters: tuple[tuple[str, ...], ...] = ()
    paths: tuple[tuple[str, ...], ...] = ()

    def group_of(self) -> dict[str, int]:
        return {value: number for number, group in enumerate(self.clusters) for value in group}

    def hashes(self) -> set[str]:
        return {value for group in self.clusters for value in group}

    def dumps(self) -> str:
        # The paths are for people reading the file (the hashes are what counts): names that
        # are not UTF-8 are written lossily, control characters escaped (see render.json).
        from .render.json import escape_unsafe, json_safe

        data = {
            "version": BASELINE_VERSION,
            "accepted": [
                {"hashes": list(group), "paths": [json_safe(path) for path in paths]}
                for group, paths in sorted(zip(self.clusters, self.paths, strict=True))
            ],
        }
        return escape_unsafe(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"


def load_baseline(path: str) -> Baseline:
    """The baseline at `path`; an empty one when there is no such file."""
    try:
        with open_regular_file(path) as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except FileNotFoundError:
        return Baseline()
    except NotARegularFile:
        raise ConfigError(f"{path}: not a regular file (name a baseline file with --baseline)") from None
    except RecursionError:
        raise ConfigError(
            f"{path}: not a storydiff baseline (nested too deeply); run storydiff baseline --update"
        ) from None
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"{path}: not a storydiff baseline ({error}); fix it or run storydiff baseline --update"
        ) from None
    try:
        if data["version"] != BASELINE_VERSION:
            raise ConfigError(f"{path}: baseline version {data['version']} is not {BASELINE_VERSION}")
        groups = tuple(tuple(sorted(str(value) for value in item["hashes"])) for item in data["accepted"])
        paths = tuple(tuple(str(value) for value in item.get("paths", ())) for item in data["accepted"])
    except (KeyError, TypeError) as error:
        raise ConfigError(
            f"{path}: not a storydiff baseline (missing {error}); run storydiff baseline --update"
        ) from None
    return Baseline(groups, paths)


def tracked_files(settings: Settings, directory: str = ".") -> list[str]:
    """The git repository's tracked files that match the glob and no exclude pattern."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z"], cwd=directory, capture_output=True, check=True
        ).stdout.decode("utf-8", "surrogateescape")
    except (OSError, subprocess.CalledProcessError):
        raise InputError(
            "no corpus: not in a git repository (use --corpus DIR, or set corpus in [tool.storydiff])"
        ) from None
    selection = FileSelection(settings.glob, settings.exclude)
    found = []
    for name in listing.split("\0"):
        if not name or not selection.takes(name):
            continue
        path = os.path.join(directory, name) if directory != "." else name
        if os.path.lexists(path):  # deleted in the work tree but not yet in the index
            found.append(path)
    return found


def corpus_paths(corpus: str | None, settings: Settings) -> list[str]:
    """Where the corpus is: --corpus, else [tool.storydiff] corpus, else git's tracked files."""
    chosen = corpus or configured_corpus()
    if chosen is not None:
        return [chosen]
    return tracked_files(settings)


def _given_rows(paths: Sequence[str], corpus_paths: Sequence[str], fs_paths: Sequence[str]) -> list[int]:
    row_of = {path: row for row, path in enumerate(corpus_paths)}
    rows = []
    for given in paths:
        row = row_of.get(ingest.display_path(given))
        if row is None:  # found under another name (a link); rare, so a scan is fine
            row = next(
                (index for index, fs_path in enumerate(fs_paths) if _same_file(given, fs_path)),
                None,
            )
        if row is not None:
            rows.append(row)
    return sorted(set(rows))


def _same_file(left: str, right: str) -> bool:
    try:
        return os.path.samefile(left, right)
    except OSError:
        return False


def run_check(
    paths: Sequence[str],
    corpus: Sequence[str],
    settings: Settings,
    baseline: Baseline,
    progress: pipeline.Progress | None = None,
    engine: pipeline.Engine | None = None,
    signature_cache: SignatureCache | None = None,
) -> CheckResult:
    """Find the near-duplicates of the files `paths` among the files under `corpus` and themselves."""
    from .engines.local import LocalEngine

    progress = progress or pipeline._NoProgress()
    if engine is None:
        with LocalEngine(jobs=1) as local:
            return run_check(paths, corpus, settings, baseline, progress, local, signature_cache)
    for given in paths:
        if not os.path.isfile(given):
            raise InputError(f"{given}: not a file (check takes the files to check; the corpus is --corpus)")
    with spill.spill_directory() as spill_to:
        signed, skipped = _signed_documents(
            paths, corpus, settings, progress, engine, spill_to, signature_cache
        )
    given_rows = _given_rows(paths, signed.paths, signed.fs_paths)
    progress.start("Checking", len(given_rows))
    candidates = cluster.pairs_involving(
        signed.signatures,
        np.array(given_rows, dtype=np.int64),
        signed.shingle_counts > 0,
        settings.lsh_bands,
        settings.rows_per_band,
    )
    likely = cluster.likely_pairs(candidates, signed.signatures, signed.shingle_counts, settings)
    verifier = _Verifier(signed, settings)
    group_of = baseline.group_of()
    given_set = set(given_rows)
    findings: list[Finding] = []
    accepted = 0
    for left, right in likely.tolist():
        outcome = verifier.pair(left, right)
        if outcome is None:
            continue
        jaccard, containment = outcome
        left_hash, right_hash = signed.content_hashes[left], signed.content_hashes[right]
        if left_hash in group_of and group_of[left_hash] == group_of.get(right_hash):
            accepted += 1
            continue
        for mine, theirs in ((left, right), (right, left)):
            if mine in given_set:
                findings.append(verifier.finding(mine, theirs, jaccard, containment))
    progress.advance(len(given_rows))
    skipped.extend(verifier.vanished.values())
    present = set(signed.content_hashes)
    return CheckResult(
        findings=tuple(sorted(findings, key=lambda item: (item.path, item.match))),
        accepted=accepted,
        stale=tuple(sorted(baseline.hashes() - present)),
        skipped=tuple(sorted(skipped, key=lambda item: item.path)),
        checked=len(given_rows),
        documents=len(signed.paths),
    )


@dataclass(frozen=True)
class Documents:
    """The signed documents a check compares, in path order (files signing skipped left out)."""

    paths: tuple[str, ...]
    fs_paths: tuple[str, ...]
    content_hashes: tuple[str, ...]
    shingle_counts: npt.NDArray[np.int64]
    signatures: npt.NDArray[np.uint32]

    def source(self, row: int) -> tuple[str, str, str]:
        return self.paths[row], self.fs_paths[row], self.content_hashes[row]


def snapshot_key(corpus: Sequence[str], settings: Settings, directory: str) -> str:
    """What a corpus snapshot depends on: the corpus as given, where from, and the settings
    that decide which files are found and what signing gives."""
    text = json.dumps(
        [
            keys.signature_fingerprint(settings),
            list(corpus),
            directory,
            settings.glob,
            list(settings.exclude),
            settings.max_bytes,
            settings.num_perm,
        ]
    )
    return xxhash.xxh3_128_hexdigest(text.encode("utf-8", "surrogatepass"))


def _signed_documents(
    paths: Sequence[str],
    corpus: Sequence[str],
    settings: Settings,
    progress: pipeline.Progress,
    engine: pipeline.Engine,
    spill_to: str,
    signature_cache: SignatureCache | None,
) -> tuple[Documents, list[Skipped]]:
    """Every document of the corpus and the given files, signed, and the files skipped.

    With the signature cache, a snapshot of the corpus from an earlier check (see
    cache.Snapshot) stands in for the walk while no directory it walked has changed, and
    for the signing of every file whose stat is what it was then. The files that changed,
    and the given files it does not hold, are signed (through the cache's entries); the
    snapshot is stored again when a new one would save the next run work. Without the
    cache, or for a snapshot that is missing or of no use, the corpus is walked and signed.
    """
    if signature_cache is None or not signature_cache.enabled:
        return _signed_without_snapshot(paths, corpus, settings, progress, engine, spill_to, signature_cache)
    directory = os.getcwd()
    key = snapshot_key(corpus, settings, directory)
    snapshot = signature_cache.get_snapshot(key, settings.num_perm)
    if snapshot is None:
        signature_cache.prefetch(keys.signature_fingerprint(settings))
    started_ns = time.time_ns()
    racy_ns = int(cache.RACY_SECONDS * 1e9)
    listing: tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, int, int, int, int], ...]] | None = None
    statuses: list[os.stat_result | None] | None = None
    if snapshot is not None and cache.unchanged(snapshot.directories, snapshot.created_ns):
        statuses = ingest.stat_all(snapshot.fs_paths)
        stats = _stat_array(statuses)
        if len(stats) == len(snapshot.stats) and bool(
            np.all(stats[:, :2] == snapshot.stats[:, :2]) and np.all(stats[:, 0] >= 0)
        ):
            listing = (snapshot.paths, snapshot.fs_paths, snapshot.directories)  # what a walk would find
    if listing is None:
        walked: list[tuple[str, os.stat_result | None]] = []
        sources, walk_skipped = ingest.discover(corpus, settings.glob, settings.exclude, walked)
        if walk_skipped or any(status is None for _, status in walked):
            # Not what a snapshot can stand for (see ingest.discover): as without one.
            return _signed_without_snapshot(
                paths, corpus, settings, progress, engine, spill_to, signature_cache
            )
        listing = (
            tuple(source.path for source in sources),
            tuple(source.fs_path for source in sources),
            tuple(
                (path, status.st_dev, status.st_ino, status.st_mtime_ns, status.st_ctime_ns)
                for path, status in walked
                # Files named directly are compared with the others' stats, below.
                if status is not None and stat.S_ISDIR(status.st_mode)
            ),
        )
        statuses = ingest.stat_all(listing[1])
        stats = _stat_array(statuses)
    assert statuses is not None
    corpus_paths, corpus_fs_paths, directories = listing
    merged = _merge_given(paths, corpus_paths, stats)
    if merged is None:  # a given file is a corpus file under another name: as without a snapshot
        return _signed_without_snapshot(paths, corpus, settings, progress, engine, spill_to, signature_cache)
    extra_paths, extra_fs_paths, extra_statuses = merged

    # Rows 0..n-1 are the corpus's, n.. the given files it does not hold.
    count = len(corpus_paths)
    all_paths = (*corpus_paths, *extra_paths)
    all_fs_paths = (*corpus_fs_paths, *extra_fs_paths)
    all_stats = np.concatenate([stats, _stat_array(extra_statuses)]) if extra_paths else stats
    snapshot_row = np.full(len(all_paths), -1, dtype=np.int64)
    if snapshot is not None:
        if corpus_paths is snapshot.paths:
            snapshot_row[:count] = np.arange(count)
        else:
            row_of = {path: row for row, path in enumerate(snapshot.paths)}
            snapshot_row[:count] = [row_of.get(path, -1) for path in corpus_paths]
    clean = np.zeros(len(all_paths), dtype=bool)
    if snapshot is not None:
        known = snapshot_row >= 0
        then = snapshot.stats[snapshot_row[known]]
        signed_then = np.array([snapshot.content_hashes[row] != "" for row in snapshot_row[known].tolist()])
        settled = np.maximum(then[:, 3], then[:, 4]) <= snapshot.created_ns - racy_ns
        clean[known] = signed_then & settled & np.all(all_stats[known] == then, axis=1)
    dirty = np.flatnonzero(~clean).tolist()

    fresh, skipped, _ = pipeline.sign_all(
        [SourceFile(all_paths[row], all_fs_paths[row]) for row in dirty],
        settings,
        progress,
        engine,
        spill_to,
        signature_cache,
        with_sets=False,
    )
    fresh_row = {path: row for row, path in enumerate(fresh.paths)}
    # Path order, as a walk of the corpus and the given files together would give.
    order = sorted(range(len(all_paths)), key=all_paths.__getitem__) if extra_paths else range(count)
    clean_list = clean.tolist()
    kept = [row for row in order if clean_list[row] or all_paths[row] in fresh_row]
    signatures = np.empty((len(kept), settings.num_perm), dtype=np.uint32)
    shingle_counts = np.empty(len(kept), dtype=np.int64)
    hashes: list[str] = []
    kept_array = np.array(kept, dtype=np.int64)
    from_snapshot = clean[kept_array] if kept else np.zeros(0, dtype=bool)
    if snapshot is not None and from_snapshot.any():
        rows = snapshot_row[kept_array[from_snapshot]]
        signatures[from_snapshot] = snapshot.signatures[rows]
        shingle_counts[from_snapshot] = snapshot.shingle_counts[rows]
    for position in np.flatnonzero(~from_snapshot).tolist():
        row = fresh_row[all_paths[kept[position]]]
        signatures[position] = fresh.local_signatures[row]
        shingle_counts[position] = fresh.shingle_counts[row]
    snapshot_rows = snapshot_row.tolist()
    for row in kept:
        if clean_list[row]:
            assert snapshot is not None
            hashes.append(snapshot.content_hashes[snapshot_rows[row]])
        else:
            hashes.append(fresh.content_hashes[fresh_row[all_paths[row]]])
    documents = Documents(
        paths=tuple(all_paths[row] for row in kept),
        fs_paths=tuple(all_fs_paths[row] for row in kept),
        content_hashes=tuple(hashes),
        shingle_counts=shingle_counts,
        signatures=signatures,
    )

    # A new snapshot saves the next run a walk, or the signing of corpus files that changed
    # (unless they changed so recently that a new snapshot could not trust them either).
    now_racy = np.maximum(all_stats[:, 3], all_stats[:, 4]) > started_ns - racy_ns
    resigned = [row for row in dirty if row < count and all_paths[row] in fresh_row and not now_racy[row]]
    if snapshot is None or listing[0] is not snapshot.paths or resigned:
        # Corpus rows only (the given files it does not hold are left out); "" for a skipped file.
        corpus_kept = kept_array < count
        kept_corpus_rows = kept_array[corpus_kept]
        corpus_hashes = [""] * count
        positions = np.flatnonzero(corpus_kept).tolist()
        for row, position in zip(kept_corpus_rows.tolist(), positions, strict=True):
            corpus_hashes[row] = hashes[position]
        corpus_counts = np.zeros(count, dtype=np.int64)
        corpus_counts[kept_corpus_rows] = shingle_counts[corpus_kept]
        corpus_signatures = np.zeros((count, settings.num_perm), dtype=np.uint32)
        corpus_signatures[kept_corpus_rows] = signatures[corpus_kept]
        signature_cache.put_snapshot(
            key,
            cache.Snapshot(
                created_ns=started_ns,
                directories=directories,
                paths=corpus_paths,
                fs_paths=corpus_fs_paths,
                content_hashes=tuple(corpus_hashes),
                stats=stats,
                shingle_counts=corpus_counts,
                signatures=corpus_signatures,
            ),
        )
    return documents, list(skipped)


def _signed_without_snapshot(
    paths: Sequence[str],
    corpus: Sequence[str],
    settings: Settings,
    progress: pipeline.Progress,
    engine: pipeline.Engine,
    spill_to: str,
    signature_cache: SignatureCache | None,
) -> tuple[Documents, list[Skipped]]:
    """Walk the corpus and the given files together and sign them all (through the cache)."""
    if signature_cache is not None:
        signature_cache.prefetch(keys.signature_fingerprint(settings))
    sources, skipped = ingest.discover([*corpus, *paths], settings.glob, settings.exclude)
    signed, signing_skipped, _ = pipeline.sign_all(
        sources, settings, progress, engine, spill_to, signature_cache, with_sets=False
    )
    skipped.extend(signing_skipped)
    documents = Documents(
        signed.paths, signed.fs_paths, signed.content_hashes, signed.shingle_counts, signed.local_signatures
    )
    return documents, skipped


def _stat_array(statuses: Sequence[os.stat_result | None]) -> npt.NDArray[np.int64]:
    """cache.status_key of each status, as rows of an array."""
    return np.array([cache.status_key(status) for status in statuses], dtype=np.int64).reshape(-1, 5)


def _merge_given(
    paths: Sequence[str], corpus_paths: Sequence[str], stats: npt.NDArray[np.int64]
) -> tuple[tuple[str, ...], tuple[str, ...], list[os.stat_result | None]] | None:
    """The given files a walk of the corpus and them together would add to the corpus's: those
    whose path the corpus lacks, as ingest.discover names them. None when a given file is a
    corpus file (or another given file) under another name, which the walk would keep under
    the smaller of its names: the caller then walks them together."""
    extra_paths: list[str] = []
    extra_fs_paths: list[str] = []
    extra_statuses: list[os.stat_result | None] = []
    identities: set[tuple[int, int]] = set()
    for given in paths:
        path = ingest.display_path(given)
        at = bisect.bisect_left(corpus_paths, path)
        if (at < len(corpus_paths) and corpus_paths[at] == path) or path in extra_paths:
            continue
        status = os.stat(given)  # run_check made sure it is a file
        identity = (status.st_dev, status.st_ino)
        if identity in identities or bool(
            np.any((stats[:, 0] == identity[0]) & (stats[:, 1] == identity[1]))
        ):
            return None
        identities.add(identity)
        extra_paths.append(path)
        extra_fs_paths.append(given)
        extra_statuses.append(status)
    return tuple(extra_paths), tuple(extra_fs_paths), extra_statuses


class _Verifier:
    """Exact similarity and diffs of a few pairs, from the files (read once each)."""

    def __init__(self, signed: Documents, settings: Settings) -> None:
        self.signed = signed
        self.settings = settings
        self.vanished: dict[str, Skipped] = {}
        self._sets: dict[int, npt.NDArray[np.uint64] | None] = {}
        self._texts: dict[int, str] = {}

    def _clean(self, row: int, tidy: bool) -> CleanedDocument | None:
        path, fs_path, content_hash = self.signed.source(row)
        item = pipeline.clean(SourceFile(path, fs_path), self.settings, tidy)
        if isinstance(item, CleanedDocument) and item.document.content_hash != content_hash:
            item = Skipped(path, "changed while storydiff was reading it (run again)")
        if isinstance(item, Skipped):
            self.vanished[path] = item
            return None
        return item

    def _set(self, row: int) -> npt.NDArray[np.uint64] | None:
        if row not in self._sets:
            item = self._clean(row, tidy=False)
            self._sets[row] = (
                None
                if item is None
                else shingles.shingle_set(item.text, self.settings.ngram, self.settings.seed)
            )
        return self._sets[row]

    def pair(self, left: int, right: int) -> tuple[float, float] | None:
        """Exact (Jaccard, containment) when the pair is a near-duplicate, else None."""
        left_set, right_set = self._set(left), self._set(right)
        if left_set is None or right_set is None:
            return None
        jaccard, containment = cluster.similarity(left_set, right_set)
        if not cluster.is_near_duplicate(
            jaccard, containment, min(len(left_set), len(right_set)), self.settings
        ):
            return None
        return jaccard, containment

    def _text(self, row: int) -> str:
        if row not in self._texts:
            item = self._clean(row, tidy=True)
            self._texts[row] = "" if item is None else item.text
        return self._texts[row]

    def finding(self, mine: int, theirs: int, jaccard: float, containment: float) -> Finding:
        change = word_diff(self._text(theirs), self._text(mine))
        path = self.signed.paths[mine]
        return Finding(
            path=path,
            match=self.signed.paths[theirs],
            diff=MemberDiff(
                path=path,
                jaccard=jaccard,
                containment=containment,
                added_words=change.added_words,
                removed_words=change.removed_words,
                segments=change.segments,
                moved_words=change.moved_words,
                changed_figures=change.changed_figures,
            ),
        )


def build_baseline(
    corpus: Sequence[str],
    settings: Settings,
    progress: pipeline.Progress | None = None,
    engine: pipeline.Engine | None = None,
    signature_cache: SignatureCache | None = None,
) -> Baseline:
    """Accept every near-duplicate cluster the corpus holds now."""
    from .engines.local import LocalEngine

    progress = progress or pipeline._NoProgress()
    if engine is None:
        with LocalEngine(jobs=1) as local:
            return build_baseline(corpus, settings, progress, local, signature_cache)
    sources, _ = ingest.discover(corpus, settings.glob, settings.exclude)
    with spill.spill_directory() as spill_to:
        signed, _, _ = pipeline.sign_all(sources, settings, progress, engine, spill_to, signature_cache)
        signed, components = pipeline.verified_components(
            signed, settings, progress, engine, signature_cache, spill_to
        )
    clusters = []
    for component in components:
        hashes = tuple(sorted({signed.content_hashes[row] for row in component}))
        paths = tuple(sorted(signed.paths[row] for row in component))
        clusters.append((hashes, paths))
    clusters.sort()
    return Baseline(tuple(item[0] for item in clusters), tuple(item[1] for item in clusters))

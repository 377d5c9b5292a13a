"""A SQLite cache of what signing computes, so unchanged files are not read, cleaned and signed again.

Two tables hold the data:

- `entries`, keyed by (fingerprint, content hash): a document's signature, word count,
  shingle count, boilerplate removal counts and line keys (for repeated-line detection;
  what signing computes before repeated lines are known: the first pass). Exact shingle
  sets are not kept (a first run would write four times the bytes, for what a warm run
  rarely needs: `pipeline.load_sets` shingles the few files it does need again); `sets`
  is read still, for caches written before. The content hash is ingest.content_hash
  of the file's bytes, so a renamed, moved or copied file is still a hit. The fingerprint
  (`fingerprint`) covers every setting and every piece of code that changes signatures or
  stripping, and the cache format, so a run never reads values computed another way.
- `reports`: the last few finished `cluster` reports, keyed by everything they depend on
  (keys.report_key: settings, code, and every document's path and content hash), so a
  re-run over an unchanged corpus skips candidates, verification and diffs. A report names
  its clusters by their keys in `diffs` rather than holding their diffs a second time.
- `pairs`: the exact (Jaccard, containment, smaller set size) of every pair `cluster`
  verified, keyed by a hash of the fingerprint and the two exact sets' identities (a
  content hash, and the repeated lines stripped from it, if any: keys.pair_key); and
  `diffs`: each diffed cluster's members, keyed by everything its diffs depend on
  (keys.cluster_key). After one file changed, a re-run verifies and diffs only the
  pairs and clusters that involve it.
- `passes`: the last few `cluster` passes (see Pass): each document's path and set, and
  the likely pairs with their exact similarity, so that a re-run after a few files changed
  bands only those (cluster.likely_pairs_after_change).
- `stripped`: batches of documents signed again without the corpus's repeated lines (see
  Stripped), keyed by the fingerprint, the repeated lines and the batch's contents.
- `walks`: what the last few walks of `cluster`'s inputs found, with the stats of the
  directories they listed: while none changed, a walk would find the same files (see Walk).
- `snapshots`: the last few corpora `check` compared with (see Snapshot and check.py),
  keyed by the corpus as given and the settings: the files a walk found, the directories
  it listed, and each file's stat, content hash, shingle count and signature, in arrays
  stored as blobs. A warm check compares stats in bulk instead of walking and looking up
  100,000 files one by one.
- `stats`, keyed by absolute path: (size, mtime_ns, ctime_ns, inode) → content hash, like
  git's index. When a file's stat matches, a warm run takes its content hash from here and
  does not open the file at all. A file modified within `RACY_SECONDS` of being recorded
  could change again without its mtime moving (coarse timestamps), so such files are not
  recorded (git calls them "racily clean") and are hashed on every run until they settle.

Concurrency and crashes: the database is in WAL mode, so readers never block the writer nor
the writer readers. Only the run's parent process writes, one transaction per few signed
batches (`SignatureCache.add`, pipeline.STORE_ROWS rows), so a run killed mid-write loses at
most those and leaves the file consistent; two runs at once wait for each other's short write transactions
(busy_timeout) rather than fail. Workers open the file read-only (`CacheReader`): a single
writer means no lock contention among workers, and a worker never holds a write lock while
it computes.

A file that is not a SQLite database, or a SQLite database that is not a storydiff cache,
is moved aside (to `<name>.corrupt`, so nothing the user may want is deleted), reported in
`warnings`, and a new cache is made in its place. Any database error later in a run turns
the cache off for the rest of the run with a warning (and damage found then moves the file
aside, so the next run starts a new cache): the cache can make a run faster, never make it fail.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import queue
import sqlite3
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import xxhash

from ..model import ChangedFigure, Cluster, FileRecord, MemberDiff, Report, Segment, Skipped, StrippedLine

# 9: reports name their clusters' diffs (in `diffs`) by key instead of holding them again;
# 8: content hashes and pair keys as bytes, fingerprints by number, stats and pairs without
# rowid; 7: line keys from token hashes; 6: corpus snapshots for check, verified pairs and
# cluster diffs for cluster; 5: stored reports hold diff positions, moves, changed figures, kind
# 10: entries carry a checksum of their signature (see signature_checksums);
# 11: reports list the documents star clustering left out of a cluster (`unplaced`);
FORMAT_VERSION = 11
KEPT_REPORTS = 4  # finished reports kept for re-runs of an unchanged corpus (see put_report)
KEPT_SNAPSHOTS = 2  # corpus snapshots kept for `check` (see put_snapshot)
KEPT_PASSES = 4  # `cluster` passes kept, two per run (see put_pass)
KEPT_WALKS = 4  # walks of `cluster` inputs kept (see put_walk)
KEPT_OUTPUTS = 4  # `cluster` outputs kept for replay (see put_output)
KEPT_STRIPPED = 256  # batches signed again without repeated lines kept (see put_stripped)
# Below this many paths, `known` looks the files up one index query at a time instead of
# scanning both tables whole: a warm check signs its few new files without the scan.
TARGETED_LOOKUP = 2000
APPLICATION_ID = 0x53445946  # "SDYF": marks a SQLite file as a storydiff cache
BUSY_TIMEOUT_MS = 30_000
RACY_SECONDS = 2.0
_OPEN_ATTEMPTS = 5
_QUERY_CHUNK = 500  # bound parameters per IN (...) query, below SQLite's limit everywhere
_PAIR_SCAN = 5000  # get_pairs reads the whole table rather than look up more keys than this
_TABLES = (
    "fingerprints",
    "entries",
    "sets",
    "reports",
    "pairs",
    "diffs",
    "passes",
    "stripped",
    "walks",
    "snapshots",
    "stats",
    "outputs",
)

# Content hashes and pair keys are stored as the bytes their hex digits spell, and entries
# name their fingerprint by its number in `fingerprints`: the index on (fingerprint, content
# hash) gets a row per document, in random order, so its size is what a first run rewrites
# most (a commit writes each index page it touched again). Rows of `stats` and `pairs` are
# small, so they live in their primary key's b-tree (WITHOUT ROWID) rather than in a table
# and an index. Every rowid table of one row per key keeps the rowid its recency is read by.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS fingerprints (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS entries (
    fingerprint_id INTEGER NOT NULL,
    content_hash BLOB NOT NULL,
    word_count INTEGER NOT NULL,
    shingle_count INTEGER NOT NULL,
    removals TEXT NOT NULL,
    signature BLOB NOT NULL,
    line_keys BLOB NOT NULL,
    checksum BLOB NOT NULL,
    PRIMARY KEY (fingerprint_id, content_hash)
);
CREATE TABLE IF NOT EXISTS sets (
    fingerprint_id INTEGER NOT NULL,
    content_hash BLOB NOT NULL,
    shingles BLOB NOT NULL,
    PRIMARY KEY (fingerprint_id, content_hash)
);
CREATE TABLE IF NOT EXISTS reports (
    key TEXT PRIMARY KEY,
    report BLOB NOT NULL,
    paths BLOB NOT NULL,
    content_hashes BLOB NOT NULL,
    sizes BLOB NOT NULL,
    singletons BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS pairs (
    key BLOB PRIMARY KEY,
    jaccard REAL NOT NULL,
    containment REAL NOT NULL,
    smaller INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS diffs (
    key TEXT PRIMARY KEY,
    members BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS passes (
    key TEXT PRIMARY KEY,
    paths BLOB NOT NULL,
    set_ids BLOB NOT NULL,
    shingle_counts BLOB NOT NULL,
    pairs BLOB NOT NULL,
    results BLOB NOT NULL,
    extra_ids BLOB NOT NULL,
    extra_signatures BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS stripped (
    key TEXT PRIMARY KEY,
    word_counts BLOB NOT NULL,
    shingle_counts BLOB NOT NULL,
    signatures BLOB NOT NULL,
    set_values BLOB NOT NULL,
    set_offsets BLOB NOT NULL,
    repeated_lines INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS walks (
    key TEXT PRIMARY KEY,
    created_ns INTEGER NOT NULL,
    directories TEXT NOT NULL,
    paths BLOB NOT NULL,
    fs_paths BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    key TEXT PRIMARY KEY,
    created_ns INTEGER NOT NULL,
    directories TEXT NOT NULL,
    paths BLOB NOT NULL,
    fs_paths BLOB NOT NULL,
    content_hashes BLOB NOT NULL,
    stats BLOB NOT NULL,
    shingle_counts BLOB NOT NULL,
    signatures BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS outputs (
    key TEXT PRIMARY KEY,
    chatter TEXT NOT NULL,
    output BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS stats (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    content_hash BLOB NOT NULL
) WITHOUT ROWID;
"""
# The number of a fingerprint, for queries that name entries by fingerprint (a scalar
# subquery: SQLite runs it once per statement).
_FINGERPRINT_ID = "(SELECT id FROM fingerprints WHERE fingerprint = ?)"


def fingerprint(signature_inputs: Mapping[str, object]) -> str:
    """One short string for the settings that change signatures, plus the cache format."""
    text = json.dumps({"format": FORMAT_VERSION, **signature_inputs}, sort_keys=True, default=repr)
    return xxhash.xxh3_64_hexdigest(text.encode("utf-8"))


@dataclass(frozen=True)
class Entry:
    """What the cache holds for one document content under one fingerprint."""

    word_count: int
    signature: npt.NDArray[np.uint32]
    shingle_count: int
    shingles: npt.NDArray[np.uint64] | None  # None when looked up without sets
    removals: tuple[tuple[str, int], ...]
    line_keys: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros(0, np.uint64))


@dataclass(frozen=True)
class Known:
    """Documents of a run found unchanged in the cache: `rows` are their positions in the run."""

    rows: npt.NDArray[np.int64]
    content_hashes: list[str]
    word_counts: npt.NDArray[np.int64]
    shingle_counts: npt.NDArray[np.int64]
    signatures: bytes  # the signatures' uint32 values, one after the other
    removals: list[str]  # JSON [[rule, lines], ...] per document
    line_keys: list[bytes] = field(default_factory=list)  # each document's line keys, uint64 values


# A row of `stats`: a file's absolute path (see stat_key), its identity as stat(2) gave it
# (size, mtime_ns, ctime_ns, inode) and the content hash it had then, as bytes.
StatRow = tuple[str, int, int, int, int, bytes]
# A row of `entries` without its fingerprint: content hash as bytes, word count, shingle
# count, boilerplate removals as JSON [[rule, lines], ...], signature (uint32 values) and
# line keys (uint64 values), and the checksum of the signature (signature_checksums).
EntryRow = tuple[bytes, int, int, str, bytes, bytes, bytes]


@dataclass(frozen=True)
class Snapshot:
    """What `check` needs of a whole corpus, as it was: the discovered files in path order,
    the directories walked to find them, and for each file its stat and what signing gave.

    `stats` rows are (device, inode, size, mtime_ns, ctime_ns), all -1 for a file that could
    not be stat'ed; `content_hashes` is "" for a file signing skipped (it is read again on
    every run, as without a snapshot). `directories` are (path as opened, device, inode,
    mtime_ns, ctime_ns): while none of them changed, walking again would find the same files.
    """

    created_ns: int
    directories: tuple[tuple[str, int, int, int, int], ...]
    paths: tuple[str, ...]
    fs_paths: tuple[str, ...]
    content_hashes: tuple[str, ...]
    stats: npt.NDArray[np.int64]
    shingle_counts: npt.NDArray[np.int64]
    signatures: npt.NDArray[np.uint32]


@dataclass(frozen=True)
class Pass:
    """One clustering pass of a `cluster` run, for the next run to start from: each
    document's path, set identity (see keys.pair_key) and shingle count, the likely pairs
    (rows of (left, right)) with their exact (Jaccard, containment, smaller set size), and the
    signatures of the documents whose set is not their content's first-pass one (signed again
    without repeated lines), which the signature cache does not hold."""

    paths: tuple[str, ...]
    set_ids: tuple[str, ...]
    shingle_counts: npt.NDArray[np.int64]
    pairs: npt.NDArray[np.int64]
    jaccard: npt.NDArray[np.float64]
    containment: npt.NDArray[np.float64]
    smaller: npt.NDArray[np.int64]
    extra_ids: tuple[str, ...]
    extra_signatures: npt.NDArray[np.uint32]


@dataclass(frozen=True)
class Stripped:
    """A batch of documents signed again without repeated lines (pipeline._strip_repeated):
    row i of each array, slice i of `set_values` by `set_offsets`, and how many repeated
    lines were removed from the batch in all."""

    word_counts: npt.NDArray[np.int64]
    shingle_counts: npt.NDArray[np.int64]
    signatures: npt.NDArray[np.uint32]
    set_values: npt.NDArray[np.uint64]
    set_offsets: npt.NDArray[np.int64]
    repeated_lines: int


@dataclass(frozen=True)
class Walk:
    """What ingest.discover found (no walk problems, no links: see its `directories`), and
    the directories it listed and files named directly, as (path, device, inode, mtime_ns,
    ctime_ns), stat'ed no later than `created_ns`."""

    created_ns: int
    directories: tuple[tuple[str, int, int, int, int], ...]
    paths: tuple[str, ...]
    fs_paths: tuple[str, ...]

    def unchanged(self) -> bool:
        return unchanged(self.directories, self.created_ns)


def unchanged(recorded: Iterable[tuple[str, int, int, int, int]], created_ns: int) -> bool:
    """Whether every (path, device, inode, mtime_ns, ctime_ns) recorded no later than
    `created_ns` is as it was, and was then settled (a change within RACY_SECONDS of a stat
    might not have moved its timestamps)."""
    settled_before = created_ns - int(RACY_SECONDS * 1e9)
    for path, device, inode, mtime_ns, ctime_ns in recorded:
        try:
            status = os.stat(path)
        except OSError:
            return False
        if (status.st_dev, status.st_ino, status.st_mtime_ns, status.st_ctime_ns) != (
            device,
            inode,
            mtime_ns,
            ctime_ns,
        ) or max(mtime_ns, ctime_ns) > settled_before:
            return False
    return True


def _join_strings(values: Sequence[str]) -> bytes:
    # NUL never occurs in a path nor a hash; surrogatepass keeps names that are not UTF-8.
    return zlib.compress("\0".join(values).encode("utf-8", "surrogatepass"), 1)


def _split_strings(data: bytes, count: int) -> tuple[str, ...]:
    """The strings _join_strings joined; `count` of them (-1: however many there are)."""
    text = zlib.decompress(data).decode("utf-8", "surrogatepass")
    if count == 0 or (count < 0 and not text):
        return ()
    values = tuple(text.split("\0"))
    if count >= 0 and len(values) != count:
        raise ValueError("stored strings do not match their row count")
    return values


def status_key(status: os.stat_result | None) -> tuple[int, int, int, int, int]:
    """A file's (device, inode, size, mtime_ns, ctime_ns), as snapshots compare them."""
    if status is None:
        return (-1, -1, -1, -1, -1)
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


@dataclass(frozen=True)
class CacheUpdate:
    """What a signing worker found that the cache lacks, as the rows the parent writes (see
    the module docstring). The worker builds them: the parent's writer thread competes with
    the workers for the CPU, so it does no more than hand them to SQLite."""

    entries: tuple[EntryRow, ...] = ()
    stats: tuple[StatRow, ...] = ()

    def __len__(self) -> int:
        return len(self.entries) + len(self.stats)


def entry_rows(
    content_hashes: Sequence[str],
    word_counts: npt.NDArray[np.int64],
    shingle_counts: npt.NDArray[np.int64],
    removals: Sequence[Sequence[tuple[str, int]]],
    signatures: npt.NDArray[np.uint32],
    line_keys: npt.NDArray[np.uint64],
    line_key_offsets: npt.NDArray[np.int64],
) -> tuple[EntryRow, ...]:
    """The `entries` rows of documents just signed: row i of each array, slice i of the line
    keys by `line_key_offsets` (see EntryRow). Bytes are cut from each array's bytes at once:
    a numpy call per document would cost a worker more than the rest of this."""
    signature_bytes = np.ascontiguousarray(signatures, dtype=np.uint32).tobytes()
    width = signatures.shape[1] * 4 if signatures.ndim == 2 else 0
    checksum_bytes = signature_checksums(
        [bytes.fromhex(value) for value in content_hashes],
        word_counts,
        shingle_counts,
        np.ascontiguousarray(signatures, dtype=np.uint32).reshape(len(content_hashes), width // 4),
    ).tobytes()
    key_bytes = np.ascontiguousarray(line_keys, dtype=np.uint64).tobytes()
    key_ends = (np.asarray(line_key_offsets, dtype=np.int64) * 8).tolist()
    as_json: dict[tuple[tuple[str, int], ...], str] = {}  # few documents' removals differ
    rows = []
    for row, (content_hash, words, shingles, removed) in enumerate(
        zip(content_hashes, word_counts.tolist(), shingle_counts.tolist(), removals, strict=True)
    ):
        removed = tuple(removed)
        text = as_json.get(removed)
        if text is None:
            text = as_json[removed] = json.dumps(removed)
        rows.append(
            (
                bytes.fromhex(content_hash),
                words,
                shingles,
                text,
                signature_bytes[row * width : (row + 1) * width],
                key_bytes[key_ends[row] : key_ends[row + 1]],
                checksum_bytes[row * _CHECKSUM_BYTES : (row + 1) * _CHECKSUM_BYTES],
            )
        )
    return tuple(rows)


_CHECKSUM_BYTES = 8
_MIX = np.uint64(0xFF51AFD7ED558CCD)


def signature_checksums(
    content_hashes: Sequence[bytes],
    word_counts: npt.NDArray[np.int64],
    shingle_counts: npt.NDArray[np.int64],
    signatures: npt.NDArray[np.uint32],
) -> npt.NDArray[np.uint64]:
    """One checksum per `entries` row, stored beside its signature (format 10).

    The sum of the signature's values (any one changed value changes it; zeroed rows fail),
    mixed with the row's content hash and counts (a row moved or miscounted fails too), in
    numpy for all rows at once, as a warm run reads 100,000 rows. Not a cryptographic check."""
    rows = len(content_hashes)
    width = signatures.shape[1] if signatures.ndim == 2 else 0
    keys = np.frombuffer(b"".join(value[:8].ljust(8, b"\0") for value in content_hashes), dtype="<u8")
    with np.errstate(over="ignore"):
        mixed = np.add.reduce(signatures.reshape(rows, width), axis=1, dtype=np.uint64)
        mixed ^= np.uint64(width)
        mixed ^= keys.astype(np.uint64)
        mixed ^= np.asarray(word_counts, dtype=np.uint64) << np.uint64(40)
        mixed ^= np.asarray(shingle_counts, dtype=np.uint64) << np.uint64(8)
        mixed ^= mixed >> np.uint64(33)
        mixed *= _MIX
        mixed ^= mixed >> np.uint64(33)
    checksums: npt.NDArray[np.uint64] = mixed.astype("<u8")
    return checksums


def _sound_entry_rows(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Of rows (content hash, words, shingles, signature, ..., checksum) read from `entries`,
    those whose checksum holds, without it.

    A damaged row (zeroed pages, a torn write that SQLite's own checks do not see) read as a
    signature changed results silently (717 clusters instead of 721 on Reuters with some rows
    zeroed); a row that fails is treated as absent, so the document is signed again and its
    row replaced."""
    by_width: dict[int, list[int]] = {}
    for number, row in enumerate(rows):
        by_width.setdefault(len(row[3]), []).append(number)
    sound = [False] * len(rows)
    for width, numbers in by_width.items():
        if width % 4:
            continue
        signatures = np.frombuffer(b"".join(rows[number][3] for number in numbers), dtype=np.uint32)
        expected = signature_checksums(
            [rows[number][0] for number in numbers],
            np.array([rows[number][1] for number in numbers], dtype=np.int64),
            np.array([rows[number][2] for number in numbers], dtype=np.int64),
            signatures.reshape(len(numbers), width // 4),
        )
        stored = b"".join(
            rows[number][-1] if len(rows[number][-1]) == _CHECKSUM_BYTES else bytes(_CHECKSUM_BYTES)
            for number in numbers
        )
        holding = np.frombuffer(stored, dtype="<u8") == expected
        for number, holds in zip(numbers, holding.tolist(), strict=True):
            sound[number] = holds
    return [row[:-1] for row, holds in zip(rows, sound, strict=True) if holds]


def stat_row(
    path: str, status: os.stat_result, content_hash: str, now: float | None = None
) -> StatRow | None:
    """The stats row for a file just hashed (`path` from `stat_key`), or None when it changed
    too recently to trust."""
    now = time.time() if now is None else now
    if max(status.st_mtime_ns, status.st_ctime_ns) > (now - RACY_SECONDS) * 1e9:
        return None
    return (
        path,
        status.st_size,
        status.st_mtime_ns,
        status.st_ctime_ns,
        status.st_ino,
        bytes.fromhex(content_hash),
    )


def stat_key(path: str, directory: str) -> str:
    """The stats table's key for a path: absolute, joined to `directory` (the current one) if
    relative. Not normalised (that costs more than it saves): another spelling of a path is
    merely a miss, and the file is hashed."""
    return _storable(path if os.path.isabs(path) else os.path.join(directory, path))


def stat_keys(paths: Sequence[str], directory: str) -> list[str]:
    """`stat_key` of many paths (os.path.join keeps a path that is already absolute)."""
    separator = os.sep
    return [
        _storable(path if path.startswith(separator) else os.path.join(directory, path)) for path in paths
    ]


def _storable(path: str) -> str:
    """The path, or for a name that is not valid UTF-8 (Python keeps its bytes as lone
    surrogates, which SQLite text cannot hold) `bytes:` and the base64 of its bytes, which
    no absolute path looks like."""
    if path.isascii():
        return path
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "bytes:" + base64.b64encode(os.fsencode(path)).decode("ascii")
    return path


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _QUERY_CHUNK):
        yield items[start : start + _QUERY_CHUNK]


class CacheReader:
    """Read-only lookups, for signing workers. Every failure reads as a miss."""

    def __init__(self, path: str) -> None:
        self._connection: sqlite3.Connection | None = None
        if not os.path.exists(path):
            return
        try:
            connection = sqlite3.connect(f"file:{_uri_path(path)}?mode=ro", uri=True, timeout=5.0)
            if connection.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                connection.close()
                return
            self._connection = connection
        except sqlite3.Error:
            self._connection = None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def hashes_for_stats(self, paths: Sequence[str], statuses: Sequence[os.stat_result]) -> dict[str, str]:
        """Content hashes of the files (absolute paths) whose stat is unchanged since recorded."""
        if self._connection is None or not paths:
            return {}
        wanted = {path: status for path, status in zip(paths, statuses, strict=True)}
        found: dict[str, str] = {}
        try:
            for chunk in _chunks(list(wanted)):
                rows = self._connection.execute(
                    "SELECT path, size, mtime_ns, ctime_ns, inode, content_hash FROM stats "
                    f"WHERE path IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
                for path, size, mtime_ns, ctime_ns, inode, content_hash in rows:
                    status = wanted[path]
                    if (size, mtime_ns, ctime_ns, inode) == (
                        status.st_size,
                        status.st_mtime_ns,
                        status.st_ctime_ns,
                        status.st_ino,
                    ):
                        found[path] = content_hash.hex()
        except sqlite3.Error:
            self.close()
            return {}
        return found

    def entries(self, fingerprint: str, hashes: Iterable[str], with_sets: bool = True) -> dict[str, Entry]:
        """The cached entries for these content hashes; without `with_sets`, no shingle sets
        (with it, a set where the cache has one: see `add`)."""
        if self._connection is None:
            return {}
        wanted = [bytes.fromhex(value) for value in sorted(set(hashes))]
        found: dict[str, Entry] = {}
        if with_sets:
            query = (
                "SELECT e.content_hash, e.word_count, e.shingle_count, e.signature, s.shingles, e.removals, "
                "e.line_keys, e.checksum "
                "FROM entries AS e LEFT JOIN sets AS s "
                "ON s.fingerprint_id = e.fingerprint_id AND s.content_hash = e.content_hash "
                f"WHERE e.fingerprint_id = {_FINGERPRINT_ID} AND e.content_hash IN ({{}})"
            )
        else:
            query = (
                "SELECT content_hash, word_count, shingle_count, signature, NULL, removals, line_keys, "
                f"checksum FROM entries WHERE fingerprint_id = {_FINGERPRINT_ID} AND content_hash IN ({{}})"
            )
        try:
            for chunk in _chunks(wanted):
                rows = self._connection.execute(
                    query.format(",".join("?" * len(chunk))), [fingerprint, *chunk]
                )
                sound = _sound_entry_rows(rows.fetchall())  # a damaged row is signed again
                for content_hash, word_count, shingle_count, signature, shingles, removals, keys in sound:
                    found[content_hash.hex()] = Entry(
                        word_count=word_count,
                        signature=np.frombuffer(signature, dtype=np.uint32),
                        shingle_count=shingle_count,
                        shingles=None if shingles is None else np.frombuffer(shingles, dtype=np.uint64),
                        removals=tuple((rule, count) for rule, count in json.loads(removals)),
                        line_keys=np.frombuffer(keys, dtype=np.uint64),
                    )
        except (sqlite3.Error, ValueError):
            self.close()
            return {}
        return found


class _Writer:
    """One thread making the cache's write transactions in the order they were queued."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="storydiff-cache-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            write = self._queue.get()
            try:
                if write is None:
                    return
                write()
            except BaseException as error:  # a bug, not SQLite's (writes report those): raised by wait
                self._error = error
            finally:
                self._queue.task_done()

    def submit(self, write: Callable[[], None]) -> None:
        self._queue.put(write)

    def wait(self) -> None:
        self._queue.join()
        self.raise_error()

    def raise_error(self) -> None:
        """Raise the bug a write met since the last call, if one did."""
        error, self._error = self._error, None
        if error is not None:
            raise error

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def is_current(self) -> bool:
        return threading.current_thread() is self._thread


@dataclass
class SignatureCache:
    """The writable cache, held by the run's parent process (see the module docstring).

    Writes made after signing are queued to a writer thread (`_in_background`). Lookups go
    through a second connection (`_reading`) and wait only for the queued writes to the
    tables they read: a read sees every write queued before it that could change its answer,
    and the run goes on while the writer stores what it did not ask for (waiting for all of
    it kept the repeated-line pass most of a second waiting for the first pass's pairs).
    """

    path: str
    warnings: list[str] = field(default_factory=list)
    _database: sqlite3.Connection | None = None
    _prefetched: tuple[str, threading.Thread, dict[str, Any]] | None = None
    _writer: _Writer | None = None
    _reader: sqlite3.Connection | None = None
    _pending: Counter[str] = field(default_factory=Counter)  # queued writes per table
    _pending_changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def _connection(self) -> sqlite3.Connection | None:
        """The database, once every write queued before has been made: a read sees them all."""
        self._settle()
        return self._database

    @_connection.setter
    def _connection(self, connection: sqlite3.Connection | None) -> None:
        self._database = connection

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed when the block ends (the cache must be on); a
        SQLite error rolls back and turns the cache off (see _failed) instead of escaping."""
        connection = self._connection
        assert connection is not None
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            self._failed(error)

    def _in_background(self, table: str | None, write: Callable[[], None]) -> None:
        """Make a write transaction to `table` on the cache's writer thread: the run goes on
        while SQLite writes (it releases the GIL), and the next read of `table`, or `close`,
        waits for it (no read waits for a write to no table: a checkpoint)."""
        if self._database is None:
            return
        if self._writer is None:
            self._writer = _Writer()
        if table is None:
            self._writer.submit(write)
            return
        with self._pending_changed:
            self._pending[table] += 1

        def write_then_count() -> None:
            try:
                write()
            finally:
                with self._pending_changed:
                    self._pending[table] -= 1
                    self._pending_changed.notify_all()

        self._writer.submit(write_then_count)

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database on the writer thread, after the writes
        queued before: `cluster` asks once its report is queued, so that the last tens of
        megabytes a first run wrote are copied while its output is rendered rather than by
        `close` at the very end."""
        self._in_background(None, self._checkpoint_now)

    def _checkpoint_now(self) -> None:
        connection = self._connection
        if connection is None:  # turned off by a failure since the checkpoint was queued
            return
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as error:
            self._failed(error)

    def _settle(self) -> None:
        if self._writer is not None and not self._writer.is_current():
            self._writer.wait()

    def _reading(self, *tables: str) -> sqlite3.Connection | None:
        """The connection lookups go through, once the writes queued to `tables` are made
        (None when the cache is off). A bug a background write met is raised here."""
        writer = self._writer
        if writer is not None and not writer.is_current():
            with self._pending_changed:
                self._pending_changed.wait_for(lambda: not any(self._pending[table] for table in tables))
            writer.raise_error()
        if self._database is None:  # never opened, or turned off (perhaps by the writer thread)
            self._close_reader()
            return None
        if self._reader is None:
            try:
                self._reader = _connect_reader(self.path)
            except sqlite3.Error as error:
                self._failed(error)
                return None
        return self._reader

    @classmethod
    def open(cls, path: str) -> SignatureCache:
        """Open or create the cache at `path`; a broken or foreign file is moved aside and remade."""
        cache = cls(path)
        if os.path.exists(path) and not os.path.isfile(path):
            # /dev/null, a FIFO, a directory: SQLite would create its journal beside it.
            cache.warnings.append(f"{path}: not a regular file; running without the signature cache")
            return cache
        for attempt in range(_OPEN_ATTEMPTS):
            try:
                cache._connection = cache._connect()
                return cache
            except sqlite3.OperationalError as error:
                # Locked (another run is creating the file) or unwritable: not damage, so
                # never a reason to move the file aside.
                if attempt == _OPEN_ATTEMPTS - 1:
                    cache.warnings.append(
                        f"{path}: cannot use the signature cache ({error}); running without it"
                    )
                else:
                    time.sleep(0.2 * (attempt + 1))
            except sqlite3.DatabaseError as error:
                cache._move_aside(f"not a usable storydiff cache ({error})")
        return cache

    @property
    def enabled(self) -> bool:
        return self._database is not None

    def _connect(self) -> sqlite3.Connection:
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        # Not bound to this thread: `cluster` stores signed batches from a writer thread while
        # the main thread goes on (one thread at a time uses the connection; see pipeline).
        connection = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        try:
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("BEGIN")  # one read transaction: another run may be creating the file
            try:
                _check_identity(connection)
            finally:
                if connection.in_transaction:
                    connection.execute("COMMIT")
            if connection.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
                raise sqlite3.DatabaseError("cannot switch to WAL mode")
            connection.execute("PRAGMA synchronous = NORMAL")
            # Checkpoints (each with an fsync) every 128 MB of WAL, not every 4 MB: a first run
            # writes a few hundred megabytes, and the default made that a third slower.
            connection.execute("PRAGMA wal_autocheckpoint = 32768")
            # A page cache of up to 32 MB, not 2: a transaction of signed batches (see `add`)
            # dirties pages all over the content hash index, and those the cache cannot hold
            # are written to the WAL before the commit writes them again.
            connection.execute("PRAGMA cache_size = -32768")
            connection.execute("BEGIN IMMEDIATE")
            try:
                _check_identity(connection)
                version = connection.execute("PRAGMA user_version").fetchone()[0]
                if version not in (0, FORMAT_VERSION):
                    for table in _TABLES:
                        connection.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        connection.execute(statement)
                connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                connection.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        except BaseException:
            connection.close()
            raise
        return connection

    def _move_aside(self, reason: str) -> None:
        aside = self.path + ".corrupt"
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:
            pass  # another run moved it first
        except OSError as error:
            self.warnings.append(f"{self.path}: {reason}, and it cannot be moved aside ({error.strerror})")
            return
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.remove(self.path + suffix)
        self.warnings.append(f"{self.path}: {reason}; moved it to {aside} and started a new cache")

    def _failed(self, error: sqlite3.Error) -> None:
        """Stop using the cache for this run; a damaged file is moved aside so the next run rebuilds it."""
        self.close()
        if isinstance(error, sqlite3.DatabaseError) and not isinstance(error, sqlite3.OperationalError):
            self._move_aside(f"damaged signature cache ({error}); continuing without it")
        else:
            self.warnings.append(f"{self.path}: signature cache error ({error}); running without it")

    def close(self) -> None:
        """Close the database once the queued writes are made (Ctrl-C waits for them too)."""
        writer = self._writer
        if writer is not None and not writer.is_current():
            interrupted = False
            while True:
                try:
                    writer.wait()
                    break
                except KeyboardInterrupt:
                    interrupted = True
            writer.stop()
            self._writer = None
            if interrupted:
                self._close_database()
                raise KeyboardInterrupt
        self._close_database()

    def _close_database(self) -> None:
        """Close the connections; on the writer thread, only its own (the reader is the main
        thread's, which closes it at its next read)."""
        if self._writer is None or not self._writer.is_current():
            self._close_reader()
        if self._database is not None:
            self._database.close()
            self._database = None

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> SignatureCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def add(self, fingerprint: str, updates: Sequence[CacheUpdate]) -> None:
        """Store signed batches' new entries and stat rows, in one transaction.

        The exact sets are not stored: they were three quarters of the bytes a first run
        wrote (and of its extra time), and a warm run needs few of them (pairs verified
        before come from `pairs`): `pipeline.load_sets` shingles those again.

        `cluster` hands this several batches at a time (pipeline.STORE_ROWS): each commit
        writes again every page of the content hash index it touched, and a batch's random
        hashes touch most of them.
        """
        if self._connection is None or not any(updates):
            return
        with self._transaction() as connection:
            # Looked up in the transaction, never remembered: `clear` in another run may
            # have removed the fingerprint since, and another number may name it now.
            connection.execute("INSERT OR IGNORE INTO fingerprints (fingerprint) VALUES (?)", (fingerprint,))
            (number,) = connection.execute(
                "SELECT id FROM fingerprints WHERE fingerprint = ?", (fingerprint,)
            ).fetchone()
            for update in updates:
                connection.executemany(
                    f"INSERT OR REPLACE INTO entries VALUES ({int(number)}, ?, ?, ?, ?, ?, ?, ?)",
                    update.entries,
                )
                connection.executemany("INSERT OR REPLACE INTO stats VALUES (?, ?, ?, ?, ?, ?)", update.stats)

    def prefetch(self, fingerprint: str) -> None:
        """Start reading what `known` needs in a thread, to overlap with the walk and the stats."""
        if self._connection is None:
            return
        result: dict[str, Any] = {}
        path = self.path

        def scan() -> None:
            try:
                connection = sqlite3.connect(f"file:{_uri_path(path)}?mode=ro", uri=True, timeout=5.0)
                try:
                    result["rows"] = _scan(connection, fingerprint)
                finally:
                    connection.close()
            except sqlite3.Error:
                pass  # `known` reads again in the main thread, and reports what fails there

        thread = threading.Thread(target=scan, name="storydiff-cache-prefetch", daemon=True)
        thread.start()
        self._prefetched = (fingerprint, thread, result)

    def holds(self, fingerprint: str) -> bool:
        """Whether `known` could find anything for this fingerprint: whether there are stat
        rows and entries of it. A first run with a new cache (or new settings) then need not
        stat the whole corpus in the parent, before any signing starts, for nothing."""
        row = self._row(
            "SELECT EXISTS (SELECT 1 FROM stats) AND EXISTS "
            f"(SELECT 1 FROM entries WHERE fingerprint_id = {_FINGERPRINT_ID})",
            (fingerprint,),
        )
        return row is not None and bool(row[0])

    def holds_entries(self, fingerprint: str) -> bool:
        """Whether there are entries for this fingerprint: whether a signing worker could find a
        document by its content (see pipeline.CacheSpec.look_up)."""
        row = self._row(
            f"SELECT EXISTS (SELECT 1 FROM entries WHERE fingerprint_id = {_FINGERPRINT_ID})", (fingerprint,)
        )
        return row is not None and bool(row[0])

    def known(
        self, fingerprint: str, paths: Sequence[str], statuses: Sequence[os.stat_result | None]
    ) -> Known:
        """Every document whose stat is unchanged and whose entry exists, without its set.

        A warm corpus of 100,000 files is matched here in well under a second: both tables
        are read in one scan each (faster than 100,000 index lookups), joined through dicts,
        and the stats compared as numpy arrays. Sets are not read (pipeline.load_sets).
        """
        nothing = Known(np.empty(0, np.int64), [], np.empty(0, np.int64), np.empty(0, np.int64), b"", [], [])
        if self._connection is None or not paths:
            return nothing
        prefetched, self._prefetched = self._prefetched, None
        rows = None
        if prefetched is not None and prefetched[0] == fingerprint:
            prefetched[1].join()
            rows = prefetched[2].get("rows")
        try:
            if rows is not None:
                stat_rows, entry_rows = rows
            elif len(paths) <= TARGETED_LOOKUP:
                stat_rows, entry_rows = _lookup(self._connection, fingerprint, paths)
            else:
                stat_rows, entry_rows = _scan(self._connection, fingerprint)
        except sqlite3.Error as error:
            self._failed(error)
            return nothing
        if not stat_rows:
            return nothing
        if not entry_rows:
            return nothing
        row_of_path = {row[0]: number for number, row in enumerate(stat_rows)}
        at = np.array([row_of_path.get(path, -1) for path in paths], dtype=np.int64)
        now_stats = np.array(
            [
                (status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino)
                if status is not None
                else (-1, -1, -1, -1)
                for status in statuses
            ],
            dtype=np.int64,
        ).reshape(-1, 4)
        then_stats = np.array([row[1:5] for row in stat_rows], dtype=np.int64).reshape(-1, 4)[at]
        unchanged = (at >= 0) & (now_stats == then_stats).all(axis=1)
        row_of_hash = {row[0]: number for number, row in enumerate(entry_rows)}  # by hash bytes
        positions = []
        rows = []
        for position in np.flatnonzero(unchanged).tolist():
            row = row_of_hash.get(stat_rows[at[position]][5])
            if row is not None:
                positions.append(position)
                rows.append(row)
        if not positions:
            return nothing
        chosen = [entry_rows[row] for row in rows]
        return Known(
            rows=np.array(positions, dtype=np.int64),
            content_hashes=[row[0].hex() for row in chosen],
            word_counts=np.array([row[1] for row in chosen], dtype=np.int64),
            shingle_counts=np.array([row[2] for row in chosen], dtype=np.int64),
            signatures=b"".join(row[3] for row in chosen),
            removals=[row[4] for row in chosen],
            line_keys=[row[5] for row in chosen],
        )

    def _row(
        self, query: str, parameters: tuple[object, ...], table: str | None = None
    ) -> tuple[Any, ...] | None:
        """The one row a query finds, or None when it finds none, the cache is off, or it fails
        (the failure is reported and the cache turned off: see `_failed`). A query of one
        `table` goes through `_reading`; others wait for every queued write."""
        connection = self._connection if table is None else self._reading(table)
        if connection is None:
            return None
        try:
            row: tuple[Any, ...] | None = connection.execute(query, parameters).fetchone()
        except sqlite3.Error as error:
            self._failed(error)
            return None
        return row

    def get_pass(self, key: str, num_perm: int) -> Pass | None:
        """The clustering pass stored under `key` (see pipeline.verified_pairs), if any and whole."""
        row = self._row(
            "SELECT paths, set_ids, shingle_counts, pairs, results, extra_ids, extra_signatures "
            "FROM passes WHERE key = ?",
            (key,),
            "passes",
        )
        if row is None:
            return None
        paths, set_ids, counts, pairs, results, extra_ids, extra_signatures = row
        try:
            shingle_counts = np.frombuffer(counts, dtype=np.int64)
            pair_rows = np.frombuffer(pairs, dtype=np.int64).reshape(-1, 2)
            values = np.frombuffer(results, dtype=np.float64).reshape(3, len(pair_rows))
            extra = np.frombuffer(extra_signatures, dtype=np.uint32).reshape(-1, num_perm)
            return Pass(
                paths=_split_strings(paths, len(shingle_counts)),
                set_ids=_split_strings(set_ids, len(shingle_counts)),
                shingle_counts=shingle_counts,
                pairs=pair_rows,
                jaccard=values[0],
                containment=values[1],
                smaller=values[2].astype(np.int64),
                extra_ids=_split_strings(extra_ids, len(extra)),
                extra_signatures=extra,
            )
        except (ValueError, TypeError, zlib.error):
            return None

    def put_pass(self, key: str, state: Pass) -> None:
        """Store a clustering pass; only the KEPT_PASSES most recent stay."""
        if self._database is None:
            return
        row = (
            key,
            _join_strings(state.paths),
            _join_strings(state.set_ids),
            np.ascontiguousarray(state.shingle_counts, dtype=np.int64).tobytes(),
            np.ascontiguousarray(state.pairs, dtype=np.int64).tobytes(),
            np.concatenate([state.jaccard, state.containment, state.smaller.astype(np.float64)]).tobytes(),
            _join_strings(state.extra_ids),
            np.ascontiguousarray(state.extra_signatures, dtype=np.uint32).tobytes(),
        )
        self._replace("passes", row, KEPT_PASSES)

    def _replace(self, table: str, row: tuple[Any, ...], kept: int) -> None:
        """Store `row` (its key first) in `table`, keeping only the `kept` most recent rows
        (on the writer thread)."""
        self._in_background(table, functools.partial(self._replace_now, table, row, kept))

    def _replace_now(self, table: str, row: tuple[Any, ...], kept: int) -> None:
        if self._connection is None:  # turned off by a failure since the write was queued
            return
        with self._transaction() as connection:
            connection.execute(f"DELETE FROM {table} WHERE key = ?", (row[0],))
            connection.execute(f"INSERT INTO {table} VALUES ({','.join('?' * len(row))})", row)
            _keep_newest(connection, table, kept)

    def get_stripped(self, keys: Sequence[str], num_perm: int) -> dict[str, Stripped]:
        """The batches stored under these keys (see pipeline._strip_repeated)."""
        connection = self._reading("stripped") if keys else None
        if connection is None:
            return {}
        found: dict[str, Stripped] = {}
        try:
            for chunk in _chunks(sorted(set(keys))):
                rows = connection.execute(
                    "SELECT key, word_counts, shingle_counts, signatures, set_values, set_offsets, "
                    f"repeated_lines FROM stripped WHERE key IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
                for key, words, shingles, signatures, values, offsets, repeated_lines in rows:
                    try:
                        found[key] = Stripped(
                            np.frombuffer(words, dtype=np.int64),
                            np.frombuffer(shingles, dtype=np.int64),
                            np.frombuffer(signatures, dtype=np.uint32).reshape(-1, num_perm),
                            np.frombuffer(values, dtype=np.uint64),
                            np.frombuffer(offsets, dtype=np.int64),
                            int(repeated_lines),
                        )
                    except ValueError:
                        continue  # not what this code writes: signed again and stored anew
        except sqlite3.Error as error:
            self._failed(error)
            return {}
        return found

    def put_stripped(self, batches: Mapping[str, Stripped]) -> None:
        """Store batches signed again without repeated lines; the KEPT_STRIPPED most recent stay."""
        if self._database is None or not batches:
            return
        rows = [
            (
                key,
                np.ascontiguousarray(batch.word_counts, dtype=np.int64).tobytes(),
                np.ascontiguousarray(batch.shingle_counts, dtype=np.int64).tobytes(),
                np.ascontiguousarray(batch.signatures, dtype=np.uint32).tobytes(),
                np.ascontiguousarray(batch.set_values, dtype=np.uint64).tobytes(),
                np.ascontiguousarray(batch.set_offsets, dtype=np.int64).tobytes(),
                batch.repeated_lines,
            )
            for key, batch in batches.items()
        ]
        self._in_background("stripped", functools.partial(self._put_stripped_now, rows))

    def _put_stripped_now(self, rows: Sequence[tuple[Any, ...]]) -> None:
        if self._connection is None:  # turned off by a failure since the write was queued
            return
        with self._transaction() as connection:
            connection.executemany("INSERT OR REPLACE INTO stripped VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            _keep_newest(connection, "stripped", KEPT_STRIPPED)

    def get_walk(self, key: str) -> Walk | None:
        """The walk stored under `key` (see walks.discover), if any and whole."""
        row = self._row(
            "SELECT created_ns, directories, paths, fs_paths FROM walks WHERE key = ?", (key,), "walks"
        )
        if row is None:
            return None
        created_ns, directories, paths, fs_paths = row
        try:
            listed = tuple(
                (str(path), int(device), int(inode), int(mtime), int(ctime))
                for path, device, inode, mtime, ctime in json.loads(directories)
            )
            names = _split_strings(paths, -1)
            return Walk(int(created_ns), listed, names, _split_strings(fs_paths, len(names)))
        except (ValueError, TypeError, zlib.error):
            return None

    def put_walk(self, key: str, walk: Walk) -> None:
        """Store a walk; only the KEPT_WALKS most recent stay."""
        if self._database is None:
            return
        row = (
            key,
            walk.created_ns,
            json.dumps([list(item) for item in walk.directories]),
            _join_strings(walk.paths),
            _join_strings(walk.fs_paths),
        )
        self._replace("walks", row, KEPT_WALKS)

    def get_snapshot(self, key: str, num_perm: int) -> Snapshot | None:
        """The corpus snapshot stored under `key` (see check.snapshot_key), if any and whole."""
        row = self._row(
            "SELECT created_ns, directories, paths, fs_paths, content_hashes, stats, shingle_counts, "
            "signatures FROM snapshots WHERE key = ?",
            (key,),
            "snapshots",
        )
        if row is None:
            return None
        created_ns, directories, paths, fs_paths, hashes, stats, shingle_counts, signatures = row
        try:
            counts = np.frombuffer(shingle_counts, dtype=np.int64)
            count = len(counts)
            snapshot = Snapshot(
                created_ns=int(created_ns),
                directories=tuple(
                    (str(path), int(device), int(inode), int(mtime), int(ctime))
                    for path, device, inode, mtime, ctime in json.loads(directories)
                ),
                paths=_split_strings(paths, count),
                fs_paths=_split_strings(fs_paths, count),
                content_hashes=_split_strings(hashes, count),
                stats=np.frombuffer(stats, dtype=np.int64).reshape(count, 5),
                shingle_counts=counts,
                signatures=np.frombuffer(signatures, dtype=np.uint32).reshape(count, num_perm),
            )
        except (ValueError, TypeError, zlib.error):
            return None  # not what this code writes: the caller walks and signs, and stores anew
        return snapshot

    def put_snapshot(self, key: str, snapshot: Snapshot) -> None:
        """Store a corpus snapshot; only the KEPT_SNAPSHOTS most recent stay."""
        if self._database is None:
            return
        row = (
            key,
            snapshot.created_ns,
            json.dumps([list(item) for item in snapshot.directories]),
            _join_strings(snapshot.paths),
            _join_strings(snapshot.fs_paths),
            _join_strings(snapshot.content_hashes),
            np.ascontiguousarray(snapshot.stats, dtype=np.int64).tobytes(),
            np.ascontiguousarray(snapshot.shingle_counts, dtype=np.int64).tobytes(),
            np.ascontiguousarray(snapshot.signatures, dtype=np.uint32).tobytes(),
        )
        self._replace("snapshots", row, KEPT_SNAPSHOTS)

    def get_pairs(self, keys: Sequence[str]) -> dict[str, tuple[float, float, int]]:
        """The verified pairs stored under these keys (see keys.pair_key)."""
        connection = self._reading("pairs")
        if connection is None:
            return {}
        found: dict[str, tuple[float, float, int]] = {}
        wanted = {bytes.fromhex(key) for key in keys}
        try:
            if len(wanted) > _PAIR_SCAN:  # one scan beats that many index lookups
                for key, jaccard, containment, smaller in connection.execute(
                    "SELECT key, jaccard, containment, smaller FROM pairs"
                ):
                    if key in wanted:
                        found[key.hex()] = (float(jaccard), float(containment), int(smaller))
                return found
            for chunk in _chunks(sorted(wanted)):
                marks = ",".join("?" * len(chunk))
                for key, jaccard, containment, smaller in connection.execute(
                    f"SELECT key, jaccard, containment, smaller FROM pairs WHERE key IN ({marks})", chunk
                ):
                    found[key.hex()] = (float(jaccard), float(containment), int(smaller))
        except sqlite3.Error as error:
            self._failed(error)
            return {}
        return found

    def put_pairs(self, rows: Sequence[tuple[str, float, float, int]]) -> None:
        """Store verified pairs: (key, jaccard, containment, smaller set size) each."""
        self._write_many(
            "pairs",
            "INSERT OR REPLACE INTO pairs VALUES (?, ?, ?, ?)",
            [
                (bytes.fromhex(key), jaccard, containment, smaller)
                for key, jaccard, containment, smaller in rows
            ],
        )

    def get_diffs(self, keys: Sequence[str]) -> dict[str, tuple[MemberDiff, ...]]:
        """The diffed clusters' members stored under these keys (see keys.cluster_key)."""
        connection = self._reading("diffs")
        if connection is None:
            return {}
        found: dict[str, tuple[MemberDiff, ...]] = {}
        try:
            for chunk in _chunks(sorted(set(keys))):
                rows = connection.execute(
                    f"SELECT key, members FROM diffs WHERE key IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
                for key, data in rows:
                    try:
                        found[key] = tuple(
                            _member_from_json(item) for item in json.loads(zlib.decompress(data))
                        )
                    except (ValueError, KeyError, TypeError, zlib.error):
                        continue  # not what this code writes: diffed again and stored anew
        except sqlite3.Error as error:
            self._failed(error)
            return {}
        return found

    def put_diffs(self, clusters: Mapping[str, Sequence[MemberDiff]]) -> None:
        """Store diffed clusters' members under their keys."""
        self._write_many(
            "diffs",
            "INSERT OR REPLACE INTO diffs VALUES (?, ?)",
            [
                (
                    key,
                    zlib.compress(json.dumps([member_to_json(item) for item in members]).encode("ascii"), 1),
                )
                for key, members in clusters.items()
            ],
        )

    def _write_many(self, table: str, statement: str, rows: Sequence[tuple[Any, ...]]) -> None:
        """executemany of a statement writing to `table`, in one transaction, on the writer thread."""
        if rows:
            self._in_background(table, functools.partial(self._write_many_now, statement, rows))

    def _write_many_now(self, statement: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if self._connection is None:  # turned off by a failure since the write was queued
            return
        with self._transaction() as connection:
            connection.executemany(statement, rows)

    def get_report(self, key: str) -> Report | None:
        """The report stored under `key` (see keys.report_key), if any, its clusters'
        members read from `diffs`; None when one of them is not there any more."""
        row = self._row(
            "SELECT report, paths, content_hashes, sizes, singletons FROM reports WHERE key = ?",
            (key,),
            "reports",
        )
        if row is None:
            return None
        try:
            summary = json.loads(zlib.decompress(row[0]))
            members = self.get_diffs([item[2] for item in summary["clusters"]])
            return _report_from_row(summary, row[1:], members)
        except (ValueError, KeyError, TypeError, zlib.error):
            return None

    def put_report(self, key: str, report: Report, cluster_keys: Sequence[str]) -> None:
        """Store a finished report whose clusters are stored in `diffs` under `cluster_keys`
        (one per cluster, in order); only the KEPT_REPORTS most recent stay.

        The clusters are named, not stored again: encoding their diffs a second time took a
        first run with 100,000 files most of a second."""
        if self._database is None:
            return
        if len(cluster_keys) != len(report.clusters):
            raise ValueError(f"{len(report.clusters)} clusters, but {len(cluster_keys)} keys for their diffs")
        self._replace("reports", (key, *_report_row(report, cluster_keys)), KEPT_REPORTS)

    def get_output(self, key: str) -> tuple[bytes, tuple[str, ...]] | None:
        """The output and stderr lines stored under `key` (see replay.look), if any."""
        row = self._row("SELECT output, chatter FROM outputs WHERE key = ?", (key,), "outputs")
        if row is None:
            return None
        try:
            return zlib.decompress(row[0]), tuple(json.loads(row[1]))
        except (ValueError, TypeError, zlib.error):
            return None

    def put_output(self, key: str, compressed_output: bytes, chatter: Sequence[str]) -> None:
        """Store a run's output, zlib-compressed by the caller; only the KEPT_OUTPUTS most recent stay."""
        text = json.dumps(list(chatter))
        self._replace("outputs", (key, text, compressed_output), KEPT_OUTPUTS)

    def info(self) -> dict[str, object]:
        """Path, size on disk, entry and stat counts, and entries per fingerprint."""
        size = sum(
            os.path.getsize(self.path + suffix)
            for suffix in ("", "-wal")
            if os.path.exists(self.path + suffix)
        )
        data: dict[str, object] = {"path": self.path, "size_bytes": size, "format": FORMAT_VERSION}
        if self._connection is None:
            return {**data, "entries": 0, "stat_rows": 0, "fingerprints": {}}
        try:
            fingerprints = dict(
                self._connection.execute(
                    "SELECT f.fingerprint, count(*) FROM entries AS e JOIN fingerprints AS f "
                    "ON f.id = e.fingerprint_id GROUP BY f.fingerprint ORDER BY f.fingerprint"
                ).fetchall()
            )
            stat_rows = self._connection.execute("SELECT count(*) FROM stats").fetchone()[0]
        except sqlite3.Error as error:
            self._failed(error)
            return {**data, "entries": 0, "stat_rows": 0, "fingerprints": {}}
        return {
            **data,
            "entries": sum(fingerprints.values()),
            "stat_rows": stat_rows,
            "fingerprints": fingerprints,
        }

    def clear(self) -> int:
        """Delete every entry and stat row; returns how many entries there were."""
        if self._connection is None:
            return 0
        try:
            count: int = self._connection.execute("SELECT count(*) FROM entries").fetchone()[0]
            self._connection.execute("BEGIN IMMEDIATE")
            for table in _TABLES:
                self._connection.execute(f"DELETE FROM {table}")
            self._connection.execute("COMMIT")
            self._connection.execute("VACUUM")
        except sqlite3.Error as error:
            self._failed(error)
            return 0
        return count


def _keep_newest(connection: sqlite3.Connection, table: str, kept: int) -> None:
    """Delete all but the `kept` rows last written to `table`."""
    connection.execute(
        f"DELETE FROM {table} WHERE rowid NOT IN (SELECT rowid FROM {table} ORDER BY rowid DESC LIMIT ?)",
        (kept,),
    )


def _check_identity(connection: sqlite3.Connection) -> None:
    """Raise unless the database is empty or a storydiff cache (call inside a transaction)."""
    application_id = connection.execute("PRAGMA application_id").fetchone()[0]
    tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if application_id != APPLICATION_ID and tables:
        raise sqlite3.DatabaseError("a SQLite database, but not a storydiff cache")


def _connect_reader(path: str) -> sqlite3.Connection:
    """A second connection to an open cache, for lookups while the writer thread writes (in
    WAL mode, neither waits for the other)."""
    connection = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA query_only = ON")
    except BaseException:
        connection.close()
        raise
    return connection


def _scan(
    connection: sqlite3.Connection, fingerprint: str
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every stat row, and every entry of `fingerprint` without its set."""
    stat_rows = connection.execute(
        "SELECT path, size, mtime_ns, ctime_ns, inode, content_hash FROM stats"
    ).fetchall()
    if not stat_rows:
        return [], []
    entry_rows = connection.execute(
        "SELECT content_hash, word_count, shingle_count, signature, removals, line_keys, checksum "
        # A scan: faster than the index for a whole corpus.
        f"FROM entries WHERE +fingerprint_id = {_FINGERPRINT_ID}",
        (fingerprint,),
    ).fetchall()
    return stat_rows, _sound_entry_rows(entry_rows)


def _lookup(
    connection: sqlite3.Connection, fingerprint: str, paths: Sequence[str]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """`_scan` restricted to the stat rows of `paths` and the entries they name, by index."""
    stat_rows: list[tuple[Any, ...]] = []
    for chunk in _chunks(sorted(set(paths))):
        stat_rows.extend(
            connection.execute(
                "SELECT path, size, mtime_ns, ctime_ns, inode, content_hash FROM stats "
                f"WHERE path IN ({','.join('?' * len(chunk))})",
                chunk,
            )
        )
    entry_rows: list[tuple[Any, ...]] = []
    for chunk in _chunks(sorted({row[5] for row in stat_rows})):
        entry_rows.extend(
            connection.execute(
                "SELECT content_hash, word_count, shingle_count, signature, removals, line_keys, checksum "
                f"FROM entries WHERE fingerprint_id = {_FINGERPRINT_ID} "
                f"AND content_hash IN ({','.join('?' * len(chunk))})",
                [fingerprint, *chunk],
            )
        )
    return stat_rows, _sound_entry_rows(entry_rows)


def _report_row(report: Report, cluster_keys: Sequence[str]) -> tuple[bytes, bytes, bytes, bytes, bytes]:
    """The `reports` row of a report, without its key: everything but the file lists as JSON,
    each cluster as [id, representative, key of its diffs, related ids]; then the files' paths, content
    hashes and sizes, and the singletons, as joined strings and an array."""
    summary = {
        "settings": report.settings,
        "documents": report.documents,
        "clusters": [
            [cluster.id, cluster.representative, diff_key, list(cluster.related)]
            for cluster, diff_key in zip(report.clusters, cluster_keys, strict=True)
        ],
        "skipped": [[item.path, item.reason] for item in report.skipped],
        "boilerplate": [list(item) for item in report.boilerplate],
        "kind": report.kind,
        "inputs": list(report.inputs),
        "unplaced": [[path, list(related)] for path, related in report.unplaced],
    }
    return (
        zlib.compress(json.dumps(summary).encode("ascii"), 1),
        _join_strings([item.path for item in report.files]),
        _join_strings([item.content_hash for item in report.files]),
        np.array([item.size_bytes for item in report.files], dtype=np.int64).tobytes(),
        _join_strings(report.singletons),
    )


def member_to_json(member: MemberDiff) -> list[Any]:
    """A member as `diffs` stores it: plain JSON values, its segments, figures and stripped
    lines as positional lists (far quicker to write and read back than dataclasses.asdict's
    dicts: seconds for the diffs of a 100,000-file corpus). _member_from_json reads it."""
    return [
        member.path,
        member.jaccard,
        member.containment,
        member.added_words,
        member.removed_words,
        [[item.op, item.text, *item.a, *item.b, item.b_text] for item in member.segments],
        member.is_representative,
        member.moved_words,
        [
            [item.old, item.new, item.old_unit, item.new_unit, *item.a, *item.b]
            for item in member.changed_figures
        ],
        [[item.offset, item.rule, item.text] for item in member.representative_stripped],
        [[item.offset, item.rule, item.text] for item in member.member_stripped],
        member.kind,
    ]


def _report_from_row(
    summary: dict[str, Any], files: Sequence[bytes], members: Mapping[str, tuple[MemberDiff, ...]]
) -> Report:
    """The report `_report_row` stored, its clusters' members from `members` (by diff key):
    KeyError when one is missing, ValueError when one does not match its cluster."""
    paths, content_hashes, sizes, singletons = files
    size_values = np.frombuffer(sizes, dtype=np.int64).tolist()
    clusters = []
    for number, representative, diff_key, *related in summary["clusters"]:
        cluster_members = members[diff_key]
        if not cluster_members or cluster_members[0].path != representative:
            raise ValueError("stored diffs that are not the cluster's")
        linked = tuple(related[0]) if related else ()
        clusters.append(Cluster(number, representative, cluster_members, linked))
    return Report(
        settings=summary["settings"],
        documents=summary["documents"],
        clusters=tuple(clusters),
        singletons=_split_strings(singletons, -1),
        skipped=tuple(Skipped(path, reason) for path, reason in summary["skipped"]),
        boilerplate=tuple((rule, count) for rule, count in summary["boilerplate"]),
        kind=summary["kind"],
        inputs=tuple(summary["inputs"]),
        files=tuple(
            map(
                FileRecord,
                _split_strings(paths, len(size_values)),
                _split_strings(content_hashes, len(size_values)),
                size_values,
            )
        ),
        unplaced=tuple((path, tuple(related)) for path, related in summary["unplaced"]),
    )


def _member_from_json(member: list[Any]) -> MemberDiff:
    (
        path,
        jaccard,
        containment,
        added_words,
        removed_words,
        segments,
        is_representative,
        moved_words,
        figures,
        representative_stripped,
        member_stripped,
        kind,
    ) = member
    return MemberDiff(
        path=path,
        jaccard=jaccard,
        containment=containment,
        added_words=added_words,
        removed_words=removed_words,
        segments=tuple(
            Segment(op, text, (a_start, a_end), (b_start, b_end), b_text)
            for op, text, a_start, a_end, b_start, b_end, b_text in segments
        ),
        is_representative=is_representative,
        moved_words=moved_words,
        changed_figures=tuple(
            ChangedFigure(old, new, old_unit, new_unit, (a_start, a_end), (b_start, b_end))
            for old, new, old_unit, new_unit, a_start, a_end, b_start, b_end in figures
        ),
        representative_stripped=tuple(StrippedLine(*line) for line in representative_stripped),
        member_stripped=tuple(StrippedLine(*line) for line in member_stripped),
        kind=kind,
    )


def _uri_path(path: str) -> str:
    from urllib.parse import quote

    return quote(os.path.abspath(path))

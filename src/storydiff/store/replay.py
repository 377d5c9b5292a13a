"""Replaying a `cluster` run's output when nothing it depends on has changed since.

A re-run over an unchanged corpus needs no signatures, no report and no rendering: the
bytes the last run with the same inputs, settings, code and output options wrote are kept
in the cache under a key made from every file's stat (device, inode, size, mtime, ctime)
and given back when a fresh stat of the same files makes the same key. As git does with
its index, a stat is trusted only when the file's timestamps were settled (older than
cache.RACY_SECONDS) when it was taken, since a write within the same clock tick might not
move them; and an output is kept only when the files stat the same after the run as they
did before it, so it is the output of exactly the files the key describes.
"""

from __future__ import annotations

import itertools
import json
import operator
import os
import time
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import xxhash

from .. import __version__, ingest, remote
from ..model import SourceFile
from ..settings import Settings
from . import cache, keys, walks

_MASK = (1 << 64) - 1  # timestamps before 1970 are negative: stored as their 64-bit pattern
_UNSEEN = (_MASK,) * 5
# The modules that turn a report into output, besides those that make it (keys.code_digest).
_OUTPUT_MODULES = ("store.replay", "render", "render.json", "render.text", "render.html")


@dataclass(frozen=True)
class CorpusView:
    """The files a run would read, as stat saw them just before it."""

    key: str  # everything the output depends on, hashed (see `look`)
    settled: bool  # every file stat'ed, none changed within RACY_SECONDS of the stat
    sources: tuple[SourceFile, ...]
    statuses: npt.NDArray[np.uint64]  # (device, inode, size, mtime_ns, ctime_ns) per source


@dataclass(frozen=True)
class StoredOutput:
    output: bytes  # what the run wrote to stdout
    chatter: tuple[str, ...]  # the lines it wrote to stderr after its progress (the summary last)


def look(
    paths: Sequence[str],
    settings: Settings,
    signature_cache: cache.SignatureCache,
    output_options: Sequence[object],
) -> tuple[CorpusView, walks.Discovered] | None:
    """Walk and stat the inputs (the walk from the cache when its directories are unchanged);
    the view, and what the walk found with each file's stat, for the run if it must run.

    None for inputs a stat cannot vouch for (URLs). The key covers the settings, the inputs
    as given, the working directory, the code, the output options, and each file's path and
    stat; a walk problem (a directory that cannot be listed) is part of it too.
    """
    if not signature_cache.enabled or any(remote.is_url(path) for path in paths):
        return None
    sources, problems = walks.discover(paths, settings, signature_cache)
    started_ns = time.time_ns()
    stats = ingest.stat_all([source.fs_path for source in sources])
    statuses, latest_ns = _stat_array(stats)
    settled = latest_ns is not None and latest_ns <= started_ns - int(cache.RACY_SECONDS * 1e9)
    digest = xxhash.xxh3_128()
    digest.update(
        json.dumps(
            [
                __version__,
                cache.FORMAT_VERSION,
                settings.as_dict(),
                settings.signature_inputs(),
                list(paths),
                os.getcwd(),
                list(output_options),
                [[item.path, item.reason] for item in problems],
            ],
            sort_keys=True,
            default=str,
        ).encode("utf-8", "surrogatepass")
    )
    digest.update(keys.code_digest(_OUTPUT_MODULES).encode())
    digest.update("\0".join(source.path for source in sources).encode("utf-8", "surrogatepass"))
    digest.update(b"\1")
    digest.update("\0".join(source.fs_path for source in sources).encode("utf-8", "surrogatepass"))
    digest.update(statuses.tobytes())
    view = CorpusView(str(digest.hexdigest()), settled, tuple(sources), statuses)
    return view, walks.Discovered(sources, problems, stats)


def stored(signature_cache: cache.SignatureCache, view: CorpusView) -> StoredOutput | None:
    """The output an earlier run kept for this view, if its files were settled."""
    if not view.settled:
        return None
    found = signature_cache.get_output(view.key)
    return None if found is None else StoredOutput(*found)


def keep(
    signature_cache: cache.SignatureCache,
    view: CorpusView,
    compressed_output: Callable[[], bytes],
    chatter: Sequence[str],
) -> bool:
    """Store a run's output (zlib-compressed: asked for once the files are stat'ed, as a
    `Compressor` may still be at work) and stderr lines for `view` if every file still stats
    as it did before the run (a file written meanwhile makes the output belong to no view);
    whether it was stored."""
    if not view.settled:
        return False
    now = _stat_array(ingest.stat_all([source.fs_path for source in view.sources]))[0]
    if not np.array_equal(now, view.statuses):
        return False
    signature_cache.put_output(view.key, compressed_output(), chatter)
    return True


class Compressor:
    """A run's output, compressed for `keep` as it is written, on a thread of its own: zlib
    lets go of the GIL, so compressing a report of 40 MB (a third of a second) overlaps with
    writing it out and with `keep`'s stat of the corpus instead of coming before them."""

    _CHUNK_BYTES = 1 << 20  # gathered before they are handed to the thread
    _PENDING = 8  # chunks handed over and not yet compressed, at most

    def __init__(self) -> None:
        self._compressor = zlib.compressobj(1)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storydiff-compress")
        self._gathered: list[bytes] = []
        self._gathered_bytes = 0
        self._pending: deque[Future[bytes]] = deque()
        self._done: list[bytes] = []

    def add(self, data: bytes) -> None:
        self._gathered.append(data)
        self._gathered_bytes += len(data)
        if self._gathered_bytes >= self._CHUNK_BYTES:
            self._hand_over()

    def _hand_over(self) -> None:
        # One thread: the chunks are compressed in the order they were handed over.
        data = b"".join(self._gathered)
        self._gathered, self._gathered_bytes = [], 0
        self._pending.append(self._thread.submit(self._compressor.compress, data))
        while len(self._pending) > self._PENDING:
            self._done.append(self._pending.popleft().result())

    def finish(self) -> bytes:
        """Everything added, as one zlib stream (call once)."""
        if self._gathered:
            self._hand_over()
        self._pending.append(self._thread.submit(self._compressor.flush))
        parts = [*self._done, *(future.result() for future in self._pending)]
        self._thread.shutdown()
        return b"".join(parts)


_STAT_FIELDS = operator.attrgetter("st_dev", "st_ino", "st_size", "st_mtime_ns", "st_ctime_ns")


def _stat_array(stats: Sequence[os.stat_result | None]) -> tuple[npt.NDArray[np.uint64], int | None]:
    """(device, inode, size, mtime_ns, ctime_ns) per stat (-1s, as unsigned, for a path stat
    could not see), and the latest timestamp among them, None if any could not be stat'ed."""
    if None not in stats:
        # The usual case, in bulk (a third of the time of the loop below at 100,000 files);
        # an inode or device number above int64's range takes the loop.
        try:
            signed = np.fromiter(
                itertools.chain.from_iterable(map(_STAT_FIELDS, stats)), dtype=np.int64, count=5 * len(stats)
            ).reshape(-1, 5)
        except OverflowError:
            pass
        else:
            return signed.view(np.uint64), max(0, int(signed[:, 3:].max())) if len(signed) else 0
    values: list[int] = []
    latest: int | None = 0
    for status in stats:
        if status is None:
            values += _UNSEEN
            latest = None
            continue
        mtime_ns, ctime_ns = status.st_mtime_ns, status.st_ctime_ns
        values += (status.st_dev, status.st_ino, status.st_size, mtime_ns & _MASK, ctime_ns & _MASK)
        if latest is not None and max(mtime_ns, ctime_ns) > latest:
            latest = max(mtime_ns, ctime_ns)
    return np.array(values, dtype=np.uint64).reshape(-1, 5), latest

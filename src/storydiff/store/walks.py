"""The files under a run's inputs, remembered between runs while none of the directories
listed changed (a walk of 100,000 files costs more than asking the store whether it is
still good)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import xxhash

from .. import ingest
from ..model import Skipped, SourceFile
from ..settings import Settings
from . import cache


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

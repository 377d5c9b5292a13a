"""Corpora behind fsspec URLs (`s3://bucket/news/`, `gcs://…`, `file:///data/news`).

Plain paths never come here: ingest keeps its own fast path for them (os.scandir, inode
checks). A URL is listed once by the driver; each file is then named by its full URL, so a
worker on another machine can open it with the same fsspec backend (installed there too).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .errors import InputError
from .file_selection import FileSelection
from .model import SourceFile


def is_url(path: str) -> bool:
    """Whether `path` names a file system by protocol (`s3://…`), rather than a local path."""
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", path) is not None


def _filesystem(url: str) -> tuple[Any, str]:
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise InputError(f"{url}: reading URLs needs fsspec: pip install 'storydiff[dask]'") from None
    try:
        return url_to_fs(url)  # type: ignore[no-any-return]
    except (ImportError, ValueError) as error:
        raise InputError(f"{url}: no fsspec backend for this URL ({error})") from None


def discover(url: str, glob: str, exclude: Sequence[str]) -> list[SourceFile]:
    """The files at or below `url`: the URL itself when it is a file, else those matching `glob`.

    As for local directories, `exclude` patterns are matched against each name and the path
    below the URL. Each file is shown and opened by its full URL.
    """
    filesystem, root = _filesystem(url)
    try:
        if not filesystem.exists(root):
            raise InputError(f"{url}: no such file or directory")
        if not filesystem.isdir(root):
            return [SourceFile(path=url, fs_path=url)]
        found = filesystem.find(root, withdirs=False)
    except OSError as error:
        raise InputError(f"{url}: cannot list ({error})") from None
    base = url.rstrip("/")
    prefix = root.rstrip("/") + "/"
    selection = FileSelection(glob, exclude)
    sources = []
    for name in found:
        if not name.startswith(prefix):
            continue
        below = name[len(prefix) :]
        if not selection.takes(below):
            continue
        full = posixpath.join(base, below)
        sources.append(SourceFile(path=full, fs_path=full))
    if not sources:
        raise InputError(f"{url}: no files matching {glob!r} (use --glob to choose other files)")
    return sources


def info(url: str) -> tuple[int | None, int]:
    """A file's size (None when the backend gives none) and modification time in nanoseconds
    (0 when it gives none): asked before reading, so that a file too large is not read."""
    filesystem, path = _filesystem(url)
    try:
        details = filesystem.info(path)
    except OSError:
        details = {}
    size = details.get("size")
    return (size if isinstance(size, int) else None), _mtime_ns(details)


def read(url: str) -> bytes:
    filesystem, path = _filesystem(url)
    with filesystem.open(path, "rb") as handle:
        data: bytes = handle.read()
    return data


def _mtime_ns(info: dict[str, Any]) -> int:
    """Backends name the modification time differently: seconds, or a datetime."""
    for key in ("mtime", "LastModified", "updated", "last_modified", "modified"):
        value = info.get(key)
        if isinstance(value, (int, float)):
            return int(value * 1_000_000_000)
        if isinstance(value, datetime):
            return int(value.timestamp() * 1_000_000_000)
        if isinstance(value, str):
            try:
                return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1_000_000_000)
            except ValueError:
                continue
    return 0

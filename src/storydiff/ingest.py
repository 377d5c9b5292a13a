"""Find the files of a corpus and read them as text, never crashing on one bad file.

Encoding policy: bytes are decoded as UTF-8 (a BOM is dropped). A file that starts with a
UTF-16 or UTF-32 BOM is decoded as such. A file that is not valid UTF-8 is decoded with the
`encoding` setting when one is given (e.g. cp1252 or latin-1), and otherwise skipped with a
reason that says so. Files holding NUL bytes are treated as binary and skipped.
"""

from __future__ import annotations

import codecs
import fnmatch
import os
import re
from collections.abc import Iterator, Sequence

import xxhash

from . import remote
from .errors import InputError
from .model import Document, Skipped, SourceFile

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def display_path(path: str) -> str:
    """A path as the user would type it: what they gave, joined with what was found under it."""
    return path if remote.is_url(path) else os.path.normpath(path)


def discover(
    paths: Sequence[str], glob: str = "*.txt", exclude: Sequence[str] = ()
) -> tuple[list[SourceFile], list[Skipped]]:
    """The files to read, sorted by path, and the paths that could not be walked.

    Directories are walked recursively; symbolic links to directories are followed, but no
    directory is entered twice (so links that form a loop end). Files named directly are
    taken whatever their name; files found in directories must match `glob` and none of the
    `exclude` patterns (matched against the name and the path below the directory).
    """
    found: dict[str, SourceFile] = {}
    seen_files: set[tuple[int, int]] = set()
    skipped: list[Skipped] = []
    for given in paths:
        if remote.is_url(given):  # fsspec: listed by its backend, no inode checks
            for source in remote.discover(given, glob, exclude):
                found.setdefault(source.path, source)
            continue
        if not os.path.lexists(given):
            raise InputError(f"{given}: no such file or directory")
        if os.path.isdir(given):
            matched = 0
            for source, identity in _walk(given, glob, exclude, skipped):
                matched += 1
                _add_once(found, seen_files, source, identity)
            if not matched:
                raise InputError(f"{given}: no files matching {glob!r} (use --glob to choose other files)")
        else:
            _add_once(found, seen_files, SourceFile(path=display_path(given), fs_path=given), None)
    return sorted(found.values(), key=lambda source: source.path), skipped


def _add_once(
    found: dict[str, SourceFile],
    seen_files: set[tuple[int, int]],
    source: SourceFile,
    identity: tuple[int, int] | None,
) -> None:
    """Keep the first of the paths that lead to one file (by device and inode)."""
    if identity is None:
        try:
            status = os.stat(source.fs_path)
            identity = (status.st_dev, status.st_ino)
        except OSError:
            identity = None
    if identity is not None:
        if identity in seen_files:
            return
        seen_files.add(identity)
    found.setdefault(source.path, source)


def _walk(
    root: str, glob: str, exclude: Sequence[str], skipped: list[Skipped]
) -> Iterator[tuple[SourceFile, tuple[int, int] | None]]:
    """Matching files below `root` with their (device, inode), or None when a stat is needed."""
    matches_glob = re.compile(fnmatch.translate(glob)).match
    excluded = [re.compile(fnmatch.translate(pattern)).match for pattern in exclude]
    visited: set[tuple[int, int]] = set()
    stack = [(root, display_path(root), "")]  # (path to open, path to show, path below root)
    while stack:
        directory, shown, relative = stack.pop()
        try:
            status = os.stat(directory)
            device, identity = status.st_dev, (status.st_dev, status.st_ino)
        except OSError as error:
            skipped.append(Skipped(shown, f"cannot open directory: {error.strerror}"))
            continue
        if identity in visited:
            continue
        visited.add(identity)
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError as error:
            skipped.append(Skipped(shown, f"cannot list directory: {error.strerror}"))
            continue
        for entry in entries:
            below = relative + entry.name
            if excluded and any(match(entry.name) or match(below) for match in excluded):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                stack.append((entry.path, os.path.join(shown, entry.name), below + "/"))
            elif matches_glob(entry.name) and _is_file(entry):
                file_identity = None if entry.is_symlink() else (device, entry.inode())
                yield SourceFile(path=os.path.join(shown, entry.name), fs_path=entry.path), file_identity


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def decode(data: bytes, encoding: str | None = None) -> str:
    """Bytes to text under the documented policy; raises ValueError with a user-facing reason."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as error:
                raise ValueError(
                    f"not valid {codec.upper()} at byte {error.start} despite its byte-order mark"
                ) from None
    if b"\x00" in data:
        raise ValueError("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        if encoding is None:
            raise ValueError(
                f"not valid UTF-8 at byte {error.start} (use --encoding cp1252 or latin-1 to read such files)"
            ) from None
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as fallback_error:
            raise ValueError(f"not valid UTF-8, nor {encoding} at byte {fallback_error.start}") from None


def content_hash(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def read_document(source: SourceFile, encoding: str | None = None) -> Document | Skipped:
    """Read and decode one file; every failure becomes a Skipped with the reason."""
    try:
        if remote.is_url(source.fs_path):
            data, mtime_ns = remote.read(source.fs_path)
        else:
            with open(source.fs_path, "rb") as handle:
                data = handle.read()
                mtime_ns = os.fstat(handle.fileno()).st_mtime_ns  # of the open file: no second lookup
    except OSError as error:
        return Skipped(source.path, f"cannot read: {error.strerror or error}")
    try:
        text = decode(data, encoding)
    except ValueError as error:
        return Skipped(source.path, str(error))
    if not text.strip():
        return Skipped(source.path, "empty file")
    return Document(
        path=source.path,
        fs_path=source.fs_path,
        text=text,
        content_hash=content_hash(data),
        size_bytes=len(data),
        mtime_ns=mtime_ns,
    )

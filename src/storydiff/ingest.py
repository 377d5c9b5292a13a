"""Find the files of a corpus and read them as text, never crashing on one bad file.

Encoding policy: bytes are decoded as UTF-8 (a BOM is dropped). A file that starts with a
UTF-16 or UTF-32 BOM is decoded as such. A file that is not valid UTF-8 is decoded with the
`encoding` setting when one is given (e.g. cp1252 or latin-1), and otherwise skipped with a
reason that says so. Files holding NUL bytes are treated as binary and skipped, unless the
`encoding` reads them as text without NULs (UTF-16 without a BOM). Files larger than
`max_bytes` are skipped unread, and so are special files (FIFOs, devices) named directly.
"""

from __future__ import annotations

import codecs
import os
import stat
from collections.abc import Iterator, Sequence

import xxhash

from . import remote
from .errors import InputError
from .file_selection import FileSelection
from .model import Document, Skipped, SourceFile
from .settings import DEFAULT_MAX_BYTES

# UTF-32 before UTF-16: the UTF-32-LE mark starts with the UTF-16-LE one. A UTF-8 BOM is
# handled with plain UTF-8, so that such files get the same NUL and validity checks.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def display_path(path: str) -> str:
    """A path as the user would type it: what they gave, joined with what was found under it."""
    return path if remote.is_url(path) else os.path.normpath(path)


def discover(
    paths: Sequence[str],
    glob: str = "*.txt",
    exclude: Sequence[str] = (),
    directories: list[tuple[str, os.stat_result | None]] | None = None,
) -> tuple[list[SourceFile], list[Skipped]]:
    """The files to read, sorted by path, and the paths that could not be walked.

    Directories are walked recursively; symbolic links to directories are followed, but no
    directory is entered twice (so links that form a loop end). Files named directly are
    taken whatever their name, unless they are not regular files (a FIFO would block, a
    device might never end); files found in directories must match `glob` and none of the
    `exclude` patterns (see file_selection).

    The result does not depend on the order in which the file system lists a directory:
    subdirectories are entered in name order, and a file reached by several paths (links,
    or a directory named twice) is kept under the smallest of them.

    When `directories` is given, each directory listed and each file named directly is
    appended to it with its stat, for a cache to know when walking again would find the same
    files (while none of them changed); and (path, None) when the result also depends on
    something those stats do not show: a symbolic link, a file reached by several paths, a
    URL.
    """
    found: dict[str, SourceFile] = {}
    added = 0
    kept_path: dict[tuple[int, int], str] = {}
    skipped: list[Skipped] = []
    for given in paths:
        if remote.is_url(given):  # fsspec: listed by its backend, no inode checks
            if directories is not None:
                directories.append((given, None))
            for source in remote.discover(given, glob, exclude):
                found.setdefault(source.path, source)
            continue
        if not os.path.lexists(given):
            raise InputError(f"{given}: no such file or directory")
        if os.path.isdir(given):
            matched = 0
            before = len(skipped)
            for source, identity in _walk(given, glob, exclude, skipped, directories):
                matched += 1
                added += 1
                _add_once(found, kept_path, source, identity)
            if not matched and display_path(given) in {item.path for item in skipped[before:]}:
                continue  # it could not be listed: skipped, and the run goes on (README, "Input files")
            if not matched:
                raise InputError(f"{given}: no files matching {glob!r} (use --glob to choose other files)")
            continue
        source = SourceFile(path=display_path(given), fs_path=given)
        try:
            status = os.stat(given)
        except OSError:
            added += 1
            if directories is not None:
                directories.append((given, None))
            _add_once(found, kept_path, source, None)  # reading it will say why it cannot be read
            continue
        if directories is not None:
            directories.append((given, None if os.path.islink(given) else status))
        if stat.S_ISREG(status.st_mode):
            added += 1
            _add_once(found, kept_path, source, (status.st_dev, status.st_ino))
        else:
            skipped.append(Skipped(source.path, "not a regular file"))
    if directories is not None and added != len(found):  # some file was reached by several paths
        directories.append(("", None))
    return sorted(found.values(), key=lambda source: source.path), skipped


def _add_once(
    found: dict[str, SourceFile],
    kept_path: dict[tuple[int, int], str],
    source: SourceFile,
    identity: tuple[int, int] | None,
) -> None:
    """Keep one path per file (by device and inode): the smallest, whatever the walk order."""
    if source.path in found:
        return
    if identity is None:
        try:
            status = os.stat(source.fs_path)
            identity = (status.st_dev, status.st_ino)
        except OSError:
            identity = None
    if identity is not None:
        kept = kept_path.get(identity)
        if kept is not None:
            if kept <= source.path:
                return
            del found[kept]
        kept_path[identity] = source.path
    found[source.path] = source


def _walk(
    root: str,
    glob: str,
    exclude: Sequence[str],
    skipped: list[Skipped],
    directories: list[tuple[str, os.stat_result | None]] | None = None,
) -> Iterator[tuple[SourceFile, tuple[int, int] | None]]:
    """Matching files below `root` with their (device, inode), or None when a stat is needed."""
    selection = FileSelection(glob, exclude)
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
        if directories is not None:
            directories.append((directory, status))
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError as error:
            skipped.append(Skipped(shown, f"cannot list directory: {error.strerror}"))
            continue
        subdirectories = []
        # os.path.join(shown, name), without its checks in a loop that runs once per file.
        prefix = shown if not shown or shown.endswith(os.sep) else shown + os.sep
        for entry in entries:
            below = relative + entry.name
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if selection.excludes(entry.name, below, is_dir):
                continue
            if directories is not None and entry.is_symlink():
                directories.append((entry.path, None))
            if is_dir:
                subdirectories.append((entry.name, entry.path, prefix + entry.name, below + "/"))
            elif selection.name_matches(entry.name) and _is_file(entry):
                file_identity = None if entry.is_symlink() else (device, entry.inode())
                yield SourceFile(path=prefix + entry.name, fs_path=entry.path), file_identity
        # Popped in name order: which of two paths to one directory is walked must not
        # depend on the order of the listing.
        subdirectories.sort(reverse=True)
        stack.extend(item[1:] for item in subdirectories)


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
        return _decode_with_nuls(data, encoding)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        if encoding is None:
            raise ValueError(
                f"not valid UTF-8 at byte {error.start} (use --encoding cp1252 or latin-1 to read such files)"
            ) from None
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as fallback_error:
            raise ValueError(f"not valid UTF-8, nor {encoding} at byte {fallback_error.start}") from None
    return text[1:] if text.startswith("\ufeff") else text


def _decode_with_nuls(data: bytes, encoding: str | None) -> str:
    """NUL bytes mean binary, unless `encoding` reads the bytes as text without NULs."""
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            pass
        else:
            if "\x00" not in text:
                return text
    half = len(data) // 2
    if half and data[1::2].count(0) > half // 2 and not data[0::2].count(0):
        hint = "; UTF-16 without a byte-order mark? use --encoding utf-16-le"
    elif half and data[0::2].count(0) > half // 2 and not data[1::2].count(0):
        hint = "; UTF-16 without a byte-order mark? use --encoding utf-16-be"
    else:
        hint = ""
    raise ValueError(f"binary file (contains NUL bytes{hint})")


def content_hash(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def read_document(
    source: SourceFile, encoding: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> Document | Skipped:
    """Read and decode one file; every failure becomes a Skipped with the reason.

    A file over `max_bytes` is not read at all, so one huge file cannot exhaust memory.
    """
    try:
        if remote.is_url(source.fs_path):
            size, mtime_ns = remote.info(source.fs_path)
            if size is not None and size > max_bytes:
                return Skipped(source.path, too_large(size, max_bytes))
            data = remote.read(source.fs_path)
        else:
            # os.open and os.read: a buffered file object costs more than the read itself
            # for a typical article.
            descriptor = os.open(source.fs_path, _READ_FLAGS)
            try:
                status = os.fstat(descriptor)  # of the open file: no second lookup
                if not stat.S_ISREG(status.st_mode):
                    return Skipped(source.path, "not a regular file")
                if status.st_size > max_bytes:
                    return Skipped(source.path, too_large(status.st_size, max_bytes))
                mtime_ns = status.st_mtime_ns
                data = _read_all(descriptor, status.st_size, max_bytes)
            finally:
                os.close(descriptor)
    except OSError as error:
        return Skipped(source.path, f"cannot read: {error.strerror or error}")
    if len(data) > max_bytes:  # it grew after the size was taken
        return Skipped(source.path, too_large(len(data), max_bytes))
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


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _read_all(descriptor: int, size: int, max_bytes: int) -> bytes:
    """Everything up to end of file, or a little over `max_bytes` so that the caller sees it
    is too large. `size` (from fstat) is a hint: the file may be growing or shrinking."""
    data = os.read(descriptor, size + 1)
    if len(data) == size:
        return data  # what fstat promised, and less than was asked for: end of file
    parts = [data]
    total = len(data)
    while data and total <= max_bytes:
        data = os.read(descriptor, max(65536, size + 1 - total))
        parts.append(data)
        total += len(data)
    return b"".join(parts)


def too_large(size: int, max_bytes: int) -> str:
    return f"too large: {size:,} bytes, over --max-bytes {max_bytes:,} (raise it to read this file)"


def stat_all(paths: Sequence[str]) -> list[os.stat_result | None]:
    """os.stat of every path, None for those that fail; `map` first, as a whole corpus is
    stat'ed on every warm run and a Python call per file is a good part of its cost."""
    try:
        return list(map(os.stat, paths))
    except OSError:
        statuses: list[os.stat_result | None] = []
        for path in paths:
            try:
                statuses.append(os.stat(path))
            except OSError:
                statuses.append(None)
        return statuses

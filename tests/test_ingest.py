from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

from storydiff import ingest
from storydiff.errors import InputError
from storydiff.model import Document, Skipped, SourceFile


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def test_walks_recursively_sorted_and_filtered(tmp_path: Path) -> None:
    write(tmp_path / "b.txt", "b")
    write(tmp_path / "a" / "c.txt", "c")
    write(tmp_path / "a" / "notes.md", "md")
    write(tmp_path / "drafts" / "d.txt", "d")
    sources, skipped = ingest.discover([str(tmp_path)], exclude=["drafts"])
    assert [Path(s.path).relative_to(tmp_path).as_posix() for s in sources] == ["a/c.txt", "b.txt"]
    assert skipped == []


def test_paths_are_as_the_user_typed_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "corpus" / "x.txt", "x")
    monkeypatch.chdir(tmp_path)
    sources, _ = ingest.discover(["./corpus/"])
    assert [s.path for s in sources] == [os.path.join("corpus", "x.txt")]


def test_symlink_loop_is_not_followed_twice(tmp_path: Path) -> None:
    write(tmp_path / "root" / "a.txt", "a")
    os.symlink(tmp_path / "root", tmp_path / "root" / "loop")
    sources, _ = ingest.discover([str(tmp_path / "root")])
    assert len(sources) == 1


def test_same_file_twice_is_read_once(tmp_path: Path) -> None:
    file = write(tmp_path / "a.txt", "a")
    sources, _ = ingest.discover([str(file), str(tmp_path), str(file)])
    assert len(sources) == 1


def test_missing_and_empty_directories_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or directory"):
        ingest.discover([str(tmp_path / "missing")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no files matching"):
        ingest.discover([str(tmp_path / "empty")])


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (codecs.BOM_UTF8 + "Café".encode(), "Café"),
        (codecs.BOM_UTF16_LE + "Café".encode("utf-16-le"), "Café"),
        (codecs.BOM_UTF16_BE + "Café".encode("utf-16-be"), "Café"),
        ("plain “quotes”".encode(), "plain “quotes”"),
    ],
)
def test_decodes_utf8_and_bom_marked_text(data: bytes, text: str) -> None:
    assert ingest.decode(data) == text


def test_invalid_utf8_names_the_byte_and_the_remedy() -> None:
    with pytest.raises(ValueError, match=r"not valid UTF-8 at byte 3 \(use --encoding"):
        ingest.decode(b"Caf" + b"\xe9 au lait")
    assert ingest.decode(b"Caf\xe9", encoding="cp1252") == "Café"


def test_nul_bytes_mean_binary() -> None:
    with pytest.raises(ValueError, match="binary"):
        ingest.decode(b"\x89PNG\r\n\x1a\n\x00\x00")


def test_read_document_reports_problems_as_skipped(tmp_path: Path) -> None:
    good = write(tmp_path / "good.txt", "Mali news")
    bad = write(tmp_path / "bad.txt", b"\xc3\x28 Mali")
    empty = write(tmp_path / "empty.txt", "  \n ")
    document = ingest.read_document(SourceFile(str(good), str(good)))
    assert isinstance(document, Document) and document.text == "Mali news" and document.size_bytes == 9
    assert ingest.read_document(SourceFile(str(bad), str(bad))) == Skipped(
        str(bad), "not valid UTF-8 at byte 0 (use --encoding cp1252 or latin-1 to read such files)"
    )
    assert ingest.read_document(SourceFile(str(empty), str(empty))) == Skipped(str(empty), "empty file")
    gone = ingest.read_document(SourceFile("gone.txt", str(tmp_path / "gone.txt")))
    assert isinstance(gone, Skipped) and gone.reason.startswith("cannot read")


def test_utf8_bom_is_dropped_and_nul_bytes_after_it_still_mean_binary() -> None:
    assert ingest.decode(codecs.BOM_UTF8 + b"Mali") == "Mali"
    with pytest.raises(ValueError, match="binary"):
        ingest.decode(codecs.BOM_UTF8 + b"Mali\x00\x00")


def test_a_broken_utf16_file_names_the_byte() -> None:
    with pytest.raises(ValueError, match="not valid UTF-16 at byte 4 despite its byte-order mark"):
        ingest.decode(codecs.BOM_UTF16_LE + b"M\x00\x00\xdc")  # a lone low surrogate


def test_utf16_without_a_bom_is_binary_with_a_hint_unless_the_encoding_is_given() -> None:
    data = "Nigeria sends troops to Mali".encode("utf-16-le")
    with pytest.raises(ValueError, match=r"UTF-16 without a byte-order mark\? use --encoding utf-16-le"):
        ingest.decode(data)
    assert ingest.decode(data, encoding="utf-16-le") == "Nigeria sends troops to Mali"
    # An encoding that reads the NULs as NUL characters does not make a binary file text.
    with pytest.raises(ValueError, match=r"^binary file \(contains NUL bytes\)$"):
        ingest.decode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", encoding="latin-1")


def test_files_over_max_bytes_are_skipped_without_being_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.txt"
    with open(huge, "wb") as handle:
        handle.truncate(8 << 30)  # sparse: 8 GiB long, no disk used; reading it would take minutes
    assert ingest.read_document(SourceFile("huge.txt", str(huge)), max_bytes=16 << 20) == Skipped(
        "huge.txt", "too large: 8,589,934,592 bytes, over --max-bytes 16,777,216 (raise it to read this file)"
    )
    small = write(tmp_path / "small.txt", "Mali news")
    assert isinstance(ingest.read_document(SourceFile("small.txt", str(small)), max_bytes=9), Document)
    assert isinstance(ingest.read_document(SourceFile("small.txt", str(small)), max_bytes=8), Skipped)


def test_special_files_named_directly_are_skipped_and_ignored_in_directories(tmp_path: Path) -> None:
    write(tmp_path / "corpus" / "a.txt", "a")
    fifo = tmp_path / "corpus" / "pipe.txt"
    os.mkfifo(fifo)  # opening it would block until someone writes
    sources, skipped = ingest.discover([str(tmp_path / "corpus"), str(fifo), os.devnull])
    assert [Path(source.path).name for source in sources] == ["a.txt"]
    assert skipped == [Skipped(str(fifo), "not a regular file"), Skipped(os.devnull, "not a regular file")]
    assert ingest.read_document(SourceFile("null", os.devnull)) == Skipped("null", "not a regular file")


class _ReversedListing:
    """os.scandir with the entries in reverse order: file systems promise no order."""

    def __init__(self, scandir: object, path: str) -> None:
        with scandir(path) as listing:  # type: ignore[operator]
            self.entries = list(listing)[::-1]

    def __enter__(self) -> _ReversedListing:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.entries)


def reverse_listings(monkeypatch: pytest.MonkeyPatch) -> None:
    scandir = os.scandir
    monkeypatch.setattr(os, "scandir", lambda path: _ReversedListing(scandir, path))


def test_discovery_does_not_depend_on_listing_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "corpus"
    write(root / "real" / "a.txt", "a")
    write(root / "real" / "deeper" / "b.txt", "b")
    os.symlink(root / "real", root / "alias")  # one directory, two paths
    os.symlink(root / "alias", root / "zz-alias")
    os.link(root / "real" / "a.txt", root / "hardlink.txt")  # one file, two names
    os.symlink(root / "real" / "a.txt", root / "symlink.txt")
    before = ingest.discover([str(root)])
    reverse_listings(monkeypatch)
    assert ingest.discover([str(root)]) == before
    shown = [Path(source.path).relative_to(root).as_posix() for source in before[0]]
    assert shown == ["alias/a.txt", "alias/deeper/b.txt"]  # the smallest path of each file


def nest(root: Path, name: str, depth: int, file_name: str) -> None:
    """`depth` directories called `name` one inside the other, and a file at the bottom.

    Built through directory descriptors: the full path may be too long to name.
    """
    descriptor = os.open(root, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=descriptor)
            inner = os.open(name, os.O_RDONLY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = inner
        file = os.open(file_name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=descriptor)
        os.write(file, b"at the bottom")
        os.close(file)
    finally:
        os.close(descriptor)


def unnest(root: Path, name: str) -> None:
    """Remove what `nest` made, a level at a time from the top (shutil.rmtree, and so pytest's
    clean-up of old temporary directories, recurses and fails on such trees)."""
    top, spare = root / name, root / "spare"
    while True:
        inner = top / name
        if not inner.is_dir():
            break
        inner.rename(spare)
        top.rmdir()
        spare.rename(top)
    for child in top.iterdir():
        child.unlink()
    top.rmdir()


def test_a_tree_deeper_than_the_recursion_limit(tmp_path: Path) -> None:
    import sys

    nest(tmp_path, "d", sys.getrecursionlimit() + 200, "bottom.txt")
    try:
        sources, skipped = ingest.discover([str(tmp_path)])
    finally:
        unnest(tmp_path, "d")
    assert [Path(source.path).name for source in sources] == ["bottom.txt"] and skipped == []


def test_directories_beyond_the_path_length_limit_are_reported(tmp_path: Path) -> None:
    """Deeper than PATH_MAX: such paths cannot be opened by name, so they are skipped, not lost."""
    write(tmp_path / "top.txt", "top")
    nest(tmp_path, "n" * 200, 30, "bottom.txt")  # 6,000 characters, more than Linux's 4,096
    try:
        sources, skipped = ingest.discover([str(tmp_path)])
    finally:
        unnest(tmp_path, "n" * 200)
    assert [Path(source.path).name for source in sources] == ["top.txt"]
    assert len(skipped) == 1 and skipped[0].reason == "cannot open directory: File name too long"


def test_unreadable_files_and_directories_are_skipped(tmp_path: Path) -> None:
    secret = write(tmp_path / "secret.txt", "secret")
    locked = tmp_path / "locked"
    write(locked / "inside.txt", "inside")
    secret.chmod(0)
    locked.chmod(0)
    try:
        if os.access(secret, os.R_OK):
            pytest.skip("this user reads files whatever their mode (root); see the simulated test below")
        sources, skipped = ingest.discover([str(tmp_path)])
        assert skipped == [Skipped(str(locked), "cannot list directory: Permission denied")]
        assert ingest.read_document(sources[0]) == Skipped(str(secret), "cannot read: Permission denied")
    finally:
        locked.chmod(0o755)


def test_permission_errors_are_skipped_even_as_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same as above with the errors the kernel gives an ordinary user, simulated."""
    import errno

    secret = write(tmp_path / "secret.txt", "secret")
    write(tmp_path / "locked" / "inside.txt", "inside")
    scandir, os_open = os.scandir, os.open

    def denied(path: str, *args: object) -> object:
        if str(path).endswith("locked") or str(path).endswith("secret.txt"):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        return scandir(path) if not args else os_open(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", denied)
    monkeypatch.setattr(os, "open", denied)
    sources, skipped = ingest.discover([str(tmp_path)])
    assert skipped == [Skipped(str(tmp_path / "locked"), "cannot list directory: Permission denied")]
    assert ingest.read_document(sources[0]) == Skipped(str(secret), "cannot read: Permission denied")


@pytest.mark.parametrize("size_hint", [0, 10, 99, 100, 101, 5000])
def test_reading_takes_the_whole_file_whatever_size_fstat_gave(tmp_path: Path, size_hint: int) -> None:
    """The size from fstat is only a hint: a file that grew or shrank since is read to its end."""
    path = tmp_path / "growing.txt"
    content = bytes(range(100))
    path.write_bytes(content)
    descriptor = os.open(path, os.O_RDONLY)
    try:
        assert ingest._read_all(descriptor, size_hint, max_bytes=1000) == content
    finally:
        os.close(descriptor)
    descriptor = os.open(path, os.O_RDONLY)
    try:
        assert len(ingest._read_all(descriptor, min(size_hint, 10), max_bytes=50)) > 50  # seen as too large
    finally:
        os.close(descriptor)

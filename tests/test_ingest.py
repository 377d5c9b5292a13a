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

"""Every row of the table in docs/bad-input.md, through the command line, with what it promises."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from click.testing import CliRunner

from storydiff.cli import cli
from storydiff.pipeline import signing
from storydiff.render import UNSAFE

ARTICLE = (
    "Col. Mohammed Yerima, a spokesman for the Nigerian army, told CNN that 190 of its soldiers would "
    "arrive in Mali within 24 hours. France said it has committed about 1,700 troops to the effort, "
    "including about 800 on the ground in Mali. The United Nations said preparations are under way for a "
    "multidisciplinary team to go to Bamako. A Canadian military transport plane departed for Mali on "
    "Tuesday, where it will transport equipment and personnel."
)
HOSTILE = (
    "[bold red]alarm[/] :warning: \x1b[2J\x1b[31mred \x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\ "
    "\x9b31m back\x08\x08 bell\x07 \u202eevil\u202c zero\u200bwidth"
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*args, "--jobs", "1"], env={"COLUMNS": "5000"})  # no wrapping
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout_bytes.decode("utf-8"), result.stderr_bytes.decode("utf-8")


def ops(diff: list[dict]) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    """A JSON diff (schema 2: one object per segment) as (op, text) pairs."""
    return [(segment["op"], segment["text"]) for segment in diff]


def cluster_json(*args: str) -> tuple[dict, str]:  # type: ignore[type-arg]
    code, out, err = run("cluster", *args, "--format", "json")
    assert code == 0, err
    return json.loads(out), err


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_control_sequences_and_markup_in_files_and_names_are_inert_text(tmp_path: Path) -> None:
    write(tmp_path / "plain.txt", ARTICLE)
    hostile_name = "\x1b[2J[blink]name\u202e\n.txt"
    write(tmp_path / hostile_name, ARTICLE.replace("Tuesday,", f"Tuesday, {HOSTILE}"))
    write(tmp_path / "bad\x1b]8;;x\x07.txt", b"caf\xe9 not text")  # skipped: its name is on stderr
    code, out, err = run("cluster", str(tmp_path))
    assert code == 0
    assert not UNSAFE.search(out.replace("\n", "")) and not UNSAFE.search(err.replace("\n", ""))
    flat = " ".join(out.split())
    assert "[bold red]alarm[/] :warning: <U+001B>[2J<U+001B>[31mred <U+001B>]8;;https://evil.example" in flat
    assert "<U+009B>31m back<U+0008><U+0008> bell<U+0007> <U+202E>evil<U+202C> zero<U+200B>width" in flat
    assert "<U+001B>[2J[blink]name<U+202E><U+000A>.txt" in flat
    assert "storydiff: skipped " + str(tmp_path / "bad<U+001B>]8;;x<U+0007>.txt") + ": not valid UTF-8" in err

    data, err = cluster_json(str(tmp_path))
    representative, member = data["clusters"][0]["members"]
    assert representative["path"] == str(tmp_path / hostile_name)  # the longer text
    assert any(op == "delete" and text.strip() == HOSTILE for op, text in ops(member["diff"]))
    code, out, _ = run("cluster", str(tmp_path), "--format", "json")
    assert not UNSAFE.search(out) and "\\u001b[2J" in out and "\\u202e" in out


def test_file_names_that_are_not_utf8(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/caf\xe9.txt"
    write(Path(os.fsdecode(raw)), ARTICLE)
    write(tmp_path / "plain.txt", ARTICLE)
    write(
        Path(os.fsdecode(os.fsencode(tmp_path) + b"/\xff\xfe.txt")), "A different story about coffee prices."
    )
    data, _ = cluster_json(str(tmp_path))
    representative, member = data["clusters"][0]["members"]
    assert representative["path"] == str(tmp_path / "caf\ufffd.txt")
    assert base64.b64decode(representative["path_bytes"]) == raw
    assert "path_bytes" not in member
    assert [base64.b64decode(value) for value in data["singletons_path_bytes"]] == [
        os.fsencode(tmp_path) + b"/\xff\xfe.txt"
    ]
    code, out, _ = run("cluster", str(tmp_path))
    assert code == 0 and "caf<0xE9>.txt" in out and "<0xFF><0xFE>.txt" in out


OTHER = (
    "Tuareg rebels, who had sought independence for decades, took advantage of the power vacuum and "
    "seized swaths of land. A power struggle then erupted in the north between the Tuaregs and local "
    "radicals, who wound up in control of a large area as the Tuaregs retreated. The United Nations says "
    "amputations, floggings and public executions have become common in areas controlled by radicals."
)


def test_files_that_vanish_or_change_during_the_run(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from storydiff import ingest, pipeline

    write(tmp_path / "x1.txt", ARTICLE + " Two British aircraft will help with the deployment.")
    write(tmp_path / "x2.txt", ARTICLE)
    write(tmp_path / "x3.txt", ARTICLE.replace("190", "900"))
    write(tmp_path / "y1.txt", OTHER)
    write(tmp_path / "y2.txt", OTHER)
    write(tmp_path / "z.txt", "Gone before it was read.")
    discover, sign_batch = ingest.discover, pipeline.sign_batch

    def discover_then_delete(*args: object, **kwargs: object) -> object:
        found = discover(*args, **kwargs)  # type: ignore[arg-type]
        (tmp_path / "z.txt").unlink()
        return found

    def sign_then_change(*args: object, **kwargs: object) -> object:
        signed = sign_batch(*args, **kwargs)  # type: ignore[arg-type]
        (tmp_path / "x1.txt").unlink()  # the representative of x1, x2, x3
        write(tmp_path / "y2.txt", OTHER.replace("decades", "years"))
        return signed

    monkeypatch.setattr(ingest, "discover", discover_then_delete)
    monkeypatch.setattr(signing, "sign_batch", sign_then_change)
    data, err = cluster_json(str(tmp_path))
    assert data["skipped"] == [
        {"path": str(tmp_path / "x1.txt"), "reason": "cannot read: No such file or directory"},
        {"path": str(tmp_path / "y2.txt"), "reason": "changed while storydiff was reading it (run again)"},
        {"path": str(tmp_path / "z.txt"), "reason": "cannot read: No such file or directory"},
    ]
    # x2 and x3 are still near-duplicates of each other: clustered again without x1.
    assert [[member["path"] for member in item["members"]] for item in data["clusters"]] == [
        [str(tmp_path / "x2.txt"), str(tmp_path / "x3.txt")]
    ]
    assert data["singletons"] == [str(tmp_path / "y1.txt")] and data["documents"] == 3
    assert "3 documents: 1 cluster holding 2 documents, 1 without a copy, 3 skipped" in err


def reasons(data: dict, root: Path) -> dict[str, str]:  # type: ignore[type-arg]
    return {str(Path(item["path"]).relative_to(root)): item["reason"] for item in data["skipped"]}


def test_binary_invalid_and_legacy_encodings(tmp_path: Path) -> None:
    write(tmp_path / "article.txt", ARTICLE)
    write(tmp_path / "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    write(tmp_path / "broken.txt", ARTICLE.encode() + b" \xc3\x28")
    write(tmp_path / "latin1.txt", ARTICLE.replace("Mali", "Malí").encode("latin-1"))
    write(tmp_path / "cp1252.txt", ARTICLE.replace("Bamako.", "Bamako \u2014 the capital.").encode("cp1252"))
    write(tmp_path / "utf16.txt", b"\xff\xfe" + ARTICLE.encode("utf-16-le"))
    write(tmp_path / "utf32.txt", ARTICLE.encode("utf-32"))  # with its BOM
    write(tmp_path / "utf8-bom.txt", "\ufeff" + ARTICLE)
    write(tmp_path / "utf16-no-bom.txt", ARTICLE.encode("utf-16-le"))
    data, err = cluster_json(str(tmp_path))
    remedy = "(use --encoding cp1252 or latin-1 to read such files)"
    assert reasons(data, tmp_path) == {
        "broken.txt": f"not valid UTF-8 at byte {len(ARTICLE) + 1} {remedy}",
        "cp1252.txt": f"not valid UTF-8 at byte {ARTICLE.index('Bamako') + 7} {remedy}",
        "image.txt": "binary file (contains NUL bytes)",
        "latin1.txt": f"not valid UTF-8 at byte {ARTICLE.index('Mali') + 3} {remedy}",
        "utf16-no-bom.txt": "binary file (contains NUL bytes; UTF-16 without a byte-order mark? "
        "use --encoding utf-16-le)",
    }
    assert f"storydiff: skipped {tmp_path / 'image.txt'}: binary file" in err
    (members,) = [[Path(m["path"]).name for m in item["members"]] for item in data["clusters"]]
    assert sorted(members) == ["article.txt", "utf16.txt", "utf32.txt", "utf8-bom.txt"]

    data, _ = cluster_json(str(tmp_path), "--encoding", "cp1252")
    assert set(reasons(data, tmp_path)) == {"image.txt", "utf16-no-bom.txt"}  # still binary
    text = {Path(m["path"]).name: m for m in data["clusters"][0]["members"]}
    assert ("insert", "Malí") in ops(text["latin1.txt"]["diff"])
    assert data["clusters"][0]["representative"] == str(tmp_path / "cp1252.txt")  # the longest
    assert any(
        op == "delete" and part.strip() == "\u2014 the capital"
        for op, part in ops(text["article.txt"]["diff"])
    )
    broken = ops(text["broken.txt"]["diff"])
    assert any(op == "insert" and part.strip() == "\u00c3(" for op, part in broken)  # read, if wrongly
    data, _ = cluster_json(str(tmp_path), "--encoding", "utf-16-le")
    assert "utf16-no-bom.txt" not in reasons(data, tmp_path)


def test_line_endings_do_not_matter(tmp_path: Path) -> None:
    lines = [
        "Nigeria sends troops to Mali.",
        "Read more: elsewhere",
        "France said it has committed about 1,700 troops to the effort.",
        "The United Nations said preparations are under way.",
    ]
    write(tmp_path / "unix.txt", "\n".join(lines) + "\n")
    write(tmp_path / "windows.txt", "\r\n".join(lines) + "\r\n")
    write(tmp_path / "old-mac.txt", "\r".join(lines) + "\r")
    write(tmp_path / "mixed.txt", f"{lines[0]}\r\n{lines[1]}\r{lines[2]}\n\n{lines[3]}\r\n")
    data, _ = cluster_json(str(tmp_path))
    (cluster,) = data["clusters"]
    assert sorted(Path(m["path"]).name for m in cluster["members"]) == [
        "mixed.txt",
        "old-mac.txt",
        "unix.txt",
        "windows.txt",
    ]
    assert {m["jaccard"] for m in cluster["members"]} == {1.0}
    assert {op for m in cluster["members"] for op, _ in ops(m["diff"])} == {"equal"}  # no edits
    assert data["boilerplate"] == {"read-more": 4}  # the rule sees lines whatever ends them
    _, out, _ = run("cluster", str(tmp_path))
    assert out.count("(same text after normalisation)") == 3 and "\r" not in out


def test_empty_wordless_and_one_word_files(tmp_path: Path) -> None:
    write(tmp_path / "article.txt", ARTICLE + " Mali")
    write(tmp_path / "empty.txt", "")
    write(tmp_path / "blank.txt", " \n\t\r\n\u3000\n")
    write(tmp_path / "dots.txt", "... --- !!!")
    write(tmp_path / "furniture.txt", "Read more: elsewhere\n")
    write(tmp_path / "mali.txt", "Mali\n")
    write(tmp_path / "MALI.txt", "MALI")
    write(tmp_path / "bamako.txt", "Bamako")
    data, _ = cluster_json(str(tmp_path))
    assert reasons(data, tmp_path) == {"blank.txt": "empty file", "empty.txt": "empty file"}
    # One-word files compare (two identical ones are duplicates), but never match an article
    # that contains the word: containment counts only for texts of 50 shingles or more.
    assert [[Path(m["path"]).name for m in item["members"]] for item in data["clusters"]] == [
        ["MALI.txt", "mali.txt"]
    ]
    assert ("delete", "MALI") in ops(data["clusters"][0]["members"][1]["diff"])  # the diff keeps case
    assert sorted(Path(path).name for path in data["singletons"]) == [
        "article.txt",
        "bamako.txt",
        "dots.txt",  # no words, no shingles: never a duplicate
        "furniture.txt",  # nothing left after stripping
    ]


def test_files_over_max_bytes_are_skipped_unread(tmp_path: Path) -> None:
    write(tmp_path / "article.txt", ARTICLE)
    with open(tmp_path / "huge.txt", "wb") as handle:
        handle.truncate(64 << 30)  # sparse: reading 64 GiB would take minutes and all memory
    data, _ = cluster_json(str(tmp_path))
    assert reasons(data, tmp_path) == {
        "huge.txt": "too large: 68,719,476,736 bytes, over --max-bytes 16,777,216 "
        "(raise it to read this file)"
    }
    data, _ = cluster_json(str(tmp_path), "--max-bytes", "100")
    assert set(reasons(data, tmp_path)) == {"article.txt", "huge.txt"}
    assert run("cluster", str(tmp_path), "--max-bytes", "lots")[0] == 2


def test_unreadable_files_are_skipped_and_the_run_goes_on(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import errno

    from storydiff import ingest

    write(tmp_path / "a.txt", ARTICLE)
    write(tmp_path / "b.txt", ARTICLE)
    secret = write(tmp_path / "secret.txt", ARTICLE)
    secret.chmod(0)
    if os.access(secret, os.R_OK):  # root reads it anyway: make os.open fail as it would
        real_open = os.open

        def denied(path: str, *args: object) -> object:
            if path == str(secret):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
            return real_open(path, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(ingest.os, "open", denied)
    data, _ = cluster_json(str(tmp_path))
    assert reasons(data, tmp_path) == {"secret.txt": "cannot read: Permission denied"}
    assert len(data["clusters"][0]["members"]) == 2


def test_links_loops_and_paths_named_twice(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "a.txt", ARTICLE)
    write(corpus / "sub" / "b.txt", ARTICLE.replace("190", "900"))
    os.symlink(corpus, corpus / "sub" / "loop")  # a directory loop
    os.symlink("self.txt", corpus / "self.txt")  # a link to itself
    os.link(corpus / "a.txt", corpus / "hardlink.txt")
    arguments = [str(corpus), str(corpus / "a.txt"), str(corpus), str(corpus / "sub"), f"{corpus}/./a.txt"]
    data, _ = cluster_json(*arguments, str(corpus / "self.txt"), os.devnull)
    assert data["documents"] == 2
    (cluster,) = data["clusters"]
    assert [m["path"] for m in cluster["members"]] == [str(corpus / "a.txt"), str(corpus / "sub" / "b.txt")]
    assert data["skipped"] == [
        {"path": os.devnull, "reason": "not a regular file"},
        {"path": str(corpus / "self.txt"), "reason": "cannot read: Too many levels of symbolic links"},
    ]


def test_every_command_meets_bad_names_and_content(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """strip, check, baseline and dedup read the same files as cluster: same safety."""
    monkeypatch.chdir(tmp_path)
    corpus = Path("corpus")
    write(Path(os.fsdecode(b"corpus/caf\xe9.txt")), ARTICLE)
    write(corpus / "\x1b[2Jevil\u202e.txt", ARTICLE.replace("Tuesday,", f"Tuesday, {HOSTILE}"))
    write(corpus / "plain.txt", ARTICLE.replace("190", "250"))
    write(corpus / "binary.txt", b"caf\xe9 \x00")
    commands = [
        ("strip", "corpus"),
        ("strip", "corpus", "--format", "json"),
        ("check", "--corpus", "corpus", "corpus/plain.txt"),
        ("check", "--corpus", "corpus", "corpus/plain.txt", "--format", "json"),
        ("dedup", "corpus", "--dry-run"),
        ("dedup", "corpus", "--manifest", "-", "--dry-run"),
        ("baseline", "--corpus", "corpus"),
        ("cluster", "corpus", "--format", "html"),
        ("cluster", "corpus", "--layout", "side-by-side"),
        ("diff", "corpus/plain.txt", "corpus/\x1b[2Jevil\u202e.txt"),
        ("diff", "corpus/plain.txt", "corpus/\x1b[2Jevil\u202e.txt", "--format", "html"),
    ]
    for command in commands:
        result = CliRunner().invoke(cli, list(command), env={"COLUMNS": "5000"})
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            command,
            result.exception,
        )
        assert result.exit_code in (0, 1), (command, result.stderr)  # check and diff: 1 on a finding
        out, err = result.stdout_bytes.decode("utf-8"), result.stderr_bytes.decode("utf-8")
        assert not UNSAFE.search(out.replace("\n", "")) and not UNSAFE.search(err.replace("\n", "")), command
        if "json" in command:
            json.loads(out)
        if "html" in command:  # escaped in the page's source; names shown as in text output
            assert "&lt;U+001B&gt;[2Jevil&lt;U+202E&gt;.txt" in out and "[bold red]" in out
    baseline = Path(".storydiff-baseline.json").read_text(encoding="utf-8")
    assert "\\u001b[2Jevil\\u202e.txt" in baseline and json.loads(baseline)["accepted"]

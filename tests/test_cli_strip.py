from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.conftest import SEED_000, SEED_001, SEED_002, SEEDS

from storydiff.cli import cli

WIDTH = {"COLUMNS": "100"}

# Reuters-21578 story 10571 (lines 1-11, blank line dropped): a corrected item whose
# correction note runs over two lines.
REUTERS_10571 = """CORRECTED - C.O.M.B <CMCO> TO HAVE OPTIONS ON AMEX

C.O.M.B Inc commenced trading put and
call options on the American Stock Exchange, according to the
Exchange.
    The company's options will trade with a ticker symbol of
<COQ> with initial expiration months of April, May, July and
October, with position and exercise limits at 5,500 contracts
on the same side of the market, according to the Exchange.
(corrects ticker symbol in headline, which is symbol of
company's options)
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=WIDTH)
    return result.exit_code, result.stdout, result.stderr


def lines(out: str) -> list[str]:
    return [line.rstrip() for line in out.splitlines()]


def test_text_view_strikes_removed_lines_and_names_the_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = Path("10571.txt")
    path.write_text(REUTERS_10571, encoding="utf-8")
    code, out, err = run("strip", str(path))
    assert code == 0
    # CliRunner's output is not a terminal: struck lines also carry wdiff's [-...-] markers.
    assert lines(out) == [
        f"{path} · 2 of 11 lines removed",  # piped: no rule padding the line out
        "                 1 CORRECTED - C.O.M.B <CMCO> TO HAVE OPTIONS ON AMEX",
        "                 2",
        "                 3 C.O.M.B Inc commenced trading put and",
        "                 4 call options on the American Stock Exchange, according to the",
        "                 5 Exchange.",
        "                 6     The company's options will trade with a ticker symbol of",
        "                 7 <COQ> with initial expiration months of April, May, July and",
        "                 8 October, with position and exercise limits at 5,500 contracts",
        "                 9 on the same side of the market, according to the Exchange.",
        "correction-note 10 [-(corrects ticker symbol in headline, which is symbol of-]",
        "correction-note 11 [-company's options)-]",
        "",
    ]
    assert err == "1 file: 2 lines removed (correction-note 2), 0 skipped\n"
    assert all(line == line.rstrip() for line in out.splitlines())  # no padding, no trailing spaces


def test_removed_only_lists_each_files_removed_lines() -> None:
    code, out, _ = run("strip", str(SEEDS / SEED_001), str(SEEDS / SEED_002), "--removed-only")
    assert code == 0
    assert lines(out) == [
        f"{SEEDS / SEED_001} · 5 of 38 lines removed",
        "  read-more  3 [-Read more: Panetta: U.S. could provide logistical, intel support in Mali-]",
        "  read-more  7 [-Read more: France vows to halt jihadist charge in Mali-]",
        "  read-more 10 [-Read more: Rebels still hold key town in Mali, French defense minister says-]",
        "  read-more 13 [-Read more: Islamist rebels gaining ground in Mali, French defense minister says-]",
        "contributor 38 [-CNN's Vlad Duthiers and Chris Lawrence contributed to this report-]",
        "",
        f"{SEEDS / SEED_002} · 2 of 11 lines removed",
        "archive-note  3 [-This article is from the archive of our partner .-]",
        "archive-note 11 [-This article is from the archive of our partner The Wire.-]",
        "",
    ]


def test_file_text_cannot_style_or_control_the_terminal(tmp_path: Path) -> None:
    (tmp_path / "nasty.txt").write_text("Story [bold]one[/bold].\nRead more: \x1b[2J[blink]x\u202e\nEnd.\n")
    code, out, _ = run("strip", str(tmp_path))
    assert code == 0
    assert "Story [bold]one[/bold]." in out
    assert "[-Read more: <U+001B>[2J[blink]x<U+202E>-]" in out
    assert "\x1b" not in out and "\u202e" not in out


def test_json_locates_every_removed_line(tmp_path: Path) -> None:
    code, out, _ = run("strip", str(SEEDS), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"schema_version", "storydiff_version", "settings", "files", "skipped", "boilerplate"}
    assert [file["path"] for file in data["files"]] == [
        str(SEEDS / name) for name in (SEED_000, SEED_001, SEED_002)
    ]
    assert data["files"][2] == {
        "path": str(SEEDS / SEED_002),
        "lines": 11,
        "removed": [
            {
                "rule": "archive-note",
                "line": 3,
                "start": 40,
                "end": 89,
                "text": "This article is from the archive of our partner .",
            },
            {
                "rule": "archive-note",
                "line": 11,
                "start": 2398,
                "end": 2455,
                "text": "This article is from the archive of our partner The Wire.",
            },
        ],
    }
    assert data["boilerplate"] == {
        "archive-note": 2,
        "contributor": 2,
        "new-teaser": 2,
        "photo-caption": 1,
        "read-more": 8,
        "story-highlights": 3,
        "video-source": 2,
    }
    assert data["settings"]["pack"] == "news" and "threshold" not in data["settings"]
    for file in data["files"]:
        text = Path(file["path"]).read_text(encoding="utf-8")
        for span in file["removed"]:
            assert text[span["start"] : span["end"]] == span["text"]
            assert text.count("\n", 0, span["start"]) == span["line"] - 1


def test_json_offsets_count_characters_of_the_decoded_text_with_crlf(tmp_path: Path) -> None:
    (tmp_path / "crlf.txt").write_bytes("Café one.\r\n\r\nRead more: elsewhere\r\nTwo.\r\n".encode())
    data = json.loads(run("strip", str(tmp_path), "--format", "json")[1])
    assert data["files"] == [
        {
            "path": str(tmp_path / "crlf.txt"),
            "lines": 4,
            "removed": [
                {"rule": "read-more", "line": 3, "start": 13, "end": 33, "text": "Read more: elsewhere"}
            ],
        }
    ]


def test_pack_none_removes_nothing() -> None:
    code, out, err = run("strip", str(SEEDS), "--pack", "none", "--format", "json")
    assert code == 0 and json.loads(out)["boilerplate"] == {}
    assert err == "3 files: 0 lines removed, 0 skipped\n"


def test_missing_path_and_help() -> None:
    code, out, err = run("strip", "no/such/dir")
    assert (code, out, err) == (2, "", "Error: no/such/dir: no such file or directory\n")
    code, out, _ = run("strip", "--help")
    assert code == 0 and "storydiff strip examples/seeds" in out

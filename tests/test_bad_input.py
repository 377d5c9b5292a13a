"""Every row of README's "Bad input" table, through the command line, with what it promises."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from click.testing import CliRunner

from storydiff.cli import cli
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
    assert ["delete", f"{HOSTILE} "] in member["diff"]
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
    monkeypatch.setattr(pipeline, "sign_batch", sign_then_change)
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
    assert "3 documents: 1 clusters holding 2 documents, 1 not duplicated, 3 skipped" in err

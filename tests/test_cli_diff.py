from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.conftest import SEED_000, SEED_001

from storydiff.cli import cli


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_different_texts_exit_1_and_show_the_edits(seeds_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(seeds_dir.parent.parent)  # short paths: the header must not wrap inside one
    first, second = os.path.join("examples", "seeds", SEED_000), os.path.join("examples", "seeds", SEED_001)
    code, out, err = run("diff", first, second)
    assert code == 1 and err == ""
    flat = " ".join(out.split())
    assert flat.startswith(f"{first} → {second} edited · Jaccard 0.71")
    assert "Changed figures: 190 → 900 soldiers · 24 hours → 10 days" in flat
    assert "{+The Nigerian army said it plans to deploy 900 soldiers" in flat
    assert "Story highlights" not in flat  # cleaned as cluster cleans


def test_the_same_text_exits_0(seeds_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.txt"
    # Other quote marks and spacing, and boilerplate that is stripped: still the same text.
    text = (seeds_dir / SEED_001).read_text(encoding="utf-8")
    copy.write_text(
        text.replace("’", "'").replace(". ", ".  ") + "\nRead more: Mali news\n", encoding="utf-8"
    )
    code, out, _ = run("diff", str(seeds_dir / SEED_001), str(copy))
    assert code == 0 and "(same text after normalisation)" in out


def test_errors_exit_2(seeds_dir: Path, tmp_path: Path) -> None:
    code, out, err = run("diff", str(seeds_dir / SEED_000), str(tmp_path / "nope.txt"))
    assert (code, out, err) == (2, "", f"Error: {tmp_path / 'nope.txt'}: no such file or directory\n")
    code, _, err = run("diff", str(seeds_dir), str(seeds_dir / SEED_000))
    assert code == 2 and "is a directory" in err
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9".encode("latin-1"))
    code, _, err = run("diff", str(tmp_path / "latin1.txt"), str(seeds_dir / SEED_000))
    assert code == 2 and "not valid UTF-8 at byte 3" in err
    assert (
        run("diff", str(tmp_path / "latin1.txt"), str(seeds_dir / SEED_000), "--encoding", "cp1252")[0] == 1
    )
    assert run("diff", str(seeds_dir / SEED_000))[0] == 2
    assert run("diff", str(seeds_dir / SEED_000), str(seeds_dir / SEED_001), "--layout", "diagonal")[0] == 2


def test_json_is_the_cluster_schema_with_one_cluster(seeds_dir: Path) -> None:
    code, out, _ = run("diff", str(seeds_dir / SEED_000), str(seeds_dir / SEED_001), "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["schema_version"] == 2 and data["documents"] == 2
    (cluster,) = data["clusters"]
    assert [member["path"] for member in cluster["members"]] == [
        str(seeds_dir / SEED_000),
        str(seeds_dir / SEED_001),
    ]
    assert cluster["members"][1]["added_words"] > 0


def test_layouts_and_html(seeds_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Paths as a user in the repository would type them, so the stat line's width does not
    # depend on where the checkout lives.
    monkeypatch.chdir(seeds_dir.parent.parent)
    paths = (os.path.join("examples", "seeds", SEED_000), os.path.join("examples", "seeds", SEED_001))
    code, out, _ = run("diff", *paths, "--layout", "stat")
    assert (
        code == 1
        and len(out.splitlines()) == 3
        and out.startswith("J: Jaccard similarity")
        and "+64 −144" in out
    )
    code, out, _ = run("diff", *paths, "--layout", "side-by-side", "--context", "2")
    assert code == 1 and "[-Col. Mohammed Yerima" in out
    code, out, _ = run("diff", *paths, "--format", "html")
    assert code == 1 and "<!doctype html>" in out and "storydiff-data" in out
    code, _, _ = run("diff", *paths, "--format", "jsonl", "--html", str(tmp_path / "diff.html"))
    assert code == 1 and (tmp_path / "diff.html").exists()


def test_help_has_examples_and_exit_codes() -> None:
    code, out, _ = run("diff", "--help")
    assert code == 0 and "storydiff diff old.txt new.txt" in out
    assert "Exit codes: 0 the texts are the same" in out

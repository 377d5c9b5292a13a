"""check's corpus snapshot: a warm check walks and signs only what changed, and reports
exactly what a check without the cache reports, whatever changed in the corpus meanwhile."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tests.conftest import SEED_000, SEED_001, SEED_002, SEEDS

from storydiff import ingest, pipeline
from storydiff.cli import cli
from storydiff.store import cache


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def seed(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def paragraphs(name: str) -> list[str]:
    return [line for line in seed(name).splitlines() if line.strip()]


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """corpus/ (seeds 000 and 002, edited copies of 002 in a subdirectory, an empty file) and
    new/ (files to check); cwd is tmp_path. Files just written count as settled."""
    monkeypatch.setattr(cache, "RACY_SECONDS", -60.0)
    corpus = tmp_path / "corpus"
    (corpus / "copies").mkdir(parents=True)
    shutil.copy(SEEDS / SEED_000, corpus / "mali.txt")
    shutil.copy(SEEDS / SEED_002, corpus / "other.txt")
    for number in range(3):
        kept = [*paragraphs(SEED_002)[number:], f"Copy {number} of the story, edited by the desk."]
        (corpus / "copies" / f"other_{number}.txt").write_text("\n".join(kept) + "\n", encoding="utf-8")
    (corpus / "empty.txt").write_text("", encoding="utf-8")
    new = tmp_path / "new"
    new.mkdir()
    shutil.copy(SEEDS / SEED_001, new / "mali_edited.txt")
    (new / "other_copy.txt").write_text(seed(SEED_002) + "\nA line the copy desk added.\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


GIVEN = ("new/mali_edited.txt", "new/other_copy.txt")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[Any]]]:
    """What each check walked (the paths given to ingest.discover) and signed (the sources
    given to pipeline.sign_all)."""
    seen: dict[str, list[Any]] = {"walked": [], "signed": []}
    real_discover, real_sign_all = ingest.discover, pipeline.sign_all

    def discover(paths: Any, *args: Any, **kwargs: Any) -> Any:
        seen["walked"].append(list(paths))
        return real_discover(paths, *args, **kwargs)

    def sign_all(sources: Any, *args: Any, **kwargs: Any) -> Any:
        seen["signed"].append(sorted(source.path for source in sources))
        return real_sign_all(sources, *args, **kwargs)

    monkeypatch.setattr(ingest, "discover", discover)
    monkeypatch.setattr(pipeline, "sign_all", sign_all)
    yield seen


def check(*extra: str, cache_file: Path | None = None) -> tuple[int, str, str]:
    chosen = ("--cache", str(cache_file)) if cache_file is not None else ("--no-cache",)
    return run("check", "--corpus", "corpus", *GIVEN, "--format", "json", *chosen, *extra)


def assert_same_as_without_cache(cache_file: Path) -> dict[str, Any]:
    """A check with the cache reports, byte for byte and with the same exit code and
    messages, what one without it reports."""
    code, out, err = check(cache_file=cache_file)
    expected_code, expected_out, expected_err = check()
    assert (code, out, err) == (expected_code, expected_out, expected_err)
    result: dict[str, Any] = json.loads(out)
    return result


def pairs(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(item["path"], item["match"]) for item in result["findings"]]


def snapshots(cache_file: Path) -> int:
    with sqlite3.connect(cache_file) as connection:
        count: int = connection.execute("SELECT count(*) FROM snapshots").fetchone()[0]
    connection.close()
    return count


def test_a_warm_check_neither_walks_nor_signs_the_unchanged_corpus(
    work: Path, calls: dict[str, list[Any]]
) -> None:
    cache_file = work / "c.sqlite"
    first = assert_same_as_without_cache(cache_file)
    assert pairs(first) == [
        ("new/mali_edited.txt", "corpus/mali.txt"),
        ("new/other_copy.txt", "corpus/copies/other_0.txt"),
        ("new/other_copy.txt", "corpus/copies/other_1.txt"),
        ("new/other_copy.txt", "corpus/copies/other_2.txt"),
        ("new/other_copy.txt", "corpus/other.txt"),
    ]
    assert first["skipped"] == [{"path": "corpus/empty.txt", "reason": "empty file"}]
    assert snapshots(cache_file) == 1
    calls["walked"].clear()
    calls["signed"].clear()
    code, out, _ = check(cache_file=cache_file)
    assert code == 1 and json.loads(out) == first
    # No walk; signed: the given files (the snapshot holds the corpus only) and the empty
    # file (skipped files are read on every run, as without a snapshot).
    assert calls["walked"] == []
    assert calls["signed"] == [["corpus/empty.txt", *GIVEN]]


def test_a_corpus_file_changed_in_place_is_signed_again_and_found(
    work: Path, calls: dict[str, list[Any]]
) -> None:
    cache_file = work / "c.sqlite"
    assert_same_as_without_cache(cache_file)
    # Rewritten in place (same inode, same directory listing): now a copy of seed 001.
    (work / "corpus" / "other.txt").write_text(seed(SEED_001) + "\nKept for the archive.\n", encoding="utf-8")
    calls["walked"].clear()
    calls["signed"].clear()
    code, out, _ = check(cache_file=cache_file)
    assert code == 1 and calls["walked"] == []
    assert calls["signed"] == [["corpus/empty.txt", "corpus/other.txt", *GIVEN]]
    changed = assert_same_as_without_cache(cache_file)
    assert json.loads(out) == changed
    assert ("new/mali_edited.txt", "corpus/other.txt") in pairs(changed)
    assert ("new/other_copy.txt", "corpus/other.txt") not in pairs(changed)
    # The snapshot was stored again: the next run signs only the given and the empty file.
    calls["signed"].clear()
    assert check(cache_file=cache_file)[1] == out
    assert calls["signed"] == [["corpus/empty.txt", *GIVEN]]


def test_added_deleted_and_renamed_corpus_files_invalidate_the_snapshot(
    work: Path, calls: dict[str, list[Any]]
) -> None:
    cache_file = work / "c.sqlite"
    assert_same_as_without_cache(cache_file)
    corpus = work / "corpus"
    (corpus / "copies" / "other_1.txt").unlink()
    os.rename(corpus / "copies" / "other_2.txt", corpus / "copies" / "renamed.txt")
    (corpus / "later").mkdir()
    shutil.copy(SEEDS / SEED_001, corpus / "later" / "mali_again.txt")
    calls["walked"].clear()
    calls["signed"].clear()
    code, out, _ = check(cache_file=cache_file)
    assert code == 1 and calls["walked"] == [["corpus"]]  # the directories changed: walked again
    # Signed besides the given and the empty files: the new and the renamed one (a path the
    # snapshot lacks; its content is still found in the cache's entries), nothing else.
    assert calls["signed"] == [
        ["corpus/copies/renamed.txt", "corpus/empty.txt", "corpus/later/mali_again.txt", *GIVEN]
    ]
    result = assert_same_as_without_cache(cache_file)
    assert json.loads(out) == result
    assert pairs(result) == [
        ("new/mali_edited.txt", "corpus/later/mali_again.txt"),
        ("new/mali_edited.txt", "corpus/mali.txt"),
        ("new/other_copy.txt", "corpus/copies/other_0.txt"),
        ("new/other_copy.txt", "corpus/copies/renamed.txt"),
        ("new/other_copy.txt", "corpus/other.txt"),
    ]
    # Deleting the match that made a finding makes it go, on the next warm run too.
    (corpus / "later" / "mali_again.txt").unlink()
    (corpus / "mali.txt").unlink()
    result = assert_same_as_without_cache(cache_file)
    assert [pair for pair in pairs(result) if pair[0] == "new/mali_edited.txt"] == []


def test_given_files_inside_the_corpus_and_the_baseline_agree_with_the_slow_path(
    work: Path, calls: dict[str, list[Any]]
) -> None:
    cache_file = work / "c.sqlite"
    shutil.copy(work / "new" / "mali_edited.txt", work / "corpus" / "mali_edited.txt")
    assert run("baseline", "--corpus", "corpus", "--no-cache")[0] == 0
    arguments = ("check", "--corpus", "corpus", "corpus/mali_edited.txt", "new/other_copy.txt")
    for _ in range(2):  # the first run stores the snapshot, the second uses it
        warm = run(*arguments, "--format", "json", "--cache", str(cache_file))
        assert warm == run(*arguments, "--format", "json", "--no-cache")
        result = json.loads(warm[1])
        assert result["accepted"] == 1 and result["checked"] == 2
    # The accepted copy is edited so that the baseline's hash goes stale.
    with open(work / "corpus" / "mali_edited.txt", "a", encoding="utf-8") as handle:
        handle.write("A sentence added after the baseline.\n")
    warm = run(*arguments, "--format", "json", "--cache", str(cache_file))
    assert warm == run(*arguments, "--format", "json", "--no-cache")
    assert len(json.loads(warm[1])["stale"]) == 1 and json.loads(warm[1])["accepted"] == 0


def test_a_given_file_that_is_a_corpus_file_under_another_name_is_checked_as_without_a_snapshot(
    work: Path,
) -> None:
    cache_file = work / "c.sqlite"
    os.link(work / "corpus" / "mali.txt", work / "new" / "linked.txt")
    arguments = ("check", "--corpus", "corpus", "new/linked.txt", "new/mali_edited.txt", "--format", "json")
    for _ in range(2):
        assert run(*arguments, "--cache", str(cache_file)) == run(*arguments, "--no-cache")


def test_a_damaged_snapshot_is_ignored_and_replaced(work: Path) -> None:
    cache_file = work / "c.sqlite"
    assert_same_as_without_cache(cache_file)
    with sqlite3.connect(cache_file) as connection:
        connection.execute("UPDATE snapshots SET paths = x'00ff', signatures = x'0102'")
    connection.close()
    assert_same_as_without_cache(cache_file)
    with sqlite3.connect(cache_file) as connection:
        (size,) = connection.execute("SELECT length(signatures) FROM snapshots").fetchone()
    connection.close()
    assert size == 6 * 128 * 4  # stored anew: a row for each corpus file, the empty one's zeros


def test_a_file_added_to_an_unchanged_directory_tree_is_found(
    work: Path, calls: dict[str, list[Any]]
) -> None:
    """Only the directory it was added to changed (every corpus file's stat is as it was)."""
    cache_file = work / "c.sqlite"
    before = assert_same_as_without_cache(cache_file)
    shutil.copy(SEEDS / SEED_001, work / "corpus" / "copies" / "mali_copy.txt")
    calls["walked"].clear()
    code, out, _ = check(cache_file=cache_file)
    assert code == 1 and calls["walked"] == [["corpus"]]
    after = assert_same_as_without_cache(cache_file)
    assert json.loads(out) == after
    assert set(pairs(after)) - set(pairs(before)) == {("new/mali_edited.txt", "corpus/copies/mali_copy.txt")}

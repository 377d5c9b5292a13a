"""Replaying a `cluster` run's output (storydiff.store.replay): given back for the same settled,
unchanged files with the same settings and output options, and for nothing else."""

from __future__ import annotations

import os
import sqlite3
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from tests.conftest import SEED_001, SEED_002
from tests.test_cache import build_corpus

from storydiff import ingest, pipeline
from storydiff.cli import cli
from storydiff.store import cache, replay


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the runs that clustered rather than replayed."""
    calls: list[int] = []
    real = pipeline.run_cluster

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "run_cluster", counting)
    return calls


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test's files were just written: trust their stats anyway."""
    monkeypatch.setattr(cache, "RACY_SECONDS", -60.0)


def stored_outputs(cache_file: Path) -> int:
    with sqlite3.connect(cache_file) as connection:
        count: int = connection.execute("SELECT count(*) FROM outputs").fetchone()[0]
    return count


@pytest.mark.usefixtures("settled")
@pytest.mark.parametrize("output_format", ["json", "jsonl", "text", "html"])
def test_an_unchanged_corpus_gets_the_same_output_without_clustering(
    tmp_path: Path, runs: list[int], output_format: str
) -> None:
    corpus = build_corpus(tmp_path, copies=2)
    (corpus / "broken.txt").write_bytes(b"\x00\x01\x02 not text")
    cache_file = tmp_path / "c.sqlite"
    command = ("cluster", str(corpus), "--format", output_format, "--cache", str(cache_file))
    cold = run(*command)
    warm = run(*command)
    assert runs == [1]
    assert warm == cold and cold[0] == 0
    assert "was edited by the night desk" in cold[1]  # a diff's text, in every format
    assert "skipped" in cold[2] and "broken.txt" in cold[2]  # the chatter is given back too
    assert cold[1] == run("cluster", str(corpus), "--format", output_format, "--no-cache")[1]


@pytest.mark.usefixtures("settled")
def test_a_changed_added_or_removed_file_clusters_again(tmp_path: Path, runs: list[int]) -> None:
    corpus = build_corpus(tmp_path, copies=2)
    cache_file = tmp_path / "c.sqlite"
    command = ("cluster", str(corpus), "--format", "json", "--cache", str(cache_file))

    def fresh() -> str:
        return run("cluster", str(corpus), "--format", "json", "--no-cache")[1]

    run(*command)
    with open(corpus / SEED_001, "a", encoding="utf-8") as handle:
        handle.write("A sentence the night desk added after the first run.\n")
    assert run(*command)[1] == fresh()
    (corpus / "new.txt").write_text((corpus / SEED_002).read_text(encoding="utf-8"), encoding="utf-8")
    added = run(*command)[1]
    assert added == fresh() and "new.txt" in added
    assert len(runs) == 1 + 2 * 2  # each change clustered, as did each --no-cache run
    (corpus / "new.txt").unlink()
    assert run(*command)[1] == fresh()
    # Back to the files of the second run, whose output was kept: replayed.
    assert len(runs) == 5 + 1


@pytest.mark.usefixtures("settled")
def test_other_settings_or_output_options_are_other_outputs(tmp_path: Path, runs: list[int]) -> None:
    corpus = build_corpus(tmp_path, copies=2)
    cache_file = tmp_path / "c.sqlite"
    base = ("cluster", str(corpus), "--cache", str(cache_file))
    text = run(*base)[1]
    stricter = run(*base, "--threshold", "0.9")[1]
    narrower = run(*base, "--context", "2")[1]
    stat = run(*base, "--layout", "stat")[1]
    # Each clustered (the stricter run's output happens to be the same text here).
    assert len(runs) == 4 and len({text, narrower, stat}) == 3
    assert stricter == run(*base, "--threshold", "0.9", "--no-cache")[1]
    del runs[4:]
    assert (run(*base)[1], run(*base, "--context", "2")[1], run(*base, "--layout", "stat")[1]) == (
        text,
        narrower,
        stat,
    )
    assert len(runs) == 4


def test_files_changed_within_the_racy_window_are_not_kept(tmp_path: Path, runs: list[int]) -> None:
    corpus = build_corpus(tmp_path, copies=1)  # written just now: a write in the same tick could hide
    cache_file = tmp_path / "c.sqlite"
    command = ("cluster", str(corpus), "--format", "json", "--cache", str(cache_file))
    assert run(*command) == run(*command)
    assert runs == [1, 1] and stored_outputs(cache_file) == 0


@pytest.mark.usefixtures("settled")
def test_a_file_written_during_the_run_keeps_no_output(
    tmp_path: Path, runs: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = build_corpus(tmp_path, copies=1)
    cache_file = tmp_path / "c.sqlite"
    command = ("cluster", str(corpus), "--format", "json", "--cache", str(cache_file))
    counting = pipeline.run_cluster

    def then_edited(*args: Any, **kwargs: Any) -> Any:
        report = counting(*args, **kwargs)
        with open(corpus / SEED_002, "a", encoding="utf-8") as handle:
            handle.write("Written while the report was being made.\n")
        return report

    monkeypatch.setattr(pipeline, "run_cluster", then_edited)
    cold = run(*command)[1]
    assert stored_outputs(cache_file) == 0
    monkeypatch.setattr(pipeline, "run_cluster", counting)
    warm = run(*command)[1]
    assert len(runs) == 2 and warm != cold  # the edit is in the file's content hash
    assert warm == run("cluster", str(corpus), "--format", "json", "--no-cache")[1]


@pytest.mark.usefixtures("settled")
def test_an_html_file_is_written_on_every_run(tmp_path: Path, runs: list[int]) -> None:
    corpus = build_corpus(tmp_path, copies=1)
    cache_file = tmp_path / "c.sqlite"
    report = tmp_path / "report.html"
    command = ("cluster", str(corpus), "--format", "json", "--cache", str(cache_file), "--html", str(report))
    run(*command)
    first = report.read_text(encoding="utf-8")
    report.unlink()
    run(*command)
    assert report.read_text(encoding="utf-8") == first and "<html" in first
    assert len(runs) == 2


def test_stats_in_bulk_give_the_array_and_latest_time_that_one_by_one_does(tmp_path: Path) -> None:
    paths = [tmp_path / f"{number}.txt" for number in range(3)]
    for path in paths:
        path.write_text("text\n", encoding="utf-8")
    os.utime(paths[0], ns=(-5_000_000_000, -5_000_000_000))  # before 1970: stored as its bit pattern
    stats = ingest.stat_all([str(path) for path in paths])
    in_bulk, latest = replay._stat_array(stats)
    one_by_one, unseen = replay._stat_array([*stats, None])  # a file stat could not see: the loop
    assert in_bulk.dtype == one_by_one.dtype == np.uint64
    assert np.array_equal(in_bulk, one_by_one[:3]) and unseen is None
    assert in_bulk[0, 3] == (-5_000_000_000) & ((1 << 64) - 1)
    assert latest == max(max(status.st_mtime_ns, status.st_ctime_ns) for status in stats if status)
    nothing, no_time = replay._stat_array([])
    assert nothing.shape == (0, 5) and no_time == 0


def test_the_output_compressed_on_a_thread_is_what_was_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay.Compressor, "_CHUNK_BYTES", 10)
    monkeypatch.setattr(replay.Compressor, "_PENDING", 1)
    pieces = [f"line {number}: {'x' * number}\n".encode() for number in range(200)]
    compressor = replay.Compressor()
    for piece in pieces:
        compressor.add(piece)
    assert zlib.decompress(compressor.finish()) == b"".join(pieces)

"""The signature cache: same output cold and warm, stat shortcut, fingerprints, corruption,
concurrent runs and a writer killed mid-transaction."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from tests.conftest import SEED_000, SEED_001, SEED_002, SEEDS

from storydiff import ingest, pipeline, shingles, spill
from storydiff.boilerplate import Rule
from storydiff.cli import cli
from storydiff.model import Document, Skipped, SourceFile
from storydiff.pipeline import batching, corpus_table, diffing, verifying
from storydiff.settings import Settings
from storydiff.store import cache


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def build_corpus(root: Path, copies: int = 6) -> Path:
    """The seeds, plus edited copies of each: a paragraph dropped and a sentence of our own added."""
    corpus = root / "corpus"
    corpus.mkdir()
    for name in (SEED_000, SEED_001, SEED_002):
        text = (SEEDS / name).read_text(encoding="utf-8")
        (corpus / name).write_text(text, encoding="utf-8")
        paragraphs = [line for line in text.splitlines() if line.strip()]
        for number in range(copies):
            kept = paragraphs[: number + 1] + paragraphs[number + 2 :]
            kept.append(f"This copy, number {number}, was edited by the night desk.")
            (corpus / f"{name[:3]}_copy{number}.txt").write_text("\n".join(kept) + "\n", encoding="utf-8")
    return corpus


def entries(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        count: int = connection.execute("SELECT count(*) FROM entries").fetchone()[0]
    return count


def test_warm_output_is_byte_identical_to_cold_and_to_no_cache(tmp_path: Path) -> None:
    corpus = build_corpus(tmp_path)
    cache_file = tmp_path / "c.sqlite"
    _, uncached, _ = run("cluster", str(corpus), "--format", "json", "--no-cache")
    code, cold, _ = run("cluster", str(corpus), "--format", "json", "--cache", str(cache_file))
    assert code == 0 and entries(cache_file) == 21
    code, warm, _ = run("cluster", str(corpus), "--format", "json", "--cache", str(cache_file))
    assert code == 0
    assert cold == warm == uncached
    assert len(json.loads(warm)["clusters"]) == 2  # 000, 001 and their copies; 002 and its copies


def test_renamed_and_copied_files_hit_the_cache_by_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = build_corpus(tmp_path, copies=2)
    cache_file = tmp_path / "c.sqlite"
    run("cluster", str(corpus), "--cache", str(cache_file))
    stored = entries(cache_file)
    os.rename(corpus / SEED_000, corpus / "renamed.txt")
    _, uncached, _ = run("cluster", str(corpus), "--format", "json", "--no-cache")
    signed: list[str] = []
    real_shingles = shingles.batch_shingles

    def counting_shingles(texts: list[str], *args: int) -> shingles.ShingleBatch:
        signed.extend(texts)
        return real_shingles(texts, *args)

    monkeypatch.setattr(shingles, "batch_shingles", counting_shingles)
    with_line_keys = shingles.batch_shingles_and_line_keys

    def first_pass(texts: list[str], *args: int) -> Any:
        assert texts == [], "signed again"
        return with_line_keys(texts, *args)

    monkeypatch.setattr(shingles, "batch_shingles_and_line_keys", first_pass)
    code, out, _ = run("cluster", str(corpus), "--format", "json", "--cache", str(cache_file))
    assert code == 0 and out == uncached and str(corpus / "renamed.txt") in out
    # Nothing signed again (the renamed file's content is in the cache) and nothing new
    # stored; the cluster it is in is diffed again, but the cached pairs give each member's
    # similarity to the representative, so no exact set (which the cache does not keep) was
    # shingled again either.
    assert entries(cache_file) == stored
    assert any("renamed.txt" in str(item) for item in json.loads(out)["clusters"])
    assert signed == []


def test_stat_shortcut_skips_reading_unchanged_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = build_corpus(tmp_path, copies=1)
    cache_file = tmp_path / "c.sqlite"
    monkeypatch.setattr(cache, "RACY_SECONDS", -60.0)  # the files were just written; trust them anyway
    run("cluster", str(corpus), "--cache", str(cache_file))
    sources, _ = ingest.discover([str(corpus)])
    settings = Settings()
    spec = pipeline.CacheSpec(str(cache_file), cache.fingerprint(settings.signature_inputs()))
    reads: list[str] = []
    real_read = ingest.read_document

    def counting_read(source: SourceFile, *options: Any) -> Document | Skipped:
        reads.append(source.path)
        return real_read(source, *options)

    monkeypatch.setattr(ingest, "read_document", counting_read)
    with spill.spill_directory() as spill_to:
        warm = pipeline.sign_batch(("a", sources), settings, spill_to, cache_spec=spec)
        assert reads == [] and warm.cache_update == cache.CacheUpdate()
        with open(corpus / SEED_002, "a", encoding="utf-8") as handle:
            handle.write("A line added after the first run.\n")
        changed = pipeline.sign_batch(("b", sources), settings, spill_to, cache_spec=spec)
        assert reads == [str(corpus / SEED_002)]
        cold = pipeline.sign_batch(("c", sources), settings, spill_to)
    assert changed.content_hashes == cold.content_hashes != warm.content_hashes
    assert np.array_equal(changed.signatures, cold.signatures)
    assert changed.word_counts.tolist() == cold.word_counts.tolist()
    assert changed.shingle_counts.tolist() == cold.shingle_counts.tolist()
    assert changed.boilerplate == cold.boilerplate
    assert changed.cache_update is not None and len(changed.cache_update.entries) == 1


def test_racily_clean_files_are_not_given_a_stat_row(tmp_path: Path) -> None:
    path = tmp_path / "fresh.txt"
    path.write_text("just written", encoding="utf-8")
    status = os.stat(path)
    content_hash = ingest.content_hash(path.read_bytes())
    assert cache.stat_row(str(path), status, content_hash) is None
    row = cache.stat_row(str(path), status, content_hash, now=status.st_ctime + 10)
    assert row == (
        str(path),
        12,
        status.st_mtime_ns,
        status.st_ctime_ns,
        status.st_ino,
        bytes.fromhex(content_hash),
    )


def test_settings_that_change_signatures_get_their_own_entries(tmp_path: Path) -> None:
    corpus = build_corpus(tmp_path, copies=1)
    cache_file = tmp_path / "c.sqlite"
    run("cluster", str(corpus), "--cache", str(cache_file))
    run("cluster", str(corpus), "--cache", str(cache_file), "--ngram", "4")
    run("cluster", str(corpus), "--cache", str(cache_file), "--threshold", "0.6")  # not a signature setting
    code, out, _ = run("cache", "info", "--cache", str(cache_file), "--format", "json")
    info = json.loads(out)
    assert code == 0 and info["entries"] == 12 and sorted(info["fingerprints"].values()) == [6, 6]
    code, out, _ = run("cache", "clear", "--cache", str(cache_file))
    assert code == 0 and out == f"removed 12 entries from {cache_file}\n"
    assert entries(cache_file) == 0


def test_cache_info_text_and_default_location(private_cache: Path, tmp_path: Path) -> None:
    run("cluster", str(SEEDS))
    code, out, _ = run("cache", "info")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"path: {private_cache}" and "entries: 3" in lines and "stat rows: 3" in lines


@pytest.mark.parametrize(
    "content", [b"this is not a database, just text\n" * 200, b"SQLite format 3\x00" + b"\xff" * 4000]
)
def test_a_corrupt_cache_is_reported_moved_aside_and_rebuilt(tmp_path: Path, content: bytes) -> None:
    cache_file = tmp_path / "c.sqlite"
    cache_file.write_bytes(content)
    _, uncached, _ = run("cluster", str(SEEDS), "--format", "json", "--no-cache")
    code, out, err = run("cluster", str(SEEDS), "--format", "json", "--cache", str(cache_file))
    assert code == 0 and out == uncached
    assert f"storydiff: {cache_file}: not a usable storydiff cache" in err
    assert f"moved it to {cache_file}.corrupt and started a new cache" in err
    assert (tmp_path / "c.sqlite.corrupt").read_bytes() == content
    assert entries(cache_file) == 3
    code, out, err = run("cluster", str(SEEDS), "--format", "json", "--cache", str(cache_file))
    assert code == 0 and out == uncached and "cache" not in err


def test_a_foreign_sqlite_database_is_not_used_nor_deleted(tmp_path: Path) -> None:
    foreign = tmp_path / "notes.sqlite"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
        connection.execute("INSERT INTO notes VALUES ('keep me')")
    connection.close()
    code, _, err = run("cluster", str(SEEDS), "--cache", str(foreign))
    assert code == 0 and "a SQLite database, but not a storydiff cache" in err
    with sqlite3.connect(tmp_path / "notes.sqlite.corrupt") as connection:
        assert connection.execute("SELECT body FROM notes").fetchall() == [("keep me",)]
    connection.close()


def _storydiff(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "storydiff", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def test_two_runs_at_once_share_the_cache_without_corrupting_it(tmp_path: Path) -> None:
    corpus = build_corpus(tmp_path, copies=30)
    cache_file = tmp_path / "c.sqlite"
    _, uncached, _ = run("cluster", str(corpus), "--format", "json", "--no-cache")
    arguments = ("cluster", str(corpus), "--format", "json", "--cache", str(cache_file), "--jobs", "1")
    first, second = _storydiff(*arguments), _storydiff(*arguments)
    outputs = [process.communicate(timeout=120) for process in (first, second)]
    assert first.returncode == second.returncode == 0
    assert [out.decode() for out, _ in outputs] == [uncached, uncached]
    assert [err for _, err in outputs if b"cache" in err] == []
    with sqlite3.connect(cache_file) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    connection.close()
    assert entries(cache_file) == 93
    _, warm, _ = run("cluster", str(corpus), "--format", "json", "--cache", str(cache_file))
    assert warm == uncached


WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from storydiff.store.cache import CacheUpdate, SignatureCache, entry_rows

    store = SignatureCache.open(sys.argv[1])
    batch = 0
    while True:
        rows = entry_rows(
            [f"{batch:016x}{i:016x}" for i in range(500)],
            np.ones(500, np.int64),
            np.full(500, 2000),
            [()] * 500,
            np.ones((500, 128), np.uint32),
            np.zeros(0, np.uint64),
            np.zeros(501, np.int64),
        )
        store.add("fp", [CacheUpdate(rows)])
        batch += 1
        if batch == 1:
            print("committed", flush=True)
    """
)


def test_a_writer_killed_mid_transaction_leaves_a_usable_cache(tmp_path: Path) -> None:
    cache_file = tmp_path / "c.sqlite"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(cache_file)], stdout=subprocess.PIPE)
    assert writer.stdout is not None and writer.stdout.readline() == b"committed\n"
    writer.send_signal(signal.SIGKILL)  # most of its time is spent inside a write transaction
    writer.wait(timeout=30)
    with sqlite3.connect(cache_file) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        count = connection.execute("SELECT count(*) FROM entries").fetchone()[0]
    connection.close()
    assert count >= 500 and count % 500 == 0  # whole batches only
    _, uncached, _ = run("cluster", str(SEEDS), "--format", "json", "--no-cache")
    code, out, err = run("cluster", str(SEEDS), "--format", "json", "--cache", str(cache_file))
    assert code == 0 and out == uncached and err.count("cache") == 0
    assert entries(cache_file) == count + 3


def test_reader_treats_a_missing_or_broken_file_as_misses(tmp_path: Path) -> None:
    assert cache.CacheReader(str(tmp_path / "absent.sqlite")).entries("fp", ["a"]) == {}
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"garbage" * 100)
    reader = cache.CacheReader(str(broken))
    assert reader.entries("fp", ["a"]) == {} and reader.hashes_for_stats([], []) == {}


def test_entries_round_trip(tmp_path: Path) -> None:
    store = cache.SignatureCache.open(str(tmp_path / "c.sqlite"))
    signature = np.arange(128, dtype=np.uint32)
    h1, h2 = "1" * 32, "2" * 32
    line_keys = np.array([7, 8, 9], dtype=np.uint64)
    rows = cache.entry_rows(
        [h1],
        np.array([42]),
        np.array([3]),
        [(("read-more", 2),)],
        signature[None, :],
        line_keys,
        np.array([0, 3]),
    )
    store.add("fp", [cache.CacheUpdate(rows)])
    store.close()
    found = cache.CacheReader(str(tmp_path / "c.sqlite")).entries("fp", [h1, h2])
    assert list(found) == [h1]
    entry = found[h1]
    assert entry.word_count == 42 and entry.shingle_count == 3 and entry.removals == (("read-more", 2),)
    assert entry.shingles is None  # exact sets are not kept (see SignatureCache.add)
    assert entry.signature.tolist() == signature.tolist() and entry.line_keys.tolist() == [7, 8, 9]
    assert cache.CacheReader(str(tmp_path / "c.sqlite")).entries("other", [h1]) == {}


def test_a_warm_run_through_the_stat_rows_gives_the_same_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unchanged files come from one query in the parent, changed ones from the workers; the
    rows are put back in path order and the sets of the candidates are loaded from the cache."""
    corpus = build_corpus(tmp_path, copies=4)
    cache_file = tmp_path / "c.sqlite"
    monkeypatch.setattr(cache, "RACY_SECONDS", -60.0)
    run("cluster", str(corpus), "--cache", str(cache_file))
    (corpus / "000_copy2.txt").write_text(seed_text(SEED_002) + "\nA changed copy.\n", encoding="utf-8")
    (corpus / "aaa_new.txt").write_text(seed_text(SEED_001), encoding="utf-8")
    (corpus / "002_copy3.txt").unlink()
    _, uncached, _ = run("cluster", str(corpus), "--format", "json", "--no-cache")
    code, warm, _ = run("cluster", str(corpus), "--format", "json", "--cache", str(cache_file))
    assert code == 0 and warm == uncached
    code, warm_again, _ = run("cluster", str(corpus), "--format", "json", "--cache", str(cache_file))
    assert warm_again == uncached
    with sqlite3.connect(cache_file) as connection:
        assert (
            connection.execute("SELECT count(*) FROM stats").fetchone()[0] == 16
        )  # the deleted file's row stays (harmless)


@pytest.mark.parametrize("racy_seconds", [-60.0, 3600.0])  # stat rows kept; or none (files read)
def test_sets_the_cache_does_not_keep_are_shingled_again_for_new_pairs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, racy_seconds: float
) -> None:
    """The cache keeps no exact sets: after a change of --threshold, the pairs not verified
    before need the sets of documents taken from the cache, and get them, whether signing
    found those documents by their stat (in the parent) or by their contents (in a worker)."""
    corpus = build_corpus(tmp_path, copies=4)
    cache_file = tmp_path / "c.sqlite"
    monkeypatch.setattr(cache, "RACY_SECONDS", racy_seconds)
    run("cluster", str(corpus), "--cache", str(cache_file), "--threshold", "0.9")
    for threshold in ("0.3", "0.6"):
        arguments = ("cluster", str(corpus), "--format", "json", "--threshold", threshold)
        _, uncached, _ = run(*arguments, "--no-cache")
        code, warm, _ = run(*arguments, "--cache", str(cache_file))
        assert code == 0 and warm == uncached
        members = [member for item in json.loads(warm)["clusters"] for member in item["members"]]
        assert any(member["jaccard"] < 0.9 for member in members)


def test_a_file_changed_before_its_set_is_read_again_is_skipped_and_nothing_of_it_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = build_corpus(tmp_path, copies=4)
    cache_file = tmp_path / "c.sqlite"
    monkeypatch.setattr(cache, "RACY_SECONDS", -60.0)
    run("cluster", str(corpus), "--cache", str(cache_file), "--threshold", "0.9")
    edited = corpus / "000_copy2.txt"
    original = edited.read_text(encoding="utf-8")
    real_load_sets = pipeline.load_sets

    def load_sets_after_an_edit(*args: Any, **kwargs: Any) -> Any:
        edited.write_text(original.replace("Mali", "Chad"), encoding="utf-8")
        return real_load_sets(*args, **kwargs)

    monkeypatch.setattr(corpus_table, "load_sets", load_sets_after_an_edit)
    arguments = ("cluster", str(corpus), "--format", "json", "--threshold", "0.3", "--jobs", "1")
    code, out, _ = run(*arguments, "--cache", str(cache_file))
    assert code == 0
    reasons = {Path(item["path"]).name: item["reason"] for item in json.loads(out)["skipped"]}
    assert reasons == {"000_copy2.txt": "changed while storydiff was reading it (run again)"}
    monkeypatch.setattr(corpus_table, "load_sets", real_load_sets)
    edited.write_text(original, encoding="utf-8")  # back as it was signed: nothing wrong was kept
    _, uncached, _ = run(*arguments, "--no-cache")
    assert run(*arguments, "--cache", str(cache_file))[1] == uncached


def seed_text(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def test_damage_found_mid_run_turns_the_cache_off_and_moves_it_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = build_corpus(tmp_path, copies=30)
    cache_file = tmp_path / "c.sqlite"
    monkeypatch.setattr(cache, "RACY_SECONDS", -60.0)
    run("cluster", str(corpus), "--cache", str(cache_file))
    with sqlite3.connect(cache_file) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    data = bytearray(cache_file.read_bytes())
    page = 4096
    for start in range(2 * page, len(data), page):  # keep the header and schema pages, wreck the rest
        data[start : start + page] = b"\xa5" * page
    cache_file.write_bytes(bytes(data))
    _, uncached, _ = run("cluster", str(corpus), "--format", "json", "--no-cache")
    code, out, err = run("cluster", str(corpus), "--format", "json", "--cache", str(cache_file))
    assert code == 0 and out == uncached
    assert "damaged signature cache" in err and f"moved it to {cache_file}.corrupt" in err
    code, out, err = run("cluster", str(corpus), "--format", "json", "--cache", str(cache_file))
    assert code == 0 and out == uncached and err.count("cache") == 0


def test_an_unchanged_corpus_reuses_the_stored_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = build_corpus(tmp_path, copies=2)
    cache_file = tmp_path / "c.sqlite"
    _, cold_json, _ = run("cluster", str(corpus), "--format", "json", "--cache", str(cache_file))
    _, cold_text, _ = run("cluster", str(corpus), "--cache", str(cache_file), "--no-cache")
    calls: list[int] = []
    real_pairs = pipeline.verified_pairs  # what run_cluster verifies with

    def counting_pairs(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real_pairs(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(verifying, "verified_pairs", counting_pairs)
    _, warm_json, _ = run("cluster", str(corpus), "--format", "json", "--cache", str(cache_file))
    _, warm_text, _ = run("cluster", str(corpus), "--cache", str(cache_file))
    assert (warm_json, warm_text) == (cold_json, cold_text) and calls == []
    # Another threshold, a changed file or a renamed one is another report.
    _, stricter, _ = run(
        "cluster", str(corpus), "--format", "json", "--cache", str(cache_file), "--threshold", "0.9"
    )
    assert calls == [1]
    _, uncached, _ = run("cluster", str(corpus), "--format", "json", "--threshold", "0.9", "--no-cache")
    assert stricter == uncached
    os.rename(corpus / SEED_001, corpus / "zzz.txt")
    _, renamed, _ = run("cluster", str(corpus), "--format", "json", "--cache", str(cache_file))
    assert calls == [1, 1, 1] and "zzz.txt" in renamed  # the --no-cache run above counts too


def test_a_stored_report_is_not_reused_when_keep_newest_would_choose_another_representative(
    tmp_path: Path,
) -> None:
    corpus = build_corpus(tmp_path, copies=2)
    cache_file = str(tmp_path / "c.sqlite")
    an_hour_ago = time.time() - 3600
    for number, path in enumerate(sorted(corpus.iterdir())):
        os.utime(path, (an_hour_ago + number, an_hour_ago + number))

    def representatives(*extra: str) -> list[str]:
        code, out, _ = run("cluster", str(corpus), "--format", "json", "--keep", "newest", *extra)
        assert code == 0
        return [item["representative"] for item in json.loads(out)["clusters"]]

    before = representatives("--cache", cache_file)
    assert before == representatives("--no-cache")
    # Same contents and paths; only a modification time moves, making SEED_000 the newest.
    os.utime(corpus / SEED_000, (an_hour_ago + 600, an_hour_ago + 600))
    after = representatives("--cache", cache_file)
    assert after == representatives("--no-cache") != before
    assert str(corpus / SEED_000) in after


def test_the_fingerprint_covers_user_rules_and_line_keys() -> None:
    """User rules from the configuration reach the cache's key pattern by pattern, and
    whether signing collects line keys (for repeated lines) too."""
    base = Settings()
    footer = Rule("planet-footer", "The footer.", r"^The Daily Planet$")
    with_rule = Settings(rules=(*(base.rules or ()), footer))
    other_pattern = Settings(
        rules=(*(base.rules or ()), dataclasses.replace(footer, pattern=r"^The Planet$"))
    )
    no_repeated = Settings(repeated_lines=False)
    more_words = Settings(repeated_min_words=6)
    prints = {
        cache.fingerprint(settings.signature_inputs())
        for settings in (base, with_rule, other_pattern, no_repeated, more_words)
    }
    assert len(prints) == 5
    assert cache.fingerprint(Settings(threshold=0.9).signature_inputs()) == cache.fingerprint(
        base.signature_inputs()
    )


def test_a_stored_report_round_trips_moves_figures_and_stripped_lines(tmp_path: Path) -> None:
    paragraphs = [
        line for line in (SEEDS / SEED_000).read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    moved = [*paragraphs[:8], *paragraphs[11:14], *paragraphs[8:11], *paragraphs[14:]]
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    old.write_text("\n".join(paragraphs) + "\n", encoding="utf-8")
    new.write_text("\n".join(moved).replace("190", "900") + "\n", encoding="utf-8")
    report = pipeline.diff_files(str(old), str(new), Settings(show_stripped=True))
    member = report.clusters[0].members[1]
    assert member.moved_words and member.changed_figures and member.representative_stripped
    report = dataclasses.replace(report, skipped=(Skipped("gone.txt", "empty file"),))
    with cache.SignatureCache.open(str(tmp_path / "c.sqlite")) as signature_cache:
        signature_cache.put_diffs({"diffs-key": report.clusters[0].members})
        signature_cache.put_report("key", report, ["diffs-key"])
        assert signature_cache.get_report("key") == report


def test_a_stored_report_is_not_used_once_its_diffs_are_gone(tmp_path: Path) -> None:
    """A report names its clusters' diffs in the `diffs` table rather than holding them: without
    them, or with another cluster's, it is not a report (the run clusters and diffs again)."""
    report = pipeline.diff_files(str(SEEDS / SEED_000), str(SEEDS / SEED_001), Settings())
    members = report.clusters[0].members
    cache_file = tmp_path / "c.sqlite"
    with cache.SignatureCache.open(str(cache_file)) as signature_cache:
        signature_cache.put_diffs({"diffs-key": members, "other": members[::-1]})
        signature_cache.put_report("key", report, ["diffs-key"])
        signature_cache.put_report("wrong", report, ["other"])
        assert signature_cache.get_report("key") == report
        assert signature_cache.get_report("wrong") is None
        with pytest.raises(ValueError, match="1 clusters, but 0 keys"):
            signature_cache.put_report("key", report, [])
    with sqlite3.connect(cache_file) as connection:
        connection.execute("DELETE FROM diffs WHERE key = 'diffs-key'")
    connection.close()
    with cache.SignatureCache.open(str(cache_file)) as signature_cache:
        assert signature_cache.get_report("key") is None


@pytest.mark.parametrize(
    "output", [("--format", "json"), ("--layout", "inline"), ("--layout", "side-by-side")]
)
def test_a_warm_run_from_the_stored_report_prints_the_same_moves_and_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: tuple[str, str]
) -> None:
    corpus = build_corpus(tmp_path, copies=2)
    paragraphs = [
        line for line in (SEEDS / SEED_000).read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    moved = [*paragraphs[:8], *paragraphs[11:14], *paragraphs[8:11], *paragraphs[14:]]
    (corpus / "000_moved.txt").write_text("\n".join(moved).replace("190", "900") + "\n", encoding="utf-8")
    cache_file = tmp_path / "c.sqlite"
    arguments = ("cluster", str(corpus), "--show-stripped", "--cache", str(cache_file), *output)
    code, cold, _ = run(*arguments)
    assert code == 0 and "moved" in cold and "900" in cold

    def not_again(*args: object, **kwargs: object) -> object:
        raise AssertionError("the warm run diffed again instead of using the stored report")

    monkeypatch.setattr(diffing, "_diff_clusters", not_again)
    code, warm, _ = run(*arguments)
    assert code == 0 and warm == cold


def test_diffs_stored_a_cluster_at_a_time_make_the_stored_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Diffed clusters go to the cache as they come (pipeline.DIFF_STORE_CLUSTERS at a time);
    the report names them all, and a run that does not replay reads it back whole."""
    corpus = build_corpus(tmp_path, copies=2)
    cache_file = str(tmp_path / "c.sqlite")
    monkeypatch.setattr(batching, "DIFF_STORE_CLUSTERS", 1)
    stored: list[int] = []
    put_diffs = cache.SignatureCache.put_diffs

    def counting(self: cache.SignatureCache, clusters: Any) -> None:
        stored.append(len(clusters))
        put_diffs(self, clusters)

    monkeypatch.setattr(cache.SignatureCache, "put_diffs", counting)
    code, cold, _ = run("cluster", str(corpus), "--format", "json", "--cache", cache_file)
    assert code == 0 and stored == [1] * len(json.loads(cold)["clusters"]) and len(stored) >= 2

    def not_again(*args: object, **kwargs: object) -> object:
        raise AssertionError("the run diffed again instead of using the stored report")

    monkeypatch.setattr(diffing, "_diff_clusters", not_again)
    html = str(tmp_path / "report.html")  # (an HTML file is written on every run: no replay)
    code, warm, _ = run("cluster", str(corpus), "--format", "json", "--cache", cache_file, "--html", html)
    assert code == 0 and warm == cold


@pytest.mark.parametrize("scan_above", [0, 5000])  # one scan of the table, or lookups by key
def test_pairs_round_trip_by_lookup_and_by_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scan_above: int
) -> None:
    monkeypatch.setattr(cache, "_PAIR_SCAN", scan_above)
    a, b, missing = "a" * 32, "b" * 32, "c" * 32  # keys are hex digests (store.keys.pair_key)
    with cache.SignatureCache.open(str(tmp_path / "c.sqlite")) as store:
        store.put_pairs([(a, 0.5, 0.75, 120), (b, 1 / 3, 0.9, 7)])
        store.put_pairs([(a, 0.6, 0.8, 121)])  # stored again: replaced
        assert store.get_pairs([a, b, missing]) == {a: (0.6, 0.8, 121), b: (1 / 3, 0.9, 7)}
        assert store.get_pairs([b]) == {b: (1 / 3, 0.9, 7)}


def test_a_warm_cluster_walks_again_only_when_a_directory_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = build_corpus(tmp_path, copies=2)
    (corpus / "sub").mkdir()
    os.rename(corpus / "002_copy1.txt", corpus / "sub" / "002_copy1.txt")
    cache_file = str(tmp_path / "c.sqlite")
    monkeypatch.setattr(cache, "RACY_SECONDS", -60.0)
    walks: list[list[str]] = []
    real_discover = ingest.discover

    def discover(paths: Any, *args: Any, **kwargs: Any) -> Any:
        walks.append(list(paths))
        return real_discover(paths, *args, **kwargs)

    monkeypatch.setattr(ingest, "discover", discover)
    arguments = ("cluster", str(corpus), "--format", "json", "--cache", cache_file)
    first = run(*arguments)
    assert run(*arguments) == first and walks == [[str(corpus)]]
    # A file added to the subdirectory (only its stat changes) is found.
    (corpus / "sub" / "002_copy9.txt").write_text(seed_text(SEED_002) + "\nLate copy.\n", encoding="utf-8")
    code, out, _ = run(*arguments)
    assert code == 0 and len(walks) == 2 and "002_copy9.txt" in out
    assert out == run("cluster", str(corpus), "--format", "json", "--no-cache")[1]  # walks too
    # A file edited in place is signed again, without a walk.
    with open(corpus / "001_copy0.txt", "a", encoding="utf-8") as handle:
        handle.write("An addition to the copy.\n")
    code, out, _ = run(*arguments)
    assert len(walks) == 3
    assert out == run("cluster", str(corpus), "--format", "json", "--no-cache")[1]


def test_a_walk_that_met_a_link_is_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = build_corpus(tmp_path, copies=1)
    outside = tmp_path / "outside.txt"
    outside.write_text(seed_text(SEED_001) + "\nKept elsewhere.\n", encoding="utf-8")
    os.symlink(outside, corpus / "linked.txt")
    cache_file = str(tmp_path / "c.sqlite")
    monkeypatch.setattr(cache, "RACY_SECONDS", -60.0)
    arguments = ("cluster", str(corpus), "--format", "json", "--cache", cache_file)
    code, out, _ = run(*arguments)
    assert code == 0 and "linked.txt" in out
    outside.unlink()  # the link breaks; its directory does not change
    code, out, err = run(*arguments)
    assert (code, out, err) == run("cluster", str(corpus), "--format", "json", "--no-cache")
    assert "linked.txt" not in out


def test_a_first_run_stores_signed_batches_a_few_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each transaction holds several signed batches (pipeline.STORE_ROWS rows), and the
    last, smaller group is stored too; a first run does not stat the corpus in the parent
    (the cache cannot know any of it), a warm run does."""
    corpus = build_corpus(tmp_path, copies=6)  # 21 files
    cache_file = tmp_path / "c.sqlite"
    monkeypatch.setattr(cache, "RACY_SECONDS", -60.0)
    monkeypatch.setattr(batching, "SIGN_BATCH_FILES", 2)  # 11 batches, of 4 rows but the last
    monkeypatch.setattr(batching, "STORE_ROWS", 12)  # three batches a transaction
    transactions: list[int] = []
    real_add = cache.SignatureCache.add

    def counting_add(self: cache.SignatureCache, fingerprint: str, updates: Any) -> None:
        transactions.append(len(updates))
        real_add(self, fingerprint, updates)

    parent_stats: list[int] = []
    real_stat_all = corpus_table._stat_all

    def counting_stat_all(paths: Any) -> Any:
        parent_stats.append(len(paths))
        return real_stat_all(paths)

    monkeypatch.setattr(cache.SignatureCache, "add", counting_add)
    monkeypatch.setattr(corpus_table, "_stat_all", counting_stat_all)
    _, uncached, _ = run("cluster", str(corpus), "--format", "json", "--no-cache")
    # One process: the workers would not see RACY_SECONDS patched, and store no stat rows.
    code, cold, _ = run("cluster", str(corpus), "--format", "json", "--cache", str(cache_file), "--jobs", "1")
    assert code == 0 and cold == uncached
    assert transactions == [3, 3, 3, 2] and parent_stats == []
    assert entries(cache_file) == 21
    with sqlite3.connect(cache_file) as connection:
        assert connection.execute("SELECT count(*) FROM stats").fetchone()[0] == 21
    connection.close()
    # --html: a run that writes a report file does not replay stored output (see replay).
    html = str(tmp_path / "report.html")
    warm_command = ("cluster", str(corpus), "--format", "json", "--cache", str(cache_file), "--jobs", "1")
    code, warm, _ = run(*warm_command, "--html", html)
    assert code == 0 and warm == uncached
    assert transactions == [3, 3, 3, 2] and parent_stats == [21]  # nothing new to store


def test_a_cache_of_the_previous_format_is_rebuilt(tmp_path: Path) -> None:
    cache_file = tmp_path / "c.sqlite"
    connection = sqlite3.connect(cache_file)
    connection.executescript(
        f"""
        CREATE TABLE entries (fingerprint TEXT NOT NULL, content_hash TEXT NOT NULL,
            word_count INTEGER NOT NULL, shingle_count INTEGER NOT NULL, removals TEXT NOT NULL,
            signature BLOB NOT NULL, line_keys BLOB NOT NULL, PRIMARY KEY (fingerprint, content_hash));
        CREATE TABLE stats (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
            ctime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, content_hash TEXT NOT NULL);
        INSERT INTO entries VALUES ('fp', '{"0" * 32}', 1, 1, '[]', x'00', x'');
        PRAGMA application_id = {cache.APPLICATION_ID};
        PRAGMA user_version = {cache.FORMAT_VERSION - 1};
        """
    )
    connection.close()
    _, uncached, _ = run("cluster", str(SEEDS), "--format", "json", "--no-cache")
    code, out, err = run("cluster", str(SEEDS), "--format", "json", "--cache", str(cache_file))
    assert code == 0 and out == uncached and "cache" not in err
    assert entries(cache_file) == 3
    with sqlite3.connect(cache_file) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (cache.FORMAT_VERSION,)
        assert (
            connection.execute("SELECT fingerprint_id, typeof(content_hash) FROM entries").fetchall()
            == [(1, "blob")] * 3
        )
    connection.close()
    info = cache.SignatureCache.open(str(cache_file)).info()
    assert info["entries"] == 3 and list(info["fingerprints"].values()) == [3]  # type: ignore[union-attr]


def test_writes_made_in_the_background_are_seen_by_the_next_read_and_kept_by_close(tmp_path: Path) -> None:
    cache_file = tmp_path / "c.sqlite"
    signature_cache = cache.SignatureCache.open(str(cache_file))
    started = threading.active_count()
    signature_cache.put_pairs([("a" * 32, 0.5, 0.75, 10)])
    signature_cache.put_output("key", zlib.compress(b"the output"), ["the summary"])
    assert threading.active_count() == started + 1  # the writer thread
    assert signature_cache.get_pairs(["a" * 32]) == {"a" * 32: (0.5, 0.75, 10)}
    signature_cache.put_output("other", zlib.compress(b"more"), ["summary"])
    signature_cache.close()
    assert threading.active_count() == started
    reopened = cache.SignatureCache.open(str(cache_file))
    assert reopened.get_output("key") == (b"the output", ("the summary",))
    assert reopened.get_output("other") == (b"more", ("summary",))
    reopened.close()


def test_a_lookup_waits_for_the_writes_queued_to_its_table_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lookups go through a connection of their own: one of a table no queued write touches
    is answered while the writer thread is still storing pairs, as the repeated-line pass's
    lookups are while the first pass's pairs are stored."""
    signature_cache = cache.SignatureCache.open(str(tmp_path / "c.sqlite"))
    signature_cache.put_output("key", zlib.compress(b"the output"), ["the summary"])
    release = threading.Event()
    write_many_now = signature_cache._write_many_now

    def slow_write(*args: Any) -> None:
        release.wait(30)
        write_many_now(*args)

    monkeypatch.setattr(signature_cache, "_write_many_now", slow_write)
    signature_cache.put_pairs([("a" * 32, 0.5, 0.75, 10)])
    assert signature_cache.get_output("key") == (b"the output", ("the summary",))
    assert signature_cache._pending["pairs"] == 1  # answered while the pairs were being stored
    threading.Timer(0.1, release.set).start()
    assert signature_cache.get_pairs(["a" * 32]) == {"a" * 32: (0.5, 0.75, 10)}
    signature_cache.close()


def test_a_checkpoint_copies_the_writes_into_the_database_before_close(tmp_path: Path) -> None:
    cache_file = tmp_path / "c.sqlite"
    signature_cache = cache.SignatureCache.open(str(cache_file))
    output = os.urandom(1 << 20)  # does not compress: a megabyte in the write-ahead log
    signature_cache.put_output("key", zlib.compress(output), ["summary"])
    signature_cache._settle()
    assert cache_file.stat().st_size < len(output)  # in the log only
    signature_cache.checkpoint()
    signature_cache._settle()
    assert cache_file.stat().st_size > len(output)
    signature_cache.close()
    with cache.SignatureCache.open(str(cache_file)) as reopened:
        assert reopened.get_output("key") == (output, ("summary",))


def test_a_failed_background_write_turns_the_cache_off_and_a_bug_in_one_is_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signature_cache = cache.SignatureCache.open(str(tmp_path / "c.sqlite"))
    signature_cache._write_many("outputs", "INSERT INTO no_such_table VALUES (?)", [(1,)])
    assert signature_cache.get_output("key") is None and not signature_cache.enabled
    assert any("signature cache error" in warning for warning in signature_cache.warnings)
    signature_cache.close()

    broken = cache.SignatureCache.open(str(tmp_path / "d.sqlite"))

    def bug(*args: object) -> None:
        raise ZeroDivisionError("a bug in a write")

    monkeypatch.setattr(broken, "_replace_now", bug)
    broken.put_output("key", zlib.compress(b"output"), ["summary"])
    with pytest.raises(ZeroDivisionError):
        broken.get_output("key")
    broken.close()


def test_a_first_run_signs_without_asking_the_empty_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers look nothing up in a cache that held nothing signed with these settings when
    the run began; the output is the one without the cache, and the cache is filled."""
    corpus = build_corpus(tmp_path, copies=2)
    cache_file = tmp_path / "c.sqlite"
    opened: list[str] = []
    real_reader = cache.CacheReader

    def counting_reader(path: str) -> Any:
        opened.append(path)
        return real_reader(path)

    monkeypatch.setattr(cache, "CacheReader", counting_reader)
    code, cold, _ = run("cluster", str(corpus), "--format", "json", "--jobs", "1", "--cache", str(cache_file))
    assert code == 0 and opened == []
    assert cold == run("cluster", str(corpus), "--format", "json", "--jobs", "1", "--no-cache")[1]
    assert entries(cache_file) == len(list(corpus.iterdir()))
    spec = pipeline.CacheSpec(str(cache_file), cache.fingerprint(Settings().signature_inputs()))
    with spill.spill_directory() as spill_to:
        sources, _ = ingest.discover([str(corpus)])
        pipeline.sign_batch(("a", sources), Settings(), spill_to, cache_spec=spec)
    assert opened == [str(cache_file)]  # a cache that held them is asked


def test_a_stored_report_keeps_the_documents_left_out_of_every_cluster(
    chained_corpus: Path, tmp_path: Path
) -> None:
    cache_file = str(tmp_path / "c.sqlite")
    with cache.SignatureCache.open(cache_file) as signature_cache:
        cold = pipeline.run_cluster([str(chained_corpus)], Settings(), signature_cache=signature_cache)
    with cache.SignatureCache.open(cache_file) as signature_cache:
        warm = pipeline.run_cluster([str(chained_corpus)], Settings(), signature_cache=signature_cache)
    assert cold.unplaced == ((str(chained_corpus / "c.txt"), (1,)),)
    assert warm == cold

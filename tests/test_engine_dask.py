"""The Dask engine on a real LocalCluster: two worker processes, one shared by every test here."""

from __future__ import annotations

import itertools
import json
import logging
import random
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from tests.conftest import REPO, SEEDS

from storydiff import cluster
from storydiff.cli import cli
from storydiff.engines import dask_candidates
from storydiff.engines.dask import DaskEngine, HeldSignatures
from storydiff.pipeline import batching
from storydiff.settings import Settings

distributed = pytest.importorskip("dask.distributed")

LABELLED = REPO / "tests" / "data" / "boilerplate" / "labelled.jsonl"


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[object]:
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0", silence_logs=logging.ERROR
    )
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def scheduler(dask_cluster: object) -> str:
    return str(dask_cluster.scheduler_address)  # type: ignore[attr-defined]


def double(batch: list[int], offset: int) -> list[int]:
    return [2 * item + offset for item in batch]


def test_results_come_back_in_submission_order(dask_cluster: object) -> None:
    with distributed.Client(dask_cluster) as client:
        engine = DaskEngine(client=client)
        batches = [[index, index + 1] for index in range(0, 80, 2)]
        results = list(engine.map(double, batches, 1))
        assert list(engine.map(double, [], 1)) == []
    assert [item for batch in results for item in batch] == [2 * index + 1 for index in range(80)]


def run(arguments: list[str]) -> str:
    result = CliRunner().invoke(cli, ["cluster", *arguments])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("output_format", ["json", "jsonl", "text", "html"])
@pytest.mark.parametrize("cache", ["--cache-default", "--no-cache"])
def test_seeds_give_the_same_output_as_the_local_engine(
    scheduler: str, output_format: str, cache: str
) -> None:
    # Without the cache the signatures stay on the workers; with it they come from (and go
    # to) this process's cache and are scattered for the candidate stage.
    options = ["--no-cache"] if cache == "--no-cache" else []
    local = run([str(SEEDS), "--format", output_format, "--jobs", "1", *options])
    dask = run(
        [str(SEEDS), "--format", output_format, "--engine", "dask", "--scheduler", scheduler, *options]
    )
    assert dask == local
    if output_format == "json":
        assert [len(item["members"]) for item in json.loads(dask)["clusters"]] == [2]
    if output_format == "html":
        assert dask.startswith("<!doctype html>")


def _sentence_pool() -> list[str]:
    """Real news sentences: the seeds' and the body lines of the labelled excerpts, each once."""
    pool: dict[str, None] = {}
    for path in sorted(SEEDS.glob("*.txt")):
        for sentence in re.split(r"(?<=[.!?])\s+", path.read_text(encoding="utf-8")):
            if len(sentence.split()) >= 6:
                pool.setdefault(sentence.strip(), None)
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        for item in json.loads(line)["lines"]:
            if item["label"] == "body" and len(item["text"].split()) >= 6:
                pool.setdefault(item["text"].strip(), None)
    return list(pool)


def write_corpus(root: Path, originals: int = 1500, seed: int = 9) -> list[tuple[str, str]]:
    """Articles made of random real sentences, plus edited copies of some of them.

    Copies drop a sentence, replace one with another from the pool, or change a number;
    returns the (original, copy) pairs, which must end up in one cluster.
    """
    rng = random.Random(seed)
    pool = _sentence_pool()
    planted: list[tuple[str, str]] = []
    for number in range(originals):
        sentences = rng.sample(pool, rng.randint(14, 22))
        name = f"{number % 10}/{number:05d}.txt"
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("\n\n".join(sentences) + "\n", encoding="utf-8")
        if number % 3:
            continue
        for copy in range(1 + number % 2):
            edited = list(sentences)
            edit = (number // 3 + copy) % 3
            position = rng.randrange(len(edited))
            if edit == 0:
                del edited[position]
            elif edit == 1:
                edited[position] = rng.choice(pool)
            else:
                edited[position] = edited[position] + " It was 1,234 people, not 190."
            copy_name = f"copies/{number:05d}_{copy}.txt"
            (root / copy_name).parent.mkdir(exist_ok=True)
            (root / copy_name).write_text("\n\n".join(edited) + "\n", encoding="utf-8")
            planted.append((name, copy_name))
    return planted


def _small_partitions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small batches and partitions, so that each stage runs as several tasks on both workers
    and signature partitions are assembled from rows of several signed batches."""
    monkeypatch.setattr(batching, "SIGN_BATCH_FILES", 128)
    monkeypatch.setattr(batching, "VERIFY_BATCH_PAIRS", 64)
    monkeypatch.setattr(batching, "DIFF_BATCH_CLUSTERS", 16)
    monkeypatch.setattr(dask_candidates, "SIGNATURE_PARTITION_ROWS", 300)


@pytest.mark.parametrize("cache", [[], ["--no-cache"]], ids=["cache", "no-cache"])
def test_generated_corpus_gives_the_same_output_as_the_local_engine(
    tmp_path: Path, scheduler: str, monkeypatch: pytest.MonkeyPatch, cache: list[str]
) -> None:
    corpus = tmp_path / "corpus"
    planted = write_corpus(corpus)
    _small_partitions(monkeypatch)
    local = run([str(corpus), "--format", "json", "--jobs", "1", *cache])
    dask = run([str(corpus), "--format", "json", "--engine", "dask", "--scheduler", scheduler, *cache])
    assert dask == local

    report = json.loads(dask)
    assert report["documents"] == 1500 + len(planted) > 2000
    cluster_of = {member["path"]: item["id"] for item in report["clusters"] for member in item["members"]}
    related = {item["id"]: set(item["related"]) for item in report["clusters"]}
    stranded = 0
    for original, copy in planted:
        # Star clusters: a planted copy is in its original's cluster or a related one, or one
        # of the two was left out (its near-duplicates were placed before its turn).
        first, second = cluster_of.get(str(corpus / original)), cluster_of.get(str(corpus / copy))
        if first is None or second is None:
            stranded += 1
            continue
        assert first == second or second in related[first]
    assert stranded <= len(planted) // 50


def test_scheduler_needs_the_dask_engine() -> None:
    result = CliRunner().invoke(cli, ["cluster", str(SEEDS), "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2
    assert "--scheduler needs --engine dask" in result.output


def test_a_file_url_gives_the_same_output_apart_from_the_paths(tmp_path: Path, scheduler: str) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus, originals=60)
    url = corpus.as_uri()
    local = run([str(corpus), "--format", "json", "--jobs", "1"])
    through_fsspec = run([url, "--format", "json", "--engine", "dask", "--scheduler", scheduler])
    assert through_fsspec == local.replace(json.dumps(str(corpus))[1:-1], url)
    assert json.loads(through_fsspec)["inputs"] == [url]
    assert len(json.loads(through_fsspec)["clusters"]) == 20


def test_the_scheduler_can_come_from_the_environment(scheduler: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", scheduler)
    result = CliRunner().invoke(cli, ["cluster", str(SEEDS), "--format", "json", "--engine", "dask"])
    assert result.exit_code == 0, result.output
    assert result.stdout == run([str(SEEDS), "--format", "json"])
    assert "storydiff: Dask dashboard at http" in result.stderr


def test_a_missing_url_is_an_input_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["cluster", (tmp_path / "absent").as_uri()])
    assert result.exit_code == 2
    assert result.stderr == f"Error: {(tmp_path / 'absent').as_uri()}: no such file or directory\n"


def _local_likely_pairs(signatures: np.ndarray, counts: np.ndarray, settings: Settings) -> np.ndarray:
    candidates = cluster.candidate_pairs(
        signatures, counts > 0, counts, settings.lsh_bands, settings.rows_per_band
    )
    return cluster.likely_pairs(candidates, signatures, counts, settings)


def _bucketed_signatures(rng: np.random.Generator, count: int, num_perm: int) -> np.ndarray:
    """Signatures over a tiny alphabet (so bands collide often), with a block of 150 equal rows
    (a bucket over MAX_BUCKET in every band) and a family of 90 near-equal rows."""
    signatures = rng.integers(0, 3, size=(count, num_perm), dtype=np.uint32)
    signatures[100:250] = signatures[0]
    family = signatures[300].copy()
    for row in range(300, 390):
        signatures[row] = family
        signatures[row, rng.integers(0, num_perm, size=8)] = 7
    return signatures


@pytest.mark.parametrize("partition_rows", [256, 1199])  # 1199: the last document alone
def test_the_candidate_stage_gives_the_local_pairs_with_huge_buckets(
    dask_cluster: object, monkeypatch: pytest.MonkeyPatch, partition_rows: int
) -> None:
    settings = Settings()
    rng = np.random.default_rng(9)
    count = 1200
    signatures = _bucketed_signatures(rng, count, settings.num_perm)
    counts = rng.integers(20, 400, size=count).astype(np.int64)
    counts[100:250:7] = 300  # ties in the windowed bucket's size order
    counts[::50] = 0  # not comparable: no shingles
    expected = _local_likely_pairs(signatures, counts, settings)
    bucket = set(range(100, 250)) | {0}
    windowed = [pair for pair in expected.tolist() if pair[0] in bucket and pair[1] in bucket]
    # The huge bucket was windowed, not expanded into all its pairs.
    assert 0 < len(windowed) < len(bucket) * (len(bucket) - 1) // 2
    monkeypatch.setattr(dask_candidates, "SIGNATURE_PARTITION_ROWS", partition_rows)
    with distributed.Client(dask_cluster) as client:
        engine = DaskEngine(client=client)
        # Held as signing leaves them: blocks of uneven length, then some rows signed again.
        bounds = [0, 100, 333, 512, 900, count]
        held = engine.hold(
            [
                (client.scatter(signatures[start:end]), end - start)
                for start, end in itertools.pairwise(bounds)
            ]
        )
        again = np.array([5, 120, 301, 777, 1100], dtype=np.int64)
        held = held.with_rows(again, client.scatter(signatures[again]))
        assert isinstance(held, HeldSignatures)
        from_held = engine.likely_pairs(held, counts, settings)
        scattered = engine.likely_pairs(signatures, counts, settings)
    assert np.array_equal(from_held, expected)
    assert np.array_equal(scattered, expected)


def _write_copies(root: Path, copies: int) -> None:
    """`copies` identical copies of a seed (one band bucket per band, over MAX_BUCKET), and
    every seed once."""
    root.mkdir()
    text = (SEEDS / sorted(path.name for path in SEEDS.glob("*.txt"))[0]).read_text(encoding="utf-8")
    for number in range(copies):
        (root / f"copy_{number:03d}.txt").write_text(text, encoding="utf-8")
    for path in sorted(SEEDS.glob("*.txt")):
        (root / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")


def test_many_identical_documents_give_the_same_report(
    tmp_path: Path, scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "copies"
    _write_copies(corpus, cluster.MAX_BUCKET * 2 + 10)
    _small_partitions(monkeypatch)
    local = run([str(corpus), "--format", "json", "--jobs", "1", "--no-cache"])
    dask = run([str(corpus), "--format", "json", "--engine", "dask", "--scheduler", scheduler, "--no-cache"])
    assert dask == local
    sizes = [len(item["members"]) for item in json.loads(dask)["clusters"]]
    assert sizes == [cluster.MAX_BUCKET * 2 + 10 + 2]  # the copies, their original and its seed pair


FOOTERS = (
    (
        "The harbour council met on Tuesday to discuss the budget for a new ferry timetable.",
        "Readers can send corrections and tips to the regional desk at any hour of the day.",
        "This edition was printed at the northern plant and delivered by the morning vans.",
    ),
    (
        "Weather for the weekend: rain along the coast, clearing inland by Sunday afternoon.",
        "Subscribers who miss a delivery should call the circulation office before noon.",
        "The crossword answers appear on the back page of tomorrow's sports supplement.",
    ),
)


def test_repeated_lines_signed_again_keep_the_output_identical(
    tmp_path: Path, scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Documents holding a repeated line are signed a second time; their new signatures replace
    the first ones on the workers (HeldSignatures.with_rows).

    Each planted copy ends in the other set of footers than its original, so the pair is
    found only with the second signatures: with the first, the estimate filter drops it."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    pool = _sentence_pool()
    for number in range(128):
        sentences = pool[7 * number : 7 * number + 7]
        if number % 4 == 1:  # an edited copy of the document before
            sentences = [*pool[7 * number - 7 : 7 * number], f"It was {number},234 people, not 190."]
        lines = [*sentences, *FOOTERS[number % 2]]
        (corpus / f"{number:03d}.txt").write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    _small_partitions(monkeypatch)
    local = run([str(corpus), "--format", "json", "--jobs", "1", "--no-cache"])
    dask = run([str(corpus), "--format", "json", "--engine", "dask", "--scheduler", scheduler, "--no-cache"])
    assert dask == local
    report = json.loads(dask)
    assert report["boilerplate"]["repeated-line"] == 128 * 3
    cluster_of = {member["path"]: item["id"] for item in report["clusters"] for member in item["members"]}
    for number in range(1, 128, 4):
        assert (
            cluster_of[str(corpus / f"{number:03d}.txt")] == cluster_of[str(corpus / f"{number - 1:03d}.txt")]
        )

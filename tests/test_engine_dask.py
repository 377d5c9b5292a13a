"""The Dask engine on a real LocalCluster: two worker processes, one shared by every test here."""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.conftest import REPO, SEEDS

from storydiff import pipeline
from storydiff.cli import cli
from storydiff.engines.dask import DaskEngine

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


@pytest.mark.parametrize("output_format", ["json", "jsonl", "text"])
def test_seeds_give_the_same_output_as_the_local_engine(scheduler: str, output_format: str) -> None:
    local = run([str(SEEDS), "--format", output_format, "--jobs", "1"])
    dask = run([str(SEEDS), "--format", output_format, "--engine", "dask", "--scheduler", scheduler])
    assert dask == local
    if output_format == "json":
        assert [len(item["members"]) for item in json.loads(dask)["clusters"]] == [2]


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


def test_generated_corpus_gives_the_same_output_as_the_local_engine(
    tmp_path: Path, scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    planted = write_corpus(corpus)
    # Small batches, so that each stage runs as several tasks on both workers.
    monkeypatch.setattr(pipeline, "SIGN_BATCH_FILES", 128)
    monkeypatch.setattr(pipeline, "VERIFY_BATCH_PAIRS", 64)
    monkeypatch.setattr(pipeline, "DIFF_BATCH_CLUSTERS", 16)
    local = run([str(corpus), "--format", "json", "--jobs", "1"])
    dask = run([str(corpus), "--format", "json", "--engine", "dask", "--scheduler", scheduler])
    assert dask == local

    report = json.loads(dask)
    assert report["documents"] == 1500 + len(planted) > 2000
    cluster_of = {member["path"]: item["id"] for item in report["clusters"] for member in item["members"]}
    for original, copy in planted:
        assert cluster_of[str(corpus / original)] == cluster_of[str(corpus / copy)]


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

"""The same corpus and settings give byte-identical JSON: whatever --jobs and batch sizes, across
runs and processes, and whatever order the file system lists directories in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.conftest import SEED_000, SEED_001, SEED_002
from tests.test_ingest import reverse_listings

from storydiff.cli import cli
from storydiff.pipeline import batching


@pytest.fixture
def messy_corpus(tmp_path: Path, seeds_dir: Path) -> Path:
    """Near-duplicates spread over directories, with bad files, links and an undecodable name."""
    root = tmp_path / "messy"
    texts = {name: (seeds_dir / name).read_text(encoding="utf-8") for name in (SEED_000, SEED_001, SEED_002)}
    edits = [("190", "250"), ("Mali", "Mali\u202e"), ("French", "[bold]French[/]"), ("\n", "\r\n")]
    for site, (old, new) in enumerate(edits):
        for name, text in texts.items():
            path = root / f"site{site}" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.replace(old, new).encode("utf-8"))
    (root / "site0" / "empty.txt").write_text("")
    (root / "site1" / "binary.txt").write_bytes(b"\x00\x01\x02")
    (root / "site2" / "latin1.txt").write_bytes("Caf\xe9".encode("latin-1"))
    os.symlink(root / "site0", root / "alias")
    os.symlink(root / "site3", root / "site2" / "inner-alias")
    os.link(root / "site1" / SEED_002, root / "site3" / "hardlinked.txt")
    (Path(os.fsdecode(os.fsencode(root / "site3") + b"/caf\xe9.txt"))).write_text(texts[SEED_000])
    return root


def cluster_json(corpus: Path, jobs: int) -> bytes:
    result = CliRunner().invoke(cli, ["cluster", str(corpus), "--format", "json", "--jobs", str(jobs)])
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def test_same_json_whatever_jobs_batches_runs_and_listing_order(
    messy_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = cluster_json(messy_corpus, 1)
    assert cluster_json(messy_corpus, 1) == reference  # again, in a process that has diffed before
    monkeypatch.setattr(batching, "SIGN_BATCH_FILES", 2)
    monkeypatch.setattr(batching, "VERIFY_BATCH_PAIRS", 1)
    monkeypatch.setattr(batching, "DIFF_BATCH_CLUSTERS", 1)  # each cluster in whichever worker is free
    assert cluster_json(messy_corpus, 2) == reference
    assert cluster_json(messy_corpus, 3) == reference
    reverse_listings(monkeypatch)
    assert cluster_json(messy_corpus, 1) == reference
    assert len(reference) > 10_000


def test_same_json_from_a_fresh_process_with_another_hash_seed(messy_corpus: Path) -> None:
    reference = cluster_json(messy_corpus, 1)
    result = subprocess.run(
        [sys.executable, "-m", "storydiff", "cluster", str(messy_corpus), "--format", "json", "--jobs", "2"],
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        check=True,
    )
    assert result.stdout == reference


def test_same_json_whatever_the_process_diffed_before(
    messy_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's diff code table holds what it diffed earlier; the output must not show it."""
    from storydiff import diff

    reference = cluster_json(messy_corpus, 1)
    for earlier_words in (90, 300, 440, 560):  # each changed the seeds' diff before codes were uniform
        monkeypatch.setattr(diff, "_CODES", diff._CodeTable())
        diff.tokenize(" ".join(f"earlier{number}" for number in range(earlier_words)))
        assert cluster_json(messy_corpus, 1) == reference

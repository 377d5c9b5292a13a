from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from storydiff.cli import cli
from storydiff.engines.local import LocalEngine
from storydiff.pipeline import batching


def double(batch: list[int], offset: int) -> list[int]:
    return [2 * item + offset for item in batch]


def test_results_come_back_in_submission_order() -> None:
    batches = [[index, index + 1] for index in range(0, 40, 2)]
    with LocalEngine(jobs=2) as engine:
        results = list(engine.map(double, batches, 1))
    assert [item for batch in results for item in batch] == [2 * index + 1 for index in range(40)]


def test_output_does_not_depend_on_jobs_or_batch_size(
    tmp_path: Path, seeds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    for copy in range(4):
        shutil.copytree(seeds_dir, corpus / f"site{copy}")
    (corpus / "site2" / "000_6cbf83f250581d03.txt").write_text(
        (seeds_dir / "000_6cbf83f250581d03.txt").read_text().replace("190", "250"), encoding="utf-8"
    )
    outputs = []
    # SIGN_PART_CHARS is read in the workers, so only the one-job run sees a patched value.
    for jobs, batch, part in [(1, 512, 8 << 20), (2, 2, 8 << 20), (2, 3, 8 << 20), (1, 5, 6000)]:
        monkeypatch.setattr(batching, "SIGN_PART_CHARS", part)
        monkeypatch.setattr(batching, "SIGN_BATCH_FILES", batch)
        monkeypatch.setattr(batching, "VERIFY_BATCH_PAIRS", batch)
        monkeypatch.setattr(batching, "DIFF_BATCH_CLUSTERS", batch)
        result = CliRunner().invoke(cli, ["cluster", str(corpus), "--format", "json", "--jobs", str(jobs)])
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] == outputs[2] == outputs[3]
    data = json.loads(outputs[0])
    assert [len(c["members"]) for c in data["clusters"]] == [8, 4]

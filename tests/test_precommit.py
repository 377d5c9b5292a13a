"""The real pre-commit tool with this checkout's hook, in a temporary git repository.

pre-commit clones the hook repository (this checkout, at its HEAD commit: commit before
running this test, or it tests the previous commit's hook) and installs storydiff with its
dependencies into its own environment, from PyPI, so the first run needs the network; the
environment is kept for the session in PRE_COMMIT_HOME below the pytest base temp.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import REPO, SEED_000, SEED_001, SEED_002, SEEDS

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or importlib.util.find_spec("pre_commit") is None,
    reason="needs git and pre-commit",
)


def git(repository: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=repository,
        capture_output=True,
        text=True,
    )


def test_precommit_hook_blocks_a_near_duplicate_until_it_is_in_the_baseline(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    head = git(REPO, "rev-parse", "HEAD").stdout.strip()
    repository = tmp_path / "newsroom"
    repository.mkdir()
    assert git(repository, "init", "-q").returncode == 0
    (repository / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {REPO}\n    rev: {head}\n    hooks:\n      - id: storydiff\n", encoding="utf-8"
    )
    (repository / "articles").mkdir()
    shutil.copy(SEEDS / SEED_000, repository / "articles" / "mali.txt")
    git(repository, "add", ".")
    assert git(repository, "commit", "-q", "-m", "first article", "--no-verify").returncode == 0

    environment = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path_factory.getbasetemp() / "pre-commit-home"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    install = subprocess.run(
        [sys.executable, "-m", "pre_commit", "install"], cwd=repository, env=environment, capture_output=True
    )
    assert install.returncode == 0, install.stderr

    def commit(message: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-m", message],
            cwd=repository,
            env=environment,
            capture_output=True,
            text=True,
        )

    shutil.copy(SEEDS / SEED_001, repository / "articles" / "mali_update.txt")
    git(repository, "add", "articles/mali_update.txt")
    refused = commit("an edited copy")
    output = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode != 0, output
    assert "storydiff (near-duplicate texts)" in output and "Failed" in output
    assert "articles/mali_update.txt Jaccard 0.71 · containment 0.87" in output
    assert "near-duplicate of articles/mali.txt" in output

    baseline = subprocess.run(
        [sys.executable, "-m", "storydiff", "baseline"], cwd=repository, env=environment, capture_output=True
    )
    assert baseline.returncode == 0, baseline.stderr
    git(repository, "add", ".storydiff-baseline.json")
    accepted = commit("an edited copy, accepted")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "storydiff (near-duplicate texts)" in accepted.stderr and "Passed" in accepted.stderr

    shutil.copy(SEEDS / SEED_002, repository / "articles" / "other.txt")
    git(repository, "add", "articles/other.txt")
    unrelated = commit("another story")
    assert unrelated.returncode == 0, unrelated.stdout + unrelated.stderr
    assert "Passed" in unrelated.stderr

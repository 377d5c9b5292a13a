"""README.md is followed literally: its length, its links, and its pre-commit block run by the
real pre-commit in a temporary git repository."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import REPO, SEED_000, SEED_001, SEEDS

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_the_readme_is_a_guide_of_at_most_300_lines() -> None:
    assert len(README.splitlines()) <= 300


def test_the_readme_keeps_the_two_fresh_machine_commands() -> None:
    assert (
        "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/storydiff cluster examples/seeds\n"
        in README
    )
    assert (
        "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest\n"
        in README
    )


def test_every_page_the_readme_links_to_exists() -> None:
    links = re.findall(r"\]\(([^)#]+)\)", README)
    assert "docs/bad-input.md" in links and "docs/json.md" in links
    assert [link for link in links if not (REPO / link).exists()] == []


def local_hook_block() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", README, re.DOTALL)
    (block,) = [block for block in blocks if "repo: local" in block]
    return block


def git(
    repository: Path, *args: str, environ: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=repository,
        capture_output=True,
        text=True,
        env=environ,
    )


@pytest.mark.skipif(
    shutil.which("git") is None or importlib.util.find_spec("pre_commit") is None,
    reason="needs git and pre-commit",
)
def test_the_readme_pre_commit_block_works_as_written(tmp_path: Path) -> None:
    repository = tmp_path / "newsroom"
    repository.mkdir()
    assert git(repository, "init", "-q").returncode == 0
    (repository / ".pre-commit-config.yaml").write_text(local_hook_block(), encoding="utf-8")
    (repository / "articles").mkdir()
    shutil.copy(SEEDS / SEED_000, repository / "articles" / "mali.txt")
    environ = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "STORYDIFF_CACHE": str(tmp_path / "cache.sqlite"),
        # storydiff installed where `git commit` runs, as the README asks: this interpreter's.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    install = subprocess.run(
        [sys.executable, "-m", "pre_commit", "install"],
        cwd=repository,
        env=environ,
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
    git(repository, "add", ".")
    first = git(repository, "commit", "-q", "-m", "first article", environ=environ)
    assert first.returncode == 0, first.stdout + first.stderr

    shutil.copy(SEEDS / SEED_001, repository / "articles" / "mali-updated.txt")
    git(repository, "add", ".")
    blocked = git(repository, "commit", "-q", "-m", "a copy", environ=environ)
    assert blocked.returncode == 1
    said = blocked.stdout + blocked.stderr
    assert "near-duplicate of articles/mali.txt" in said
    assert "run `storydiff baseline --update` and commit .storydiff-baseline.json" in said
    assert "`SKIP=storydiff git commit`" in said

    accepted = subprocess.run(
        ["storydiff", "baseline"], cwd=repository, env=environ, capture_output=True, text=True
    )
    assert accepted.returncode == 0, accepted.stderr
    git(repository, "add", ".storydiff-baseline.json")
    again = git(repository, "commit", "-q", "-m", "a copy, accepted", environ=environ)
    assert again.returncode == 0, again.stdout + again.stderr
    assert git(repository, "ls-files").stdout.split() == [
        ".pre-commit-config.yaml",
        ".storydiff-baseline.json",
        "articles/mali-updated.txt",
        "articles/mali.txt",
    ]

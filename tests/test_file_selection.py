from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from storydiff import ingest
from storydiff.check import tracked_files
from storydiff.file_selection import FileSelection
from storydiff.settings import Settings

FILES = ("a.txt", "b.md", "drafts/c.txt", "drafts/old/d.txt", "news/drafts/e.txt", "news/f.txt")

# pattern -> the files of FILES it leaves (with the glob *.txt)
CASES = {
    "drafts": ("a.txt", "news/f.txt"),
    "drafts/": ("a.txt", "news/drafts/e.txt", "news/f.txt"),
    "drafts/*": ("a.txt", "news/drafts/e.txt", "news/f.txt"),
    "*/drafts": ("a.txt", "drafts/c.txt", "drafts/old/d.txt", "news/f.txt"),
    "old": ("a.txt", "drafts/c.txt", "news/drafts/e.txt", "news/f.txt"),
    "f.txt": ("a.txt", "drafts/c.txt", "drafts/old/d.txt", "news/drafts/e.txt"),
    "news/*.txt": ("a.txt", "drafts/c.txt", "drafts/old/d.txt"),
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f"{name}\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(("pattern", "kept"), CASES.items())
def test_takes_leaves_out_excluded_files_and_everything_in_excluded_directories(
    pattern: str, kept: tuple[str, ...]
) -> None:
    selection = FileSelection("*.txt", (pattern,))
    assert tuple(name for name in FILES if selection.takes(name)) == kept


@pytest.mark.parametrize(("pattern", "kept"), CASES.items())
def test_the_walk_takes_what_the_selection_takes(tree: Path, pattern: str, kept: tuple[str, ...]) -> None:
    sources, skipped = ingest.discover([str(tree)], "*.txt", (pattern,))
    assert skipped == []
    assert [source.path for source in sources] == [str(tree / name) for name in kept]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize(("pattern", "kept"), CASES.items())
def test_git_tracked_files_take_what_the_walk_takes(tree: Path, pattern: str, kept: tuple[str, ...]) -> None:
    subprocess.run(["git", "init", "-q"], cwd=tree, check=True)
    subprocess.run(["git", "add", "."], cwd=tree, check=True)
    found = tracked_files(Settings(exclude=(pattern,)), str(tree))
    assert sorted(found) == [str(tree / name) for name in kept]


def test_without_exclude_patterns_only_the_glob_counts() -> None:
    selection = FileSelection("*.txt")
    assert [name for name in FILES if selection.takes(name)] == [
        "a.txt",
        "drafts/c.txt",
        "drafts/old/d.txt",
        "news/drafts/e.txt",
        "news/f.txt",
    ]
    assert not selection.excludes("drafts", "drafts", is_dir=True)

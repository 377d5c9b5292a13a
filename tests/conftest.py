from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# `pytest --hypothesis-profile=thorough` runs every property and the fuzz test on 2,000
# examples (about ten minutes); CI runs hypothesis's default of 100, and fewer for the
# tests that run the whole pipeline per example (see `examples`).
settings.register_profile("thorough", max_examples=2000, deadline=None)


def examples(in_ci: int) -> int:
    """`in_ci` examples under the default profile, the profile's count under a bigger one."""
    return max(in_ci, settings.default.max_examples) if settings.default.max_examples > 100 else in_ci


REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "examples" / "seeds"
SEED_000 = "000_6cbf83f250581d03.txt"
SEED_001 = "001_f0087190d5a72797.txt"
SEED_002 = "002_2f935c21ced63642.txt"


@pytest.fixture
def seeds_dir() -> Path:
    """examples/seeds as a user in the repository types it (tests run from its root): output
    then does not depend on where the checkout lives, as a long absolute path wraps text."""
    return SEEDS.relative_to(REPO)


@pytest.fixture(autouse=True)
def _in_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


@pytest.fixture
def seed_texts() -> dict[str, str]:
    return {name: (SEEDS / name).read_text(encoding="utf-8") for name in (SEED_000, SEED_001, SEED_002)}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of the seeds, for tests that add or break files."""
    target = tmp_path / "corpus"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own signature cache, never the user's."""
    path = tmp_path_factory.mktemp("cache") / "signatures.sqlite"
    monkeypatch.setenv("STORYDIFF_CACHE", str(path))
    return path


CORRECTED = "updates/000_corrected.txt"
WIRE = "wire/000_wire.txt"


@pytest.fixture
def dedup_corpus(tmp_path: Path) -> Path:
    """The seeds plus two edited copies of 000, in subdirectories: one cluster of four, one singleton.

    - updates/000_corrected.txt: 190 soldiers became 900 and a correction was appended (the longest);
    - wire/000_wire.txt: "about 1,700 troops" became "about 2,500 troops" (the last path).
    001 is the shortest, 000 the first path; 002 has no near-duplicate.
    """
    target = tmp_path / "corpus"
    shutil.copytree(SEEDS, target)
    original = (SEEDS / SEED_000).read_text(encoding="utf-8")
    corrected = original.replace("told CNN that 190 of its soldiers", "told CNN that 900 of its soldiers")
    corrected += (
        "\n\nCorrection: An earlier version of this story gave the wrong number of Nigerian soldiers "
        "due to arrive in Mali. The army said 900 would go, not 190.\n"
    )
    wire = original.replace("about 1,700 troops", "about 2,500 troops")
    assert corrected != original and wire != original
    for relative, text in ((CORRECTED, corrected), (WIRE, wire)):
        (target / relative).parent.mkdir()
        (target / relative).write_text(text, encoding="utf-8")
    return target


def tree_fingerprint(root: Path) -> dict[str, tuple[str, int]]:
    """Every file below `root`: its SHA-256 and modification time, to show a tree was not touched."""
    return {
        str(path.relative_to(root)): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def chained_corpus(tmp_path: Path) -> Path:
    """Three overlapping windows of a seed, a ~ b ~ c with c no near-duplicate of a (Jaccard
    0.35), and a story of its own: a, the longest, takes b into its cluster, and c, a
    near-duplicate of b only, is left out of it."""
    words = (SEEDS / SEED_000).read_text(encoding="utf-8").split()
    root = tmp_path / "chained"
    root.mkdir()
    for name, (start, end) in {"a": (150, 355), "b": (200, 400), "c": (250, 450)}.items():
        (root / f"{name}.txt").write_text(" ".join(words[start:end]) + "\n", encoding="utf-8")
    shutil.copyfile(SEEDS / SEED_002, root / "d.txt")
    return root

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "examples" / "seeds"
SEED_000 = "000_6cbf83f250581d03.txt"
SEED_001 = "001_f0087190d5a72797.txt"
SEED_002 = "002_2f935c21ced63642.txt"


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS


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

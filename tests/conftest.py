from __future__ import annotations

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

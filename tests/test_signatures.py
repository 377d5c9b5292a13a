from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import SEED_000, SEED_001, SEED_002

from storydiff import boilerplate, shingles, signatures


@pytest.fixture
def seed_sets(seed_texts: dict[str, str]) -> dict[str, np.ndarray]:
    cleaned = {
        name: boilerplate.strip(text, boilerplate.NEWS_RULES).text for name, text in seed_texts.items()
    }
    return {name: shingles.shingle_set(text, 5) for name, text in cleaned.items()}


def exact_jaccard(left: np.ndarray, right: np.ndarray) -> float:
    shared = len(np.intersect1d(left, right))
    return shared / (len(left) + len(right) - shared)


def test_estimates_are_unbiased_on_real_text(seed_sets: dict[str, np.ndarray]) -> None:
    exact = exact_jaccard(seed_sets[SEED_000], seed_sets[SEED_001])
    estimates = [
        signatures.estimated_jaccard(
            signatures.signature(seed_sets[SEED_000], 128, seed),
            signatures.signature(seed_sets[SEED_001], 128, seed),
        )
        for seed in range(100)
    ]
    assert abs(np.mean(estimates) - exact) < 0.015
    assert np.std(estimates) < 0.06  # classic 128-permutation MinHash: sqrt(J(1-J)/128) = 0.040
    unrelated = signatures.signature(seed_sets[SEED_002], 128, 1)
    assert signatures.estimated_jaccard(signatures.signature(seed_sets[SEED_000], 128, 1), unrelated) < 0.05


@pytest.mark.parametrize("size", [3, 40, 400])
def test_densified_estimates_stay_unbiased_for_short_texts(size: int) -> None:
    rng = np.random.default_rng(size)
    left = rng.integers(0, 2**63, size=size, dtype=np.uint64)
    shared = size // 2 + 1
    right = np.concatenate([left[:shared], rng.integers(0, 2**63, size=size - shared, dtype=np.uint64)])
    exact = exact_jaccard(np.unique(left), np.unique(right))
    estimates = [
        signatures.estimated_jaccard(
            signatures.signature(left, 128, seed), signatures.signature(right, 128, seed)
        )
        for seed in range(200)
    ]
    assert abs(np.mean(estimates) - exact) < 0.02


def test_every_bin_is_filled_and_empty_texts_stay_empty() -> None:
    batch = shingles.batch_shingles(["Mali", "", "troops arrive in Mali within hours"], 5)
    rows = signatures.batch_signatures(batch, 64, 7)
    assert (rows[0] == rows[0][0]).all()  # one shingle: every bin holds its value
    assert (rows[1] == signatures.EMPTY).all()
    assert not (rows[2] == signatures.EMPTY).any()


def test_batch_and_single_signatures_agree(
    seed_sets: dict[str, np.ndarray], seed_texts: dict[str, str]
) -> None:
    texts = list(seed_texts.values())
    rows = signatures.batch_signatures(shingles.batch_shingles(texts, 5), 128, 1)
    for row, text in zip(rows, texts, strict=True):
        assert np.array_equal(row, signatures.signature(shingles.shingle_set(text, 5), 128, 1))


def test_signatures_work_as_datasketch_minhashes(seed_sets: dict[str, np.ndarray]) -> None:
    left = signatures.signature(seed_sets[SEED_000], 128, 1)
    right = signatures.signature(seed_sets[SEED_001], 128, 1)
    assert signatures.to_minhash(left, 1).jaccard(signatures.to_minhash(right, 1)) == (
        signatures.estimated_jaccard(left, right)
    )


def test_bad_parameters_fail_early() -> None:
    with pytest.raises(ValueError, match="num_perm must be at least 2"):
        signatures.batch_signatures(shingles.batch_shingles(["x"], 5), 1, 1)

from __future__ import annotations

import numpy as np
from datasketch import MinHash
from tests.conftest import SEED_000, SEED_001, SEED_002

from storydiff import boilerplate, shingles, signatures


def test_signature_is_datasketchs_minhash(seed_texts: dict[str, str]) -> None:
    hashes = shingles.shingle_set(seed_texts[SEED_001], 5)
    reference = MinHash(num_perm=64, seed=3, hashfunc=lambda value: value & 0xFFFFFFFF, scheme="affine32")
    reference.update_batch(hashes.tolist())
    assert np.array_equal(signatures.signature(hashes, 64, 3), reference.hashvalues)


def test_estimate_tracks_exact_jaccard(seed_texts: dict[str, str]) -> None:
    cleaned = {
        name: boilerplate.strip(text, boilerplate.NEWS_RULES).text for name, text in seed_texts.items()
    }
    sets = {name: shingles.shingle_set(text, 5) for name, text in cleaned.items()}
    sigs = {name: signatures.signature(values, 256, 1) for name, values in sets.items()}
    shared = len(np.intersect1d(sets[SEED_000], sets[SEED_001]))
    exact = shared / (len(sets[SEED_000]) + len(sets[SEED_001]) - shared)
    assert abs(signatures.estimated_jaccard(sigs[SEED_000], sigs[SEED_001]) - exact) < 0.1
    assert signatures.estimated_jaccard(sigs[SEED_000], sigs[SEED_002]) < 0.05
    as_minhash = signatures.to_minhash(sigs[SEED_000], 1)
    assert as_minhash.jaccard(signatures.to_minhash(sigs[SEED_001], 1)) == signatures.estimated_jaccard(
        sigs[SEED_000], sigs[SEED_001]
    )

"""MinHash signatures by one-permutation hashing with optimal densification.

Classic MinHash applies `num_perm` hash functions to every shingle. One-permutation hashing
(Li, Owen and Zhang, 2012) hashes each shingle once, splits the hash range into `num_perm`
bins and keeps the minimum per bin: the same kind of signature, for the cost of one pass.
Bins left empty (texts with few shingles) are filled by optimal densification (Shrivastava,
2017): an empty bin copies the value of the first non-empty bin in a probe sequence that
depends only on the bin and the seed, so two texts agree on a bin with probability equal to
their Jaccard similarity, as with classic MinHash.

Signatures are uint32 arrays. They work unchanged as datasketch `hashvalues` (see
`to_minhash`), so datasketch's `jaccard()`, `MinHashLSH` and the rest apply to them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from .shingles import ShingleBatch

SCHEME = "affine32"  # the datasketch scheme whose value range (uint32) these signatures use
EMPTY = np.uint32(0xFFFFFFFF)


def batch_signatures(batch: ShingleBatch, num_perm: int, seed: int) -> npt.NDArray[np.uint32]:
    """One signature row per text of the batch; a text without shingles gets all EMPTY.

    Computed by the compiled core (rust/core/src/signatures.rs), in parallel over texts.
    """
    if num_perm < 2:
        raise ValueError(f"num_perm must be at least 2, got {num_perm}")
    return _core.signatures(
        np.ascontiguousarray(batch.hashes, dtype=np.uint64),
        np.ascontiguousarray(batch.offsets, dtype=np.int64),
        num_perm,
        seed & 0xFFFFFFFFFFFFFFFF,
    )


def signature(shingle_hashes: npt.NDArray[np.uint64], num_perm: int, seed: int) -> npt.NDArray[np.uint32]:
    """The signature of one text's shingle hashes (duplicates allowed)."""
    offsets = np.array([0, len(shingle_hashes)], dtype=np.int64)
    batch = ShingleBatch(shingle_hashes, offsets, np.zeros(1, dtype=np.int64))
    row: npt.NDArray[np.uint32] = batch_signatures(batch, num_perm, seed)[0]
    return row


def estimated_jaccard(left: npt.NDArray[np.uint32], right: npt.NDArray[np.uint32]) -> float:
    return float(np.count_nonzero(left == right)) / len(left)


def to_minhash(values: npt.NDArray[np.uint32], seed: int) -> Any:
    """A datasketch MinHash holding a signature computed here, for use with datasketch's tools."""
    from datasketch import MinHash

    return MinHash(num_perm=len(values), seed=seed, hashvalues=values, scheme=SCHEME)

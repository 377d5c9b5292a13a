"""MinHash signatures of shingle sets, compatible with datasketch.

A signature here is exactly the `hashvalues` of a datasketch `MinHash` built with the same
`num_perm` and `seed`, the "affine32" scheme, and the low 32 bits of each shingle hash as
its hash function; `to_minhash` turns one back into a datasketch object.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

SCHEME = "affine32"
_LOW32 = np.uint64(0xFFFFFFFF)


def _low32(value: int) -> int:
    return value & 0xFFFFFFFF


@lru_cache(maxsize=8)
def _template(num_perm: int, seed: int) -> Any:
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=seed, hashfunc=_low32, scheme=SCHEME)


def signature(shingle_hashes: npt.NDArray[np.uint64], num_perm: int, seed: int) -> npt.NDArray[np.uint32]:
    """The MinHash signature of one document's shingle hashes (duplicates allowed)."""
    from datasketch import MinHash

    template = _template(num_perm, seed)
    minhash = MinHash(
        num_perm=num_perm, seed=seed, hashfunc=_low32, scheme=SCHEME, permutations=template.permutations
    )
    if len(shingle_hashes):
        minhash.update_batch((shingle_hashes & _LOW32).tolist())
    return np.asarray(minhash.hashvalues, dtype=np.uint32)


def to_minhash(values: npt.NDArray[np.uint32], seed: int) -> Any:
    """A datasketch MinHash holding a signature computed here, for use with datasketch's tools."""
    from datasketch import MinHash

    return MinHash(num_perm=len(values), seed=seed, hashvalues=values, scheme=SCHEME)


def estimated_jaccard(left: npt.NDArray[np.uint32], right: npt.NDArray[np.uint32]) -> float:
    return float(np.count_nonzero(left == right)) / len(left)

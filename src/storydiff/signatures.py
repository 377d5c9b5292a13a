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

from .shingles import ShingleBatch, mix64

SCHEME = "affine32"  # the datasketch scheme whose value range (uint32) these signatures use
EMPTY = np.uint32(0xFFFFFFFF)
_U64 = np.uint64
_MAX_PROBES = 1 << 14


def _seeded(values: npt.NDArray[np.uint64], seed: int, salt: int) -> npt.NDArray[np.uint64]:
    key = mix64(np.array([(seed * 0x9E3779B97F4A7C15 + salt) & 0xFFFFFFFFFFFFFFFF], dtype=_U64))
    return mix64(values ^ key)


def _bin_of(hashes: npt.NDArray[np.uint64], num_perm: int) -> npt.NDArray[np.int64]:
    """Fast range reduction of the high 32 bits onto 0..num_perm-1."""
    with np.errstate(over="ignore"):
        bins: npt.NDArray[np.int64] = ((hashes >> _U64(32)) * _U64(num_perm) >> _U64(32)).astype(np.int64)
    return bins


def batch_signatures(batch: ShingleBatch, num_perm: int, seed: int) -> npt.NDArray[np.uint32]:
    """One signature row per text of the batch; a text without shingles gets all EMPTY."""
    count = len(batch.offsets) - 1
    if num_perm < 2:
        raise ValueError(f"num_perm must be at least 2, got {num_perm}")
    hashed = _seeded(batch.hashes, seed, 1)
    owners = np.repeat(np.arange(count, dtype=np.int64), np.diff(batch.offsets))
    slots = owners * num_perm + _bin_of(hashed, num_perm)
    values = (hashed & _U64(0xFFFFFFFF)).astype(np.uint32)

    flat = np.full(count * num_perm, EMPTY, dtype=np.uint32)
    np.minimum.at(flat, slots, values)
    filled = np.zeros(count * num_perm, dtype=bool)
    filled[slots] = True
    signatures = flat.reshape(count, num_perm)
    _densify(signatures, filled.reshape(count, num_perm), seed)
    return signatures


def _densify(signatures: npt.NDArray[np.uint32], filled: npt.NDArray[np.bool_], seed: int) -> None:
    """Fill each empty bin from the first filled bin of its probe sequence (in place)."""
    num_perm = signatures.shape[1]
    has_any: npt.NDArray[np.bool_] = np.asarray(filled.any(axis=1))
    rows, columns = np.nonzero(~filled & has_any[:, None])
    attempt = 0
    while len(rows) and attempt < _MAX_PROBES:
        attempt += 1
        probe_keys = columns.astype(_U64) * _U64(_MAX_PROBES) + _U64(attempt)
        probes = _bin_of(_seeded(probe_keys, seed, 2), num_perm)
        found = filled[rows, probes]
        signatures[rows[found], columns[found]] = signatures[rows[found], probes[found]]
        rows, columns = rows[~found], columns[~found]
    for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
        # Practically unreachable (one filled bin and 16,384 unlucky probes): take the next
        # filled bin to the right, which still depends only on the bin, not on the text.
        order = [(column + step) % num_perm for step in range(1, num_perm)]
        source = next(index for index in order if filled[row, index])
        signatures[row, column] = signatures[row, source]


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

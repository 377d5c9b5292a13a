"""The candidate stage on a Dask cluster: band keys, a shuffle by band key, buckets, the estimate filter.

The driver never gathers the signatures. They stay on the workers as one block (a future of
a uint32 array) per signed batch; this module assembles them into partitions of consecutive
documents, as a Dask DataFrame indexed by document with known divisions, and then:

1. each signature partition emits its documents' band keys: (band, key, doc, size) rows,
   comparable documents only (`cluster.band_keys`);
2. the band keys are shuffled on (band, key), so that every bucket lies in one partition;
3. each partition's buckets become pair codes with `cluster.bucket_pair_codes`, the function
   the local engine runs per band, huge-bucket rule included, so the pairs are the same;
4. the pairs are shuffled on their right document into the signature partitions' ranges
   (`set_index` with the signatures' divisions): a pair found in several bands lands in one
   partition and is kept once there, and the right document's signature is attached from
   the partition alongside;
5. the pairs are shuffled again, on their left document, and `cluster.likely_mask` (the
   local engine's estimate filter) keeps those that could reach the thresholds.

Only the likely pairs (about one per document) come back to the driver, which verifies them
as the local engine does. Everything here is a pure function of its partitions.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .. import cluster
from ..settings import Settings

# Documents per signature partition: 8 MB of signatures at 128 permutations. Band keys are
# 64 × 26 bytes a document, so the band-key shuffle writes BAND_KEY_SPREAD times as many
# partitions to keep them about as large.
SIGNATURE_PARTITION_ROWS = 16384
BAND_KEY_SPREAD = 4

PairArray = npt.NDArray[np.int64]


def signature_columns(num_perm: int) -> list[str]:
    return [f"s{position}" for position in range(num_perm)]


def right_columns(num_perm: int) -> list[str]:
    return [f"r{position}" for position in range(num_perm)]


def signature_meta(num_perm: int) -> pd.DataFrame:
    columns: dict[str, Any] = {"count": np.empty(0, np.int64)}
    columns.update({name: np.empty(0, np.uint32) for name in signature_columns(num_perm)})
    return pd.DataFrame(columns, index=pd.Index(np.empty(0, np.int64), name="doc"))


def band_key_meta() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "band": np.empty(0, np.int16),
            "key": np.empty(0, np.uint64),
            "doc": np.empty(0, np.int64),
            "size": np.empty(0, np.int64),
        }
    )


def pair_meta() -> pd.DataFrame:
    return pd.DataFrame({"left": np.empty(0, np.int64), "right": np.empty(0, np.int64)})


def attached_meta(num_perm: int) -> pd.DataFrame:
    columns: dict[str, Any] = {
        "left": np.empty(0, np.int64),
        "right": np.empty(0, np.int64),
        "right_count": np.empty(0, np.int64),
    }
    columns.update({name: np.empty(0, np.uint32) for name in right_columns(num_perm)})
    return pd.DataFrame(columns)


def assemble(
    length: int, placements: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]], *blocks: Any
) -> Any:
    """A partition's signatures (`length` rows) from rows of signed blocks: block i's rows
    `placements[i][0]` go to the partition's rows `placements[i][1]`."""
    num_perm = blocks[0].shape[1]
    signatures = np.empty((length, num_perm), dtype=np.uint32)
    for (source_rows, target_rows), block in zip(placements, blocks, strict=True):
        signatures[target_rows] = block[source_rows]
    return signatures


def signature_frame(
    signatures: npt.NDArray[np.uint32], start: int, counts: npt.NDArray[np.int64]
) -> pd.DataFrame:
    """A signature partition as a frame: index the document, its shingle count, its signature."""
    columns: dict[str, Any] = {"count": counts.astype(np.int64, copy=False)}
    columns.update(zip(signature_columns(signatures.shape[1]), signatures.T, strict=True))
    return pd.DataFrame(columns, index=pd.RangeIndex(start, start + len(counts), name="doc").astype(np.int64))


def _signatures_of(frame: pd.DataFrame) -> npt.NDArray[np.uint32]:
    names = [name for name in frame.columns if name != "count"]
    matrix: npt.NDArray[np.uint32] = frame[names].to_numpy(dtype=np.uint32)
    return matrix


def band_key_frame(frame: pd.DataFrame, bands: int, rows: int) -> pd.DataFrame:
    """Every band's key of the partition's comparable documents (those with a shingle)."""
    comparable = frame["count"].to_numpy() > 0
    signatures = _signatures_of(frame)[comparable]
    documents = frame.index.to_numpy(dtype=np.int64)[comparable]
    sizes = frame["count"].to_numpy(dtype=np.int64)[comparable]
    members = len(documents)
    keys = np.empty(bands * members, dtype=np.uint64)
    for band in range(bands):
        keys[band * members : (band + 1) * members] = cluster.band_keys(signatures, band, rows)
    return pd.DataFrame(
        {
            "band": np.repeat(np.arange(bands, dtype=np.int16), members),
            "key": keys,
            "doc": np.tile(documents, bands),
            "size": np.tile(sizes, bands),
        }
    )


def bucket_pairs(frame: pd.DataFrame, count: int) -> pd.DataFrame:
    """The pairs of the buckets in one shuffle partition of band keys, distinct within it."""
    bands = frame["band"].to_numpy()
    order = np.argsort(bands, kind="stable")
    bands = bands[order]
    keys = frame["key"].to_numpy(dtype=np.uint64)[order]
    documents = frame["doc"].to_numpy(dtype=np.int64)[order]
    sizes = frame["size"].to_numpy(dtype=np.int64)[order]
    boundaries = np.flatnonzero(np.concatenate(([True], bands[1:] != bands[:-1], [True])))
    codes = [
        cluster.bucket_pair_codes(keys[start:end], documents[start:end], sizes[start:end], count)
        for start, end in itertools.pairwise(boundaries)
        if end - start > 1
    ]
    distinct = cluster.sorted_distinct(np.concatenate(codes)) if codes else np.empty(0, np.int64)
    pairs = cluster.pairs_from_codes(distinct, count)
    return pd.DataFrame({"left": pairs[:, 0], "right": pairs[:, 1]})


def _distinct_pairs(left: npt.NDArray[np.int64], right: npt.NDArray[np.int64], count: int) -> PairArray:
    return cluster.pairs_from_codes(cluster.sorted_distinct(left * count + right), count)


def attach_right(pairs: pd.DataFrame, signatures: pd.DataFrame, count: int) -> pd.DataFrame:
    """Pairs indexed by their right document, kept once each, with that document's count and
    signature from the aligned signature partition."""
    distinct = _distinct_pairs(pairs["left"].to_numpy(np.int64), pairs.index.to_numpy(np.int64), count)
    start = int(signatures.index[0]) if len(signatures) else 0
    at = distinct[:, 1] - start
    matrix = _signatures_of(signatures)[at]
    columns: dict[str, Any] = {
        "left": distinct[:, 0],
        "right": distinct[:, 1],
        "right_count": signatures["count"].to_numpy(np.int64)[at],
    }
    columns.update(zip(right_columns(matrix.shape[1]), matrix.T, strict=True))
    return pd.DataFrame(columns)


def estimate_filter(pairs: pd.DataFrame, signatures: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The pairs (indexed by their left document, the right one's signature attached) that
    `cluster.likely_mask` keeps, with the left signature from the aligned partition."""
    left = pairs.index.to_numpy(np.int64)
    right = pairs["right"].to_numpy(np.int64)
    start = int(signatures.index[0]) if len(signatures) else 0
    at = left - start
    names = right_columns(settings.num_perm)
    keep = cluster.likely_mask(
        _signatures_of(signatures)[at],
        pairs[names].to_numpy(dtype=np.uint32),
        signatures["count"].to_numpy(np.int64)[at],
        pairs["right_count"].to_numpy(np.int64),
        settings,
    )
    return pd.DataFrame({"left": left[keep], "right": right[keep]})

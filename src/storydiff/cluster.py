"""From signatures to clusters: LSH candidates, exact verification, star clusters, representatives.

LSH proposes pairs cheaply and leniently; a signature estimate drops the clearly dissimilar
ones; every pair that remains is checked on the exact shingle sets, so no reported pair
misses the thresholds.

Banding is done with sorted numpy arrays rather than datasketch's MinHashLSH: each band's
keys are sorted once and equal runs become candidate pairs. It yields the same candidates
as MinHashLSH with the same (bands, rows) (a test checks this) at a fraction of the time and
memory: at a million documents MinHashLSH keeps 64 Python dicts of byte-string keys.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from . import _core
from .model import Pair
from .settings import KeepPolicy, Settings

# How many standard errors below a threshold a signature's estimate may fall and still go to
# exact verification. Measured on a generated 100,000-document corpus with 20,032 true
# pairs among 1.4 million LSH candidates: 3 keeps 92,706 candidates and loses no true pair.
ESTIMATE_Z = 3.0
# A band bucket larger than this (a template shared by thousands of files) is not expanded
# into all its pairs: its members are sorted by size and each is paired with the next
# BUCKET_WINDOW, which keeps the work linear while near-duplicates, being of similar size,
# stay within reach of each other (and union-find joins the chains).
MAX_BUCKET = 64
BUCKET_WINDOW = 16

PairArray = npt.NDArray[np.int64]  # shape (n, 2), left < right, sorted, distinct

# The banding for any number of permutations (lsh_banding): a pair at the lowest Jaccard the
# thresholds can accept (candidate_jaccard) must become a candidate with at least this
# probability. The fixed 64 bands of 2 rows gave 0.906 at 128 permutations; with more
# permutations the same 64 bands had more rows each, and recall fell (at 1024, 16 rows: the
# seeds' pair, Jaccard 0.71, was proposed with probability 0.24).
CANDIDATE_RECALL = 0.9
# Containment pairs the banding is built to propose: a text contained (at --containment) in one
# up to this many times its length.
CANDIDATE_LENGTH_RATIO = 4
# Signatures take 4 bytes per permutation per document: 16 KB each at this many, 1.6 GB at
# 100,000 documents.
MAX_NUM_PERM = 4096


def candidate_jaccard(threshold: float, containment: float) -> float:
    """The lowest Jaccard banding has to propose: a pair at --threshold, or a text contained
    (at --containment) in one CANDIDATE_LENGTH_RATIO times its length (0.19 by default)."""
    return min(threshold, containment / (1 + CANDIDATE_LENGTH_RATIO - containment))


def candidate_probability(jaccard: float, bands: int, rows: int) -> float:
    """The chance that a pair of this Jaccard shares at least one of `bands` bands of `rows` rows."""
    return float(1.0 - (1.0 - jaccard**rows) ** bands)


def lsh_banding(num_perm: int, threshold: float, containment: float) -> tuple[int, int]:
    """(bands, rows) for `num_perm` permutations: the most rows per band (the fewest dissimilar
    candidates) that still propose a pair at candidate_jaccard with CANDIDATE_RECALL; bands
    take as many permutations as they can. 128 permutations give the 64 bands of 2 rows that
    were the fixed banding before; 1024 give 341 bands of 3 rows. Below that recall (fewer
    permutations than 11 by default, or a low --containment), one row per band, the most
    lenient banding there is.

    ValueError above MAX_NUM_PERM, or when even one row per band cannot propose a pair at
    --threshold itself with CANDIDATE_RECALL: the Jaccard criterion would then miss pairs."""
    if num_perm > MAX_NUM_PERM:
        raise ValueError(f"num_perm must be at most {MAX_NUM_PERM}, got {num_perm}")
    if candidate_probability(threshold, num_perm, 1) < CANDIDATE_RECALL:
        least = math.ceil(math.log(1 - CANDIDATE_RECALL) / math.log(1 - min(threshold, 0.999999)))
        raise ValueError(
            f"num_perm {num_perm} is too few: finding pairs at threshold {threshold:g} takes at least {least}"
        )
    jaccard = candidate_jaccard(threshold, containment)
    best = (num_perm, 1)
    for rows in range(2, num_perm + 1):
        bands = num_perm // rows
        actual_rows = num_perm // bands
        if candidate_probability(jaccard, bands, actual_rows) < CANDIDATE_RECALL:
            break  # more rows only lower the probability
        best = (bands, actual_rows)
    return best


def band_keys(signatures: npt.NDArray[np.uint32], band: int, rows: int) -> npt.NDArray[np.uint64]:
    """One band's bucket key for each signature row (its `rows` values, combined into 64 bits)."""
    block = signatures[:, band * rows : (band + 1) * rows].astype(np.uint64)
    if rows == 1:
        single: npt.NDArray[np.uint64] = block[:, 0]
        return single
    if rows == 2:
        exact: npt.NDArray[np.uint64] = (block[:, 0] << np.uint64(32)) | block[:, 1]  # no collisions possible
        return exact
    with np.errstate(over="ignore"):
        keys = np.zeros(len(block), dtype=np.uint64)
        for column in range(rows):
            keys = (keys * np.uint64(0x100000001B3)) ^ block[:, column]
            keys ^= keys >> np.uint64(29)
    return keys


def candidate_pairs(
    signatures: npt.NDArray[np.uint32],
    comparable: npt.NDArray[np.bool_],
    sizes: npt.NDArray[np.int64],
    bands: int,
    rows: int,
) -> PairArray:
    """Pairs of document indices that share a band bucket; only `comparable` documents take part."""
    return pairs_from_codes(candidate_codes(signatures, comparable, sizes, bands, rows), len(signatures))


def candidate_codes(
    signatures: npt.NDArray[np.uint32],
    comparable: npt.NDArray[np.bool_],
    sizes: npt.NDArray[np.int64],
    bands: int,
    rows: int,
) -> npt.NDArray[np.int64]:
    """`candidate_pairs` as sorted distinct codes (left * count + right), merged now and then,
    so memory follows the distinct pairs. Bands are independent: the codes of all bands are
    the merged codes of any split of the columns into groups of bands (the local engine
    bands such groups in parallel). Vectorised per band (`bucket_pair_codes`); the Dask
    engine runs the same `bucket_pair_codes` on each shuffle partition of band keys.
    """
    members = np.flatnonzero(comparable).astype(np.int64)
    count = len(signatures)
    found = np.empty(0, dtype=np.int64)
    pending: list[npt.NDArray[np.int64]] = []
    pending_size = 0
    member_signatures = (
        signatures if len(members) == count else signatures[members]
    )  # no copy if all take part
    member_sizes = sizes[members]
    for band in range(bands):
        keys = band_keys(member_signatures, band, rows)
        codes = bucket_pair_codes(keys, members, member_sizes, count)
        if len(codes):
            pending.append(codes)
            pending_size += len(codes)
        if pending_size > 1 << 22:
            found = sorted_distinct(np.concatenate([found, *pending]))
            pending, pending_size = [], 0
    if pending:
        found = sorted_distinct(np.concatenate([found, *pending]))
    return found


def merged_codes(parts: Sequence[npt.NDArray[np.int64]]) -> npt.NDArray[np.int64]:
    """The sorted distinct union of sorted pair codes found in parts (groups of bands)
    separately. A stable sort (timsort) merges sorted runs in linear time."""
    return sorted_distinct(np.concatenate([np.empty(0, np.int64), *parts]), kind="stable")


def bucket_pair_codes(
    keys: npt.NDArray[np.uint64],
    members: npt.NDArray[np.int64],
    sizes: npt.NDArray[np.int64],
    count: int,
) -> npt.NDArray[np.int64]:
    """The pair codes (left * count + right) of one band: `members[i]` has key `keys[i]` and
    shingle count `sizes[i]`, in any order.

    Keys are sorted, runs of equal keys are buckets, and buckets of the same size are
    expanded together (`_bucket_codes`). The pairs do not depend on the members' order (a
    large bucket is ordered by size, then document), so a shuffle partition holding some of
    a band's buckets gives the same pairs as the whole band does here. Within one band a
    pair occurs once.
    """
    # Not a stable sort (twice as fast): the pairs a bucket gives do not depend on the order
    # of its members (see _bucket_codes).
    order = np.argsort(keys)
    sorted_keys = keys[order]
    same_as_next = sorted_keys[1:] == sorted_keys[:-1]
    if not same_as_next.any():
        return np.empty(0, dtype=np.int64)
    boundaries = np.flatnonzero(np.concatenate(([True], ~same_as_next, [True])))
    run_starts, run_lengths = boundaries[:-1], np.diff(boundaries)
    ordered_members, ordered_sizes = members[order], sizes[order]
    codes = []
    for length in np.flatnonzero(np.bincount(run_lengths)[2:]) + 2:
        starts = run_starts[run_lengths == length]
        positions = starts[:, None] + np.arange(length)  # one bucket per row
        codes.append(_bucket_codes(ordered_members[positions], ordered_sizes[positions], count))
    return np.concatenate(codes)


def pairs_from_codes(codes: npt.NDArray[np.int64], count: int) -> PairArray:
    """Pair codes (left * count + right) as rows of (left, right)."""
    return np.stack((codes // max(count, 1), codes % max(count, 1)), axis=1)


def pairs_involving(
    signatures: npt.NDArray[np.uint32],
    queries: npt.NDArray[np.int64],
    comparable: npt.NDArray[np.bool_],
    bands: int,
    rows: int,
) -> PairArray:
    """Pairs (left < right) that share a band bucket and hold at least one of the `queries` rows.

    The same banding as `candidate_pairs`, asked only about a few documents: each band's keys
    are computed for all documents and matched against the queries' keys, with no sort of the
    whole corpus. A large bucket is not windowed here (all of its members are paired with the
    query), so this proposes a superset of `candidate_pairs`' pairs that involve the queries.
    """
    count = len(signatures)
    queries = np.unique(queries[comparable[queries]]).astype(np.int64)
    if len(queries) == 0 or count < 2:
        return np.empty((0, 2), dtype=np.int64)
    codes: list[npt.NDArray[np.int64]] = []
    for band in range(bands):
        keys = band_keys(signatures, band, rows)
        order = np.argsort(keys[queries], kind="stable")
        query_rows = queries[order]
        query_keys = keys[query_rows]
        others = np.flatnonzero(np.isin(keys, query_keys) & comparable)
        low = np.searchsorted(query_keys, keys[others], side="left")
        high = np.searchsorted(query_keys, keys[others], side="right")
        repeats = high - low
        other_rows = np.repeat(others, repeats)
        within = np.arange(int(repeats.sum())) - np.repeat(np.cumsum(repeats) - repeats, repeats)
        matched = query_rows[np.repeat(low, repeats) + within]
        distinct = other_rows != matched
        left = np.minimum(other_rows, matched)[distinct]
        right = np.maximum(other_rows, matched)[distinct]
        codes.append(left * count + right)
    found = np.unique(np.concatenate(codes))
    return np.stack((found // count, found % count), axis=1).astype(np.int64)


def sorted_distinct(
    values: npt.NDArray[np.int64], kind: Literal["stable"] | None = None
) -> npt.NDArray[np.int64]:
    """np.unique by sorting (numpy 2's hash-based unique is several times slower on big arrays)."""
    values = np.sort(values, kind=kind)
    if len(values) == 0:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _bucket_codes(
    buckets: npt.NDArray[np.int64], bucket_sizes: npt.NDArray[np.int64], count: int
) -> npt.NDArray[np.int64]:
    """Pair codes for buckets of one size (2-D arrays, one bucket per row: its members and
    their shingle counts)."""
    length = buckets.shape[1]
    if length <= MAX_BUCKET:
        left, right = np.triu_indices(length, k=1)
        first, second = buckets[:, left].ravel(), buckets[:, right].ravel()
    else:
        by_size = np.lexsort((buckets, bucket_sizes), axis=1)
        ordered = np.take_along_axis(buckets, by_size, axis=1)
        steps = range(1, min(BUCKET_WINDOW, length - 1) + 1)
        first = np.concatenate([ordered[:, :-step].ravel() for step in steps])
        second = np.concatenate([ordered[:, step:].ravel() for step in steps])
    return np.minimum(first, second) * count + np.maximum(first, second)


def likely_pairs(
    pairs: PairArray,
    signatures: npt.NDArray[np.uint32],
    shingle_counts: npt.NDArray[np.int64],
    settings: Settings,
) -> PairArray:
    """The candidates whose estimated Jaccard or containment could reach the thresholds
    (`likely_mask`), in their order."""
    return pairs[likely_pair_mask(pairs, signatures, shingle_counts, settings)]


def likely_pair_mask(
    pairs: PairArray,
    signatures: npt.NDArray[np.uint32],
    shingle_counts: npt.NDArray[np.int64],
    settings: Settings,
) -> npt.NDArray[np.bool_]:
    """`likely_mask` of pairs of rows of `signatures`, gathered a chunk at a time."""
    left, right = pairs[:, 0], pairs[:, 1]
    keep = np.zeros(len(pairs), dtype=bool)
    for start in range(0, len(pairs), 16384):  # bounded memory: 16 MB of gathered rows a side
        part = slice(start, start + 16384)
        keep[part] = likely_mask(
            signatures[left[part]],
            signatures[right[part]],
            shingle_counts[left[part]],
            shingle_counts[right[part]],
            settings,
        )
    return keep


def likely_mask(
    left_signatures: npt.NDArray[np.uint32],
    right_signatures: npt.NDArray[np.uint32],
    left_counts: npt.NDArray[np.int64],
    right_counts: npt.NDArray[np.int64],
    settings: Settings,
) -> npt.NDArray[np.bool_]:
    """Which pairs (row i of each argument) could reach the thresholds, by their signatures.

    The Jaccard estimate is the share of equal signature positions, with standard error
    sqrt(J(1 - J) / num_perm); containment is derived from it and the exact set sizes, its
    error scaled by the derivative of that formula. A pair stays when either estimate plus
    ESTIMATE_Z standard errors reaches its threshold. Each row is computed on its own, so
    the local engine (in chunks of the whole candidate list) and the Dask engine (per
    partition of pairs) keep the same pairs.
    """
    num_perm = left_signatures.shape[1]
    jaccard = np.mean(left_signatures == right_signatures, axis=1)
    error = np.sqrt(np.maximum(jaccard * (1 - jaccard), 0.01) / num_perm)
    sizes = left_counts + right_counts
    smaller = np.maximum(np.minimum(left_counts, right_counts), 1)
    containment = jaccard * sizes / ((1 + jaccard) * smaller)
    containment_error = error * sizes / (smaller * (1 + jaccard) ** 2)
    mask: npt.NDArray[np.bool_] = (jaccard + ESTIMATE_Z * error >= settings.threshold) | (
        (containment + ESTIMATE_Z * containment_error >= settings.containment)
        & (smaller >= settings.min_containment_shingles)
    )
    return mask


def likely_pairs_after_change(
    kept_pairs: PairArray,
    changed: npt.NDArray[np.int64],
    removed_signatures: npt.NDArray[np.uint32],
    signatures: npt.NDArray[np.uint32],
    shingle_counts: npt.NDArray[np.int64],
    settings: Settings,
) -> PairArray | None:
    """`likely_pairs(candidate_pairs(...))` of a corpus, from those of an earlier version of it.

    `kept_pairs` are the earlier version's likely pairs between documents unchanged since
    (as rows of this corpus), `changed` the rows that are new or changed, and
    `removed_signatures` the signatures of the comparable documents the earlier version had
    and this one has not (a changed document's earlier signature among them).

    While no band bucket that holds a changed or removed document is larger than MAX_BUCKET,
    in either version, every bucket that changed was expanded into all of its pairs both
    times: the candidates between unchanged documents are the same, and the new ones are
    those `pairs_involving` the changed rows. Otherwise (a large bucket is windowed by size,
    so a change there moves other pairs) this returns None, and the caller bands the whole
    corpus.
    """
    comparable = shingle_counts > 0
    changed = np.unique(changed[comparable[changed]]).astype(np.int64)
    is_changed = np.zeros(len(signatures), dtype=bool)
    is_changed[changed] = True
    rows = settings.rows_per_band
    for band in range(settings.lsh_bands):
        keys = band_keys(signatures, band, rows)
        removed_keys = band_keys(removed_signatures, band, rows)
        touched = np.concatenate([keys[changed], removed_keys])
        if not len(touched):
            continue
        in_touched = comparable & np.isin(keys, touched)
        _, now = np.unique(keys[in_touched], return_counts=True)
        _, before = np.unique(
            np.concatenate([keys[in_touched & ~is_changed], removed_keys]), return_counts=True
        )
        if (len(now) and now.max() > MAX_BUCKET) or (len(before) and before.max() > MAX_BUCKET):
            return None
    fresh = likely_pairs(
        pairs_involving(signatures, changed, comparable, settings.lsh_bands, rows),
        signatures,
        shingle_counts,
        settings,
    )
    count = max(len(signatures), 1)
    codes = np.unique(
        np.concatenate([kept_pairs[:, 0] * count + kept_pairs[:, 1], fresh[:, 0] * count + fresh[:, 1]])
    )
    return np.stack((codes // count, codes % count), axis=1).astype(np.int64)


def similarity(left: npt.NDArray[np.uint64], right: npt.NDArray[np.uint64]) -> tuple[float, float]:
    """Exact Jaccard and containment (of the smaller set in the larger) of two sorted distinct sets."""
    return _core.similarity(left, right)


def is_near_duplicate(jaccard: float, containment: float, smaller_size: int, settings: Settings) -> bool:
    """The definition of a near-duplicate; containment counts only for texts long enough to mean it."""
    if jaccard >= settings.threshold:
        return True
    return containment >= settings.containment and smaller_size >= settings.min_containment_shingles


def near_duplicate_mask(
    jaccard: npt.NDArray[np.float64],
    containment: npt.NDArray[np.float64],
    smaller_size: npt.NDArray[np.int64],
    settings: Settings,
) -> npt.NDArray[np.bool_]:
    """`is_near_duplicate` over arrays."""
    mask: npt.NDArray[np.bool_] = (jaccard >= settings.threshold) | (
        (containment >= settings.containment) & (smaller_size >= settings.min_containment_shingles)
    )
    return mask


def verified_pairs(
    pairs: PairArray | Sequence[tuple[int, int]],
    shingle_sets: dict[int, npt.NDArray[np.uint64]],
    settings: Settings,
) -> list[Pair]:
    verified = []
    for left, right in (tuple(map(int, pair)) for pair in pairs):
        left_set, right_set = shingle_sets[left], shingle_sets[right]
        jaccard, containment = similarity(left_set, right_set)
        if is_near_duplicate(jaccard, containment, min(len(left_set), len(right_set)), settings):
            verified.append(Pair(left, right, jaccard, containment))
    return verified


def connected_components(count: int, pairs: Sequence[Pair]) -> list[list[int]]:
    """Union-find over the verified pairs; components of two or more, each sorted, in order."""
    parent = list(range(count))

    def find(item: int) -> int:
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    for pair in pairs:
        root_left, root_right = find(pair.left), find(pair.right)
        if root_left != root_right:
            parent[max(root_left, root_right)] = min(root_left, root_right)
    groups: dict[int, list[int]] = {}
    for item in {index for pair in pairs for index in (pair.left, pair.right)}:
        groups.setdefault(find(item), []).append(item)
    return sorted((sorted(group) for group in groups.values() if len(group) > 1), key=lambda group: group[0])


def keep_rank(
    policy: KeepPolicy, word_counts: Sequence[int], mtimes: Sequence[int]
) -> Callable[[int], tuple[int, int]]:
    """The `--keep` order as a sort key over document indices (in path order): the most
    preferred document sorts first, ties go to the first path."""
    rank: dict[KeepPolicy, Callable[[int], int]] = {
        "first": lambda member: 0,
        "last": lambda member: -member,
        "longest": lambda member: -word_counts[member],
        "shortest": lambda member: word_counts[member],
        "newest": lambda member: -mtimes[member],
        "oldest": lambda member: mtimes[member],
    }
    by_policy = rank[policy]
    return lambda member: (by_policy(member), member)


def choose_representative(
    members: Sequence[int], policy: KeepPolicy, word_counts: Sequence[int], mtimes: Sequence[int]
) -> int:
    """The member that stands for the cluster; ties go to the first path, so choices are stable.

    `members` are indices in path order; `word_counts` and `mtimes` (nanoseconds) are indexed
    like them.
    """
    return min(members, key=keep_rank(policy, word_counts, mtimes))


def star_clusters(
    count: int,
    pairs: Sequence[Pair],
    rank: Callable[[int], tuple[int, int]],
    contents: Sequence[str] | None = None,
) -> list[list[int]]:
    """Representative-centred clusters over the verified pairs: each cluster's first index is
    its representative, the others its members in index order; clusters in representative order.

    The documents that have a verified pair are taken in `rank` order (the `--keep` order,
    see `keep_rank`); one that is not yet in a cluster and has neighbours not yet in one
    becomes a representative, and those neighbours join it. So every member is verified
    against its own representative (is a near-duplicate of it), unlike connected components,
    where members chain (A like B, B like C, A unlike C). A document whose neighbours were
    all taken by clusters before its turn stays out of every cluster. Depends only on the
    pairs and the ranks, not on the pairs' order.

    `contents` (each document's content hash) makes byte-identical documents one node, led by
    the best ranked of them: LSH pairs the members of a very large bucket (thousands of
    copies of one text) only with their neighbours by size, so not every copy is verified
    against every other, yet identical copies are near-duplicates of each other whatever
    was verified. A group of copies with a verified pair among them is a cluster by itself.
    """
    leader = list(range(count))
    twins: dict[int, list[int]] = {}
    if contents is not None:
        first_with: dict[str, int] = {}
        for index in sorted(range(count), key=rank):
            leader[index] = first_with.setdefault(contents[index], index)
            if leader[index] != index:
                twins.setdefault(leader[index], []).append(index)
    neighbours: dict[int, set[int]] = {}
    for pair in pairs:
        left, right = leader[pair.left], leader[pair.right]
        neighbours.setdefault(left, set()).add(right)
        neighbours.setdefault(right, set()).add(left)
    assigned = [False] * count
    clusters: list[list[int]] = []
    for candidate in sorted(neighbours, key=rank):
        if assigned[candidate]:
            continue
        joining = sorted(
            other for other in neighbours[candidate] if not assigned[other] and other != candidate
        )
        if not joining and candidate not in neighbours[candidate]:
            continue
        assigned[candidate] = True
        for node in joining:
            assigned[node] = True
        members = [
            *twins.get(candidate, ()),
            *(item for node in joining for item in (node, *twins.get(node, ()))),
        ]
        clusters.append([candidate, *sorted(members)])
    return clusters


def related_clusters(clusters: Sequence[Sequence[int]], pairs: Sequence[Pair]) -> list[tuple[int, ...]]:
    """For each cluster (lists of document indices), the positions in `clusters` of the other
    clusters that one of its documents has a verified pair with, sorted."""
    cluster_of = {member: number for number, members in enumerate(clusters) for member in members}
    related: list[set[int]] = [set() for _ in clusters]
    for pair in pairs:
        left, right = cluster_of.get(pair.left), cluster_of.get(pair.right)
        if left is not None and right is not None and left != right:
            related[left].add(right)
            related[right].add(left)
    return [tuple(sorted(found)) for found in related]

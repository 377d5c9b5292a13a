"""From signatures to clusters: LSH candidates, exact verification, union-find, representatives.

LSH (datasketch's MinHashLSH) proposes pairs cheaply and leniently; a signature estimate
drops the obviously dissimilar ones; every pair that remains is checked on the exact
shingle sets, so no reported pair misses the thresholds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from .model import Pair
from .settings import KeepPolicy, Settings
from .signatures import to_minhash

# How far below a threshold a signature's estimate may fall and still go to exact
# verification: about three standard errors of a 128-permutation estimate near 0.5.
ESTIMATE_MARGIN = 0.15


def candidate_pairs(
    signatures: npt.NDArray[np.uint32], shingle_counts: npt.NDArray[np.int64], settings: Settings
) -> list[tuple[int, int]]:
    """Pairs of document indices (left < right) that share at least one LSH band, sorted."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(num_perm=settings.num_perm, params=(settings.lsh_bands, settings.rows_per_band))
    comparable = [index for index in range(len(signatures)) if shingle_counts[index] > 0]
    for index in comparable:
        lsh.insert(index, to_minhash(signatures[index], settings.seed), check_duplication=False)
    pairs: set[tuple[int, int]] = set()
    for table in lsh.hashtables:
        for key in table.keys():  # noqa: SIM118 (a datasketch storage, not a dict)
            members = sorted(table.get(key))
            for position, left in enumerate(members):
                pairs.update((left, right) for right in members[position + 1 :])
    return sorted(pairs)


def likely_pairs(
    pairs: Sequence[tuple[int, int]],
    signatures: npt.NDArray[np.uint32],
    shingle_counts: npt.NDArray[np.int64],
    settings: Settings,
) -> list[tuple[int, int]]:
    """The candidates whose estimated Jaccard or containment comes near the thresholds."""
    if not pairs:
        return []
    left = np.fromiter((pair[0] for pair in pairs), dtype=np.int64, count=len(pairs))
    right = np.fromiter((pair[1] for pair in pairs), dtype=np.int64, count=len(pairs))
    jaccard = np.mean(signatures[left] == signatures[right], axis=1)
    sizes_left, sizes_right = shingle_counts[left], shingle_counts[right]
    shared = jaccard * (sizes_left + sizes_right) / (1.0 + jaccard)
    smaller = np.minimum(sizes_left, sizes_right)
    containment = shared / np.maximum(smaller, 1)
    keep = (jaccard >= settings.threshold - ESTIMATE_MARGIN) | (
        (containment >= settings.containment - ESTIMATE_MARGIN)
        & (smaller >= settings.min_containment_shingles)
    )
    return [pairs[int(index)] for index in np.flatnonzero(keep)]


def similarity(left: npt.NDArray[np.uint64], right: npt.NDArray[np.uint64]) -> tuple[float, float]:
    """Exact Jaccard and containment (of the smaller set in the larger) of two sorted sets."""
    if len(left) == 0 or len(right) == 0:
        return 0.0, 0.0
    shared = len(np.intersect1d(left, right, assume_unique=True))
    return shared / (len(left) + len(right) - shared), shared / min(len(left), len(right))


def is_near_duplicate(jaccard: float, containment: float, smaller_size: int, settings: Settings) -> bool:
    """The definition of a near-duplicate; containment counts only for texts long enough to mean it."""
    if jaccard >= settings.threshold:
        return True
    return containment >= settings.containment and smaller_size >= settings.min_containment_shingles


def verified_pairs(
    pairs: Iterable[tuple[int, int]], shingle_sets: dict[int, npt.NDArray[np.uint64]], settings: Settings
) -> list[Pair]:
    verified = []
    for left, right in pairs:
        left_set, right_set = shingle_sets[left], shingle_sets[right]
        jaccard, containment = similarity(left_set, right_set)
        if is_near_duplicate(jaccard, containment, min(len(left_set), len(right_set)), settings):
            verified.append(Pair(left, right, jaccard, containment))
    return verified


def connected_components(count: int, pairs: Iterable[Pair]) -> list[list[int]]:
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
    for item in range(count):
        root = find(item)
        if root != item:
            groups.setdefault(root, [root]).append(item)
    return sorted((sorted(group) for group in groups.values()), key=lambda group: group[0])


def choose_representative(members: Sequence[int], word_counts: Sequence[int], policy: KeepPolicy) -> int:
    """The member that stands for the cluster; ties go to the first path, so choices are stable."""
    if policy == "first":
        return min(members)
    if policy == "last":
        return max(members)
    if policy == "longest":
        return min(members, key=lambda member: (-word_counts[member], member))
    return min(members, key=lambda member: (word_counts[member], member))

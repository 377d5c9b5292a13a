"""Every pair of documents that shares shingles, with exact Jaccard and containment.

Ground truth for choosing defaults and measuring LSH recall: no sketches, just an inverted
index over the exact shingle sets that storydiff compares.

    python benchmarks/exact_pairs.py ../shared/corpora/reuters-21578 --ngram 5 --min-jaccard 0.3
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from storydiff import boilerplate, shingles


def exact_pairs(
    texts: list[str], ngram: int, max_posting: int = 5000
) -> tuple[dict[tuple[int, int], int], list[int]]:
    """Shared-shingle counts for every pair that shares at least one shingle, and each set's size."""
    sets = [shingles.shingle_set(text, ngram) for text in texts]
    owners = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    values = np.concatenate(sets) if sets else np.empty(0, dtype=np.uint64)
    order = np.argsort(values, kind="stable")
    values, owners = values[order], owners[order]
    boundaries = np.flatnonzero(np.diff(values)) + 1
    shared: Counter[tuple[int, int]] = Counter()
    for group in np.split(owners, boundaries):
        if 1 < len(group) <= max_posting:
            members = group.tolist()
            for i, left in enumerate(members):
                for right in members[i + 1 :]:
                    shared[(left, right)] += 1
    return dict(shared), [len(s) for s in sets]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--ngram", type=int, default=5)
    parser.add_argument("--min-jaccard", type=float, default=0.3)
    parser.add_argument("--no-strip", action="store_true")
    args = parser.parse_args()
    files = sorted(args.corpus.rglob("*.txt"))
    started = time.perf_counter()
    rules = () if args.no_strip else boilerplate.NEWS_RULES
    texts = [boilerplate.strip(path.read_text(encoding="utf-8"), rules).text for path in files]
    shared, sizes = exact_pairs(texts, args.ngram)
    for (left, right), count in sorted(shared.items()):
        union = sizes[left] + sizes[right] - count
        jaccard = count / union
        containment = count / min(sizes[left], sizes[right])
        if jaccard >= args.min_jaccard or containment >= 0.5:
            print(
                f"{files[left]}\t{files[right]}\t{jaccard:.4f}\t{containment:.4f}\t{sizes[left]}\t{sizes[right]}"
            )
    print(
        f"{len(files)} files, {len(shared)} sharing pairs, {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()

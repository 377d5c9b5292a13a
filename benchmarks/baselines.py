"""What users would otherwise run: plain datasketch MinHash + MinHashLSH over a corpus.

Each baseline reads every file, lower-cases it, cuts word 5-gram shingles, builds one
datasketch MinHash per document and finds candidate pairs with MinHashLSH at the same
threshold as storydiff's default (0.5). No exact verification (the usual way these pipelines
are written). Prints one JSON object with the pairs found and the timings.

    python benchmarks/baselines.py datasketch-xxhash /tmp/corpus-100k/docs
    python benchmarks/baselines.py datasketch-xxhash-2cores /tmp/corpus-100k/docs
    python benchmarks/baselines.py datasketch-default /tmp/corpus-100k/docs

`datasketch-default` uses datasketch's default hash (SHA-1 via `update`, one call per
shingle); `datasketch-xxhash` uses xxhash's xxh32 and `update_batch`, the fastest way
datasketch's documentation offers, in one process. `datasketch-xxhash-2cores` is the same
per document, with the MinHashes computed by a `multiprocessing` pool of two processes (as a
user with two cores would write it) and the LSH index built in the parent from their hash
values (`LeanMinHash`).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import sys
import time
from contextlib import nullcontext
from functools import partial
from typing import Any

WORD = re.compile(r"\w+")


def shingle_strings(text: str, ngram: int = 5) -> list[bytes]:
    words = WORD.findall(text.lower())
    if len(words) < ngram:
        return [" ".join(words).encode()] if words else []
    return list({" ".join(words[i : i + ngram]).encode() for i in range(len(words) - ngram + 1)})


def files_under(root: str) -> list[str]:
    found = []
    for directory, _, names in os.walk(root):
        found.extend(os.path.join(directory, name) for name in names if name.endswith(".txt"))
    return sorted(found)


def minhash_values(path: str, kind: str, num_perm: int = 128) -> tuple[int, Any]:
    """One document's size and datasketch MinHash hash values: with xxh32 and `update_batch`,
    or (`datasketch-default`) with the default hash, one `update` per shingle."""
    import xxhash
    from datasketch import MinHash

    with open(path, "rb") as handle:
        data = handle.read()
    shingles = shingle_strings(data.decode("utf-8", "replace"))
    if kind == "datasketch-default":
        minhash = MinHash(num_perm=num_perm)
        for value in shingles:
            minhash.update(value)
    else:
        minhash = MinHash(num_perm=num_perm, hashfunc=xxhash.xxh32_intdigest)
        minhash.update_batch(shingles)
    return len(data), minhash.hashvalues


def run(kind: str, root: str, threshold: float, num_perm: int) -> dict[str, object]:
    from datasketch import LeanMinHash, MinHashLSH

    started = time.perf_counter()
    paths = files_under(root)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    minhashes = []
    total_bytes = 0
    compute = partial(minhash_values, kind=kind, num_perm=num_perm)
    pool = multiprocessing.get_context("fork").Pool(2) if kind == "datasketch-xxhash-2cores" else None
    with pool or nullcontext():
        computed = pool.imap(compute, paths, chunksize=256) if pool else map(compute, paths)
        for index, (size, hashvalues) in enumerate(computed):
            total_bytes += size
            minhash = LeanMinHash(seed=1, hashvalues=hashvalues, scheme="affine32")
            lsh.insert(index, minhash, check_duplication=False)
            minhashes.append(minhash)
    pairs = set()
    for index, minhash in enumerate(minhashes):
        for other in lsh.query(minhash):
            if other != index:
                pairs.add((min(index, other), max(index, other)))
    elapsed = time.perf_counter() - started
    relative = [os.path.relpath(path, root) for path in paths]
    return {
        "kind": kind,
        "documents": len(paths),
        "bytes": total_bytes,
        "seconds": elapsed,
        "pairs": sorted([relative[left], relative[right]] for left, right in pairs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "kind", choices=["datasketch-default", "datasketch-xxhash", "datasketch-xxhash-2cores"]
    )
    parser.add_argument("root")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--num-perm", type=int, default=128)
    args = parser.parse_args()
    json.dump(run(args.kind, args.root, args.threshold, args.num_perm), sys.stdout)


if __name__ == "__main__":
    main()

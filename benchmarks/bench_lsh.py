"""Candidate generation at scale: datasketch's MinHashLSH against storydiff's numpy banding.

Both index the same signatures with the same banding (64 bands of 2 rows over 128 values)
and produce candidate pairs; the script prints wall time, peak memory (each run in its own
process) and the number of pairs, which must agree.

    python benchmarks/bench_lsh.py --documents 100000 300000 1000000

datasketch runs only up to --datasketch-max documents (default 300,000); beyond that its
figures are extrapolated in the closing note, as its time and memory grow linearly.

Signatures are synthetic but shaped like a news corpus: random documents plus 10% near
duplicates (each a copy of another signature with a share of positions redrawn).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def make_signatures(count: int, num_perm: int = 128, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    signatures = rng.integers(0, 2**32, size=(count, num_perm), dtype=np.uint32)
    copies = rng.choice(count, size=count // 10, replace=False)
    sources = rng.integers(0, count, size=len(copies))
    for copy, source in zip(copies.tolist(), sources.tolist(), strict=True):
        keep = rng.random(num_perm) < rng.uniform(0.4, 1.0)  # Jaccard of roughly 0.4 to 1
        signatures[copy, keep] = signatures[source, keep]
    return signatures


def run_numpy(count: int) -> dict[str, float]:
    from storydiff.cluster import candidate_pairs

    signatures = make_signatures(count)
    started = time.perf_counter()
    pairs = candidate_pairs(signatures, np.ones(count, bool), np.full(count, 200, np.int64), 64, 2)
    return {"seconds": time.perf_counter() - started, "pairs": len(pairs)}


def run_datasketch(count: int) -> dict[str, float]:
    from datasketch import MinHash, MinHashLSH

    signatures = make_signatures(count)
    started = time.perf_counter()
    lsh = MinHashLSH(num_perm=128, params=(64, 2))
    minhashes = [MinHash(num_perm=128, hashvalues=row, scheme="affine32") for row in signatures]
    for index, minhash in enumerate(minhashes):
        lsh.insert(index, minhash, check_duplication=False)
    pairs = set()
    for index, minhash in enumerate(minhashes):
        pairs.update((min(index, other), max(index, other)) for other in lsh.query(minhash) if other != index)
    return {"seconds": time.perf_counter() - started, "pairs": len(pairs)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--documents", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--datasketch-max",
        type=int,
        default=300_000,
        help="largest corpus to give datasketch (it needs about 25 KB and 0.75 ms per document)",
    )
    parser.add_argument("--worker", nargs=2, metavar=("ENGINE", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        engine, count = args.worker[0], int(args.worker[1])
        result = (run_numpy if engine == "numpy" else run_datasketch)(count)
        result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    print(f"{'documents':>10} {'engine':<12}{'seconds':>9}{'peak MB':>9}{'pairs':>10}")
    for count in args.documents:
        for engine in ("numpy", "datasketch"):
            if engine == "datasketch" and count > args.datasketch_max:
                continue
            command = [sys.executable, __file__, "--worker", engine, str(count)]
            result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
            seconds, peak, pairs = result["seconds"], result["peak_mb"], result["pairs"]
            print(f"{count:>10,} {engine:<12}{seconds:>9.2f}{peak:>9.0f}{pairs:>10,}")


if __name__ == "__main__":
    main()

"""How `storydiff cluster` grows with the corpus: wall time and peak memory at several sizes,
and a straight line through them extrapolated to 1,000,000 documents.

Run on corpora written by generate_corpus.py, smallest first:

    for n in 10 30 100; do
        python benchmarks/generate_corpus.py ../shared/corpora/reuters-21578 /tmp/corpus-${n}k \\
            --documents ${n}000
    done
    python benchmarks/generate_corpus.py ../shared/corpora/reuters-21578 /tmp/corpus-300k \\
        --documents 300000 --duplicate-rate 0.06
    python benchmarks/bench_memory.py /tmp/corpus-10k /tmp/corpus-30k /tmp/corpus-100k /tmp/corpus-300k

(Reuters-21578 has too few long articles for 300,000 documents at the default duplicate
rate.) Past 10,000 documents these reuse Reuters articles, ever more often (about 60 times
each at 300,000), so their candidate pairs grow with the square of the reuse. For the curve
of an ordinary corpus, run it on copies whose documents share no text outside their
near-duplicate groups (see unshare_corpus.py):

    for n in 10 30 100 300; do
        python benchmarks/unshare_corpus.py /tmp/corpus-${n}k /tmp/unshared-${n}k
    done
    python benchmarks/bench_memory.py /tmp/unshared-{10k,30k,100k,300k}

Each run is `storydiff cluster DOCS --format json --jobs J` as a user's first run: the
signature cache on, in a new file. Peak memory is the largest sum of the resident (RSS)
and proportional (PSS) sets of storydiff and its workers (see bench_cluster.py). The fit is
least squares on documents; the closing figure is what that line says for 1M, not a
measurement.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cluster import measure_detailed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpora", type=Path, nargs="+", help="directories written by generate_corpus.py")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-cache", action="store_true", help="run with --no-cache instead")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="storydiff-memory-"))
    rows = []
    try:
        for corpus in args.corpora:
            docs = corpus / "docs"
            documents = sum(len(names) for _, _, names in os.walk(docs))
            command = [sys.executable, "-m", "storydiff", "cluster", str(docs), "--format", "json"]
            command += ["--jobs", str(args.jobs)] + (["--no-cache"] if args.no_cache else [])
            cache = work / f"{corpus.name}.sqlite"
            result = measure_detailed(command, os.devnull, {**os.environ, "STORYDIFF_CACHE": str(cache)})
            if result.exit_code != 0:
                sys.exit(f"storydiff exited {result.exit_code} on {docs}")
            seconds = result.seconds
            cache_mb = sum(path.stat().st_size for path in work.glob(f"{corpus.name}.sqlite*")) / 1e6
            rows.append((documents, seconds, result.peak_rss_mb, result.peak_pss_mb, cache_mb))
            print(
                f"{documents:>9,} documents  {seconds:8.2f} s  {documents / seconds:9,.0f} docs/s"
                f"  peak RSS {result.peak_rss_mb:7.0f} MB  PSS {result.peak_pss_mb:7.0f} MB"
                f"  cache {cache_mb:7.0f} MB",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if len(rows) >= 2:
        for label, column in (("wall s", 1), ("RSS MB", 2), ("PSS MB", 3), ("cache MB", 4)):
            slope, intercept = _fit([row[0] for row in rows], [row[column] for row in rows])
            print(
                f"{label:>8}: {intercept:,.1f} + {slope * 1e5:,.2f} per 100k documents;"
                f" at 1,000,000 documents: {intercept + slope * 1e6:,.0f}"
            )


def _fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares slope and intercept."""
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return slope, mean_y - slope * mean_x


if __name__ == "__main__":
    main()

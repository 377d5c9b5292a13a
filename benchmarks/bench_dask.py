"""Wall time of `storydiff cluster --engine dask` on 1 and 2 workers, next to the local engine.

Run on a corpus written by generate_corpus.py (its docs/):

    python benchmarks/generate_corpus.py ../shared/corpora/reuters-21578 /tmp/corpus-100k --documents 100000
    python benchmarks/bench_dask.py /tmp/corpus-100k --workers 1 2

Each run is its own `python -m storydiff cluster DOCS --format json` process, timed from start
to exit on a warm page cache; the Dask runs start their own LocalCluster (`--jobs N` worker
processes of one thread each), so their time includes the cluster's start-up and shutdown.
Peak memory is the largest sum of the resident sets of the process and all its descendants
(the Dask workers and nanny processes included). The last line says whether every run wrote
byte-identical JSON.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cluster import READ_FLOOR, measure


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpus", type=Path, help="a directory written by generate_corpus.py")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to run")
    args = parser.parse_args()
    docs = args.corpus / "docs"
    work = Path(tempfile.mkdtemp(prefix="storydiff-bench-dask-"))
    subprocess.run([sys.executable, "-c", READ_FLOOR, str(docs)], check=True, capture_output=True)
    documents = sum(len(names) for _, _, names in os.walk(docs))

    rows: list[tuple[str, float, float]] = []
    outputs: list[bytes] = []
    for workers in args.workers:
        for engine in ("local", "dask"):
            report = str(work / f"{engine}-{workers}.json")
            command = [sys.executable, "-m", "storydiff", "cluster", str(docs), "--format", "json"]
            command += ["--engine", engine, "--jobs", str(workers)]
            seconds, rss, code = measure(command, report)
            if code != 0:
                sys.exit(f"{' '.join(command)}: exited {code}")
            rows.append((f"--engine {engine} --jobs {workers}", seconds, rss))
            outputs.append(Path(report).read_bytes())

    print(f"corpus: {docs}  {documents:,} documents")
    print(f"{'run':<30}{'wall s':>9}{'docs/s':>10}{'peak MB':>9}")
    for name, seconds, rss in rows:
        print(f"{name:<30}{seconds:>9.2f}{documents / seconds:>10,.0f}{rss:>9.0f}")
    print(f"JSON identical across all runs: {all(output == outputs[0] for output in outputs)}")


if __name__ == "__main__":
    main()

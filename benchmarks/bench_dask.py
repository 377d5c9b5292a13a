"""Wall time of `storydiff cluster --engine dask` on 1 and 2 workers, next to the local engine.

Run on a corpus written by generate_corpus.py (its docs/):

    python benchmarks/generate_corpus.py ../shared/corpora/reuters-21578 /tmp/corpus-100k --documents 100000
    nice -n 15 python benchmarks/bench_dask.py /tmp/corpus-100k --workers 1 2

Each run is its own `python -m storydiff cluster DOCS --format json --no-cache` process, timed
from start to exit on a warm page cache (`--no-cache`: the signature cache would make every run
after the first a cache hit, and with it the Dask engine's signatures pass through the driver).
The local runs use `--jobs N` processes; the Dask runs start their own LocalCluster of N worker
processes of one thread each, so their time includes the cluster's start-up and shutdown.

Peak memory is given twice: the driver (the `storydiff` process alone: with the Dask engine
it holds paths, per-document counts and the likely pairs, never the signatures) and the whole
process tree (the local engine's pool, or the Dask scheduler, nannies and workers). The last
line says whether every run wrote byte-identical JSON. Under the table, the Dask engine's log
of its candidate stage (band keys, distinct candidate pairs, likely pairs, seconds) per run:
the figures docs/scaling.md sizes its shuffles from.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cluster import READ_FLOOR, _tree_memory_kb


def _own_rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


# `python -m storydiff` with the engine's INFO log on stderr.
STORYDIFF_LOGGING = (
    "import logging, sys; logging.basicConfig(format='%(message)s'); "
    "logging.getLogger('storydiff').setLevel(logging.INFO); "
    "from storydiff.cli import main; main()"
)


def measure(command: list[str], stdout_path: str, stderr_path: str) -> tuple[float, float, float, int]:
    """Run a command; return (wall seconds, peak driver RSS MB, peak tree RSS MB, exit code)."""
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err)
        driver = tree = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal driver, tree
            while not done.is_set():
                driver = max(driver, _own_rss_kb(process.pid))
                tree = max(tree, _tree_memory_kb(process.pid)[0])  # RSS
                done.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
    return elapsed, driver / 1024, tree / 1024, code


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

    rows: list[tuple[str, float, float, float]] = []
    outputs: list[bytes] = []
    logs: list[tuple[str, list[str]]] = []
    for workers in args.workers:
        for engine in ("local", "dask"):
            report, log = str(work / f"{engine}-{workers}.json"), work / f"{engine}-{workers}.log"
            command = [sys.executable, "-c", STORYDIFF_LOGGING, "cluster", str(docs), "--format", "json"]
            command += ["--no-cache", "--engine", engine, "--jobs", str(workers)]
            seconds, driver, tree, code = measure(command, report, str(log))
            if code != 0:
                sys.exit(f"{' '.join(command)}: exited {code} (stderr in {log})")
            rows.append((f"--engine {engine} --jobs {workers}", seconds, driver, tree))
            outputs.append(Path(report).read_bytes())
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
            logs.append((rows[-1][0], [line for line in lines if line.startswith("candidate stage")]))
            print(f"{rows[-1][0]}: {seconds:.1f} s", file=sys.stderr, flush=True)

    print(f"corpus: {docs}  {documents:,} documents")
    print(f"{'run':<30}{'wall s':>9}{'docs/s':>10}{'driver MB':>11}{'all MB':>9}")
    for name, seconds, driver, tree in rows:
        print(f"{name:<30}{seconds:>9.2f}{documents / seconds:>10,.0f}{driver:>11.0f}{tree:>9.0f}")
    print(f"JSON identical across all runs: {all(output == outputs[0] for output in outputs)}")
    for name, stage_lines in logs:
        for line in stage_lines:
            print(f"{name}: {line}")


if __name__ == "__main__":
    main()

"""The signature cache at scale: cold vs warm `storydiff cluster`, and a warm `storydiff check`.

Run on a corpus written by generate_corpus.py (at least 100,000 files under docs/):

    python benchmarks/generate_corpus.py ../shared/corpora/reuters-21578 /tmp/corpus-100k --documents 100000
    python benchmarks/bench_check.py /tmp/corpus-100k/docs

Steps, each `storydiff` run its own process, timed from start to exit, on a warm page cache:

1. `cluster` with an empty cache (cold: every file read, cleaned, signed, and stored);
2. `cluster` again with that cache (warm: unchanged files are not even opened, and the
   stored report is reused), and a check that its JSON is byte-identical to the cold run's;
3. `cluster` again after one file changed (it alone is signed; candidates, verification and
   diffs run again);
4. `check` of 5 changed files (edited copies of corpus documents, written to a temporary
   directory outside the corpus, which is never written to) against the whole corpus, warm,
   best and median of --repeats runs.

The cache lives in a temporary directory unless --cache is given. Targets (issue 6): warm
check under 2 s; warm cluster at least 10 times faster than cold.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], stdout_path: str | None = None) -> tuple[float, int]:
    """Wall seconds and exit code of one run (stdout to a file or discarded, stderr discarded).

    Also prints the CPU seconds (user + system) of the run and of the workers it waited for:
    on a machine shared with other jobs, wall time can be several times the CPU time.
    """
    with open(stdout_path or os.devnull, "wb") as out:
        cpu_before = _children_cpu()
        started = time.perf_counter()
        code = subprocess.run(command, stdout=out, stderr=subprocess.DEVNULL).returncode
        wall = time.perf_counter() - started
        cpu = _children_cpu() - cpu_before
    print(f"    ({wall:.2f} s wall, {cpu:.2f} s CPU of the processes waited for: {' '.join(command[3:5])})")
    return wall, code


def changed_files(corpus: Path, target: Path, count: int = 5) -> list[str]:
    """`count` corpus documents, each with its first paragraph dropped and a sentence added."""
    documents = sorted(corpus.rglob("*.txt"))
    step = max(1, len(documents) // count)
    made = []
    for number, source in enumerate(documents[::step][:count]):
        lines = source.read_text(encoding="utf-8", errors="replace").splitlines()
        edited = [*lines[1:], "An editor added this sentence to the copy before it was committed."]
        path = target / f"changed_{number}.txt"
        path.write_text("\n".join(edited) + "\n", encoding="utf-8")
        made.append(str(path))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpus", type=Path, help="directory of .txt files (100,000 or more)")
    parser.add_argument("--cache", help="cache file to use (default: a new one in a temporary directory)")
    parser.add_argument("--jobs", type=int, default=None, help="passed to cluster (default: all cores)")
    parser.add_argument("--repeats", type=int, default=5, help="warm check runs")
    arguments = parser.parse_args()

    storydiff = [sys.executable, "-m", "storydiff"]
    jobs = ["--jobs", str(arguments.jobs)] if arguments.jobs else []
    work = Path(tempfile.mkdtemp(prefix="bench-check-"))
    try:
        cache = arguments.cache or str(work / "signatures.sqlite")
        if os.path.exists(cache):
            sys.exit(f"{cache} exists; give a new path so the first run is cold")
        files = sum(1 for _ in arguments.corpus.rglob("*.txt"))
        print(f"corpus: {arguments.corpus} ({files} files), cache: {cache}, cores: {os.cpu_count()}")

        # One extra file outside the corpus (which is never written to) is part of every
        # cluster run, so that step 3 can change it.
        extra = work / "extra"
        extra.mkdir()
        first = sorted(arguments.corpus.rglob("*.txt"))[0]
        (extra / "extra.txt").write_text(
            first.read_text(encoding="utf-8", errors="replace"), encoding="utf-8"
        )
        cluster = [
            *storydiff,
            "cluster",
            str(arguments.corpus),
            str(extra),
            "--format",
            "json",
            "--cache",
            cache,
        ]
        cold_seconds, code = timed([*cluster, *jobs], str(work / "cold.json"))
        print(f"cluster, cold cache:  {cold_seconds:8.2f} s (exit {code})")
        cache_bytes = os.path.getsize(cache) + (
            os.path.getsize(cache + "-wal") if os.path.exists(cache + "-wal") else 0
        )
        print(f"cache size:           {cache_bytes / 1e6:8.1f} MB")
        warm_seconds, code = timed([*cluster, *jobs], str(work / "warm.json"))
        same = filecmp.cmp(work / "cold.json", work / "warm.json", shallow=False)
        print(f"cluster, warm cache:  {warm_seconds:8.2f} s (exit {code}); JSON identical to cold: {same}")
        print(f"warm speed-up:        {cold_seconds / warm_seconds:8.1f}x (target: at least 10x)")
        with open(extra / "extra.txt", "a", encoding="utf-8") as handle:
            handle.write("One sentence added between the runs.\n")
        changed_seconds, code = timed([*cluster, *jobs], str(work / "changed.json"))
        print(
            f"cluster, warm cache, one file changed: {changed_seconds:.2f} s (exit {code}; the stored "
            f"report cannot be used, so candidates, verification and diffs run): "
            f"{cold_seconds / changed_seconds:.1f}x faster than cold"
        )

        changed = work / "changed"
        changed.mkdir()
        given = changed_files(arguments.corpus, changed)
        command = [*storydiff, "check", "--corpus", str(arguments.corpus), *given, "--cache", cache]
        first, code = timed(command)
        print(f"check of 5 files, first run (signs the 5 new files): {first:.2f} s (exit {code})")
        times = []
        for _ in range(arguments.repeats):
            seconds, code = timed(command)
            times.append(seconds)
        print(
            f"check of 5 files, warm: best {min(times):.2f} s, median {statistics.median(times):.2f} s "
            f"over {len(times)} runs (exit {code}; target: under 2 s)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

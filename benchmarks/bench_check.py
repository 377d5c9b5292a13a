"""The signature cache at scale: cold vs warm `storydiff cluster`, and a warm `storydiff check`.

Run on a corpus written by generate_corpus.py (at least 100,000 files under docs/):

    python benchmarks/generate_corpus.py ../shared/corpora/reuters-21578 /tmp/corpus-100k --documents 100000
    python benchmarks/bench_check.py /tmp/corpus-100k/docs

Steps, each `storydiff` run its own process, timed from start to exit, on a warm page cache:

1. `cluster` with an empty cache (cold: every file read, cleaned, signed, verified, diffed);
2. `cluster` again with that cache (warm, unchanged: every file is stat'ed, none is opened,
   and the output the cold run wrote is written again: see storydiff.store.replay), and a check
   that its JSON is byte-identical to the cold run's;
3. `cluster` again after one file changed (warm, one changed: it alone is signed; the pairs
   and clusters that do not involve it come from the cache), and a check that its JSON is
   byte-identical to a run without the cache on the changed corpus (--no-verify skips
   that run, which takes as long as a cold one);
4. `check` of 5 changed files (edited copies of corpus documents, written to a temporary
   directory outside the corpus, which is never written to) against the whole corpus: a
   first run (which stores the corpus snapshot), then warm, best and median of --repeats runs.

Wall time is printed with the CPU time (user + system) of each run: on a machine shared
with other jobs, wall time can be several times the CPU time. The CPU time is the storydiff
process's own: its pool workers are children of Python's forkserver, which the benchmark
does not wait for, so with more than one job it leaves out the work done in the pool
(signing, verifying and diffing in parallel); --jobs 1 runs everything in one process, and
then the CPU figures are the whole cost.
The runs write Python's bytecode cache as an installed storydiff would (the benchmark drops
PYTHONDONTWRITEBYTECODE from their environment), so imports are not compiled on every run.

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


_ENVIRONMENT = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str], stdout_path: str | None = None) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system of the process and the children it waited for:
    not its pool's workers, see the module docstring) and exit code of one run (stdout to a
    file or discarded, stderr discarded)."""
    with open(stdout_path or os.devnull, "wb") as out:
        cpu_before = _children_cpu()
        started = time.perf_counter()
        code = subprocess.run(command, stdout=out, stderr=subprocess.DEVNULL, env=_ENVIRONMENT).returncode
        wall = time.perf_counter() - started
        cpu = _children_cpu() - cpu_before
    return wall, cpu, code


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
    parser.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="skip the run without the cache that the one-changed output is compared with",
    )
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
        first_document = sorted(arguments.corpus.rglob("*.txt"))[0]
        (extra / "extra.txt").write_text(
            first_document.read_text(encoding="utf-8", errors="replace"), encoding="utf-8"
        )
        # A file written less than 2 s before a run is not trusted by its stat (it could change
        # again within the file system's timestamp granularity), and a run that read one keeps
        # no output to replay: as with a corpus a user has not just edited, let it settle.
        time.sleep(2.5)
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
        cold, cold_cpu, code = timed([*cluster, *jobs], str(work / "cold.json"))
        print(f"cluster, cold:              {cold:7.2f} s wall {cold_cpu:7.2f} s CPU (exit {code})")
        cache_bytes = os.path.getsize(cache) + (
            os.path.getsize(cache + "-wal") if os.path.exists(cache + "-wal") else 0
        )
        print(f"cache size:                 {cache_bytes / 1e6:7.1f} MB")
        warm, warm_cpu, code = timed([*cluster, *jobs], str(work / "warm.json"))
        same = filecmp.cmp(work / "cold.json", work / "warm.json", shallow=False)
        print(
            f"cluster, warm, unchanged:   {warm:7.2f} s wall {warm_cpu:7.2f} s CPU (exit {code}); "
            f"JSON identical to cold: {same}"
        )
        with open(extra / "extra.txt", "a", encoding="utf-8") as handle:
            handle.write("One sentence added between the runs.\n")
        changed, changed_cpu, code = timed([*cluster, *jobs], str(work / "changed.json"))
        print(f"cluster, warm, one changed: {changed:7.2f} s wall {changed_cpu:7.2f} s CPU (exit {code})")
        print(
            f"speed-up over cold, unchanged:   {cold / warm:5.1f}x wall {cold_cpu / warm_cpu:5.1f}x CPU "
            "(target: at least 10x)"
        )
        print(
            f"speed-up over cold, one changed: {cold / changed:5.1f}x wall "
            f"{cold_cpu / changed_cpu:5.1f}x CPU (target: at least 10x)"
        )
        if arguments.verify:
            uncached, uncached_cpu, code = timed([*cluster, "--no-cache", *jobs], str(work / "uncached.json"))
            same = filecmp.cmp(work / "changed.json", work / "uncached.json", shallow=False)
            print(
                f"cluster --no-cache, one changed: {uncached:.2f} s wall {uncached_cpu:.2f} s CPU "
                f"(exit {code}); JSON identical to the warm run's: {same}"
            )

        changed_dir = work / "changed"
        changed_dir.mkdir()
        given = changed_files(arguments.corpus, changed_dir)
        command = [*storydiff, "check", "--corpus", str(arguments.corpus), *given, "--cache", cache]
        first, first_cpu, code = timed(command)
        print(
            f"check of 5 files, first run (signs them, stores the corpus snapshot): {first:.2f} s wall "
            f"{first_cpu:.2f} s CPU (exit {code})"
        )
        runs = [timed(command) for _ in range(arguments.repeats)]
        walls = [run[0] for run in runs]
        cpus = [run[1] for run in runs]
        print(
            f"check of 5 files, warm: best {min(walls):.2f} s, median {statistics.median(walls):.2f} s wall; "
            f"best {min(cpus):.2f} s, median {statistics.median(cpus):.2f} s CPU over {len(runs)} runs "
            f"(exit {runs[-1][2]}; target: under 2 s)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""End-to-end speed, memory and accuracy of `storydiff cluster`, beside plain datasketch.

Run on a corpus written by generate_corpus.py (its docs/ and truth_pairs.tsv):

    python benchmarks/generate_corpus.py ../shared/corpora/reuters-21578 /tmp/corpus-100k --documents 100000
    python benchmarks/bench_cluster.py /tmp/corpus-100k

Every tool runs as its own process, one after the other, on a warm page cache; each is
timed from start to exit, and its peak memory is the largest sum over the process and its
workers, sampled every 20 ms, of their resident sets (RSS: a page mapped by several processes
counts once for each) and of their proportional sets (PSS: such a page is split among them).
The "read floor" is a plain Python loop that reads every file. Accuracy counts document
pairs: a pair is found when both documents are in one cluster (storydiff) or are an LSH
candidate pair (baselines).

storydiff runs twice per --jobs value: as a user's first run (the signature cache on, as
by default, in a new file: the run pays for filling it), and with --no-cache. The
"× storydiff" column divides each time by the first storydiff row's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
READ_FLOOR = """
import os, sys
total = 0
for directory, _, names in os.walk(sys.argv[1]):
    for name in names:
        with open(os.path.join(directory, name), 'rb') as handle:
            total += len(handle.read())
print(total)
"""


_TICKS = os.sysconf("SC_CLK_TCK")


def _tree_memory_kb(pid: int, cpu_seconds: dict[int, float] | None = None) -> tuple[int, int]:
    """Resident and proportional set sizes (RSS, PSS) of a process and all its descendants,
    from /proc (Linux). RSS counts a page shared by several processes (the spilled sets and
    signatures that workers map, the pages a fork shares) once per process; PSS splits it.
    With `cpu_seconds`, each process's CPU time so far (user and system) is recorded there."""
    rss = pss = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup") as rollup:
                for line in rollup:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
            if cpu_seconds is not None:
                with open(f"/proc/{current}/stat") as status:
                    fields = status.read().rsplit(")", 1)[1].split()
                cpu_seconds[current] = (int(fields[11]) + int(fields[12])) / _TICKS
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return rss, pss


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_rss_mb: float  # the largest sum of resident sets, sampled every 20 ms
    peak_pss_mb: float  # the largest sum of proportional sets
    exit_code: int
    # CPU time of the process and its descendants: the tree's own exit leaves nothing to read, so
    # this is each process's time at the last sample it was seen in (every 20 ms).
    cpu_seconds: float = 0.0


def measure(
    command: list[str], stdout_path: str | None = None, environment: dict[str, str] | None = None
) -> tuple[float, float, int]:
    """Run a command; return (wall seconds, peak tree RSS in MB, exit code)."""
    result = measure_detailed(command, stdout_path, environment)
    return result.seconds, result.peak_rss_mb, result.exit_code


def measure_detailed(
    command: list[str],
    stdout_path: str | None = None,
    environment: dict[str, str] | None = None,
    stderr_path: str | None = None,
) -> Measurement:
    """Run a command; its wall time, peak tree RSS and PSS, CPU time, and exit code."""
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL  # noqa: SIM115
    errors = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL  # noqa: SIM115
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=out, stderr=errors, env=environment)
    peak_rss = peak_pss = 0
    cpu_seconds: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_rss, peak_pss
        while not done.is_set():
            rss, pss = _tree_memory_kb(process.pid, cpu_seconds)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    for handle, path in ((out, stdout_path), (errors, stderr_path)):
        if path:
            handle.close()  # type: ignore[union-attr]
    return Measurement(elapsed, peak_rss / 1024, peak_pss / 1024, code, sum(cpu_seconds.values()))


def truth_pairs(corpus: Path) -> set[tuple[str, str]]:
    pairs = set()
    with open(corpus / "truth_pairs.tsv", encoding="utf-8") as handle:
        for line in handle:
            left, right = line.rstrip("\n").split("\t")[:2]
            pairs.add((min(left, right), max(left, right)))
    return pairs


def cluster_pairs(report_path: str, corpus: Path) -> set[tuple[str, str]]:
    with open(report_path, encoding="utf-8") as handle:
        report = json.load(handle)
    pairs = set()
    for cluster in report["clusters"]:
        members = sorted(os.path.relpath(member["path"], corpus) for member in cluster["members"])
        pairs.update((left, right) for i, left in enumerate(members) for right in members[i + 1 :])
    return pairs


def score(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[float, float]:
    hits = len(found & truth)
    return hits / len(truth) if truth else 1.0, hits / len(found) if found else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpus", type=Path, help="a directory written by generate_corpus.py")
    parser.add_argument("--jobs", type=int, nargs="+", default=[2], help="storydiff --jobs values to run")
    parser.add_argument(
        "--no-default-baseline", action="store_true", help="skip datasketch with SHA-1 (slow)"
    )
    parser.add_argument("--no-baselines", action="store_true", help="storydiff and the read floor only")
    args = parser.parse_args()
    docs = args.corpus / "docs"
    truth = truth_pairs(args.corpus)
    work = Path(tempfile.mkdtemp(prefix="storydiff-bench-"))

    subprocess.run(
        [sys.executable, "-c", READ_FLOOR, str(docs)], check=True, capture_output=True
    )  # warm cache
    total_bytes = int(
        subprocess.run(
            [sys.executable, "-c", READ_FLOOR, str(docs)], capture_output=True, check=True, text=True
        ).stdout
    )
    documents = sum(len(names) for _, _, names in os.walk(docs))
    rows: list[tuple[str, Measurement, float | None, float | None]] = []

    floor = measure_detailed([sys.executable, "-c", READ_FLOOR, str(docs)])
    floor_seconds = floor.seconds
    rows.append(("read floor (plain Python)", floor, None, None))

    outputs = []
    stages: dict[str, list[str]] = {}  # each storydiff run's --timings lines
    for jobs in args.jobs:
        # As a user's first run: the signature cache on (the default) and empty, so the run
        # pays for filling it; and with --no-cache, the pipeline alone.
        for cache_option in ("fresh cache", "--no-cache"):
            name = f"{jobs}{'-nocache' if cache_option == '--no-cache' else ''}"
            report = str(work / f"storydiff-j{name}.json")
            command = [sys.executable, "-m", "storydiff", "cluster", str(docs), "--format", "json"]
            command += ["--jobs", str(jobs), "--timings"]
            if cache_option == "--no-cache":
                command.append("--no-cache")
            environment = {**os.environ, "STORYDIFF_CACHE": str(work / f"cache-j{name}.sqlite")}
            chatter = work / f"storydiff-j{name}.err"
            result = measure_detailed(command, report, environment, str(chatter))
            if result.exit_code != 0:
                sys.exit(f"storydiff exited {result.exit_code}")
            lines = chatter.read_text(encoding="utf-8").splitlines()
            stages[f"storydiff -j{jobs} {cache_option}"] = [line for line in lines if line.endswith(" s")]
            recall, precision = score(
                cluster_pairs(report, docs), {(f"{a}", f"{b}") for a, b in _strip_docs(truth)}
            )
            rows.append((f"storydiff -j{jobs} {cache_option}", result, recall, precision))
            outputs.append(Path(report).read_bytes())
    identical = all(output == outputs[0] for output in outputs)

    kinds = (
        []
        if args.no_baselines
        else ["datasketch-xxhash-2cores", "datasketch-xxhash"]
        + ([] if args.no_default_baseline else ["datasketch-default"])
    )
    for kind in kinds:
        result_path = str(work / f"{kind}.json")
        result = measure_detailed([sys.executable, str(HERE / "baselines.py"), kind, str(docs)], result_path)
        with open(result_path, encoding="utf-8") as handle:
            found = {tuple(sorted(pair)) for pair in json.load(handle)["pairs"]}
        recall, precision = score(found, set(_strip_docs(truth)))  # type: ignore[arg-type]
        rows.append((kind, result, recall, precision))

    megabytes = total_bytes / 1e6
    best = next(result.seconds for name, result, *_ in rows if name.startswith("storydiff"))
    print(f"corpus: {docs}  {documents:,} documents, {megabytes:.1f} MB, {len(truth):,} true pairs")
    print(
        f"{'tool':<30}{'wall s':>9}{'CPU s':>8}{'docs/s':>10}{'MB/s':>8}{'RSS MB':>8}{'PSS MB':>8}"
        f"{'recall':>8}{'precision':>10}{'× floor':>9}{'× storydiff':>12}"
    )
    for name, result, recall, precision in rows:
        seconds = result.seconds
        recall_text = f"{recall:.4f}" if recall is not None else "-"
        precision_text = f"{precision:.4f}" if precision is not None else "-"
        print(
            f"{name:<30}{seconds:>9.2f}{result.cpu_seconds:>8.2f}{documents / seconds:>10,.0f}"
            f"{megabytes / seconds:>8.1f}{result.peak_rss_mb:>8.0f}{result.peak_pss_mb:>8.0f}"
            f"{recall_text:>8}{precision_text:>10}"
            f"{seconds / floor_seconds:>9.2f}{seconds / best:>12.2f}"
        )
    shutil.rmtree(work, ignore_errors=True)
    if len(outputs) > 1:
        print(f"storydiff JSON identical across --jobs {args.jobs}, with and without the cache: {identical}")
    for name, lines in stages.items():
        print(f"{name} --timings: {'; '.join(lines)}")


def _strip_docs(pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Truth paths are relative to the corpus directory; tools see paths relative to docs/."""
    prefix = "docs" + os.sep
    return {(a.removeprefix(prefix), b.removeprefix(prefix)) for a, b in pairs}


if __name__ == "__main__":
    main()

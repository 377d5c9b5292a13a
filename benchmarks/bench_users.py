"""What a user would run to find near-duplicates, side by side in one run, against issue 18's targets.

On a corpus written by generate_corpus.py (its docs/ and truth_pairs.tsv), one command:

    python benchmarks/generate_corpus.py ../shared/corpora/onestopenglish-adv \\
        ../shared/corpora/reuters-21578 /tmp/storydiff-heavy-100k --documents 100000 --mode heavy
    python benchmarks/bench_users.py /tmp/storydiff-heavy-100k

Rows, each its own process on a warm page cache, one after the other:

- the read floor: a plain Python loop that reads every file;
- rensa 0.5 as its README shows it: every text in a list, tokens from `text.split()`,
  `RMinHashDeduplicator(threshold=0.8, num_perm=128, use_lsh=True).add_pairs(...)`. rensa is
  installed into a virtualenv of its own (--rensa-venv, created with `pip install rensa==0.5.0` on
  the first run), so storydiff's environment stays as users have it;
- datasketch + xxhash, bulk: baselines.py `datasketch-xxhash` (xxh32, `update_batch`, MinHashLSH at
  0.5, one process);
- storydiff from the interpreter running this script: `dedup --dry-run` (its plan to a file, a new
  empty signature cache as on a user's first run: dedup has no --no-cache), `cluster --format json
  --no-cache --timings`, and the default text output (`cluster --no-cache --timings`, stdout to a
  file, not a terminal).

Each row gives wall time, CPU time, the 1-minute load average as it ended (on a shared machine
the ratios are only as good as the load was even), and the peak over 20 ms samples of the resident (RSS) and
proportional (PSS) set sizes summed over the whole process tree (see bench_cluster.py). Accuracy:
pair recall and precision against truth_pairs.tsv (a pair is found when both documents are in one
cluster, or are an LSH candidate pair), and drop recall and precision for deduplication: a group of
n true copies should lose n - 1 documents, so a drop is right while one member of its group is kept,
and a dropped document with no true copy is wrong. Pairs become drops by keeping one document per
connected component; rensa reports only keep or drop, so it has no pair figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cluster import READ_FLOOR, Measurement, cluster_pairs, measure_detailed, truth_pairs

HERE = Path(__file__).resolve().parent
RENSA_REQUIREMENT = "rensa==0.5.0"
DEFAULT_RENSA_VENV = Path(tempfile.gettempdir()) / "storydiff-bench-rensa"
# rensa's README, "Keep unique documents", applied to files.
RENSA_README_DEDUP = """
import os, sys
from rensa import RMinHashDeduplicator

root, threshold = sys.argv[1], float(sys.argv[2])
paths = sorted(
    os.path.join(directory, name)
    for directory, _, names in os.walk(root)
    for name in names
    if name.endswith(".txt")
)
documents = []
for path in paths:
    with open(path, encoding="utf-8", errors="replace") as handle:
        documents.append(handle.read())
dedup = RMinHashDeduplicator(threshold=threshold, num_perm=128, use_lsh=True)
keep = dedup.add_pairs((str(i), text.split()) for i, text in enumerate(documents))
for path, kept in zip(paths, keep):
    print("keep" if kept else "drop", os.path.relpath(path, root), sep="\\t")
"""
_PLAN_LINE = re.compile(r"^(keep|drop)  (.+?)  \((?:cluster (\d+):|no near-duplicate|near-duplicate of)")
TARGETS = (
    # (label, numerator row, denominator row, bound, the ratio must be at least / at most the bound)
    ("rensa / storydiff dedup --dry-run (target >= 10)", "rensa", "dedup", 10.0, "min"),
    ("rensa / storydiff cluster --format json (target >= 4)", "rensa", "json", 4.0, "min"),
    ("text output / json (target <= 1.2)", "text", "json", 1.2, "max"),
    ("storydiff dedup --dry-run / read floor (target <= 4)", "dedup", "floor", 4.0, "max"),
)
PEAK_RSS_TARGET_MB = 500.0
HELP_TARGET_SECONDS = 0.15


def ensure_rensa(venv: Path) -> Path:
    """The python of a virtualenv holding rensa 0.5, made on first use."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('rensa'))"]
    if python.exists() and subprocess.run(probe, capture_output=True, text=True).stdout.startswith("0.5"):
        return python
    print(f"installing {RENSA_REQUIREMENT} into {venv}", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", RENSA_REQUIREMENT], check=True)
    return python


def truth_groups(corpus: Path) -> list[set[str]]:
    """The true copy groups (connected components of the truth pairs), paths relative to docs/."""
    return components(strip_docs(truth_pairs(corpus)))


def strip_docs(pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    prefix = "docs/"
    return {(left.removeprefix(prefix), right.removeprefix(prefix)) for left, right in pairs}


def components(pairs: set[tuple[str, str]]) -> list[set[str]]:
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for left, right in pairs:
        parent[root(left)] = root(right)
    groups: dict[str, set[str]] = defaultdict(set)
    for node in parent:
        groups[root(node)].add(node)
    return list(groups.values())


def drops_of(pairs: set[tuple[str, str]]) -> set[str]:
    """All but the smallest path of each connected component."""
    return {path for group in components(pairs) for path in sorted(group)[1:]}


def pair_score(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[float, float]:
    hits = len(found & truth)
    return hits / len(truth) if truth else 1.0, hits / len(found) if found else 1.0


def drop_score(dropped: set[str], groups: list[set[str]]) -> tuple[float, float]:
    expected = sum(len(group) - 1 for group in groups)
    right = sum(min(len(group & dropped), len(group) - 1) for group in groups)
    return right / expected if expected else 1.0, right / len(dropped) if dropped else 1.0


def dedup_plan(plan_path: Path, docs: Path) -> tuple[set[tuple[str, str]], set[str]]:
    """The pairs (members of one cluster) and drops of a `storydiff dedup --dry-run` plan."""
    clusters: dict[str, list[str]] = defaultdict(list)
    dropped = set()
    for line in plan_path.read_text(encoding="utf-8").splitlines():
        match = _PLAN_LINE.match(line)
        if not match:
            continue
        action, path, cluster = match.groups()
        relative = os.path.relpath(path, docs)
        if action == "drop":
            dropped.add(relative)
        if cluster:
            clusters[cluster].append(relative)
    pairs = set()
    for members in clusters.values():
        members.sort()
        pairs.update((left, right) for i, left in enumerate(members) for right in members[i + 1 :])
    return pairs, dropped


def help_seconds(runs: int = 7) -> float:
    """Median wall time of `storydiff --help`, the cost of starting the CLI."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "storydiff", "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_checked(
    label: str,
    command: list[str],
    stdout_path: Path,
    stderr_path: Path,
    environment: dict[str, str] | None = None,
) -> Measurement:
    result = measure_detailed(command, str(stdout_path), environment, str(stderr_path))
    if result.exit_code != 0:
        sys.exit(f"{label} exited {result.exit_code}; see {stderr_path}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpus", type=Path, help="a directory written by generate_corpus.py")
    parser.add_argument("--rensa-venv", type=Path, default=DEFAULT_RENSA_VENV, help="virtualenv for rensa")
    parser.add_argument(
        "--rensa-thresholds",
        type=float,
        nargs="+",
        default=[0.8, 0.5],
        help="rensa runs, one per threshold; the first (its README's 0.8) is the one the targets use "
        "[default: 0.8 0.5]",
    )
    parser.add_argument(
        "--work", type=Path, help="keep reports and logs here [default: a temporary directory]"
    )
    args = parser.parse_args()
    docs = (args.corpus / "docs").resolve()
    work = args.work or Path(tempfile.mkdtemp(prefix="storydiff-bench-users-"))
    work.mkdir(parents=True, exist_ok=True)
    rensa_python = ensure_rensa(args.rensa_venv)
    truth = strip_docs(truth_pairs(args.corpus))
    groups = components(truth)

    floor_command = [sys.executable, "-c", READ_FLOOR, str(docs)]
    total_bytes = int(subprocess.run(floor_command, capture_output=True, check=True, text=True).stdout)
    documents = sum(len(names) for _, _, names in os.walk(docs))
    rows: dict[str, tuple[str, Measurement, tuple[float, float] | None, tuple[float, float]]] = {}
    loads: dict[str, float] = {}  # the 1-minute load average as each row ended: others' work shows here

    def row(
        key: str, name: str, result: Measurement, pairs: set[tuple[str, str]] | None, drops: set[str]
    ) -> None:
        rows[key] = (
            name,
            result,
            None if pairs is None else pair_score(pairs, truth),
            drop_score(drops, groups),
        )
        loads[key] = os.getloadavg()[0]
        print(f"{name}: {result.seconds:.1f} s", file=sys.stderr)

    floor = run_checked("read floor", floor_command, work / "floor.out", work / "floor.err")
    rows["floor"] = ("read floor (plain Python)", floor, None, (0.0, 1.0))
    loads["floor"] = os.getloadavg()[0]

    for index, threshold in enumerate(args.rensa_thresholds):
        rensa_out = work / f"rensa-{threshold}.tsv"
        command = [str(rensa_python), "-c", RENSA_README_DEDUP, str(docs), str(threshold)]
        result = run_checked("rensa", command, rensa_out, work / f"rensa-{threshold}.err")
        rensa_drops = {
            line.split("\t", 1)[1]
            for line in rensa_out.read_text(encoding="utf-8").splitlines()
            if line.startswith("drop")
        }
        key = "rensa" if index == 0 else f"rensa-{threshold}"
        row(key, f"rensa 0.5 README, threshold {threshold}", result, None, rensa_drops)

    datasketch_out = work / "datasketch.json"
    command = [sys.executable, str(HERE / "baselines.py"), "datasketch-xxhash", str(docs)]
    result = run_checked("datasketch", command, datasketch_out, work / "datasketch.err")
    found = {(min(a, b), max(a, b)) for a, b in json.loads(datasketch_out.read_text())["pairs"]}
    row("datasketch", "datasketch + xxhash, bulk", result, found, drops_of(found))

    storydiff = [sys.executable, "-m", "storydiff"]
    environment = {**os.environ, "STORYDIFF_CACHE": str(work / "dedup-cache.sqlite")}
    plan = work / "dedup-plan.txt"
    command = [*storydiff, "dedup", str(docs), "--dry-run"]
    result = run_checked("storydiff dedup", command, plan, work / "dedup.err", environment=environment)
    pairs, dropped = dedup_plan(plan, docs)
    row("dedup", "storydiff dedup --dry-run", result, pairs, dropped)

    report = work / "cluster.json"
    command = [*storydiff, "cluster", str(docs), "--format", "json", "--no-cache", "--timings"]
    result = run_checked("storydiff cluster json", command, report, work / "json.err")
    pairs = {tuple(sorted(pair)) for pair in cluster_pairs(str(report), docs)}  # type: ignore[misc]
    row("json", "storydiff cluster --format json", result, pairs, drops_of(pairs))  # type: ignore[arg-type]

    text = work / "cluster.txt"
    command = [*storydiff, "cluster", str(docs), "--no-cache", "--timings"]
    result = run_checked("storydiff cluster text", command, text, work / "text.err")
    rows["text"] = ("storydiff cluster (text, to a file)", result, rows["json"][2], rows["json"][3])
    loads["text"] = os.getloadavg()[0]

    startup = help_seconds()

    print(
        f"corpus: {args.corpus}  {documents:,} documents, {total_bytes / 1e6:.1f} MB, "
        f"{len(truth):,} true pairs in {len(groups):,} groups ({sum(map(len, groups)):,} documents)"
    )
    print(
        f"{'':<40}{'wall s':>8}{'CPU s':>8}{'RSS MB':>8}{'PSS MB':>8}"
        f"{'pair R':>8}{'pair P':>8}{'drop R':>8}{'drop P':>8}{'× floor':>9}{'load':>6}"
    )
    for key, (name, measured, pair_figures, drop_figures) in rows.items():
        pair_text = "".join(f"{value:>8.4f}" for value in pair_figures) if pair_figures else f"{'-':>8}" * 2
        drop_text = "".join(f"{value:>8.4f}" for value in drop_figures) if key != "floor" else f"{'-':>8}" * 2
        print(
            f"{name:<40}{measured.seconds:>8.1f}{measured.cpu_seconds:>8.1f}{measured.peak_rss_mb:>8.0f}"
            f"{measured.peak_pss_mb:>8.0f}{pair_text}{drop_text}{measured.seconds / floor.seconds:>9.1f}"
            f"{loads[key]:>6.1f}"
        )
    print("targets (issue 18):")
    for label, numerator, denominator, bound, kind in TARGETS:
        ratio = rows[numerator][1].seconds / rows[denominator][1].seconds
        met = ratio >= bound if kind == "min" else ratio <= bound
        print(f"  {label:<58}{ratio:>8.2f}  {'met' if met else 'NOT met'}")
    peak = max(rows[key][1].peak_rss_mb for key in ("dedup", "json", "text"))
    print(
        f"  {'storydiff peak RSS / 500 MB (target <= 1)':<58}{peak / PEAK_RSS_TARGET_MB:>8.2f}"
        f"  {'met' if peak <= PEAK_RSS_TARGET_MB else 'NOT met'} ({peak:,.0f} MB)"
    )
    print(
        f"  {'storydiff --help / 0.15 s (target <= 1)':<58}{startup / HELP_TARGET_SECONDS:>8.2f}"
        f"  {'met' if startup <= HELP_TARGET_SECONDS else 'NOT met'} ({startup:.3f} s, median of 7)"
    )
    for key in ("json", "text"):
        lines = (work / f"{key}.err").read_text(encoding="utf-8").splitlines()
        print(f"{rows[key][0]} --timings: {'; '.join(line.strip() for line in lines if line.endswith(' s'))}")
    print(f"reports and logs: {work}")


if __name__ == "__main__":
    main()

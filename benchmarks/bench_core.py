"""The signing hot path (fold, tokens, shingles, line keys, exact sets, signatures) per document.

    python benchmarks/bench_core.py ../shared/corpora/reuters-21578
    python benchmarks/bench_core.py /tmp/corpus-30k/docs --compare /tmp/old/.venv/bin/python

Reads every *.txt under the directory (reading is not timed), then times the calls the
pipeline makes for each part of texts (storydiff.shingles.batch_shingles_and_line_keys,
distinct_sets, signatures.batch_signatures) in parts of about 2 MB, with the default settings,
best of --repeat runs. It prints microseconds per document and MB of text per second, with
the core on one thread (RAYON_NUM_THREADS=1) and on all cores. With --compare PYTHON it also
runs the same measurement under another interpreter that has storydiff installed (an older
version, before the compiled core: the functions have kept their signatures) and prints the
ratios, all in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

PART_CHARS = 2_000_000


def measure(directory: Path, repeat: int) -> dict[str, float]:
    from storydiff import shingles, signatures
    from storydiff.settings import Settings

    settings = Settings()
    texts = [path.read_text(encoding="utf-8", errors="replace") for path in sorted(directory.rglob("*.txt"))]
    parts: list[list[str]] = [[]]
    size = 0
    for text in texts:
        if size + len(text) > PART_CHARS and parts[-1]:
            parts.append([])
            size = 0
        parts[-1].append(text)
        size += len(text)
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for part in parts:
            batch, _, _ = shingles.batch_shingles_and_line_keys(
                part, settings.ngram, settings.seed, settings.repeated_min_words
            )
            shingles.distinct_sets(batch)
            signatures.batch_signatures(batch, settings.num_perm, settings.seed)
        best = min(best, time.perf_counter() - started)
    megabytes = sum(len(text.encode("utf-8", "surrogatepass")) for text in texts) / 1e6
    return {"documents": len(texts), "seconds": best, "megabytes": megabytes}


def run(python: str, directory: Path, repeat: int, threads: str | None) -> dict[str, float]:
    environment = dict(os.environ)
    if threads:
        environment["RAYON_NUM_THREADS"] = threads
    output = subprocess.run(
        [python, __file__, str(directory), "--repeat", str(repeat), "--measure-only"],
        env=environment,
        check=True,
        capture_output=True,
        text=True,
        cwd="/",  # import the interpreter's installed storydiff, not a checkout's
    ).stdout
    result: dict[str, float] = json.loads(output)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("directory", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compare", metavar="PYTHON", help="another interpreter with storydiff installed")
    parser.add_argument("--measure-only", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure_only:
        print(json.dumps(measure(arguments.directory, arguments.repeat)))
        return
    rows = [
        ("core, 1 thread", run(sys.executable, arguments.directory, arguments.repeat, "1")),
        (f"core, {os.cpu_count()} threads", run(sys.executable, arguments.directory, arguments.repeat, None)),
    ]
    if arguments.compare:
        rows.append(
            (
                f"--compare {arguments.compare}",
                run(arguments.compare, arguments.directory, arguments.repeat, None),
            )
        )
    documents, megabytes = rows[0][1]["documents"], rows[0][1]["megabytes"]
    print(f"{documents:,} documents, {megabytes:.1f} MB of text; best of {arguments.repeat}")
    print(f"{'':<40} {'seconds':>8} {'µs/doc':>8} {'MB/s':>7} {'ratio':>6}")
    slowest = max(row[1]["seconds"] for row in rows)
    for label, row in rows:
        seconds = row["seconds"]
        print(
            f"{label:<40} {seconds:8.3f} {seconds / documents * 1e6:8.1f} {megabytes / seconds:7.1f} "
            f"{slowest / seconds:5.1f}x"
        )


if __name__ == "__main__":
    main()

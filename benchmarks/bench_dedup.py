"""Time `storydiff dedup DIR --dry-run` with this checkout and with another source tree (the
code before a change), in one run, and print both times and their ratio.

    python benchmarks/bench_dedup.py /tmp/corpus-100k-dup --before /tmp/sd16-base/src --jobs 2

(`--after` runs another source tree instead of this checkout, e.g. a copy of it taken before
editing on while the benchmark runs.)

The corpus used for the closing note of issue 16 is four generated corpora of 25,000
documents side by side, 70% of them edited copies (the generator allows at most about 8,300
groups per corpus from Reuters, so one 100,000-document corpus cannot have most stories
copied; the four share their base articles, so their groups join into clusters of up to ~14):

    for seed in 1 2 3 4; do python benchmarks/generate_corpus.py ../shared/corpora/reuters-21578 \\
        /tmp/corpus-100k-dup/s$seed --documents 25000 --duplicate-rate 0.7 --seed $seed; done

Each side runs `--repeat` times, alternating, and the best time counts. The plans printed by
both must be identical, or the script fails.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time


def timed_dedup(directory: str, jobs: int, source: str | None) -> tuple[float, bytes]:
    environment = dict(os.environ)
    if source is not None:
        environment["PYTHONPATH"] = source
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "storydiff", "dedup", directory, "--dry-run", "-j", str(jobs)],
        env=environment,
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - started, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("directory")
    parser.add_argument("--before", required=True, help="a source tree (its src/) to compare with")
    parser.add_argument("--after", default=None, help="a source tree to run instead of this checkout")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"before": [], "after": []}
    plans: dict[str, bytes] = {}
    for _ in range(args.repeat):
        for side, source in (("before", args.before), ("after", args.after)):
            seconds, plans[side] = timed_dedup(args.directory, args.jobs, source)
            times[side].append(seconds)
    if plans["before"] != plans["after"]:
        raise SystemExit("the two dedup plans differ")
    before, after = min(times["before"]), min(times["after"])
    print(
        f"dedup --dry-run, {args.jobs} jobs: before {before:.1f} s, after {after:.1f} s "
        f"({before / after:.2f}x)"
    )


if __name__ == "__main__":
    main()

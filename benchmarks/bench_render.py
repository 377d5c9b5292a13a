"""What text output costs beside JSON: whole `storydiff cluster` runs, as ratios in one run.

    python benchmarks/bench_render.py ../shared/corpora/reuters-21578 /tmp/corpus-100k/docs --repeat 3

For each corpus, alternately: `--format json`, text piped to a file (plain lines), and text as
a terminal gets it (FORCE_COLOR, 80 and 120 columns: Rich wraps and styles it; `--no-pager`). Every
run is `--no-cache`, so none replays a stored output and each does the whole pipeline. The
table gives the median wall time of each and its ratio to the JSON run (the issue's bar: text
no more than 1.2 times JSON), and the bytes and lines written.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STORYDIFF = [sys.executable, "-m", "storydiff", "cluster", "--no-cache", "--no-pager"]


def runs() -> dict[str, tuple[list[str], dict[str, str]]]:
    plain = {key: value for key, value in os.environ.items() if key not in ("FORCE_COLOR", "NO_COLOR")}
    terminal = {**plain, "FORCE_COLOR": "1", "LINES": "40"}
    return {
        "json": (["--format", "json"], plain),
        "text, piped": (["--format", "text"], plain),
        "text, terminal (FORCE_COLOR, 80 columns)": (["--format", "text"], {**terminal, "COLUMNS": "80"}),
        "text, terminal (FORCE_COLOR, 120 columns)": (["--format", "text"], {**terminal, "COLUMNS": "120"}),
    }


def timed(corpus: str, arguments: list[str], environ: dict[str, str], out: Path) -> float:
    with out.open("wb") as handle:
        started = time.perf_counter()
        subprocess.run(
            [*STORYDIFF, corpus, *arguments],
            stdout=handle,
            stderr=subprocess.DEVNULL,
            env=environ,
            check=True,
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpora", nargs="+")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for corpus in options.corpora:
            seconds: dict[str, list[float]] = {name: [] for name in runs()}
            sizes: dict[str, tuple[int, int]] = {}
            for _ in range(options.repeat):
                for number, (name, (arguments, environ)) in enumerate(runs().items()):
                    out = Path(scratch) / f"out-{number}"
                    seconds[name].append(timed(corpus, arguments, environ, out))
                    data = out.read_bytes()
                    sizes[name] = (len(data), data.count(b"\n"))
            base = statistics.median(seconds["json"])
            print(f"\n{corpus} ({options.repeat} runs each, median wall time)")
            print(f"{'output':45} {'wall s':>7} {'× json':>7} {'MB':>7} {'lines':>9}")
            for name, values in seconds.items():
                median = statistics.median(values)
                size, lines = sizes[name]
                print(f"{name:45} {median:7.2f} {median / base:7.2f} {size / 1e6:7.1f} {lines:9,}")


if __name__ == "__main__":
    main()

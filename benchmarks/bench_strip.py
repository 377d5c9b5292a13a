"""Throughput of boilerplate.strip with the `news` pack over every file of a corpus.

    python benchmarks/bench_strip.py ../shared/corpora/reuters-21578

To compare with another version of the module (run both in one process, interleaved, so a
busy machine affects both alike):

    git show main:src/storydiff/boilerplate.py > /tmp/boilerplate_main.py
    python benchmarks/bench_strip.py ../shared/corpora/reuters-21578 --baseline /tmp/boilerplate_main.py

The texts are read first; each figure is the best of several rounds of CPU time (process
time, so other processes on the machine inflate it less than wall time would).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from types import ModuleType

from storydiff import boilerplate


def load_baseline(path: str) -> ModuleType:
    """Load another boilerplate.py as a module of the storydiff package (for its relative imports)."""
    spec = importlib.util.spec_from_file_location("storydiff._baseline_boilerplate", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{path}: cannot load")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def read_texts(root: str) -> list[str]:
    texts = []
    for directory, _, names in os.walk(root):
        for name in sorted(names):
            with open(os.path.join(directory, name), encoding="utf-8", errors="replace") as handle:
                texts.append(handle.read())
    return texts


def measure(module: ModuleType, texts: list[str], tidy: bool, rounds: int) -> tuple[float, int]:
    rules = module.rules_for_pack("news")
    best = float("inf")
    removed = 0
    for _ in range(rounds):
        started = time.process_time()
        removed = 0
        for text in texts:
            removed += len(module.strip(text, rules, tidy).removals)
        best = min(best, time.process_time() - started)
    return best, removed


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("corpus")
    parser.add_argument("--baseline", help="another boilerplate.py to measure beside this one")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    texts = read_texts(args.corpus)
    modules = [("current", boilerplate)]
    if args.baseline:
        modules.insert(0, ("baseline", load_baseline(args.baseline)))
    print(f"{len(texts):,} texts, {sum(map(len, texts)):,} characters")
    for tidy in (False, True):
        for label, module in modules:
            seconds, removed = measure(module, texts, tidy, args.rounds)
            print(f"{label:9} tidy={tidy!s:5}  {seconds:6.3f} s  {removed:6,} lines removed")


if __name__ == "__main__":
    main()

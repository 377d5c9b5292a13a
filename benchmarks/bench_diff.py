"""Speed of the diff stage per cluster member, as `pipeline.diff_batch` runs it.

    python benchmarks/bench_diff.py                      # the seeds only
    python benchmarks/bench_diff.py /tmp/corpus-100k     # plus groups of a generated corpus

A generated corpus is one written by generate_corpus.py: its truth.jsonl names each group's
base and variants (dropped, inserted and changed sentences, changed figures, other quote
marks, boilerplate lines, trimmed ends). Files are read and cleaned first, untimed; then
each group's base is tokenized once and every variant diffed against it, as the pipeline
does, and the time per member is reported: CPU time of this process (other load on the
machine matters less), best of --repeat passes (a warm code table, as in a long run).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

from storydiff.diff import tokenize, word_diff
from storydiff.model import SourceFile
from storydiff.pipeline import clean
from storydiff.settings import Settings

SEEDS = Path(__file__).resolve().parent.parent / "examples" / "seeds"


def cleaned(path: Path, settings: Settings) -> str:
    item = clean(SourceFile(str(path), str(path)), settings)
    text = getattr(item, "text", None)
    if text is None:
        raise SystemExit(f"{path}: {item}")
    return str(text)


def groups_from(corpus: Path, limit: int, settings: Settings) -> list[tuple[str, list[str]]]:
    members: dict[int, dict[str, list[str]]] = defaultdict(lambda: {"base": [], "variants": []})
    with open(corpus / "truth.jsonl", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record["group"] is not None:
                members[record["group"]]["base" if record["base"] else "variants"].append(record["path"])
    groups = []
    for group in sorted(members)[:limit]:
        (base,) = members[group]["base"]
        groups.append(
            (
                cleaned(corpus / base, settings),
                [cleaned(corpus / path, settings) for path in members[group]["variants"]],
            )
        )
    return groups


def time_groups(groups: list[tuple[str, list[str]]], repeat: int) -> float:
    """Best seconds per member over `repeat` passes."""
    members = sum(len(variants) for _, variants in groups)
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for base, variants in groups:
            base_tokens = tokenize(base, representative=True)
            for variant in variants:
                word_diff(base_tokens, variant)
        best = min(best, time.process_time() - started)
    return best / members


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("corpus", nargs="?", type=Path, help="a corpus written by generate_corpus.py")
    parser.add_argument("--groups", type=int, default=3000, help="groups of the corpus to diff")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = Settings()

    seeds = [
        (
            cleaned(SEEDS / "000_6cbf83f250581d03.txt", settings),
            [cleaned(SEEDS / "001_f0087190d5a72797.txt", settings)],
        )
    ]
    print(f"seeds 000 vs 001: {time_groups(seeds * 200, args.repeat) * 1e3:.3f} ms per member")
    if args.corpus:
        groups = groups_from(args.corpus, args.groups, settings)
        members = sum(len(variants) for _, variants in groups)
        size = sum(len(text) for _, variants in groups for text in variants) / members
        seconds = time_groups(groups, args.repeat)
        print(
            f"{args.corpus}: {len(groups)} groups, {members} members of {size / 1000:.1f} KB on average: "
            f"{seconds * 1e3:.3f} ms per member"
        )


if __name__ == "__main__":
    main()

"""Speed of the diff stage per cluster member, as `pipeline.diff_batch` runs it.

    python benchmarks/bench_diff.py                      # the seeds only
    python benchmarks/bench_diff.py /tmp/corpus-100k     # plus groups of a generated corpus

A generated corpus is one written by generate_corpus.py: its truth.jsonl names each group's
base and variants (dropped, inserted and changed sentences, changed figures, other quote
marks, boilerplate lines, trimmed ends). Files are read and cleaned first, untimed; then
each group's base is tokenized once and every variant diffed against it, as the pipeline
does, and the time per member is reported: CPU time of this process (other load on the
machine matters less), best of --repeat passes (a warm code table, as in a long run).

For a corpus, the whole stage is timed too: `pipeline.diff_batch` on the groups as
clusters (the base as representative; batches of DIFF_BATCH_CLUSTERS), which reads and
cleans every file again, and the pickling of its results that a worker sends back (and the
parent loads). Repeated lines are not stripped (finding them takes the whole corpus); each
member's similarity is given, as verification gives most of them.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from collections import defaultdict
from pathlib import Path

from storydiff import cluster, shingles
from storydiff.diff import tokenize, word_diff
from storydiff.model import CleanedDocument, SourceFile
from storydiff.pipeline import DIFF_BATCH_CLUSTERS, DiffTask, clean, diff_batch
from storydiff.settings import Settings

SEEDS = Path(__file__).resolve().parent.parent / "examples" / "seeds"


def cleaned(path: Path, settings: Settings) -> str:
    item = clean(SourceFile(str(path), str(path)), settings)
    text = getattr(item, "text", None)
    if text is None:
        raise SystemExit(f"{path}: {item}")
    return str(text)


def group_paths(corpus: Path, limit: int) -> list[tuple[Path, list[Path]]]:
    """Each group's base and variants, from the corpus's truth.jsonl."""
    members: dict[int, dict[str, list[str]]] = defaultdict(lambda: {"base": [], "variants": []})
    with open(corpus / "truth.jsonl", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record["group"] is not None:
                members[record["group"]]["base" if record["base"] else "variants"].append(record["path"])
    groups = []
    for group in sorted(members)[:limit]:
        (base,) = members[group]["base"]
        groups.append((corpus / base, [corpus / path for path in members[group]["variants"]]))
    return groups


def groups_from(paths: list[tuple[Path, list[Path]]], settings: Settings) -> list[tuple[str, list[str]]]:
    return [
        (cleaned(base, settings), [cleaned(path, settings) for path in variants]) for base, variants in paths
    ]


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


def diff_tasks(paths: list[tuple[Path, list[Path]]], settings: Settings) -> list[DiffTask]:
    """The groups as the pipeline's diff tasks, each member's similarity measured here."""
    tasks = []
    for base, variants in paths:
        documents = []
        for path in (base, *variants):
            item = clean(SourceFile(str(path), str(path)), settings)
            if not isinstance(item, CleanedDocument):
                raise SystemExit(f"{path}: {item}")
            documents.append(item)
        sets = shingles.shingle_sets([item.text for item in documents], settings.ngram, settings.seed)
        sources = [
            (str(path), str(path), item.document.content_hash)
            for path, item in zip((base, *variants), documents, strict=True)
        ]
        tasks.append(
            DiffTask(
                sources[0],
                tuple(sources[1:]),
                tuple(cluster.similarity(sets[0], member_set) for member_set in sets[1:]),
                (None,) * len(sources),
            )
        )
    return tasks


def time_stage(tasks: list[DiffTask], settings: Settings, repeat: int) -> tuple[float, float]:
    """Best seconds per member over `repeat` passes of `diff_batch`, and of pickling its
    results and loading them again."""
    members = sum(len(task.members) for task in tasks)
    batches = [
        tasks[start : start + DIFF_BATCH_CLUSTERS] for start in range(0, len(tasks), DIFF_BATCH_CLUSTERS)
    ]
    best_diff = best_pickle = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        results = [diff_batch(batch, settings) for batch in batches]
        best_diff = min(best_diff, time.process_time() - started)
        started = time.process_time()
        for result in results:
            pickle.loads(pickle.dumps(result, pickle.HIGHEST_PROTOCOL))
        best_pickle = min(best_pickle, time.process_time() - started)
    return best_diff / members, best_pickle / members


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
        paths = group_paths(args.corpus, args.groups)
        groups = groups_from(paths, settings)
        members = sum(len(variants) for _, variants in groups)
        size = sum(len(text) for _, variants in groups for text in variants) / members
        seconds = time_groups(groups, args.repeat)
        print(
            f"{args.corpus}: {len(groups)} groups, {members} members of {size / 1000:.1f} KB on average: "
            f"{seconds * 1e3:.3f} ms per member"
        )
        stage, pickling = time_stage(diff_tasks(paths, settings), settings, args.repeat)
        print(
            f"  the whole stage (diff_batch: reading, cleaning, diffing): {stage * 1e3:.3f} ms per member; "
            f"pickling its results and loading them: {pickling * 1e3:.3f} ms per member"
        )


if __name__ == "__main__":
    main()

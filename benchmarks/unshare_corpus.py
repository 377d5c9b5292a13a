"""Copy a generated corpus so that documents share no text beyond their own near-duplicates.

    python benchmarks/unshare_corpus.py /tmp/corpus-300k /tmp/unshared-300k

Past about 10,000 documents, generate_corpus.py has to reuse Reuters articles (100,000
documents are ten times the Reuters text; at 300,000 each article is in about 60 plain
documents), and documents that share an article share about half their shingles. Candidate
pairs then grow with the square of the reuse, not with the corpus, which says more about the
generator than about how storydiff scales on an ordinary corpus.

This writes each document again with its words replaced through a random bijection of the
vocabulary: one per near-duplicate group (from truth.jsonl), so a group's documents keep
exactly their shingle overlap (the truth and its Jaccard figures stay true), and one per
other document, so that two documents built from the same article no longer share phrases.
Words are swapped only with words of about the same frequency (blocks of 64 by rank), so
the text keeps its word lengths, its stop words' share, its figures, punctuation, lines and
case. Sizes stay within a few percent of the source corpus.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import shutil
import sys
import time
import zlib
from collections import Counter
from pathlib import Path

import numpy as np

_LETTERS = re.compile(r"[^\W\d_]+")
BLOCK = 64

_vocabulary: list[str] = []
_rank: dict[str, int] = {}
_seed = 0


def _count(paths: list[Path]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for path in paths:
        counts.update(word.lower() for word in _LETTERS.findall(path.read_text(encoding="utf-8")))
    return counts


def _start(vocabulary: list[str], seed: int) -> None:
    global _vocabulary, _rank, _seed
    _vocabulary, _seed = vocabulary, seed
    _rank = {word: index for index, word in enumerate(vocabulary)}


def _cipher(text: str, key: int) -> str:
    """`text` with every letter run mapped through the bijection that `key` picks."""
    rng = np.random.default_rng([_seed, key])
    blocks = (len(_vocabulary) + BLOCK - 1) // BLOCK
    multipliers = (rng.integers(0, BLOCK // 2, size=blocks) * 2 + 1).tolist()  # odd: a bijection mod 64
    shifts = rng.integers(0, BLOCK, size=blocks).tolist()
    vocabulary, rank = _vocabulary, _rank
    last_block = blocks - 1
    last_size = len(vocabulary) - last_block * BLOCK

    def swap(match: re.Match[str]) -> str:
        word = match.group()
        lower = word.lower()
        index = rank.get(lower)
        if index is None:
            return word
        block, place = divmod(index, BLOCK)
        if block == last_block:
            place = (place + shifts[block]) % last_size
        else:
            place = (place * multipliers[block] + shifts[block]) % BLOCK
        new = vocabulary[block * BLOCK + place]
        if word.isupper() and len(word) > 1:
            return new.upper()
        if word[0].isupper():
            return new[:1].upper() + new[1:]
        return new

    return _LETTERS.sub(swap, text)


def _write(job: tuple[str, str, int]) -> int:
    source, target, key = job
    text = Path(source).read_text(encoding="utf-8")
    data = _cipher(text, key).encode("utf-8")
    Path(target).write_bytes(data)
    return len(data)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("source", type=Path, help="a directory written by generate_corpus.py")
    parser.add_argument("target", type=Path, help="where the copy goes (must not exist)")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if args.target.exists():
        parser.error(f"{args.target} exists; remove it or choose another target")
    started = time.perf_counter()
    records = [
        json.loads(line) for line in (args.source / "truth.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    paths = [args.source / record["path"] for record in records]
    context = multiprocessing.get_context("fork")
    chunks = [paths[start : start + 2000] for start in range(0, len(paths), 2000)]
    counts: Counter[str] = Counter()
    with context.Pool(args.jobs) as pool:
        for part in pool.imap_unordered(_count, chunks):
            counts.update(part)
    # By frequency, ties by spelling: the same source gives the same vocabulary.
    vocabulary = [word for word, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]

    jobs = []
    for number, record in enumerate(records):
        group = record.get("group")
        # A group's documents share one key; every other document gets its own.
        key = zlib.crc32(f"group {group}".encode()) if group is not None else number + (1 << 32)
        target = args.target / record["path"]
        jobs.append((str(args.source / record["path"]), str(target), key))
    for directory in sorted({os.path.dirname(target) for _, target, _ in jobs}):
        os.makedirs(directory, exist_ok=True)
    with context.Pool(args.jobs, initializer=_start, initargs=(vocabulary, args.seed)) as pool:
        written = sum(pool.imap(_write, jobs, chunksize=256))
    for name in ("truth.jsonl", "truth_pairs.tsv"):
        shutil.copyfile(args.source / name, args.target / name)
    source_bytes = sum(path.stat().st_size for path in paths)
    print(
        f"{len(jobs):,} documents, {len(vocabulary):,} words in the vocabulary, "
        f"{written / 1e6:.1f} MB ({source_bytes / 1e6:.1f} MB in the source), "
        f"{time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()

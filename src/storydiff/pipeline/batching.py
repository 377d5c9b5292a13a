"""How much work goes into one engine task, and the helpers that cut work into tasks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

SIGN_BATCH_FILES = 512


# Rows (entries and stat rows) of signed batches the signature cache stores in one transaction
# (see SignatureCache.add): a commit per batch made a first run write five times the cache's size.
STORE_ROWS = 16384


# Shingling holds about 40 bytes per character of the texts it is given at once, so a batch
# of large files is shingled in parts of at most this many characters (a single larger file
# is a part of its own; --max-bytes bounds it).
SIGN_PART_CHARS = 8 << 20


VERIFY_BATCH_PAIRS = 8192


CANDIDATE_JOBS = 8  # groups of LSH bands, each an engine task


LIKELY_BATCH_PAIRS = 1 << 18  # candidates per estimate-filter task


DIFF_BATCH_CLUSTERS = 32


# Diffed clusters handed to the signature cache at a time, as they come (see _diff_clusters).
DIFF_STORE_CLUSTERS = 512


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class _InProcess:
    def map(self, function: Any, batches: Sequence[Any], *args: Any) -> Iterator[Any]:
        return (function(batch, *args) for batch in batches)


# A re-run bands only what changed while this many documents changed, or 1 in 100 of them.
PASS_CHANGED_LIMIT = 1000

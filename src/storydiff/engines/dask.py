"""The Dask engine: the same stage functions over batches, as tasks on a `dask.distributed` cluster.

It keeps the engine protocol of `engines.local`: `map(function, batches, *args)` yields
`function(batch, *args)` for each batch in the order of `batches`, whichever worker finishes
first, so the report is byte-identical to the local engine's. A bounded number of tasks is in
flight at once, so the driver holds a handful of results, not one per batch of the corpus.

The cluster is either a `LocalCluster` started here, sized to the machine (one single-threaded
worker process per core: the stage functions hold the GIL for much of their time), or an
existing scheduler given by address (`--scheduler` or `DASK_SCHEDULER_ADDRESS`).

Signatures stay on the workers: `map_keeping` returns each signed batch without them and
keeps them where they were computed (`HeldSignatures`), and `likely_pairs` runs the candidate
stage on the cluster (see `dask_candidates`); the driver receives only the likely pairs.

Limitation: signing spills each batch's exact shingle sets to a directory made by the driver,
and verification and diffing read them back by path. The workers of a `LocalCluster` share that
filesystem; the workers of a remote cluster do not, unless the directory is on a shared mount
(see docs/scaling.md for the plan that removes this).
"""

from __future__ import annotations

import itertools
import logging
import operator
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from .. import cluster
from ..errors import StorydiffError
from ..settings import Settings

T = TypeVar("T")
R = TypeVar("R")

SCHEDULER_ENVIRONMENT_VARIABLE = "DASK_SCHEDULER_ADDRESS"

# The candidate stage's sizes and time, at INFO (benchmarks/bench_dask.py shows them).
_log = logging.getLogger(__name__)

# Tasks kept in flight per worker thread: enough to keep every worker busy while the driver
# consumes results in order, few enough that the driver's memory stays bounded.
_IN_FLIGHT_PER_THREAD = 3


@dataclass(frozen=True)
class HeldSignatures:
    """Signatures kept on the workers: `blocks` are futures of uint32 arrays (one per signed
    batch), and document i's signature is row `row_of[i]` of block `block_of[i]`.

    The driver holds the two index arrays (16 bytes a document), never a signature.
    """

    blocks: tuple[Any, ...]
    block_of: npt.NDArray[np.int64]
    row_of: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.block_of)

    def with_rows(self, documents: npt.NDArray[np.int64], block: Any) -> HeldSignatures:
        """These signatures with those of `documents` replaced by the rows, in order, of `block`."""
        block_of, row_of = self.block_of.copy(), self.row_of.copy()
        block_of[documents] = len(self.blocks)
        row_of[documents] = np.arange(len(documents), dtype=np.int64)
        return HeldSignatures((*self.blocks, block), block_of, row_of)

    def placements(
        self, start: int, end: int
    ) -> list[tuple[int, npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
        """Where documents start..end lie: (block, rows in the block, rows in start..end) per block."""
        block_of, row_of = self.block_of[start:end], self.row_of[start:end]
        found = []
        for block in np.unique(block_of).tolist():
            targets = np.flatnonzero(block_of == block).astype(np.int64)
            found.append((block, row_of[targets], targets))
        return found


class DaskEngine:
    """Maps a stage function over batches, in order, on a Dask cluster.

    `scheduler`: the address of a running scheduler (`tcp://host:8786`); when None, the
    `DASK_SCHEDULER_ADDRESS` environment variable, and when that is unset a new `LocalCluster`
    with `workers` processes (default: one per core). `client`: an existing
    `dask.distributed.Client` to use as it is (tests pass one, to share a cluster); the engine
    then closes neither the client nor its cluster.
    """

    def __init__(
        self,
        scheduler: str | None = None,
        workers: int | None = None,
        client: Any = None,
    ) -> None:
        try:
            import dask.dataframe  # the candidate stage's shuffles (pandas, pyarrow)
            import dask.distributed
        except ImportError:
            raise StorydiffError("the Dask engine needs Dask: pip install 'storydiff[dask]'") from None
        # Typed as Any: distributed's constructors are not annotated.
        distributed: Any = dask.distributed
        self._cluster: Any = None
        self._owns_client = client is None
        if client is not None:
            self.client = client
            return
        address = scheduler or os.environ.get(SCHEDULER_ENVIRONMENT_VARIABLE) or None
        if address:
            try:
                self.client = distributed.Client(address, timeout="30s")
            except (OSError, TimeoutError) as error:
                raise StorydiffError(
                    f"{address}: cannot reach the Dask scheduler ({error}); check --scheduler "
                    f"or {SCHEDULER_ENVIRONMENT_VARIABLE}"
                ) from None
            return
        from .local import default_jobs

        self._cluster = distributed.LocalCluster(
            n_workers=workers or default_jobs(),
            threads_per_worker=1,
            processes=True,
            silence_logs=logging.ERROR,
        )
        self.client = distributed.Client(self._cluster)

    @property
    def dashboard_link(self) -> str | None:
        """Where the Dask dashboard is, when one is running."""
        link = getattr(self.client, "dashboard_link", None)
        return str(link) if link else None

    def __enter__(self) -> DaskEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_client:
            self.client.close()
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None

    def _window(self) -> int:
        threads = sum(self.client.nthreads().values()) or 1
        return threads * _IN_FLIGHT_PER_THREAD

    def hold(self, handles: Sequence[tuple[Any, int]]) -> HeldSignatures:
        """Signature blocks from `map_keeping` (with their row counts) as one document sequence."""
        lengths = [length for _, length in handles]
        return HeldSignatures(
            tuple(handle for handle, _ in handles),
            np.repeat(np.arange(len(handles), dtype=np.int64), lengths),
            np.concatenate([np.arange(length, dtype=np.int64) for length in lengths])
            if handles
            else np.empty(0, np.int64),
        )

    def map_keeping(
        self,
        function: Callable[..., Any],
        batches: Sequence[Any],
        *args: Any,
        split: Callable[[Any], tuple[Any, Any]],
    ) -> Iterator[tuple[Any, Any]]:
        """Like `map`, but `split` divides each result on its worker: the first part comes back
        here, the second stays on the worker, and a future of it is yielded alongside."""
        window = self._window()
        pending: deque[tuple[Any, Any]] = deque()
        submit = self.client.submit
        try:
            for batch in batches:
                parts = submit(split, submit(function, batch, *args, pure=False), pure=False)
                pending.append(
                    (
                        submit(operator.getitem, parts, 0, pure=False),
                        submit(operator.getitem, parts, 1, pure=False),
                    )
                )
                if len(pending) >= window:
                    light, kept = pending.popleft()
                    yield light.result(), kept
            while pending:
                light, kept = pending.popleft()
                yield light.result(), kept
        finally:
            for light, kept in pending:
                light.cancel()
                kept.cancel()

    def likely_pairs(
        self,
        signatures: object,
        shingle_counts: npt.NDArray[np.int64],
        settings: Settings,
    ) -> npt.NDArray[np.int64]:
        """`cluster.candidate_pairs` then `cluster.likely_pairs`, the same pairs in the same
        order, computed on the cluster (see `dask_candidates`).

        Signatures held in this process (they came from the signature cache) are scattered to
        the workers first.
        """
        import dask.dataframe

        from . import dask_candidates  # pandas: imported with Dask, not before

        dd: Any = dask.dataframe  # not annotated
        count = len(shingle_counts)
        if count < 2:
            return np.empty((0, 2), dtype=np.int64)
        rows = dask_candidates.SIGNATURE_PARTITION_ROWS
        bounds = [*range(0, count, rows), count]
        if bounds[-1] - bounds[-2] == 1 and len(bounds) > 2:
            del bounds[-2]  # divisions end at the last document: a partition of one would repeat it
        parts = []
        for start, end in itertools.pairwise(bounds):
            if isinstance(signatures, HeldSignatures):
                part = self._assembled(signatures, start, end)
            elif isinstance(signatures, np.ndarray):
                part = self.client.scatter(signatures[start:end])
            else:
                raise TypeError(f"signatures: expected an array or HeldSignatures, not {type(signatures)}")
            parts.append(
                self.client.submit(
                    dask_candidates.signature_frame, part, start, shingle_counts[start:end], pure=False
                )
            )
        divisions = (*bounds[:-1], count - 1)
        num_perm = settings.num_perm
        signature_frames = dd.from_delayed(
            parts, meta=dask_candidates.signature_meta(num_perm), divisions=divisions
        )
        band_keys = signature_frames.map_partitions(
            dask_candidates.band_key_frame,
            settings.lsh_bands,
            settings.rows_per_band,
            meta=dask_candidates.band_key_meta(),
        )
        buckets = band_keys.shuffle(
            on=["band", "key"], npartitions=len(parts) * dask_candidates.BAND_KEY_SPREAD
        )
        candidates = buckets.map_partitions(
            dask_candidates.bucket_pairs, count, meta=dask_candidates.pair_meta()
        )
        by_right = candidates.set_index("right", divisions=divisions)
        attached = dd.map_partitions(
            dask_candidates.attach_right,
            by_right,
            signature_frames,
            count,
            meta=dask_candidates.attached_meta(num_perm),
            align_dataframes=False,
        )
        by_left = attached.set_index("left", divisions=divisions)
        likely = dd.map_partitions(
            dask_candidates.estimate_filter,
            by_left,
            signature_frames,
            settings,
            meta=dask_candidates.pair_meta(),
            align_dataframes=False,
        )
        # Computed together, so the sizes share the stage's tasks instead of running it again.
        started = time.perf_counter()
        found, keys_emitted, distinct_candidates = self.client.compute(
            [likely, band_keys.map_partitions(len).sum(), attached.map_partitions(len).sum()], sync=True
        )
        _log.info(
            "candidate stage: %d documents, %d band keys, %d distinct candidate pairs, "
            "%d likely pairs, %d signature partitions, %.1f s",
            count,
            keys_emitted,
            distinct_candidates,
            len(found),
            len(parts),
            time.perf_counter() - started,
        )
        codes = found["left"].to_numpy(np.int64) * count + found["right"].to_numpy(np.int64)
        return cluster.pairs_from_codes(np.sort(codes), count)

    def _assembled(self, signatures: HeldSignatures, start: int, end: int) -> Any:
        """A future of the signatures of documents start..end, a block as it is when it is exactly that."""
        from . import dask_candidates

        placements = signatures.placements(start, end)
        if len(placements) == 1:
            block, source_rows, _ = placements[0]
            whole_block = np.count_nonzero(signatures.block_of == block) == end - start
            if whole_block and np.array_equal(source_rows, np.arange(end - start)):
                return signatures.blocks[block]
        return self.client.submit(
            dask_candidates.assemble,
            end - start,
            [(source_rows, targets) for _, source_rows, targets in placements],
            *(signatures.blocks[block] for block, _, _ in placements),
            pure=False,
        )

    def map(self, function: Callable[..., R], batches: Sequence[T], *args: Any) -> Iterator[R]:
        """`function(batch, *args)` for each batch, yielded in the order of `batches`."""
        if not batches:
            return
        window = self._window()
        pending: deque[Any] = deque()
        try:
            for batch in batches:
                pending.append(self.client.submit(function, batch, *args, pure=False))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()

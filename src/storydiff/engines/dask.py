"""The Dask engine: the same stage functions over batches, as tasks on a `dask.distributed` cluster.

It keeps the engine protocol of `engines.local`: `map(function, batches, *args)` yields
`function(batch, *args)` for each batch in the order of `batches`, whichever worker finishes
first, so the report is byte-identical to the local engine's. A bounded number of tasks is in
flight at once, so the driver holds a handful of results, not one per batch of the corpus.

The cluster is either a `LocalCluster` started here, sized to the machine (one single-threaded
worker process per core: the stage functions hold the GIL for much of their time), or an
existing scheduler given by address (`--scheduler` or `DASK_SCHEDULER_ADDRESS`).

Limitation: signing spills each batch's exact shingle sets to a directory made by the driver,
and verification and diffing read them back by path. The workers of a `LocalCluster` share that
filesystem; the workers of a remote cluster do not, unless the directory is on a shared mount
(see docs/scaling.md for the plan that removes this).
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from ..errors import StorydiffError

T = TypeVar("T")
R = TypeVar("R")

SCHEDULER_ENVIRONMENT_VARIABLE = "DASK_SCHEDULER_ADDRESS"

# Tasks kept in flight per worker thread: enough to keep every worker busy while the driver
# consumes results in order, few enough that the driver's memory stays bounded.
_IN_FLIGHT_PER_THREAD = 3


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

"""The local engine: stage functions over batches, in a process pool when there is enough work.

Results come back in submission order, so output never depends on which worker finished
first. With one job, or a single batch, everything runs in this process: no pool start-up
for small corpora such as examples/seeds.

Ctrl-C is the parent's business. A terminal sends SIGINT to the whole process group, and
each worker would print its own KeyboardInterrupt traceback, so workers never see it: the
pool's processes are started with SIGINT blocked, which they inherit (and they ignore it
too). In the parent, Ctrl-C waits while a batch is submitted, as submitting may start a
worker, and a start cut short leaves a worker the pool does not know of (it then fails
loudly, or the shutdown waits for it forever). When the parent is interrupted, or a batch
fails, the batches not yet started are cancelled and the engine waits only for the ones in
progress (at most one per worker).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Batches kept in flight per worker: enough to hide the parent's consumption, few enough
# that memory stays bounded by a handful of batches whatever the corpus size.
_IN_FLIGHT_PER_WORKER = 3


# Collections of the youngest generation every 20,000 new container objects instead of 700:
# a run makes millions of short-lived tuples, lists and dataclasses, and with the default the
# collector's full passes over everything alive took about a tenth of a 100,000-file run.
GC_THRESHOLD = (20_000, 10, 10)


def relax_garbage_collection() -> None:
    """Fewer cyclic-garbage collections in a storydiff process (its data has few cycles); what
    is alive at start-up (modules, code) is never scanned again."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class LocalEngine:
    """Maps a stage function over batches, in order, on `jobs` processes."""

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = jobs or default_jobs()
        self._pool: Executor | None = None

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Cancel the batches not yet started and wait only for those the workers are in.

        Workers are not killed: one killed while sending a result leaves the pool's manager
        thread reading half a message forever, and the process could not exit.
        """
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def map(self, function: Callable[..., R], batches: Sequence[T], *args: Any) -> Iterator[R]:
        """`function(batch, *args)` for each batch, yielded in the order of `batches`."""
        if self.jobs == 1 or len(batches) <= 1:
            for batch in batches:
                yield function(batch, *args)
            return
        if self._pool is None:
            # forkserver: workers never inherit a copy of this process's threads (the
            # progress bar's) mid-lock, as plain fork could.
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("forkserver" if "forkserver" in methods else None)
            if context.get_start_method() == "forkserver":
                # The stages' modules (numpy among them) are imported once, by the server the
                # workers are forked from, rather than by each worker: a quarter of a second of
                # CPU per worker. (Applies when this process starts its fork server.)
                context.set_forkserver_preload(["__main__", "storydiff.pipeline"])
            with _interrupts_held():
                self._pool = ProcessPoolExecutor(
                    max_workers=self.jobs, mp_context=context, initializer=_start_worker
                )
        try:
            yield from _bounded_map(self._pool, function, batches, args, self.jobs * _IN_FLIGHT_PER_WORKER)
        except BaseException:
            # Now, before the caller's clean-up (such as removing the directory the workers
            # write to) runs, not after.
            self.close()
            raise


def _start_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business (see above)
    relax_garbage_collection()


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ctrl-C arrives once the block is done; processes started in it have SIGINT blocked.

    Python runs signal handlers in the main thread only, so the handler swap defers the
    KeyboardInterrupt whichever thread the signal lands on; the mask is what a process
    started from this thread (the forkserver, or a worker) inherits.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: received.append(number))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        signal.signal(signal.SIGINT, previous)
    if received and callable(previous):
        previous(signal.SIGINT, None)  # Python's default handler raises KeyboardInterrupt


def _bounded_map(
    pool: Executor, function: Callable[..., R], batches: Iterable[T], args: tuple[Any, ...], window: int
) -> Iterator[R]:
    pending: list[Future[R]] = []
    for batch in batches:
        with _interrupts_held():
            pending.append(pool.submit(function, batch, *args))
        if len(pending) >= window:
            yield pending.pop(0).result()
    for future in pending:
        yield future.result()

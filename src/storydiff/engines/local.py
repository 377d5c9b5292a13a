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
progress (at most one per worker). SIGTERM and SIGHUP are handled the same way (entry.py turns
them into an exception that unwinds the run). Whatever ends the parent, even SIGKILL, its
workers and fork server end with it (end_with_parent, lifeline.py).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Batches kept in flight per worker: enough to hide the parent's consumption, few enough
# that memory stays bounded by a handful of batches whatever the corpus size.
_IN_FLIGHT_PER_WORKER = 3

# Signals that end a run: the parent handles them (see the module docstring and entry.py).
_PARENTS_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
_PR_SET_PDEATHSIG = 1


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
                context.set_forkserver_preload(
                    ["storydiff.engines.lifeline", "__main__", "storydiff.pipeline"]
                )
            with _interrupts_held():
                self._pool = ProcessPoolExecutor(
                    max_workers=self.jobs,
                    mp_context=context,
                    initializer=_start_worker,
                    initargs=(os.getpid(),),
                )
        try:
            yield from _bounded_map(self._pool, function, batches, args, self.jobs * _IN_FLIGHT_PER_WORKER)
        except BaseException:
            # Now, before the caller's clean-up (such as removing the directory the workers
            # write to) runs, not after.
            self.close()
            raise


def _start_worker(main_pid: int) -> None:
    for number in _PARENTS_SIGNALS:
        signal.signal(number, signal.SIG_IGN)  # the parent's business (see above)
    end_with_parent(main_pid)
    relax_garbage_collection()


def end_with_parent(main_pid: int) -> None:
    """End this worker when the process that runs storydiff ends, however it ends.

    Workers share the pool's pipes with each other, so none sees end-of-file when the
    parent dies of SIGKILL: they lived on for minutes, holding stdout open (`| wc -c` never
    returned). On Linux the kernel kills the worker when its parent (the fork server, which
    the kernel kills when the main process goes: see lifeline.py) exits; elsewhere, and as a
    second guard, a thread checks every half second that the main process is still there.
    """
    kill_me_when_my_parent_ends()
    parent = os.getppid()
    if parent != main_pid and not _is_running(main_pid):
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent, main_pid), daemon=True).start()


def kill_me_when_my_parent_ends() -> None:
    """Linux's PR_SET_PDEATHSIG: SIGKILL when the thread that started this process ends."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the watching thread does the work
        pass


def _watch_parent(parent: int, main_pid: int) -> None:
    while os.getppid() == parent and (parent == main_pid or _is_running(main_pid)):
        time.sleep(0.5)
    os._exit(1)


def _is_running(pid: int) -> bool:
    """Whether `pid` runs; a zombie (dead, not yet waited for by its parent) does not."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc
        pass
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or its number now someone else's
        return False
    return True


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Ctrl-C (or SIGTERM, SIGHUP) arrives once the block is done; processes started in it have
    those signals blocked.

    Python runs signal handlers in the main thread only, so the handler swap defers the
    KeyboardInterrupt whichever thread the signal lands on; the mask is what a process
    started from this thread (the forkserver, or a worker) inherits.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[signal.Signals] = []
    previous = {
        number: signal.signal(number, lambda number, frame: received.append(signal.Signals(number)))
        for number in _PARENTS_SIGNALS
    }
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _PARENTS_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for number, handler in previous.items():
            signal.signal(number, handler)
    if received:
        handler = previous[received[0]]
        if callable(handler):
            handler(received[0], None)  # Python's SIGINT handler raises KeyboardInterrupt
        elif handler == signal.SIG_DFL:
            signal.raise_signal(received[0])


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

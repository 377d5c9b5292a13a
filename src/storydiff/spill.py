"""Exact shingle sets kept on disk between signing and verification.

Signing computes every document's exact shingle set anyway; writing it to a temporary file
(8 bytes per distinct shingle) lets verification read the sets of candidate documents back
through the page cache instead of reading, cleaning and shingling the files again, while
the resident memory stays that of the signatures. The directory is removed at the end of
the run.
"""

from __future__ import annotations

import mmap
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import numpy.typing as npt


@contextmanager
def spill_directory() -> Iterator[str]:
    directory = tempfile.mkdtemp(prefix="storydiff-sets-")
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def write_sets(directory: str, name: str, values: npt.NDArray[np.uint64]) -> str:
    path = os.path.join(directory, f"{name}.u64")
    values.astype(np.uint64, copy=False).tofile(path)
    return path


class SetReader:
    """Reads slices of spilled set files, memory-mapping each file once.

    The maps are plain ndarrays over mmap buffers (np.memmap slices are several times
    slower to take, and verification takes two per candidate pair).
    """

    def __init__(self) -> None:
        self._arrays: dict[str, npt.NDArray[np.uint64]] = {}

    def read(self, path: str, start: int, end: int) -> npt.NDArray[np.uint64]:
        array = self._arrays.get(path)
        if array is None:
            array = self._arrays[path] = _map(path)
        return array[start:end]


def _map(path: str) -> npt.NDArray[np.uint64]:
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return np.empty(0, dtype=np.uint64)
        buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    return np.frombuffer(buffer, dtype=np.uint64)

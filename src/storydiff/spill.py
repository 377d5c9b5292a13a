"""Exact shingle sets kept on disk between signing and verification.

Signing computes every document's exact shingle set anyway; writing it to a temporary file
(8 bytes per distinct shingle) lets verification read the sets of candidate documents back
through the page cache instead of reading, cleaning and shingling the files again, while
the resident memory stays that of the signatures. The directory is removed at the end of
the run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import numpy.typing as npt

_ITEM = 8  # bytes per spilled hash (uint64)


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


def read_sets(path: str) -> npt.NDArray[np.uint64]:
    """A whole spilled file."""
    return np.fromfile(path, dtype=np.uint64)


class SetReader:
    """Reads slices of spilled set files with positioned reads, one open file each.

    Not memory maps: each fault on a mapped file maps the 16 pages around it too, so two
    workers verifying 8,192 pairs at a time each held most of the 200 MB of sets at 100,000
    documents in their resident sets (about 330 of the run's 990 MB at its peak). A pread
    costs about a microsecond more per set than slicing a map; the pages stay in the kernel's
    page cache either way.
    """

    def __init__(self) -> None:
        self._descriptors: dict[str, int] = {}

    def read(self, path: str, start: int, end: int) -> npt.NDArray[np.uint64]:
        descriptor = self._descriptors.get(path)
        if descriptor is None:
            descriptor = self._descriptors[path] = os.open(path, os.O_RDONLY)
        size = (end - start) * _ITEM
        data = os.pread(descriptor, size, start * _ITEM)
        if len(data) != size:
            raise OSError(f"{path}: spilled set file is shorter than expected")
        return np.frombuffer(data, dtype=np.uint64)

    def close(self) -> None:
        for descriptor in self._descriptors.values():
            os.close(descriptor)
        self._descriptors.clear()

    def __enter__(self) -> SetReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

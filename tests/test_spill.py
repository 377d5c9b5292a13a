"""The spilled exact sets: written once by signing, read back in slices by verification."""

from __future__ import annotations

import os

import numpy as np
import pytest

from storydiff import shingles, spill


def test_slices_read_back_are_the_sets_that_were_written() -> None:
    texts = [
        "Lawmakers approved the budget on Tuesday after a long night of talks.",
        "The central bank held rates steady, citing slowing inflation.",
        "",
        "Lawmakers approved the budget on Tuesday after a night of talks.",
    ]
    values, offsets = shingles.distinct_sets(shingles.batch_shingles(texts, ngram=3))
    with spill.spill_directory() as directory:
        path = spill.write_sets(directory, "batch", values)
        with spill.SetReader() as reader:
            for index in range(len(texts)):
                got = reader.read(path, int(offsets[index]), int(offsets[index + 1]))
                assert np.array_equal(got, values[offsets[index] : offsets[index + 1]])
            assert len(reader.read(path, int(offsets[2]), int(offsets[3]))) == 0  # the empty text
        assert np.array_equal(spill.read_sets(path), values)
    assert not os.path.exists(directory)  # removed at the end of the run


def test_a_truncated_set_file_is_an_error_not_a_short_set() -> None:
    with spill.spill_directory() as directory:
        path = spill.write_sets(directory, "batch", np.arange(10, dtype=np.uint64))
        with open(path, "r+b") as handle:
            handle.truncate(5 * 8)
        with spill.SetReader() as reader, pytest.raises(OSError, match="shorter than expected"):
            reader.read(path, 3, 10)


def test_the_reader_closes_the_files_it_opened() -> None:
    with spill.spill_directory() as directory:
        path = spill.write_sets(directory, "batch", np.arange(4, dtype=np.uint64))
        before = len(os.listdir("/proc/self/fd"))
        with spill.SetReader() as reader:
            reader.read(path, 0, 2)
            assert len(os.listdir("/proc/self/fd")) == before + 1
        assert len(os.listdir("/proc/self/fd")) == before

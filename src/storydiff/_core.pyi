"""Types of the compiled core (rust/python/src/lib.rs)."""

import numpy as np
import numpy.typing as npt

UNICODE_VERSION: str
DELETED: str

def fold(text: str) -> str: ...
def token_hashes(texts: list[str], seed: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]: ...
def shingle_batch(
    texts: list[str], ngram: int, seed: int, line_min_words: int | None = None
) -> tuple[
    npt.NDArray[np.uint64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.uint64],
    npt.NDArray[np.int64],
]: ...
def distinct_line_keys(
    texts: list[str], min_words: int, seed: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]: ...
def keys_by_line(
    texts: list[str], min_words: int, seed: int
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.bool_], npt.NDArray[np.int64]]: ...
def distinct_sets(
    hashes: npt.NDArray[np.uint64], offsets: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]: ...
def signatures(
    hashes: npt.NDArray[np.uint64], offsets: npt.NDArray[np.int64], num_perm: int, seed: int
) -> npt.NDArray[np.uint32]: ...
def similarity(left: npt.NDArray[np.uint64], right: npt.NDArray[np.uint64]) -> tuple[float, float]: ...
def similarities(
    values: npt.NDArray[np.uint64],
    offsets: npt.NDArray[np.int64],
    left: npt.NDArray[np.int64],
    right: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]: ...

class Pattern:
    """A rule pattern on the Rust regex crate, searched case-insensitively."""

    pattern: str
    def __init__(self, pattern: str) -> None: ...
    def search(self, text: str) -> bool: ...

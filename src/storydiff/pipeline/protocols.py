"""What the orchestrator asks of an engine and of a progress display."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..model import (
    SignedBatch,
)
from ..settings import Settings


class Progress(Protocol):
    """Where the pipeline reports how far it has got; the CLI draws it, tests ignore it."""

    def start(self, stage: str, total: int) -> None: ...

    def advance(self, amount: int = 1) -> None: ...


class Engine(Protocol):
    def map(self, function: Any, batches: Sequence[Any], *args: Any) -> Any: ...


class KeptSignatures(Protocol):
    """Signatures an engine keeps where they were computed (the Dask engine: on its workers)."""

    def __len__(self) -> int: ...

    def with_rows(self, documents: npt.NDArray[np.int64], block: Any) -> KeptSignatures:
        """These signatures with those of `documents` replaced by the rows of a kept `block`."""
        ...


@runtime_checkable
class SignatureKeeper(Protocol):
    """An engine that runs the candidate stage itself, on signatures it keeps out of this process."""

    def map_keeping(
        self,
        function: Any,
        batches: Sequence[Any],
        *args: Any,
        split: Callable[[Any], tuple[Any, Any]],
    ) -> Iterator[tuple[Any, Any]]: ...

    def hold(self, handles: Sequence[tuple[Any, int]]) -> KeptSignatures: ...

    def likely_pairs(
        self, signatures: object, shingle_counts: npt.NDArray[np.int64], settings: Settings
    ) -> npt.NDArray[np.int64]: ...


def set_signatures_aside(batch: SignedBatch) -> tuple[SignedBatch, npt.NDArray[np.uint32]]:
    """A signed batch without its signatures, and the signatures (for `SignatureKeeper.map_keeping`)."""
    empty = np.empty((0, batch.signatures.shape[1]), dtype=np.uint32)
    return dataclasses.replace(batch, signatures=empty), batch.signatures


class _NoProgress:
    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass

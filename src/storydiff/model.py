"""Plain, frozen data passed between the pipeline stages.

Every stage takes and returns these (or numpy arrays), never open files or consoles, so the
same stage functions run in one process, in a process pool or as Dask tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .store.cache import CacheUpdate

DiffOp = Literal["equal", "insert", "delete", "move"]
ReportKind = Literal["clusters", "pair"]
# How a copy differs from its cluster's representative, from least to most: the same cleaned
# text; only whitespace, line breaks, quote style, letter case or punctuation; only figures
# (numbers, amounts, dates, percentages); words changed.
CopyKind = Literal["identical", "reformatted", "figures", "edited"]
COPY_KINDS: tuple[CopyKind, ...] = ("identical", "reformatted", "figures", "edited")
Span = tuple[int, int]  # [start, end) in a text, in code points (Python string indices)


def _zeros(length: int, dtype: str) -> Any:
    """An empty or zero array, numpy imported only when a stage makes one (not for --help)."""
    import numpy

    return numpy.zeros(length, dtype)


@dataclass(frozen=True)
class SourceFile:
    """A file found by discovery: where to read it and how to name it to the user."""

    path: str  # as the user would type it from the current directory
    fs_path: str  # what to open (same as path unless the name needed re-encoding)


@dataclass(frozen=True)
class Skipped:
    """A file left out of the run, with a reason the user can act on."""

    path: str
    reason: str


@dataclass(frozen=True)
class Document:
    """A file's decoded text, and a hash of its bytes to notice later changes."""

    path: str
    fs_path: str
    text: str
    content_hash: str
    size_bytes: int
    mtime_ns: int = 0  # modification time, for the newest/oldest keep policies


@dataclass(frozen=True)
class Removal:
    """One line that a boilerplate rule removed (line numbers count from 1)."""

    rule: str
    line_number: int
    text: str


@dataclass(frozen=True)
class RemovedSpan:
    """A removed line located in its file: line number (from 1) and character offsets.

    `start` and `end` count Unicode code points in the file's decoded text; `end` is
    exclusive and stops before the line break.
    """

    rule: str
    line_number: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class StrippedFile:
    """What stripping removed from one file; `text` is the decoded text when it was asked for."""

    path: str
    line_count: int
    removed: tuple[RemovedSpan, ...]
    text: str = ""


@dataclass(frozen=True)
class CleanedDocument:
    """A document after boilerplate stripping: the text that gets compared and diffed."""

    document: Document
    text: str
    removals: tuple[Removal, ...] = ()


@dataclass(frozen=True)
class SignedBatch:
    """What the clustering stages need of a batch of documents: signatures, not text.

    Row i of every array describes document i of `paths`. Kept as arrays rather than one
    object per document so that a million documents cost a few hundred bytes each.
    """

    paths: tuple[str, ...]
    fs_paths: tuple[str, ...]
    content_hashes: tuple[str, ...]
    sizes: npt.NDArray[np.int64]
    mtimes: npt.NDArray[np.int64]  # modification times in nanoseconds
    word_counts: npt.NDArray[np.int64]
    shingle_counts: npt.NDArray[np.int64]
    signatures: npt.NDArray[np.uint32] = field(repr=False)
    set_file: str = ""  # where the batch's exact shingle sets were spilled (see spill.py)
    set_offsets: npt.NDArray[np.int64] = field(default_factory=lambda: _zeros(1, "int64"), repr=False)
    skipped: tuple[Skipped, ...] = ()
    boilerplate: tuple[tuple[str, int], ...] = ()  # (rule name, lines removed) over the batch
    cache_update: CacheUpdate | None = None  # what the signature cache lacked (see cache.py)
    # Each document's distinct line keys (boilerplate.line_key), for repeated-line detection:
    # document i's are line_keys[line_key_offsets[i]:line_key_offsets[i + 1]].
    line_keys: npt.NDArray[np.uint64] = field(default_factory=lambda: _zeros(0, "uint64"), repr=False)
    line_key_offsets: npt.NDArray[np.int64] = field(default_factory=lambda: _zeros(1, "int64"), repr=False)
    # Rows taken from the signature cache without their exact set (spilled empty; see
    # pipeline.load_sets), or None when every row's set was spilled.
    without_set: npt.NDArray[np.bool_] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.paths)


@dataclass(frozen=True)
class Pair:
    """Two documents (indices into the run's document list, left < right) and their exact similarity."""

    left: int
    right: int
    jaccard: float
    containment: float


@dataclass(frozen=True)
class Segment:
    """A stretch of a word diff: text kept, inserted in the member, deleted from the
    representative, or moved (deleted at `a` and inserted, equal, at `b`).

    `a` is where the stretch lies in the old (representative) text and `b` in the new
    (member) text; an insertion has an empty `a` at the place it goes, a deletion an empty
    `b`. `text` is the old text, except for insertions; `b_text` is the new side's text of an
    equal or moved stretch when it differs (quote marks, whitespace), so both texts can be
    rebuilt exactly. Segments come in reading order, with a move at its new place.
    """

    op: DiffOp
    text: str
    a: Span = (0, 0)
    b: Span = (0, 0)
    b_text: str | None = None

    @property
    def new_text(self) -> str:
        return self.text if self.b_text is None else self.b_text


_QUOTES = str.maketrans({"‘": "'", "’": "'"})


def _unit_key(unit: str) -> str:
    return unit.casefold().translate(_QUOTES)


@dataclass(frozen=True)
class ChangedFigure:
    """A number, amount, date or percentage that a replaced phrase changed, and the unit word
    after it ("soldiers" in "190 of its soldiers"), for "190 → 900 soldiers"."""

    old: str
    new: str
    old_unit: str
    new_unit: str
    a: Span
    b: Span

    @property
    def label(self) -> str:
        """ "190 → 900 soldiers", or "24 hours → 10 days" when the units differ."""
        shown_old_unit = self.old_unit and _unit_key(self.old_unit) != _unit_key(self.new_unit)
        old = f"{self.old} {self.old_unit}" if shown_old_unit else self.old
        new = f"{self.new} {self.new_unit}" if self.new_unit else self.new
        return f"{old} → {new}"


@dataclass(frozen=True)
class StrippedLine:
    """A line stripping removed, and where it stood: `offset` in the cleaned text (the start of
    the next kept line, or the text's length when none followed)."""

    offset: int
    rule: str
    text: str


@dataclass(frozen=True)
class MemberDiff:
    """How one cluster member differs from the cluster's representative.

    With `show_stripped` set, the lines stripping removed from the representative and from
    this member travel along, so the diff can show them in place: the representative's
    offsets count in its cleaned text (the `equal` and `delete` texts joined), the member's
    in the member's side of the diff (the `equal` and `insert` texts joined).
    """

    path: str
    jaccard: float
    containment: float
    added_words: int
    removed_words: int
    segments: tuple[Segment, ...]
    is_representative: bool = False
    moved_words: int = 0
    changed_figures: tuple[ChangedFigure, ...] = ()
    representative_stripped: tuple[StrippedLine, ...] = ()
    member_stripped: tuple[StrippedLine, ...] = ()
    kind: CopyKind | None = None  # None for the representative


@dataclass(frozen=True)
class Cluster:
    id: int
    representative: str
    members: tuple[MemberDiff, ...]
    # Other clusters holding a near-duplicate of one of this cluster's members: every member is
    # a near-duplicate of its representative, so pairs across clusters are named, not merged.
    related: tuple[int, ...] = ()


@dataclass(frozen=True)
class FileRecord:
    """A document's bytes as the run read them: enough to tell later whether the file changed."""

    path: str
    content_hash: str
    size_bytes: int


@dataclass(frozen=True)
class Report:
    """Everything a renderer needs; renderers never go back to the files."""

    settings: dict[str, object]
    documents: int
    clusters: tuple[Cluster, ...]
    singletons: tuple[str, ...]
    skipped: tuple[Skipped, ...]
    boilerplate: tuple[tuple[str, int], ...] = ()
    kind: ReportKind = "clusters"  # "pair": `storydiff diff`, one cluster of the two files given
    inputs: tuple[str, ...] = ()  # the paths the run was given, as display paths
    files: tuple[FileRecord, ...] = ()  # every document of the report (all three lists), in path order
    diffed: bool = True  # False: members carry similarities only, no word diffs (`--no-diffs`)
    # Documents in no cluster that are near-duplicates of a cluster member but not of its
    # representative (star clusters take each document once): each path, in corpus order, with
    # the ids of the clusters holding its near-duplicates, sorted. Not in `singletons`.
    unplaced: tuple[tuple[str, tuple[int, ...]], ...] = ()

"""What each stored result depends on: the one place that says which settings, code and data
go into the keys of the store's tables (store.cache) and of the replayed output (store.replay).

Keys are digests. The code that shapes a result is part of its key (code_digest), read once per
process, and so is the signature fingerprint (signature_fingerprint), computed once per
settings: a run asks for it a dozen times.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt
import xxhash

from .. import ingest
from ..boilerplate import RepeatedLines
from ..model import Skipped
from ..settings import Settings
from . import cache


class CorpusColumns(Protocol):
    """The columns of the document table a report's key reads."""

    @property
    def paths(self) -> Sequence[str]: ...

    @property
    def content_hashes(self) -> Sequence[str]: ...

    @property
    def mtimes(self) -> npt.NDArray[np.int64]: ...


_FINGERPRINTS: dict[Settings, str] = {}


def signature_fingerprint(settings: Settings) -> str:
    """cache.fingerprint of the settings' signature inputs, computed once per settings (the
    inputs digest the signing code's source files)."""
    if settings not in _FINGERPRINTS:
        _FINGERPRINTS[settings] = cache.fingerprint(settings.signature_inputs())
    return _FINGERPRINTS[settings]


def report_key(
    settings: Settings, corpus: CorpusColumns, skipped: Sequence[Skipped], inputs: Sequence[str] = ()
) -> str:
    """Everything a cluster report depends on, hashed: the settings (with the resolved rules,
    user rules included, and the repeated-line settings), the code that makes the report, the
    paths the run was given, and each document's path and content (files that vanish during
    a run are not stored); with `keep` newest or oldest, each document's modification time
    too. The code is that of the stages after signing; signing's is in signature_inputs."""
    digest = xxhash.xxh3_128()
    digest.update(
        json.dumps(
            [settings.as_dict(), settings.signature_inputs(), [ingest.display_path(path) for path in inputs]],
            sort_keys=True,
        ).encode()
    )
    digest.update(code_digest().encode())
    for values in (corpus.paths, corpus.content_hashes):
        digest.update("\0".join(values).encode("utf-8", "surrogatepass"))
    if settings.keep in ("newest", "oldest"):
        digest.update(np.ascontiguousarray(corpus.mtimes, dtype=np.int64).tobytes())
    for item in sorted(skipped, key=lambda item: (item.path, item.reason)):
        digest.update(f"{item.path}\0{item.reason}\0".encode("utf-8", "surrogatepass"))
    return str(digest.hexdigest())


def stored_pass_key(settings: Settings, inputs: Sequence[str], name: str) -> str:
    """Where `cluster` keeps a pass for the next run over the same inputs (see verified_pairs):
    the settings that decide the likely pairs, the code, and which pass."""
    text = json.dumps(
        [
            signature_fingerprint(settings),
            code_digest(),
            [settings.lsh_bands, settings.threshold, settings.containment, settings.min_containment_shingles],
            [ingest.display_path(path) for path in inputs],
            name,
        ]
    )
    return xxhash.xxh3_128_hexdigest(text.encode("utf-8", "surrogatepass"))


def pair_key(fingerprint: str, left: str, right: str) -> str:
    """The cache's key for a verified pair: the signature fingerprint and what identifies the
    two exact sets, in either order (a content hash; with `+` and a digest of the repeated
    lines stripped from it for a document signed again without them)."""
    first, second = sorted((left, right))
    return xxhash.xxh3_128_hexdigest(f"{fingerprint}\0{first}\0{second}".encode("utf-8", "surrogatepass"))


def diff_context(settings: Settings, repeated: RepeatedLines) -> str:
    """What every cluster's diffs depend on besides its members, digested: the settings, the
    code and the repeated lines (see `cluster_key`)."""
    text = json.dumps(
        [
            settings.as_dict(),
            signature_fingerprint(settings),
            code_digest(),
            repeated_digest(repeated),
        ],
        sort_keys=True,
    )
    return xxhash.xxh3_128_hexdigest(text.encode("utf-8", "surrogatepass"))


def cluster_key(context: str, members: Sequence[tuple[str, str, str]]) -> str:
    """The cache's key for a diffed cluster: everything its members' diffs depend on, that is
    `diff_context` and each member's path, content and exact set, representative first
    (`members` are (path, content hash, set id); none holds a NUL)."""
    text = "\0".join([context, *(value for member in members for value in member)])
    return xxhash.xxh3_128_hexdigest(text.encode("utf-8", "surrogatepass"))


def repeated_digest(repeated: RepeatedLines) -> str:
    """A short digest of the repeated lines and how they are stripped."""
    keys = np.array(sorted(repeated.keys), dtype=np.uint64).tobytes()
    digest = xxhash.xxh3_64(keys)
    digest.update(f"{repeated.min_words}\0{repeated.max_document_share}".encode())
    return str(digest.hexdigest())


_PIPELINE_MODULES = (
    "batching",
    "corpus_table",
    "diffing",
    "orchestrator",
    "protocols",
    "second_pass",
    "signing",
    "stripping",
    "verifying",
)
_REPORT_MODULES = (
    *(f"pipeline.{module}" for module in _PIPELINE_MODULES),
    "cluster",
    "diff",
    "figures",
    "model",
    "store.cache",
    "store.keys",
)
_CODE_DIGESTS: dict[tuple[str, ...], str] = {}


def code_digest(extra_modules: Sequence[str] = ()) -> str:
    """A digest of the code that makes a report from signatures (the stages after signing;
    signing's own is in Settings.signature_inputs) and of `extra_modules` (storydiff's,
    named relative to it), read once per process."""
    modules = (*_REPORT_MODULES, *extra_modules)
    if modules not in _CODE_DIGESTS:
        import importlib

        digest = xxhash.xxh3_128()
        for module in modules:
            source = importlib.import_module(f"storydiff.{module}").__file__
            if source:
                with open(source, "rb") as handle:
                    digest.update(handle.read())
        _CODE_DIGESTS[modules] = str(digest.hexdigest())
    return _CODE_DIGESTS[modules]

"""Every tunable of a run, with its default, in one frozen object."""

from __future__ import annotations

import functools
import hashlib
import importlib
from dataclasses import asdict, dataclass
from typing import Literal

from .boilerplate import Rule, rules_for_pack

# Which member of a cluster stands for it (and is the copy `dedup` keeps): by word count, by
# path, or by the file's modification time.
KeepPolicy = Literal["longest", "shortest", "first", "last", "newest", "oldest"]
KEEP_POLICIES: tuple[KeepPolicy, ...] = ("longest", "shortest", "first", "last", "newest", "oldest")

# Defaults chosen by measurement on Reuters-21578 and the seeds; docs/how-it-works.md ("Choosing the
# defaults") gives the figures behind each.
DEFAULT_NGRAM = 5
DEFAULT_NUM_PERM = 128
DEFAULT_SEED = 1
DEFAULT_THRESHOLD = 0.5
DEFAULT_CONTAINMENT = 0.8
DEFAULT_MIN_CONTAINMENT_SHINGLES = 50
# 0: derived from num_perm and the thresholds (cluster.lsh_banding): 64 bands at 128 permutations.
DEFAULT_LSH_BANDS = 0
DEFAULT_CONTEXT_WORDS = 8
# Signing holds about 40 bytes of memory per byte of text (the folded copies, the token
# arrays and their prefix sums): a 16 MiB file takes about 0.7 GB in its worker while it is
# signed, a 64 MiB file 2.5 GB. 16 MiB is four times the longest novels.
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
# Repeated-line detection (docs/boilerplate.md, "Repeated lines"): a line of at least this many words,
# found in at least this many groups of documents and this share of all groups, where a
# group is a cluster of near-duplicates or a document in none.
DEFAULT_REPEATED_MIN_WORDS = 4
DEFAULT_REPEATED_MIN_DOCUMENTS = 5
DEFAULT_REPEATED_MIN_SHARE = 0.01
# ... removed from a document only while such lines hold at most this share of its words.
DEFAULT_REPEATED_MAX_DOCUMENT_SHARE = 0.5


@functools.cache
def _signing_code_digest() -> str:
    """The source of the modules that decode, strip, shingle and sign, digested once per process."""
    code = hashlib.sha256()
    for module in ("ingest", "boilerplate", "shingles", "signatures"):
        source = importlib.import_module(f"storydiff.{module}").__file__
        if source:
            with open(source, "rb") as handle:
                code.update(handle.read())
    return code.hexdigest()


@dataclass(frozen=True)
class Settings:
    """What a run compares and how. Only the fields in `signature_fields` change signatures."""

    glob: str = "*.txt"
    exclude: tuple[str, ...] = ()
    strip: bool = True
    pack: str = "news"
    rules: tuple[Rule, ...] | None = None  # the rules to strip with; None: the pack's
    repeated_lines: bool = True
    repeated_min_words: int = DEFAULT_REPEATED_MIN_WORDS
    repeated_min_documents: int = DEFAULT_REPEATED_MIN_DOCUMENTS
    repeated_min_share: float = DEFAULT_REPEATED_MIN_SHARE
    repeated_max_document_share: float = DEFAULT_REPEATED_MAX_DOCUMENT_SHARE
    ngram: int = DEFAULT_NGRAM
    num_perm: int = DEFAULT_NUM_PERM
    seed: int = DEFAULT_SEED
    threshold: float = DEFAULT_THRESHOLD
    containment: float = DEFAULT_CONTAINMENT
    min_containment_shingles: int = DEFAULT_MIN_CONTAINMENT_SHINGLES
    lsh_bands: int = DEFAULT_LSH_BANDS
    keep: KeepPolicy = "longest"
    encoding: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    context_words: int = DEFAULT_CONTEXT_WORDS
    show_stripped: bool = False  # carry each member's removed lines into its diff, for display

    def __post_init__(self) -> None:
        if self.ngram < 1:
            raise ValueError(f"ngram must be at least 1, got {self.ngram}")
        if self.num_perm < 2:
            raise ValueError(f"num_perm must be at least 2, got {self.num_perm}")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if not 0.0 < self.containment <= 1.0:
            raise ValueError(f"containment must be in (0, 1], got {self.containment}")
        if self.lsh_bands == DEFAULT_LSH_BANDS:
            from .cluster import lsh_banding

            object.__setattr__(
                self, "lsh_bands", lsh_banding(self.num_perm, self.threshold, self.containment)[0]
            )
        if not 1 <= self.lsh_bands <= self.num_perm:
            raise ValueError(
                f"lsh_bands must be between 1 and num_perm ({self.num_perm}), got {self.lsh_bands}"
            )
        if self.keep not in KEEP_POLICIES:
            raise ValueError(f"keep must be one of {', '.join(KEEP_POLICIES)}, got {self.keep!r}")
        if self.max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1, got {self.max_bytes}")
        if self.context_words < 0:
            raise ValueError(f"context_words must be 0 or more, got {self.context_words}")
        if self.rules is None:
            object.__setattr__(self, "rules", rules_for_pack(self.pack))
        if self.repeated_min_words < 1 or self.repeated_min_documents < 2:
            raise ValueError("repeated lines need min_words >= 1 and min_documents >= 2")
        if not 0.0 <= self.repeated_min_share <= 1.0:
            raise ValueError(f"repeated_min_share must be between 0 and 1, got {self.repeated_min_share}")
        if not 0.0 < self.repeated_max_document_share <= 1.0:
            raise ValueError(
                "repeated_max_document_share must be above 0 and at most 1, "
                f"got {self.repeated_max_document_share}"
            )

    @property
    def active_rules(self) -> tuple[Rule, ...]:
        """The rules stripping uses: none with `strip` off."""
        return (self.rules or ()) if self.strip else ()

    @property
    def finds_repeated_lines(self) -> bool:
        return self.strip and self.repeated_lines

    @property
    def rows_per_band(self) -> int:
        return self.num_perm // self.lsh_bands

    def signature_inputs(self) -> dict[str, object]:
        """Everything that changes a document's signature, word count, shingle set or stripping.

        Besides the fields, this covers the boilerplate rules themselves and the source of
        the modules that decode, strip, shingle and sign, so that a cache (cache.py) keyed
        by it never serves values computed by other rules or other code.
        """
        from . import __version__

        # The rules themselves (a pack's or the user's, from the config), not only their names.
        rules = [repr(rule) for rule in self.active_rules]
        return {
            "strip": self.strip,
            "pack": self.pack if self.strip else None,
            "rules": rules,
            "ngram": self.ngram,
            "num_perm": self.num_perm,
            "seed": self.seed,
            "encoding": self.encoding,
            # Signing also collects each document's line keys for repeated-line detection.
            "line_keys": self.repeated_min_words if self.finds_repeated_lines else None,
            "version": __version__,
            "code": _signing_code_digest()[:16],
        }

    def as_dict(self) -> dict[str, object]:
        """The settings as they appear in output: plain JSON values, stable key order."""
        data = asdict(self)
        data["exclude"] = list(self.exclude)
        data["rules"] = [rule.name for rule in self.rules or ()]
        return data

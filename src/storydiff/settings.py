"""Every tunable of a run, with its default, in one frozen object."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

KeepPolicy = Literal["longest", "shortest", "first", "last"]
KEEP_POLICIES: tuple[KeepPolicy, ...] = ("longest", "shortest", "first", "last")

# Defaults chosen by measurement on Reuters-21578 and the seeds; README ("Choosing the
# defaults") gives the figures behind each.
DEFAULT_NGRAM = 5
DEFAULT_NUM_PERM = 128
DEFAULT_SEED = 1
DEFAULT_THRESHOLD = 0.5
DEFAULT_CONTAINMENT = 0.8
DEFAULT_MIN_CONTAINMENT_SHINGLES = 50
DEFAULT_LSH_BANDS = 64
DEFAULT_CONTEXT_WORDS = 8


@dataclass(frozen=True)
class Settings:
    """What a run compares and how. Only the fields in `signature_fields` change signatures."""

    glob: str = "*.txt"
    exclude: tuple[str, ...] = ()
    strip: bool = True
    pack: str = "news"
    ngram: int = DEFAULT_NGRAM
    num_perm: int = DEFAULT_NUM_PERM
    seed: int = DEFAULT_SEED
    threshold: float = DEFAULT_THRESHOLD
    containment: float = DEFAULT_CONTAINMENT
    min_containment_shingles: int = DEFAULT_MIN_CONTAINMENT_SHINGLES
    lsh_bands: int = DEFAULT_LSH_BANDS
    keep: KeepPolicy = "longest"
    encoding: str | None = None
    context_words: int = DEFAULT_CONTEXT_WORDS

    def __post_init__(self) -> None:
        if self.ngram < 1:
            raise ValueError(f"ngram must be at least 1, got {self.ngram}")
        if self.num_perm < 2:
            raise ValueError(f"num_perm must be at least 2, got {self.num_perm}")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if not 0.0 < self.containment <= 1.0:
            raise ValueError(f"containment must be in (0, 1], got {self.containment}")
        if not 1 <= self.lsh_bands <= self.num_perm:
            raise ValueError(
                f"lsh_bands must be between 1 and num_perm ({self.num_perm}), got {self.lsh_bands}"
            )
        if self.keep not in KEEP_POLICIES:
            raise ValueError(f"keep must be one of {', '.join(KEEP_POLICIES)}, got {self.keep!r}")
        if self.context_words < 0:
            raise ValueError(f"context_words must be 0 or more, got {self.context_words}")

    @property
    def rows_per_band(self) -> int:
        return self.num_perm // self.lsh_bands

    def signature_inputs(self) -> dict[str, object]:
        """Everything that changes a document's signature, word count, shingle set or stripping.

        Besides the fields, this covers the boilerplate rules themselves and the source of
        the modules that decode, strip, shingle and sign, so that a cache (cache.py) keyed
        by it never serves values computed by other rules or other code.
        """
        import hashlib
        import importlib

        from . import __version__

        code = hashlib.sha256()
        for module in ("ingest", "boilerplate", "shingles", "signatures"):
            source = importlib.import_module(f"storydiff.{module}").__file__
            if source:
                with open(source, "rb") as handle:
                    code.update(handle.read())
        rules: list[str] = []
        if self.strip:
            from .boilerplate import rules_for_pack

            rules = [repr(rule) for rule in rules_for_pack(self.pack)]
        return {
            "strip": self.strip,
            "pack": self.pack if self.strip else None,
            "rules": rules,
            "ngram": self.ngram,
            "num_perm": self.num_perm,
            "seed": self.seed,
            "encoding": self.encoding,
            "version": __version__,
            "code": code.hexdigest()[:16],
        }

    def as_dict(self) -> dict[str, object]:
        """The settings as they appear in output: plain JSON values, stable key order."""
        data = asdict(self)
        data["exclude"] = list(self.exclude)
        return data

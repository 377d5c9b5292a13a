"""Renderers turn a Report into output; each format maps to one renderer."""

from __future__ import annotations

from enum import Enum


class OutputFormat(str, Enum):
    TEXT = "text"
    JSON = "json"
    JSONL = "jsonl"


class ManifestFormat(str, Enum):
    """The formats of `storydiff dedup --manifest` (see dedup.MANIFEST_RENDERERS)."""

    JSON = "json"
    CSV = "csv"

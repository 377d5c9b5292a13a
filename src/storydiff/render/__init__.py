"""Renderers turn a Report into output; each format maps to one renderer."""

from __future__ import annotations

import re
from enum import Enum


class OutputFormat(str, Enum):
    TEXT = "text"
    JSON = "json"
    JSONL = "jsonl"


class ManifestFormat(str, Enum):
    """The formats of `storydiff dedup --manifest` (see dedup.MANIFEST_RENDERERS)."""

    JSON = "json"
    CSV = "csv"


# Characters that can make a terminal show something other than themselves, or show nothing:
# C0 and C1 controls (escape sequences, OSC 8 links, carriage return, backspace, bell),
# DEL, bidirectional embeddings, overrides, isolates and marks, zero-width and other
# invisible format characters, line and paragraph separators, interlinear annotations, tag
# characters, and lone surrogates (the undecodable bytes of a file name). Tab and newline
# are not among them; each renderer decides about those.
UNSAFE_CHARACTERS = (
    r"\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    r"\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f"
)
UNSAFE = re.compile(f"[{UNSAFE_CHARACTERS}]")

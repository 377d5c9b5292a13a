"""Renderers turn a Report into output; each output format maps to one renderer.

Every renderer has the same shape, `(report, out, options) -> None`, writes to the text
stream it is given and never reads files, so the CLI picks one from `RENDERERS` and tests
can render into a `StringIO`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, TextIO

from ..model import Report
from ..settings import DEFAULT_CONTEXT_WORDS

if TYPE_CHECKING:
    from .json import EncodedMembers


class OutputFormat(str, Enum):
    TEXT = "text"
    JSON = "json"
    JSONL = "jsonl"
    HTML = "html"


class Layout(str, Enum):
    """How text output shows a diff: one column with the edits in place, the two versions
    side by side, or one summary line per member."""

    INLINE = "inline"
    SIDE_BY_SIDE = "side-by-side"
    STAT = "stat"


@dataclass(frozen=True)
class RenderOptions:
    context: int = DEFAULT_CONTEXT_WORDS  # unchanged words shown around each edit
    layout: Layout = Layout.INLINE  # text output only
    width: int | None = None  # text output: columns, or None for the terminal's width
    list_singletons: bool = False  # text output: list every document without a copy, however many
    # JSON and JSON Lines: members encoded while the run went on (see json.EncodedMembers).
    encoded: EncodedMembers | None = field(default=None, compare=False)


Renderer = Callable[[Report, TextIO, RenderOptions], None]


def _text_console(out: TextIO, options: RenderOptions) -> Any:
    from rich.console import Console

    class TextConsole(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError  # for the CLI to end quietly (Rich itself would exit with 1)

    return TextConsole(file=out, highlight=False, emoji=False, width=options.width)


def _text(report: Report, out: TextIO, options: RenderOptions) -> None:
    from .text import render_text

    render_text(report, _text_console(out, options), options)


def output_environment(output_format: OutputFormat, out: TextIO, options: RenderOptions) -> list[object]:
    """What a renderer's output depends on besides the report and options: for text, the
    terminal (size, colours, encoding) Rich sees through `out`; nothing for the others."""
    if output_format is not OutputFormat.TEXT:
        return []
    console = _text_console(out, options)
    return [
        list(console.size),
        console.color_system,
        console.is_terminal,
        console.is_dumb_terminal,
        console.encoding,
        console.no_color,
        console.legacy_windows,
    ]


def _json(report: Report, out: TextIO, options: RenderOptions) -> None:
    from .json import json_pieces

    for piece in json_pieces(report, options.encoded):
        out.write(piece)


def _jsonl(report: Report, out: TextIO, options: RenderOptions) -> None:
    from .json import render_jsonl

    for line in render_jsonl(report, options.encoded):
        out.write(line)


def _html(report: Report, out: TextIO, options: RenderOptions) -> None:
    from .html import render_html

    out.write(render_html(report, options))


# Each renderer imports its module when it runs: a JSON run need not import rich.
RENDERERS: dict[OutputFormat, Renderer] = {
    OutputFormat.TEXT: _text,
    OutputFormat.JSON: _json,
    OutputFormat.JSONL: _jsonl,
    OutputFormat.HTML: _html,
}


class ManifestFormat(str, Enum):
    """The formats of `storydiff dedup --manifest` (see dedup.MANIFEST_RENDERERS)."""

    JSON = "json"
    CSV = "csv"


# Characters that can make a terminal show something other than themselves, or show nothing:
# C0 and C1 controls (escape sequences, OSC 8 links, carriage return, backspace, bell),
# DEL, bidirectional embeddings, overrides, isolates and marks, zero-width and other
# invisible format characters, line and paragraph separators, interlinear annotations, tag
# characters, and lone surrogates (the undecodable bytes of a file name); also what shows as
# nothing or as blank space although it is no space: the soft hyphen, the combining grapheme
# joiner, Hangul fillers, Khmer inherent vowels, Mongolian and other variation selectors, and
# musical formatting characters. Tab and newline are not among them; each renderer decides.
UNSAFE_CHARACTERS = (
    r"\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    r"\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f"
    r"\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180d\u180f\u3164\ufe00-\ufe0f\uffa0"
    r"\U0001d173-\U0001d17a\U000e0100-\U000e01ef"
)
UNSAFE = re.compile(f"[{UNSAFE_CHARACTERS}]")

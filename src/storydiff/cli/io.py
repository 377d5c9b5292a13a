"""Where output goes: stdout (data), the stderr console (chatter) and the progress display."""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from ..render import RENDERERS, OutputFormat, RenderOptions
from ..render.pager import PagedOutput

if TYPE_CHECKING:
    from ..model import Report
from .exits import UserError


def _discard_stdout() -> None:
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (tests capture it)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


def _write(
    report: Report, output_format: str, options: RenderOptions, html_path: str | None, out: Any = None
) -> None:
    """The report on `out` (else stdout) in the chosen format, and as HTML to `html_path` if given."""
    out = out or _stdout()
    RENDERERS[OutputFormat(output_format)](report, out, options)
    out.flush()
    if html_path is not None:
        try:
            with open(html_path, "w", encoding="utf-8") as handle:
                RENDERERS[OutputFormat.HTML](report, handle, options)
        except OSError as error:
            raise UserError(f"{html_path}: cannot write the HTML report ({error.strerror})") from None
        click.echo(f"storydiff: wrote the HTML report to {html_path}", err=True)


def _text_on_terminal(output_format: str, out: Any) -> bool:
    return output_format == OutputFormat.TEXT.value and bool(out.isatty())


def _close_pager(out: Any) -> None:
    if isinstance(out, PagedOutput):
        out.close()


def _printable(text: str) -> str:
    """A line holding file names as inert text on one line (see render.text.visible_path)."""
    from ..render.text import visible_path

    return visible_path(text)


def _chatter(console: Any, text: str, style: str | None = None) -> None:
    """One line on stderr; text holding file names is never read as markup or :emoji: codes."""
    console.print(_printable(text), markup=False, highlight=False, emoji=False, soft_wrap=True, style=style)


class _Stdout:
    """Output to stdout's file descriptor in UTF-8, every byte written or an error raised.

    sys.stdout's buffered writer can take a pipe's short write for the whole of a large
    write: when the reader stops early (`| head`), the rest of the output was dropped without
    an error and the run "succeeded". os.write in a loop sees the broken pipe. UTF-8 whatever
    the locale, as JSON requires.
    """

    encoding = "utf-8"
    _FLUSH_AT = 1 << 16

    def __init__(self, descriptor: int) -> None:
        self._descriptor = descriptor
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, text: str) -> int:
        data = text.encode("utf-8", "replace")
        self._pending.append(data)
        self._size += len(data)
        if self._size >= self._FLUSH_AT:
            self.flush()
        return len(text)

    def flush(self) -> None:
        view = memoryview(b"".join(self._pending))
        self._pending, self._size = [], 0
        while view:
            view = view[os.write(self._descriptor, view) :]

    def isatty(self) -> bool:
        return os.isatty(self._descriptor)

    def fileno(self) -> int:
        return self._descriptor


class _Tee:
    """Stdout that also keeps what was written to it, for the cache (see replay), compressed
    as it goes (replay.Compressor): a 40 MB report is not held twice more."""

    encoding = "utf-8"

    def __init__(self, out: Any) -> None:
        from ..store.replay import Compressor

        self._out = out
        self._compressor = Compressor()

    def write(self, text: str) -> int:
        self._compressor.add(text.encode("utf-8", "replace"))
        return int(self._out.write(text))

    def flush(self) -> None:
        self._out.flush()

    def isatty(self) -> bool:
        return bool(self._out.isatty())

    def fileno(self) -> int:
        return int(self._out.fileno())

    def compressed(self) -> bytes:
        """Everything written, as one zlib stream."""
        return self._compressor.finish()


def _stdout() -> Any:
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (tests capture it)
        return sys.stdout
    sys.stdout.flush()
    return _Stdout(descriptor)


def _stdout_console(out: Any) -> Any:
    from rich.console import Console

    class StdoutConsole(Console):
        def on_broken_pipe(self) -> None:
            raise BrokenPipeError  # handled with the others (Rich would exit with status 1)

    return StdoutConsole(file=out, highlight=False, emoji=False)


def _stderr_console() -> Any:
    """Chatter on stderr; its lines hold file names, so no markup, highlighting or :emoji: codes."""
    from rich.console import Console

    return Console(stderr=True, markup=False, highlight=False, emoji=False)


class _RichProgress:
    """A progress bar on stderr, drawn only when stderr is a terminal; also times the stages."""

    def __init__(self, console: Any) -> None:

        self._clock = time.perf_counter
        self.timings: list[tuple[str, float]] = []
        self._stage_started = self._clock()
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self._task: Any = None

    def __enter__(self) -> _RichProgress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._close_stage()
        self._bar.__exit__(None, None, None)

    def _close_stage(self) -> None:
        now = self._clock()
        if self.timings:
            stage, _ = self.timings[-1]
            self.timings[-1] = (stage, now - self._stage_started)
        self._stage_started = now

    def start(self, stage: str, total: int) -> None:
        self._close_stage()
        self.timings.append((stage, 0.0))
        if self._task is not None:
            self._bar.remove_task(self._task)
        self._task = self._bar.add_task(stage, total=total)

    def advance(self, amount: int = 1) -> None:
        if self._task is not None:
            self._bar.advance(self._task, amount)


def _progress(console: Any) -> _RichProgress:
    return _RichProgress(console)

"""Text output at a terminal goes through a pager, as git's does.

The pager is `$STORYDIFF_PAGER`, else `$PAGER`, else `less`; an empty value or `cat` turns it
off, as does `--no-pager`. It runs only when stdout is a terminal, never when output is piped
or redirected. `less` gets `LESS=FRX` unless LESS is set: quit at once when the output fits
on one screen (F), pass colours through (R), and leave the text on the screen afterwards (X).
The pager starts with the first byte of output, so the progress bar on stderr has the
terminal to itself while the run goes on.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import IO, Any

PAGER_ENVIRONMENT = "STORYDIFF_PAGER"
DEFAULT_PAGER = "less"
LESS_DEFAULTS = "FRX"


def pager_command(environ: dict[str, str] | None = None) -> list[str] | None:
    """The pager to run, as an argument list, or None for none."""
    environ = dict(os.environ) if environ is None else environ
    for name in (PAGER_ENVIRONMENT, "PAGER"):
        if name in environ:
            value = environ[name].strip()
            return None if value in ("", "cat") else shlex.split(value)
    return [DEFAULT_PAGER]


class PagedOutput:
    """A text stream that starts the pager at its first write and feeds it.

    It claims to be a terminal (the pager shows what a terminal would: colours, the
    terminal's width), so Rich renders for the screen. `close` waits for the reader to quit
    the pager. Writes after the reader quit raise BrokenPipeError, as a closed pipe does.
    """

    encoding = "utf-8"

    def __init__(self, command: list[str], terminal: Any) -> None:
        self._command = command
        self._terminal = terminal  # the real stdout, for its size and in case the pager cannot start
        self._process: subprocess.Popen[bytes] | None = None
        self._pipe: IO[bytes] | None = None

    def _start(self) -> None:
        environ = dict(os.environ)
        environ.setdefault("LESS", LESS_DEFAULTS)
        environ.setdefault("LV", "-c")
        try:
            self._process = subprocess.Popen(self._command, stdin=subprocess.PIPE, env=environ)
        except OSError:  # no such pager: write to the terminal directly
            self._command = []
            return
        self._pipe = self._process.stdin

    def write(self, text: str) -> int:
        if self._process is None and self._command:
            self._start()
        if self._pipe is None:
            return int(self._terminal.write(text))
        self._pipe.write(text.encode("utf-8", "replace"))
        return len(text)

    def flush(self) -> None:
        if self._pipe is not None:
            self._pipe.flush()
        else:
            self._terminal.flush()

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return int(self._terminal.fileno())  # Rich asks the real terminal for its size

    def close(self) -> None:
        """Let the pager read to the end and wait until the reader quits it."""
        if self._process is None:
            self._terminal.flush()
            return
        try:
            if self._pipe is not None:
                self._pipe.close()
        except BrokenPipeError:
            pass
        while True:
            try:
                self._process.wait()
                return
            except KeyboardInterrupt:  # Ctrl-C belongs to the pager (less uses it), as in git
                continue


def paged(out: Any, enabled: bool, environ: dict[str, str] | None = None) -> Any:
    """`out` itself, or a PagedOutput over it when paging is `enabled`, `out` is a terminal and
    a pager is configured."""
    if not enabled:
        return out
    try:
        if not out.isatty():
            return out
    except (AttributeError, ValueError):
        return out
    command = pager_command(environ)
    return out if command is None else PagedOutput(command, out)

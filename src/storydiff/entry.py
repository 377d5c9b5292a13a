"""The console script: signals and a failing stdout handled before the command line is imported.

Importing the command line (click, rich, numpy, the pipeline) takes a noticeable part of a
second. Ctrl-C in that time raised KeyboardInterrupt inside some import and printed a
traceback, so this module, which imports nothing heavy, installs the handlers first.

- SIGINT while starting: `storydiff: interrupted`, exit 130, at once (nothing to clean up);
  once the command line is imported, KeyboardInterrupt is raised as usual and the CLI maps it.
- SIGTERM and SIGHUP raise `Terminated`, so the run unwinds: the pool is shut down and the
  temporary files are removed; then the exit is quiet, with 128 + the signal (143, 129).
- A stdout that is closed (`>&-`) or fails (`> /dev/full`): one line on stderr, exit 2.

After Ctrl-C the process ends with `os._exit(130)` once the run has unwound: CPython
(3.10 to 3.13 at least) remembers a KeyboardInterrupt that left code run by `exec` or `eval` of
a string, as dataclasses and namedtuples do while a module is imported, even when it was then
caught, and at exit killed itself with SIGINT instead of exiting with 130.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import os
import signal
import sys
from types import FrameType
from typing import NoReturn

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
# Write errors of an output that cannot take what storydiff writes (a full disk or /dev/full,
# a closed or revoked descriptor); they carry no file name, as reading errors do.
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EBADF, errno.ENXIO}


class Terminated(BaseException):
    """SIGTERM or SIGHUP: unwind like Ctrl-C, then exit quietly with 128 + the signal number."""

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.exit_code = 128 + number


def _interrupted_while_starting(number: int, frame: FrameType | None) -> None:
    _say("\nstorydiff: interrupted")
    os._exit(EXIT_INTERRUPTED)


def _terminated(number: int, frame: FrameType | None) -> None:
    raise Terminated(number)


def install_termination_handlers() -> None:
    """SIGTERM and SIGHUP unwind the run (see the module docstring); main thread only."""
    for number in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(number) is signal.SIG_DFL:
            signal.signal(number, _terminated)


def _say(line: str) -> None:
    with contextlib.suppress(OSError):
        os.write(2, (line + "\n").encode("utf-8", "replace"))


def _exit_interrupted() -> NoReturn:
    """Exit 130 after the exit handlers, bypassing the interpreter's SIGINT exit (see above)."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(EXIT_INTERRUPTED)


def _discard_stdout() -> None:
    """Point descriptor 1 at /dev/null, so the flush at exit cannot fail once more."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)


def is_output_error(error: OSError) -> bool:
    return error.errno in _OUTPUT_ERRNOS and error.filename is None


def main() -> None:
    """Console-script entry point."""
    signal.signal(signal.SIGINT, _interrupted_while_starting)
    install_termination_handlers()
    if sys.stdout is None:  # descriptor 1 was closed: there is nowhere to write the report
        _say("storydiff: stdout is closed (redirect it to a file, or to /dev/null to discard the output)")
        sys.exit(EXIT_USAGE)
    try:
        from .cli import main as cli_main

        signal.signal(signal.SIGINT, signal.default_int_handler)
        cli_main()
    except SystemExit as exiting:
        if exiting.code == EXIT_INTERRUPTED:
            _exit_interrupted()
        raise
    except Terminated as terminated:
        _discard_stdout()
        sys.exit(terminated.exit_code)
    except KeyboardInterrupt:  # between the handler swap and the command line's own handling
        _say("\nstorydiff: interrupted")
        _exit_interrupted()
    except OSError as error:
        if not is_output_error(error):
            raise
        _say(f"storydiff: cannot write the output: {error.strerror}")
        _discard_stdout()
        sys.exit(EXIT_USAGE)

"""Paths the user gives that must not be trusted: files that must be regular, destinations that
must stay out of the input.

A FIFO named as a baseline or a configuration file blocked the run forever on open(); a symbolic
link inside a dedup destination could lead writes (or renames) into the corpus itself.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO


class NotARegularFile(OSError):
    """The path names a FIFO, a device, a socket or a directory."""

    def __init__(self, path: str) -> None:
        super().__init__(errno.EINVAL, "not a regular file", path)


def open_regular_file(path: str) -> BinaryIO:
    """`path` opened for reading in binary, or NotARegularFile; never blocks on a FIFO."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise NotARegularFile(path)
        if hasattr(os, "set_blocking"):
            os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def replace_file(path: str, text: str) -> None:
    """Write `text` to `path` through a temporary file beside it, which is gone whatever happens."""
    temporary = path + ".tmp"
    try:
        with open(temporary, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        if os.path.isfile(temporary):
            os.remove(temporary)
        raise

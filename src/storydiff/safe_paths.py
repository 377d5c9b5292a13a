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


def is_within(path: str, directory: str) -> bool:
    """Whether `path` is `directory` or below it, every link in either resolved."""
    real_path, real_directory = os.path.realpath(path), os.path.realpath(directory)
    return os.path.commonpath([real_path, real_directory]) == real_directory


def landing_inside(targets: list[str], root: str) -> list[str]:
    """The targets whose directory, once its links are resolved, is inside `root`: a symbolic
    link among a destination's parent directories can point into the input."""
    return [target for target in targets if is_within(os.path.dirname(os.path.abspath(target)), root)]


def living_outside(paths: list[str], root: str) -> list[str]:
    """The paths whose directory, links resolved, is outside `root`: files reached through a
    symbolic link to a directory elsewhere, which are not the input's to move."""
    return [path for path in paths if not is_within(os.path.dirname(os.path.abspath(path)), root)]

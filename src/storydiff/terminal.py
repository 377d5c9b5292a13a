"""Conventions of the command line that are not click's: the order `--help` lists the
commands in, and where the signature cache lives."""

from __future__ import annotations

import os
import shutil
import sys

# By how often they are used: cluster a corpus, compare two files, deduplicate it, then the
# pre-commit pair, then the tools for tuning and housekeeping.
COMMAND_ORDER = ("cluster", "diff", "dedup", "check", "baseline", "strip", "rules", "cache")

CACHE_ENVIRONMENT = "STORYDIFF_CACHE"
CACHE_FILE_NAME = "signatures.sqlite"
CACHE_OPTION_HELP = (
    f"The signature cache file [default: ${CACHE_ENVIRONMENT}, else {CACHE_FILE_NAME} in the user "
    "cache directory; `storydiff cache info` shows where]."
)


def command_rank(name: str) -> int:
    return COMMAND_ORDER.index(name) if name in COMMAND_ORDER else len(COMMAND_ORDER)


def user_cache_directory(environ: dict[str, str] | None = None) -> str:
    """storydiff's directory in the user cache directory, as platformdirs' user_cache_dir has
    it: $XDG_CACHE_HOME/storydiff (an absolute one), else ~/.cache/storydiff on Linux and other
    Unixes; ~/Library/Caches/storydiff on macOS; %LOCALAPPDATA%\\storydiff\\Cache on Windows."""
    environ = dict(os.environ) if environ is None else environ
    if sys.platform == "win32":
        base = environ.get("LOCALAPPDATA") or os.path.expanduser(os.path.join("~", "AppData", "Local"))
        return os.path.join(base, "storydiff", "Cache")
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Caches/storydiff")
    xdg = environ.get("XDG_CACHE_HOME", "")
    return os.path.join(xdg if os.path.isabs(xdg) else os.path.expanduser("~/.cache"), "storydiff")


def default_cache_path(legacy_directory: str, environ: dict[str, str] | None = None) -> str:
    """$STORYDIFF_CACHE, else signatures.sqlite in the user cache directory. A cache left in
    `legacy_directory` (click's application directory, where earlier versions kept it) is
    moved there once, with the files SQLite keeps beside it."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get(CACHE_ENVIRONMENT):
        return environ[CACHE_ENVIRONMENT]
    directory = user_cache_directory(environ)
    path = os.path.join(directory, CACHE_FILE_NAME)
    legacy = os.path.join(legacy_directory, CACHE_FILE_NAME)
    if os.path.exists(legacy) and not os.path.exists(path):
        move_cache(legacy, path)
    return path


def move_cache(source: str, target: str) -> None:
    """The cache file and its SQLite companions (-wal, -shm, -journal) moved to `target`; when
    a move fails the old place is left as it was and keeps working for this run."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(source + suffix):
            shutil.move(source + suffix, target + suffix)

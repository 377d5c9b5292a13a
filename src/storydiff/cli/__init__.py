"""The storydiff command line: parse options, build Settings, call the pipeline, render, exit.

One module per command (cluster, diff, dedup, strip, rules, check with baseline, cache);
`options` holds the shared options and builds Settings, `io` stdout, the stderr console and
progress, `group` the command group, its exit codes and `main`.

Exit codes: 0 on success (whether or not duplicates were found; for `diff`, when the two
texts are the same), 1 when `diff` finds differences or `check` finds a near-duplicate, 2 on
usage or input errors (and a closed or full stdout: see entry.py), 130 when interrupted with
Ctrl-C, 143 / 129 (silently) after SIGTERM / SIGHUP, 141 (silently) when the reader of
stdout goes away, as in `storydiff cluster corpus | head`.
"""

from __future__ import annotations

from . import cache, check, cluster, dedup, diff, rules, strip  # noqa: F401 (each registers its command)
from .group import cli, main

__all__ = ["cli", "main"]

"""Which files of a directory a run takes: the one reading of --glob and --exclude.

The local walk, remote listings (fsspec) and `check`'s git corpus all ask this module, so a
pattern means the same wherever the corpus lives. A file is taken when its name matches the
glob and neither it nor a directory above it (below the directory given) is excluded. An
exclude pattern (fnmatch) is matched against an entry's name and its path below the given
directory, with `/` between parts; a directory's path is also tried with a trailing `/`. So
`drafts` leaves out every directory named drafts, `drafts/` and `drafts/*` the top one, and
`*/drafts` the ones one level down.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence


class FileSelection:
    """`glob` and `exclude` compiled once; cheap to ask about each of 100,000 entries."""

    def __init__(self, glob: str, exclude: Sequence[str] = ()) -> None:
        self._glob = re.compile(fnmatch.translate(glob)).match
        self._excluded = [re.compile(fnmatch.translate(pattern)).match for pattern in exclude]

    def name_matches(self, name: str) -> bool:
        """Whether a file's name matches the glob."""
        return self._glob(name) is not None

    def excludes(self, name: str, below: str, is_dir: bool) -> bool:
        """Whether the entry `name`, at `below` under the directory given, is left out (with
        everything under it, for a directory)."""
        if not self._excluded:
            return False
        return any(match(name) or match(below) or (is_dir and match(below + "/")) for match in self._excluded)

    def takes(self, below: str) -> bool:
        """Whether the file at `below` (a relative path with `/` separators) is taken: its name
        matches the glob, and neither it nor a directory above it is excluded."""
        parts = below.split("/")
        if not self.name_matches(parts[-1]):
            return False
        if not self._excluded:
            return True
        for depth, part in enumerate(parts[:-1]):
            if self.excludes(part, "/".join(parts[: depth + 1]), is_dir=True):
                return False
        return not self.excludes(parts[-1], below, is_dir=False)

"""JSON and JSON Lines output: the schema scripts rely on (see README, "JSON output").

Strings from files and file names pass through `json_safe`, so the output is valid UTF-8
JSON even when a file name is not valid UTF-8 (its undecodable bytes appear as U+FFFD). So
that such a name can still be found, a record with a `path` then also has `path_bytes`, the
name's bytes in base64, and `singletons_path_bytes` does the same for `singletons`.
Characters that could take over a terminal showing the JSON (see render.UNSAFE) are written
as \\u escapes, as json already does for C0 controls; parsers read them back unchanged.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from typing import Any

from .. import __version__
from ..model import Cluster, MemberDiff, Report, Skipped
from . import UNSAFE

SCHEMA_VERSION = 1
_DIGITS = 4


def json_safe(text: str) -> str:
    """Text that encodes as UTF-8: lone surrogates (from undecodable names) become U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:
            return text.encode("utf-8", "replace").decode("utf-8")
    return text


def path_bytes(path: str) -> str | None:
    """The base64 of a file name's bytes when it is not valid UTF-8 (its `path` is lossy)."""
    if json_safe(path) == path:
        return None
    return base64.b64encode(os.fsencode(path)).decode("ascii")


def _path_fields(path: str) -> dict[str, str]:
    raw = path_bytes(path)
    return {"path": json_safe(path)} if raw is None else {"path": json_safe(path), "path_bytes": raw}


def _singletons(report: Report) -> dict[str, list[Any]]:
    fields: dict[str, list[Any]] = {"singletons": [json_safe(path) for path in report.singletons]}
    raw = [path_bytes(path) for path in report.singletons]
    if any(raw):
        fields["singletons_path_bytes"] = raw
    return fields


def member_record(member: MemberDiff) -> dict[str, Any]:
    return {
        **_path_fields(member.path),
        "jaccard": round(member.jaccard, _DIGITS),
        "containment": round(member.containment, _DIGITS),
        "added_words": member.added_words,
        "removed_words": member.removed_words,
        "diff": [[segment.op, json_safe(segment.text)] for segment in member.segments],
    }


def cluster_record(cluster: Cluster) -> dict[str, Any]:
    return {
        "id": cluster.id,
        "representative": json_safe(cluster.representative),
        "members": [member_record(member) for member in cluster.members],
    }


def skipped_record(item: Skipped) -> dict[str, Any]:
    return {**_path_fields(item.path), "reason": json_safe(item.reason)}


def _header(report: Report) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "storydiff_version": __version__,
        "settings": report.settings,
    }


def report_object(report: Report) -> dict[str, Any]:
    return {
        **_header(report),
        "documents": report.documents,
        "clusters": [cluster_record(cluster) for cluster in report.clusters],
        **_singletons(report),
        "skipped": [skipped_record(item) for item in report.skipped],
        "boilerplate": dict(report.boilerplate),
    }


def render_json(report: Report) -> str:
    """Compact, one line: json's C encoder only runs without indentation, and output is often large."""
    return _line(report_object(report))


def render_jsonl(report: Report) -> Iterator[str]:
    """One record per line: `run`, then each `cluster`, each `skipped`, and a closing `summary`."""
    yield _line({"type": "run", **_header(report)})
    for cluster in report.clusters:
        yield _line({"type": "cluster", **cluster_record(cluster)})
    for item in report.skipped:
        yield _line({"type": "skipped", **skipped_record(item)})
    yield _line(
        {
            "type": "summary",
            "documents": report.documents,
            "clusters": len(report.clusters),
            **_singletons(report),
            "skipped": len(report.skipped),
            "boilerplate": dict(report.boilerplate),
        }
    )


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:  # JSON escapes astral characters as a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def _line(record: dict[str, Any]) -> str:
    # The unsafe characters can only occur inside strings (JSON's own syntax is ASCII), where
    # a \\u escape stands for the same character.
    return UNSAFE.sub(_escaped, json.dumps(record, ensure_ascii=False, separators=(",", ":"))) + "\n"

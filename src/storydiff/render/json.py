"""JSON and JSON Lines output: the schema scripts rely on (see README, "JSON output").

Strings from files and file names pass through `json_safe`, so the output is valid UTF-8
JSON even when a file name is not valid UTF-8 (its undecodable bytes appear as U+FFFD).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .. import __version__
from ..model import ChangedFigure, Cluster, MemberDiff, Report, Segment, Skipped

SCHEMA_VERSION = 2
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


def segment_record(segment: Segment) -> dict[str, Any]:
    """{"op", "text", "a": [start, end], "b": [start, end]} and "b_text" when the new side differs."""
    record: dict[str, Any] = {
        "op": segment.op,
        "text": json_safe(segment.text),
        "a": list(segment.a),
        "b": list(segment.b),
    }
    if segment.b_text is not None:
        record["b_text"] = json_safe(segment.b_text)
    return record


def figure_record(figure: ChangedFigure) -> dict[str, Any]:
    return {
        "old": json_safe(figure.old),
        "new": json_safe(figure.new),
        "old_unit": json_safe(figure.old_unit),
        "new_unit": json_safe(figure.new_unit),
        "label": json_safe(figure.label),
        "a": list(figure.a),
        "b": list(figure.b),
    }


def member_record(member: MemberDiff) -> dict[str, Any]:
    return {
        "path": json_safe(member.path),
        "jaccard": round(member.jaccard, _DIGITS),
        "containment": round(member.containment, _DIGITS),
        "added_words": member.added_words,
        "removed_words": member.removed_words,
        "moved_words": member.moved_words,
        "changed_figures": [figure_record(figure) for figure in member.changed_figures],
        "diff": [segment_record(segment) for segment in member.segments],
    }


def cluster_record(cluster: Cluster) -> dict[str, Any]:
    return {
        "id": cluster.id,
        "representative": json_safe(cluster.representative),
        "members": [member_record(member) for member in cluster.members],
    }


def skipped_record(item: Skipped) -> dict[str, Any]:
    return {"path": json_safe(item.path), "reason": item.reason}


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
        "singletons": [json_safe(path) for path in report.singletons],
        "skipped": [skipped_record(item) for item in report.skipped],
        "boilerplate": dict(report.boilerplate),
    }


def render_json(report: Report) -> str:
    """Compact, one line: json's C encoder only runs without indentation, and output is often large."""
    return json.dumps(report_object(report), ensure_ascii=False, separators=(",", ":")) + "\n"


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
            "singletons": [json_safe(path) for path in report.singletons],
            "skipped": len(report.skipped),
            "boilerplate": dict(report.boilerplate),
        }
    )


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"

"""JSON and JSON Lines output: the schema scripts rely on (see README, "JSON output").

Strings from files and file names pass through `json_safe`, so the output is valid UTF-8
JSON even when a file name is not valid UTF-8 (its undecodable bytes appear as U+FFFD).
`report_from_object` reads a saved JSON report back, for `dedup --from`; it lives here so
that the schema is written down in one module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import fields
from typing import Any

from .. import __version__
from ..boilerplate import Rule
from ..model import Cluster, FileRecord, MemberDiff, Report, Segment, Skipped, StrippedFile

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


def member_record(member: MemberDiff) -> dict[str, Any]:
    record = {
        "path": json_safe(member.path),
        "jaccard": round(member.jaccard, _DIGITS),
        "containment": round(member.containment, _DIGITS),
        "added_words": member.added_words,
        "removed_words": member.removed_words,
        "diff": [[segment.op, json_safe(segment.text)] for segment in member.segments],
    }
    if member.representative_stripped or member.member_stripped:  # only with --show-stripped
        record["stripped"] = {
            side: [[line.offset, line.rule, json_safe(line.text)] for line in lines]
            for side, lines in (
                ("representative", member.representative_stripped),
                ("member", member.member_stripped),
            )
        }
    return record


def cluster_record(cluster: Cluster) -> dict[str, Any]:
    return {
        "id": cluster.id,
        "representative": json_safe(cluster.representative),
        "members": [member_record(member) for member in cluster.members],
    }


def skipped_record(item: Skipped) -> dict[str, Any]:
    return {"path": json_safe(item.path), "reason": item.reason}


def file_record(item: FileRecord) -> dict[str, Any]:
    return {"path": json_safe(item.path), "content_hash": item.content_hash, "bytes": item.size_bytes}


def _header(report: Report) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "storydiff_version": __version__,
        "settings": report.settings,
        "inputs": [json_safe(path) for path in report.inputs],
    }


def report_object(report: Report) -> dict[str, Any]:
    return {
        **_header(report),
        "documents": report.documents,
        "clusters": [cluster_record(cluster) for cluster in report.clusters],
        "singletons": [json_safe(path) for path in report.singletons],
        "skipped": [skipped_record(item) for item in report.skipped],
        "boilerplate": dict(report.boilerplate),
        "files": [file_record(item) for item in report.files],
    }


def report_from_object(data: Any) -> Report:
    """The Report that `report_object` printed (similarities as rounded there).

    Reports from before `inputs` and `files` existed load with both empty. Raises ValueError,
    saying what is missing, for anything else that is not a report of this schema.
    """
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"not a storydiff report with schema_version {SCHEMA_VERSION}")
    try:
        return Report(
            settings=dict(data["settings"]),
            documents=int(data["documents"]),
            clusters=tuple(_cluster_from(record) for record in data["clusters"]),
            singletons=tuple(str(path) for path in data["singletons"]),
            skipped=tuple(Skipped(str(item["path"]), str(item["reason"])) for item in data["skipped"]),
            boilerplate=tuple(sorted((str(rule), int(count)) for rule, count in data["boilerplate"].items())),
            inputs=tuple(str(path) for path in data.get("inputs", ())),
            files=tuple(
                FileRecord(str(item["path"]), str(item["content_hash"]), int(item["bytes"]))
                for item in data.get("files", ())
            ),
        )
    except KeyError as error:
        raise ValueError(f"malformed storydiff report: no {error} field") from None
    except (TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"malformed storydiff report: {error}") from None


def _segment(op: Any, text: Any) -> Segment:
    if op not in ("equal", "insert", "delete"):
        raise ValueError(f"unknown diff operation {op!r}")
    return Segment(op, str(text))


def _cluster_from(record: dict[str, Any]) -> Cluster:
    representative = str(record["representative"])
    members = tuple(
        MemberDiff(
            path=str(member["path"]),
            jaccard=float(member["jaccard"]),
            containment=float(member["containment"]),
            added_words=int(member["added_words"]),
            removed_words=int(member["removed_words"]),
            segments=tuple(_segment(op, text) for op, text in member["diff"]),
            is_representative=member["path"] == representative,
        )
        for member in record["members"]
    )
    return Cluster(id=int(record["id"]), representative=representative, members=members)


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


def stripped_file_record(file: StrippedFile) -> dict[str, Any]:
    return {
        "path": json_safe(file.path),
        "lines": file.line_count,
        "removed": [
            {
                "rule": span.rule,
                "line": span.line_number,
                "start": span.start,
                "end": span.end,
                "text": json_safe(span.text),
            }
            for span in file.removed
        ],
    }


def render_strip_json(
    settings: dict[str, object],
    files: Sequence[StrippedFile],
    skipped: Sequence[Skipped],
    boilerplate: dict[str, int],
) -> str:
    """`storydiff strip --format json`: per file, the removed lines located and named."""
    document = {
        "schema_version": SCHEMA_VERSION,
        "storydiff_version": __version__,
        "settings": settings,
        "files": [stripped_file_record(file) for file in files],
        "skipped": [skipped_record(item) for item in skipped],
        "boilerplate": dict(sorted(boilerplate.items())),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"


def rule_record(rule: Rule) -> dict[str, Any]:
    """A rule as in the configuration file: its name, description, pattern and every option set."""
    record: dict[str, Any] = {}
    for item in fields(rule):
        value = getattr(rule, item.name)
        if item.name in ("name", "description", "pattern") or value != item.default:
            record[item.name.replace("_", "-")] = list(value) if isinstance(value, tuple) else value
    return record

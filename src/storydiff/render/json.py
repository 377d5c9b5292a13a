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
from ..model import (
    ChangedFigure,
    Cluster,
    FileRecord,
    MemberDiff,
    Report,
    Segment,
    Skipped,
    StrippedFile,
    StrippedLine,
)

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
    record = {
        "path": json_safe(member.path),
        "jaccard": round(member.jaccard, _DIGITS),
        "containment": round(member.containment, _DIGITS),
        "added_words": member.added_words,
        "removed_words": member.removed_words,
        "moved_words": member.moved_words,
        "changed_figures": [figure_record(figure) for figure in member.changed_figures],
        "diff": [segment_record(segment) for segment in member.segments],
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

    Reads schema 1 reports too (their diffs have no positions, moves or changed figures).
    Reports from before `inputs` and `files` existed load with both empty. Raises ValueError,
    saying what is missing, for anything else that is not a storydiff report.
    """
    if not isinstance(data, dict) or data.get("schema_version") not in _READABLE_SCHEMAS:
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


_READABLE_SCHEMAS = (1, SCHEMA_VERSION)


def _span(value: Any) -> tuple[int, int]:
    start, end = value
    return (int(start), int(end))


def _segment(record: Any) -> Segment:
    """A segment from a schema 2 record ({"op", "text", "a", "b", "b_text"?}) or a schema 1
    pair ([op, text])."""
    if isinstance(record, dict):
        op, text = record["op"], record["text"]
        b_text = record.get("b_text")
        positions = (_span(record["a"]), _span(record["b"]), None if b_text is None else str(b_text))
    else:
        op, text = record
        positions = ((0, 0), (0, 0), None)
    if op not in ("equal", "insert", "delete", "move"):
        raise ValueError(f"unknown diff operation {op!r}")
    return Segment(op, str(text), *positions)


def _figure(record: dict[str, Any]) -> ChangedFigure:
    return ChangedFigure(
        str(record["old"]),
        str(record["new"]),
        str(record["old_unit"]),
        str(record["new_unit"]),
        _span(record["a"]),
        _span(record["b"]),
    )


def _stripped(lines: Any) -> tuple[StrippedLine, ...]:
    return tuple(StrippedLine(int(offset), str(rule), str(text)) for offset, rule, text in lines)


def _cluster_from(record: dict[str, Any]) -> Cluster:
    representative = str(record["representative"])
    members = tuple(
        MemberDiff(
            path=str(member["path"]),
            jaccard=float(member["jaccard"]),
            containment=float(member["containment"]),
            added_words=int(member["added_words"]),
            removed_words=int(member["removed_words"]),
            segments=tuple(_segment(segment) for segment in member["diff"]),
            is_representative=member["path"] == representative,
            moved_words=int(member.get("moved_words", 0)),
            changed_figures=tuple(_figure(figure) for figure in member.get("changed_figures", ())),
            representative_stripped=_stripped(member.get("stripped", {}).get("representative", ())),
            member_stripped=_stripped(member.get("stripped", {}).get("member", ())),
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

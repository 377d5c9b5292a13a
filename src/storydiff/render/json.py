"""JSON and JSON Lines output: the schema scripts rely on (see docs/json.md).

Strings from files and file names pass through `json_safe`, so the output is valid UTF-8
JSON even when a file name is not valid UTF-8 (its undecodable bytes appear as U+FFFD). So
that such a name can still be found, a record with a `path` then also has `path_bytes`, the
name's bytes in base64, and `singletons_path_bytes` does the same for `singletons`; reading a
report back (`report_from_object`, for `dedup --from`) uses them to name the very files.
Characters that could take over a terminal showing the JSON (see render.UNSAFE) are written
as \\u escapes, as json already does for C0 controls; parsers read them back unchanged.
`report_from_object` lives here so that the schema is written down in one module.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import fields
from typing import Any, cast

from .. import __version__
from ..boilerplate import Rule
from ..model import (
    COPY_KINDS,
    ChangedFigure,
    Cluster,
    CopyKind,
    FileRecord,
    MemberDiff,
    Report,
    Segment,
    Skipped,
    StrippedFile,
    StrippedLine,
)
from . import UNSAFE

SCHEMA_VERSION = 2
_DIGITS = 4


def json_safe(text: str) -> str:
    """Text that encodes as UTF-8: lone surrogates (from undecodable names) become U+FFFD."""
    if text.isascii():  # constant time in CPython: most text needs no encoding to check
        return text
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
    if path.isascii() or json_safe(path) == path:
        return None
    return base64.b64encode(os.fsencode(path)).decode("ascii")


def _path_fields(path: str) -> dict[str, str]:
    if path.isascii():  # most names: nothing to replace, no bytes to add
        return {"path": path}
    raw = path_bytes(path)
    return {"path": json_safe(path)} if raw is None else {"path": json_safe(path), "path_bytes": raw}


def _path_list(key: str, paths: Sequence[str]) -> dict[str, list[Any]]:
    """`key`: the paths; `key`_path_bytes, when a name is not UTF-8: each one's bytes or null."""
    record: dict[str, list[Any]] = {key: [json_safe(path) for path in paths]}
    raw = [path_bytes(path) for path in paths]
    if any(raw):
        record[f"{key}_path_bytes"] = raw
    return record


def _path_of(record: dict[str, Any]) -> str:
    """The exact name a record with `path` (and maybe `path_bytes`) stands for."""
    raw = record.get("path_bytes")
    return os.fsdecode(base64.b64decode(raw)) if raw is not None else str(record["path"])


def _paths_of(data: dict[str, Any], key: str) -> tuple[str, ...]:
    raw = data.get(f"{key}_path_bytes") or [None] * len(data.get(key, ()))
    return tuple(
        os.fsdecode(base64.b64decode(exact)) if exact is not None else str(path)
        for path, exact in zip(data.get(key, ()), raw, strict=True)
    )


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


def member_record(member: MemberDiff, diffs: bool = True) -> dict[str, Any]:
    """A member's record; without `diffs` (a `--no-diffs` report) its similarities only."""
    if not diffs:
        return {
            **_path_fields(member.path),
            "jaccard": round(member.jaccard, _DIGITS),
            "containment": round(member.containment, _DIGITS),
            **({} if member.is_representative or member.kind is None else {"kind": member.kind}),
        }
    record = {
        **_path_fields(member.path),
        "jaccard": round(member.jaccard, _DIGITS),
        "containment": round(member.containment, _DIGITS),
        "added_words": member.added_words,
        "removed_words": member.removed_words,
        "moved_words": member.moved_words,
        **({} if member.is_representative or member.kind is None else {"kind": member.kind}),
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
        "related": list(cluster.related),
        "members": [member_record(member) for member in cluster.members],
    }


def skipped_record(item: Skipped) -> dict[str, Any]:
    return {**_path_fields(item.path), "reason": json_safe(item.reason)}


def unplaced_record(path: str, related: Sequence[int]) -> dict[str, Any]:
    """A document in no cluster that is a near-duplicate of a member of the `related` clusters."""
    return {**_path_fields(path), "related": list(related)}


def file_record(item: FileRecord) -> dict[str, Any]:
    return {**_path_fields(item.path), "content_hash": item.content_hash, "bytes": item.size_bytes}


def _header(report: Report) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "storydiff_version": __version__,
        "settings": report.settings,
        **_path_list("inputs", report.inputs),
        **({} if report.diffed else {"diffs": False}),
    }


def report_object(report: Report) -> dict[str, Any]:
    return {
        **_before_clusters(report),
        "clusters": [cluster_record(cluster) for cluster in report.clusters],
        **_after_clusters(report),
    }


def _before_clusters(report: Report) -> dict[str, Any]:
    # `documents` is counts["documents"], kept where schema 2 readers look for it.
    return {**_header(report), "documents": report.documents, "counts": counts(report)}


def _after_clusters(report: Report) -> dict[str, Any]:
    return {
        **_path_list("singletons", report.singletons),
        "unplaced": [unplaced_record(path, related) for path, related in report.unplaced],
        "skipped": [skipped_record(item) for item in report.skipped],
        "boilerplate": dict(report.boilerplate),
        "files": [file_record(item) for item in report.files],
    }


class EncodedMembers:
    """Members' JSON records, encoded as each cluster's diffs arrive (`add`).

    Encoding a large report's members is most of rendering it. Done while the workers are
    still diffing other clusters, it no longer runs alone on one core after the last diff.
    A member not added here (a report read back, a cluster diffed again) is encoded when
    rendered; the text is the same either way.
    """

    def __init__(self, diffs: bool = True) -> None:
        self._texts: dict[int, tuple[MemberDiff, str]] = {}  # by id, with the member kept alive
        self._diffs = diffs

    def add(self, members: Sequence[MemberDiff]) -> None:
        for member in members:
            self._texts[id(member)] = (member, _encoded(member_record(member, self._diffs)))

    def text(self, member: MemberDiff) -> str:
        found = self._texts.get(id(member))
        if found is not None and found[0] is member:
            return found[1]
        return _encoded(member_record(member, self._diffs))


def _encoded(record: Any) -> str:
    """Compact JSON with the unsafe characters escaped. Escapes are only ever inside strings,
    so the pieces of a document escaped one by one make the document escaped whole."""
    return escape_unsafe(json.dumps(record, ensure_ascii=False, separators=(",", ":")))


def _cluster_text(cluster: Cluster, encoded: EncodedMembers, first: dict[str, Any] | None = None) -> str:
    """`cluster_record` (after the `first` fields) as JSON, its members' records from `encoded`."""
    head = _encoded(
        {
            **(first or {}),
            "id": cluster.id,
            "representative": json_safe(cluster.representative),
            "related": list(cluster.related),
        }
    )
    return f'{head[:-1]},"members":[{",".join(map(encoded.text, cluster.members))}]}}'


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
            singletons=_paths_of(data, "singletons"),
            skipped=tuple(Skipped(_path_of(item), str(item["reason"])) for item in data["skipped"]),
            boilerplate=tuple(sorted((str(rule), int(count)) for rule, count in data["boilerplate"].items())),
            inputs=_paths_of(data, "inputs"),
            files=tuple(
                FileRecord(_path_of(item), str(item["content_hash"]), int(item["bytes"]))
                for item in data.get("files", ())
            ),
            diffed=data.get("diffs", True) is not False,
            unplaced=tuple(
                (_path_of(item), tuple(int(number) for number in item["related"]))
                for item in data.get("unplaced", ())
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
    members = tuple(
        MemberDiff(
            path=_path_of(member),
            jaccard=float(member["jaccard"]),
            containment=float(member["containment"]),
            added_words=int(member.get("added_words", 0)),
            removed_words=int(member.get("removed_words", 0)),
            segments=tuple(_segment(segment) for segment in member.get("diff", ())),
            is_representative=member["path"] == record["representative"],
            moved_words=int(member.get("moved_words", 0)),
            changed_figures=tuple(_figure(figure) for figure in member.get("changed_figures", ())),
            kind=_kind(member.get("kind")),
            representative_stripped=_stripped(member.get("stripped", {}).get("representative", ())),
            member_stripped=_stripped(member.get("stripped", {}).get("member", ())),
        )
        for member in record["members"]
    )
    # The representative's own record has its exact name when the `representative` string is lossy.
    exact = [member.path for member in members if member.is_representative]
    representative = exact[0] if exact else str(record["representative"])
    related = tuple(int(number) for number in record.get("related", ()))
    return Cluster(id=int(record["id"]), representative=representative, members=members, related=related)


def _kind(value: Any) -> CopyKind | None:
    if value is None:
        return None
    if value not in COPY_KINDS:
        raise ValueError(f"unknown copy kind {value!r}; expected one of {', '.join(COPY_KINDS)}")
    return cast(CopyKind, value)


def render_json(report: Report, encoded: EncodedMembers | None = None) -> str:
    """Compact, one line: json's C encoder only runs without indentation, and output is often large.

    With `encoded`, the members' records encoded already are put in place as they are (the
    document is the same: compact JSON of a dict is its fields' JSON, joined)."""
    if encoded is None and report.diffed:
        return _line(report_object(report))
    return "".join(json_pieces(report, encoded))


def json_pieces(report: Report, encoded: EncodedMembers | None = None) -> Iterator[str]:
    """`render_json`'s document in pieces (its start, each cluster, the rest), so that a large
    report is written out without being held whole, and again as bytes, on the way."""
    encoded = encoded or EncodedMembers(report.diffed)
    before, after = _encoded(_before_clusters(report)), _encoded(_after_clusters(report))
    yield f'{before[:-1]},"clusters":['
    for number, cluster in enumerate(report.clusters):
        yield f"{',' if number else ''}{_cluster_text(cluster, encoded)}"
    yield f"],{after[1:]}\n"


def render_jsonl(report: Report, encoded: EncodedMembers | None = None) -> Iterator[str]:
    """One record per line, each written as soon as it is known: `run`, then each `cluster`,
    each `singleton` (a document without a copy), each `unplaced` document (a near-duplicate of a
    cluster's member but not of its representative), each `skipped` file, and a closing `summary`
    whose numbers are under `counts`, as in the JSON document."""
    yield _line({"type": "run", **_header(report)})
    if encoded is None and not report.diffed:
        encoded = EncodedMembers(diffs=False)
    for cluster in report.clusters:
        if encoded is None:
            yield _line({"type": "cluster", **cluster_record(cluster)})
        else:
            yield _cluster_text(cluster, encoded, {"type": "cluster"}) + "\n"
    for path in report.singletons:
        yield _line({"type": "singleton", **_path_fields(path)})
    for path, related in report.unplaced:
        yield _line({"type": "unplaced", **unplaced_record(path, related)})
    for item in report.skipped:
        yield _line({"type": "skipped", **skipped_record(item)})
    yield _line({"type": "summary", "counts": counts(report), "boilerplate": dict(report.boilerplate)})


def counts(report: Report) -> dict[str, int]:
    """The report's numbers, each named after what it counts. A plural name alone (`clusters`,
    `singletons`, `unplaced`, `skipped`) is always a list of records; its count is here."""
    return {
        "documents": report.documents,
        "clusters": len(report.clusters),
        "clustered_documents": sum(len(cluster.members) for cluster in report.clusters),
        "singletons": len(report.singletons),
        "unplaced": len(report.unplaced),
        "skipped": len(report.skipped),
    }


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:  # JSON escapes astral characters as a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def escape_unsafe(document: str) -> str:
    """JSON text with the unsafe characters written as \\u escapes. They can only occur inside
    strings (JSON's own syntax is ASCII), where an escape stands for the same character."""
    if document.isascii() and "\x7f" not in document:
        # json escaped the C0 controls already; DEL is the only other unsafe ASCII character.
        # (isascii is constant time and `in` a memchr: a 40 MB report skips a regex scan.)
        return document
    return UNSAFE.sub(_escaped, document)


def _line(record: dict[str, Any]) -> str:
    return _encoded(record) + "\n"


def stripped_file_record(file: StrippedFile) -> dict[str, Any]:
    return {
        **_path_fields(file.path),
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
    return _line(document)


def rule_record(rule: Rule) -> dict[str, Any]:
    """A rule as in the configuration file: its name, description, pattern and every option set."""
    record: dict[str, Any] = {}
    for item in fields(rule):
        value = getattr(rule, item.name)
        if item.name in ("name", "description", "pattern") or value != item.default:
            record[item.name.replace("_", "-")] = list(value) if isinstance(value, tuple) else value
    return record

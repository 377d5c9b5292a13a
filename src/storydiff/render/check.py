"""Output of `storydiff check`: the findings as text (rich) or as one JSON object."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.text import Text

from ..check import CheckResult, Finding
from ..wording import count
from .json import escape_unsafe, json_safe, member_record, path_bytes, skipped_record
from .text import MARKER_STYLE, TextWriter, changed_figures_line, diff_text, member_header, visible_path

SCHEMA_VERSION = 2  # 2: findings' diffs as cluster reports' schema 2 (positions, moves, figures)


def render_check_text(result: CheckResult, console: Console, context: int) -> None:
    """Each finding: the file, its match, Jaccard, containment and a diff against the match;
    plain lines when not at a terminal (a hook's output is read in a log)."""
    writer = TextWriter(console)
    for finding in result.findings:
        writer.text(member_header(finding.diff))
        line = Text("near-duplicate of ", style=MARKER_STYLE)
        line.append(visible_path(finding.match), style="bold")
        writer.text(line)
        figures = changed_figures_line(finding.diff)
        if figures is not None:
            writer.text(figures)
        if any(segment.op != "equal" for segment in finding.diff.segments):
            writer.text(diff_text(finding.diff.segments, context, writer.markers))
        else:
            writer.text(Text("(same text after normalisation)", style=MARKER_STYLE))
        writer.blank()
    writer.flush()


def render_check_json(result: CheckResult) -> str:
    from .. import __version__

    data = {
        "schema_version": SCHEMA_VERSION,
        "storydiff_version": __version__,
        "checked": result.checked,
        "documents": result.documents,
        "findings": [_finding_record(finding) for finding in result.findings],
        "accepted": result.accepted,
        "stale": list(result.stale),
        "skipped": [skipped_record(item) for item in result.skipped],
    }
    return escape_unsafe(json.dumps(data, ensure_ascii=False, separators=(",", ":"))) + "\n"


def _finding_record(finding: Finding) -> dict[str, Any]:
    record = {
        "path": json_safe(finding.path),
        "match": json_safe(finding.match),
        **member_record(finding.diff),
    }
    match_bytes = path_bytes(finding.match)  # as path_bytes, for the match's name
    if match_bytes is not None:
        record["match_path_bytes"] = match_bytes
    return record


def check_summary(result: CheckResult) -> str:
    return (
        f"checked {count(result.checked, 'file')} against {count(result.documents, 'document')}: "
        f"{count(len(result.findings), 'near-duplicate')} not in the baseline, {result.accepted:,} accepted"
    )


def check_advice(baseline_file: str, default_file: str) -> str:
    """What to do about a blocked commit, printed under the findings."""
    option = "" if baseline_file == default_file else f" --baseline {baseline_file}"
    return (
        f"To accept these copies, run `storydiff baseline --update{option}` and commit {baseline_file}; "
        "to commit once without this check, `SKIP=storydiff git commit` (`git commit --no-verify` "
        "skips every hook)."
    )

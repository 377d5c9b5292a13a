from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from storydiff.model import Cluster, FileRecord, MemberDiff, Report, Segment, Skipped
from storydiff.pipeline import run_cluster
from storydiff.render import UNSAFE
from storydiff.render.json import render_json, render_jsonl, report_from_object, report_object
from storydiff.settings import Settings


def test_a_saved_report_reads_back_to_the_same_json(seeds_dir: Path) -> None:
    report = run_cluster([str(seeds_dir)], Settings())
    saved = json.loads(render_json(report))
    loaded = report_from_object(saved)
    assert report_object(loaded) == saved
    assert loaded.files == report.files and loaded.inputs == (str(seeds_dir),)
    assert [member.is_representative for member in loaded.clusters[0].members] == [True, False]


def test_a_report_from_before_content_hashes_loads_without_them(seeds_dir: Path) -> None:
    saved = json.loads(render_json(run_cluster([str(seeds_dir)], Settings())))
    del saved["files"], saved["inputs"]
    loaded = report_from_object(saved)
    assert (loaded.files, loaded.inputs, loaded.documents) == ((), (), 3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "not a storydiff report with schema_version 1"),
        ({"schema_version": 2}, "not a storydiff report with schema_version 1"),
        ({"schema_version": 1, "settings": {}}, "malformed storydiff report: no 'documents' field"),
    ],
)
def test_what_is_not_a_report_is_refused_saying_why(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        report_from_object(data)


CONTROLS = "\x1b[2J\x9b31m\x7f\u202eevil\u2066\u200b\u2028\U000e0041\r\x08\x07"
UNDECODABLE = os.fsdecode(b"caf\xe9.txt")  # how Python names a file whose name is not UTF-8


def report(member_path: str = "b.txt", singleton: str = "c.txt", skipped: str = "d.txt") -> Report:
    members = (
        MemberDiff("a.txt", 1.0, 1.0, 0, 0, (), is_representative=True),
        MemberDiff(member_path, 0.8, 0.9, 1, 0, (Segment("equal", "Mali "), Segment("insert", CONTROLS))),
    )
    return Report({}, 3, (Cluster(1, "a.txt", members),), (singleton,), (Skipped(skipped, "empty file"),))


def test_terminal_controls_are_escaped_and_read_back_unchanged() -> None:
    out = render_json(report())
    assert not UNSAFE.search(out) and "\\u001b[2J\\u009b31m\\u007f\\u202eevil" in out
    assert "\\udb40\\udc41" in out  # an astral tag character as a surrogate pair
    member = json.loads(out)["clusters"][0]["members"][1]
    assert member["diff"] == [["equal", "Mali "], ["insert", CONTROLS]]
    for line in render_jsonl(report()):
        assert not UNSAFE.search(line)
        json.loads(line)


def test_names_that_are_not_utf8_stay_valid_json_and_recoverable() -> None:
    out = render_json(report(UNDECODABLE, UNDECODABLE, UNDECODABLE))
    out.encode("utf-8")  # valid UTF-8: the lone surrogate did not leak
    data = json.loads(out)
    member = data["clusters"][0]["members"][1]
    assert member["path"] == "caf\ufffd.txt"
    assert base64.b64decode(member["path_bytes"]) == b"caf\xe9.txt"
    assert data["singletons"] == ["caf\ufffd.txt"]
    assert [base64.b64decode(raw) for raw in data["singletons_path_bytes"]] == [b"caf\xe9.txt"]
    assert base64.b64decode(data["skipped"][0]["path_bytes"]) == b"caf\xe9.txt"
    summary = json.loads(list(render_jsonl(report(singleton=UNDECODABLE)))[-1])
    assert summary["singletons_path_bytes"] == [base64.b64encode(b"caf\xe9.txt").decode()]


def test_path_bytes_only_when_needed() -> None:
    data = json.loads(render_json(report()))
    assert "path_bytes" not in data["clusters"][0]["members"][1]
    assert "singletons_path_bytes" not in data and "path_bytes" not in data["skipped"][0]


def test_a_saved_report_names_files_that_are_not_utf8_exactly() -> None:
    """`dedup --from` acts on the files a report names: the lossy `path` is not enough."""
    original = report(UNDECODABLE, UNDECODABLE, UNDECODABLE)
    original = Report(
        original.settings,
        original.documents,
        original.clusters,
        original.singletons,
        original.skipped,
        inputs=(UNDECODABLE,),
        files=(FileRecord(UNDECODABLE, "hash", 10),),
    )
    loaded = report_from_object(json.loads(render_json(original)))
    assert loaded.clusters[0].members[1].path == UNDECODABLE
    assert loaded.singletons == (UNDECODABLE,) and loaded.skipped[0].path == UNDECODABLE
    assert loaded.inputs == (UNDECODABLE,) and loaded.files[0].path == UNDECODABLE
    assert render_json(loaded) == render_json(original)

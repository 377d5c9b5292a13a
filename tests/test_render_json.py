from __future__ import annotations

import base64
import json
import os

from storydiff.model import Cluster, MemberDiff, Report, Segment, Skipped
from storydiff.render import UNSAFE
from storydiff.render.json import render_json, render_jsonl

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

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import SEED_000, SEED_001, SEEDS

from storydiff.diff import word_diff
from storydiff.model import Cluster, FileRecord, MemberDiff, Report, Segment, Skipped, SourceFile
from storydiff.pipeline import clean, run_cluster
from storydiff.render import UNSAFE
from storydiff.render.json import (
    EncodedMembers,
    json_pieces,
    member_record,
    render_json,
    render_jsonl,
    report_from_object,
    report_object,
)
from storydiff.settings import Settings


def rebuilt(diff: list[dict[str, Any]]) -> tuple[str, str]:
    """Both texts from JSON segments, as docs/json.md says: segments holding each side, by position."""
    old = "".join(s["text"] for s in sorted((s for s in diff if s["op"] != "insert"), key=lambda s: s["a"]))
    new = "".join(
        s.get("b_text", s["text"])
        for s in sorted((s for s in diff if s["op"] != "delete"), key=lambda s: s["b"])
    )
    return old, new


def record(old: str, new: str) -> dict[str, Any]:
    change = word_diff(old, new)
    member = MemberDiff(
        "b.txt",
        0.5,
        0.5,
        change.added_words,
        change.removed_words,
        change.segments,
        False,
        change.moved_words,
        change.changed_figures,
    )
    return json.loads(json.dumps(member_record(member)))


def test_segments_rebuild_both_cleaned_seeds() -> None:
    texts = [
        clean(SourceFile(str(SEEDS / name), str(SEEDS / name)), Settings()).text
        for name in (SEED_000, SEED_001)
    ]  # type: ignore[union-attr]
    data = record(*texts)
    assert rebuilt(data["diff"]) == tuple(texts)
    for segment in data["diff"]:
        start, end = segment["a"]
        assert texts[0][start:end] == ("" if segment["op"] == "insert" else segment["text"])
    for figure in data["changed_figures"]:
        assert (
            texts[0][slice(*figure["a"])] == figure["old"] and texts[1][slice(*figure["b"])] == figure["new"]
        )


def test_moves_carry_both_places() -> None:
    old = "Mali asked France for help. Paris sent troops to Bamako. The fighting went on for days."
    new = "Paris sent troops to Bamako. Mali asked France for help. The fighting went on for days."
    data = record(old, new)
    (move,) = [segment for segment in data["diff"] if segment["op"] == "move"]
    assert move == {"op": "move", "text": "Paris sent troops to Bamako. ", "a": [28, 57], "b": [0, 29]}
    assert data["moved_words"] == 5 and rebuilt(data["diff"]) == (old, new)


def test_equal_text_with_other_quotes_keeps_the_new_side() -> None:
    data = record("“We’ve had requests,” she said.", '"We\'ve had requests," she said.')
    assert data["diff"] == [
        {
            "op": "equal",
            "text": "“We’ve had requests,” she said.",
            "a": [0, 31],
            "b": [0, 31],
            "b_text": '"We\'ve had requests," she said.',
        }
    ]


words = st.sampled_from(
    ["Mali", "troops", "190", "900", "“quoted”", '"quoted"', "’s", ",", ".", "!", " ", "\n\n", "  "]
)
texts = st.lists(words, max_size=50).map("".join)


@settings(max_examples=200)
@given(texts, texts)
def test_json_segments_rebuild_both_texts(old: str, new: str) -> None:
    assert rebuilt(record(old, new)["diff"]) == (old, new)


@settings(max_examples=200)
@given(st.lists(st.lists(words, min_size=3, max_size=12).map("".join), min_size=1, max_size=6), st.data())
def test_json_segments_rebuild_both_texts_with_moves(sentences: list[str], data: st.DataObject) -> None:
    old = ". ".join(sentences)
    new = ". ".join(data.draw(st.permutations(sentences)))
    assert rebuilt(record(old, new)["diff"]) == (old, new)


@pytest.mark.parametrize("show_stripped", [False, True])
def test_a_saved_report_reads_back_to_the_same_json(seeds_dir: Path, show_stripped: bool) -> None:
    report = run_cluster([str(seeds_dir)], Settings(show_stripped=show_stripped))
    saved = json.loads(render_json(report))
    loaded = report_from_object(saved)
    assert report_object(loaded) == saved
    assert loaded.files == report.files and loaded.inputs == (str(seeds_dir),)
    assert [member.is_representative for member in loaded.clusters[0].members] == [True, False]
    for loaded_member, member in zip(loaded.clusters[0].members, report.clusters[0].members, strict=True):
        # Positions, moves, changed figures and stripped lines come back as they were.
        assert loaded_member.segments == member.segments
        assert (loaded_member.moved_words, loaded_member.changed_figures) == (
            member.moved_words,
            member.changed_figures,
        )
        assert (loaded_member.representative_stripped, loaded_member.member_stripped) == (
            member.representative_stripped,
            member.member_stripped,
        )


def test_a_report_from_before_content_hashes_loads_without_them(seeds_dir: Path) -> None:
    saved = json.loads(render_json(run_cluster([str(seeds_dir)], Settings())))
    del saved["files"], saved["inputs"]
    loaded = report_from_object(saved)
    assert (loaded.files, loaded.inputs, loaded.documents) == ((), (), 3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "not a storydiff report with schema_version 2"),
        ({"schema_version": 3}, "not a storydiff report with schema_version 2"),
        ({"schema_version": 2, "settings": {}}, "malformed storydiff report: no 'documents' field"),
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
    assert [(segment["op"], segment["text"]) for segment in member["diff"]] == [
        ("equal", "Mali "),
        ("insert", CONTROLS),
    ]
    for line in render_jsonl(report()):
        assert not UNSAFE.search(line)
        json.loads(line)


@pytest.mark.parametrize("controls", ["\x1b[2J\x07\r", "del\x7fete", "plain"])
def test_an_all_ascii_report_is_escaped_like_any_other(controls: str) -> None:
    """All-ASCII output skips the scan for unsafe characters: json escaped the C0 controls,
    and DEL is looked for on its own."""
    members = (
        MemberDiff("a.txt", 1.0, 1.0, 0, 0, (), is_representative=True),
        MemberDiff(f"b{controls}.txt", 0.8, 0.9, 1, 0, (Segment("insert", controls),)),
    )
    out = render_json(Report({}, 2, (Cluster(1, "a.txt", members),), (), ()))
    assert out.isascii() and not UNSAFE.search(out)
    member = json.loads(out)["clusters"][0]["members"][1]
    assert (member["path"], member["diff"][0]["text"]) == (f"b{controls}.txt", controls)


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
    records = [json.loads(line) for line in render_jsonl(report(singleton=UNDECODABLE))]
    (singleton,) = (record for record in records if record["type"] == "singleton")
    assert singleton["type"] == "singleton" and singleton["path"] == "caf\ufffd.txt"
    assert singleton["path_bytes"] == base64.b64encode(b"caf\xe9.txt").decode()


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


def test_members_encoded_during_the_run_render_the_same_document(dedup_corpus: Path) -> None:
    """`render_json` and `render_jsonl` with the members encoded as `run_cluster` diffed them
    give the bytes they give from the report alone, including for a member never added."""
    encoded = EncodedMembers()
    seen: list[MemberDiff] = []

    def on_diffed(members: Any) -> None:
        seen.extend(members)
        encoded.add(members[1:])  # the representatives are left to be encoded when rendered

    built = run_cluster([str(dedup_corpus)], Settings(show_stripped=True), on_diffed=on_diffed)
    members = [member for item in built.clusters for member in item.members]
    assert len(members) == 4 and all(any(member is other for other in seen) for member in members)
    assert any(member.member_stripped or member.representative_stripped for member in members)
    assert render_json(built, encoded) == render_json(built)
    assert "".join(json_pieces(built)) == render_json(built)  # each member encoded as it comes
    assert list(render_jsonl(built, encoded)) == list(render_jsonl(built))
    for hostile in (report(), report(UNDECODABLE, UNDECODABLE, UNDECODABLE)):
        encoded.add([member for item in hostile.clusters for member in item.members])
        assert render_json(hostile, encoded) == render_json(hostile)
        assert list(render_jsonl(hostile, encoded)) == list(render_jsonl(hostile))

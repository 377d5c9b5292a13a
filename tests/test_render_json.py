from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import SEED_000, SEED_001, SEEDS

from storydiff.diff import word_diff
from storydiff.model import MemberDiff, SourceFile
from storydiff.pipeline import clean, run_cluster
from storydiff.render.json import member_record, render_json, report_from_object, report_object
from storydiff.settings import Settings


def rebuilt(diff: list[dict[str, Any]]) -> tuple[str, str]:
    """Both texts from JSON segments, as README says: segments holding each side, by position."""
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

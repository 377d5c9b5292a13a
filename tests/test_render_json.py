from __future__ import annotations

import json
from pathlib import Path

import pytest

from storydiff.pipeline import run_cluster
from storydiff.render.json import render_json, report_from_object, report_object
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

from __future__ import annotations

import io
import json

import pytest

from storydiff.model import Cluster, MemberDiff, Report, Segment
from storydiff.render import RENDERERS, OutputFormat, RenderOptions


def test_every_output_format_has_one_renderer() -> None:
    assert set(RENDERERS) == set(OutputFormat)


@pytest.mark.parametrize("output_format", list(OutputFormat))
def test_each_renderer_writes_the_report(output_format: OutputFormat) -> None:
    members = (
        MemberDiff("a.txt", 1.0, 1.0, 0, 0, (), is_representative=True),
        MemberDiff(
            "b.txt",
            0.8,
            0.9,
            1,
            1,
            (Segment("delete", "190", (0, 3), (0, 0)), Segment("insert", "900", (3, 3), (0, 3))),
        ),
    )
    report = Report({}, 2, (Cluster(1, "a.txt", members),), (), ())
    out = io.StringIO()
    RENDERERS[output_format](report, out, RenderOptions())
    text = out.getvalue()
    assert "b.txt" in text
    if output_format is OutputFormat.JSON:
        assert json.loads(text)["clusters"][0]["members"][1]["diff"][1] == {
            "op": "insert",
            "text": "900",
            "a": [3, 3],
            "b": [0, 3],
        }

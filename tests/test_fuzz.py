"""Random bytes and random Unicode, in files with random names, through the whole command line.

Whatever the files hold, storydiff exits with 0 or 2, writes valid UTF-8 JSON (and text with
no control characters), accounts for every file as a document or a skipped one, keeps every
undecodable name recoverable, and prints no traceback.

CI runs 30 examples (a few seconds); for a long local run:

    .venv/bin/python -m pytest tests/test_fuzz.py --hypothesis-profile=thorough   # 2,000 examples
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import examples

from storydiff.cli import cli
from storydiff.render import UNSAFE

ARTICLE = (
    "France said it has committed about 1,700 troops to the effort, including about 800 on the "
    "ground in Mali. The United Nations said preparations are under way for a team to go to Bamako."
)

names = st.binary(min_size=1, max_size=40).filter(lambda name: b"/" not in name and b"\x00" not in name)


@st.composite
def contents(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["bytes", "text", "utf-16", "variant"]))
    if kind == "bytes":
        return draw(st.binary(max_size=400))
    text = draw(st.text(max_size=300))
    if kind == "utf-16":
        return text.encode("utf-16")  # with its BOM
    if kind == "variant":  # a near-duplicate of the others, with random text spliced in
        cut = draw(st.integers(0, len(ARTICLE)))
        text = ARTICLE[:cut] + text + ARTICLE[cut:]
    return text.encode("utf-8", "surrogatepass")


corpora = st.lists(st.tuples(names, contents()), min_size=1, max_size=8, unique_by=lambda item: item[0])


def invoke(root: str, output_format: str, *options: str) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(cli, ["cluster", root, "--format", output_format, "--jobs", "1", *options])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    assert result.exit_code in (0, 2)
    return result.exit_code, result.stdout_bytes, result.stderr


@settings(max_examples=examples(30), deadline=None)
@given(corpora)
def test_any_files_whatever_their_names(files: list[tuple[bytes, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as root:
        for name, data in files:
            Path(os.fsdecode(os.fsencode(root) + b"/" + name + b".txt")).write_bytes(data)

        code, out, _ = invoke(root, "json")
        if code == 2:
            assert out == b""
            return
        data = json.loads(out.decode("utf-8"))  # strict UTF-8, valid JSON
        assert not UNSAFE.search(out.decode("utf-8"))
        members = [member for item in data["clusters"] for member in item["members"]]
        assert len(members) + len(data["singletons"]) + len(data["unplaced"]) == data["documents"]
        assert data["documents"] + len(data["skipped"]) == len(files)  # nothing lost
        for record in [*members, *data["unplaced"], *data["skipped"]]:
            if "path_bytes" in record:
                assert os.path.lexists(base64.b64decode(record["path_bytes"]))
        for raw in data.get("singletons_path_bytes", []):
            assert raw is None or os.path.lexists(base64.b64decode(raw))

        # latin-1 reads any bytes without NULs, so the text renderer meets C1 controls too.
        _, text, _ = invoke(root, "text", "--encoding", "latin-1")
        assert not UNSAFE.search(text.decode("utf-8").replace("\n", ""))

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import xxhash
from click.testing import CliRunner
from tests.conftest import SEED_000, SEED_001, SEED_002

from storydiff.cli import cli


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_text_output_shows_the_cluster_and_the_real_edits(seeds_dir: Path) -> None:
    code, out, err = run("cluster", str(seeds_dir))
    assert code == 0
    out = " ".join(out.split())  # undo the wrapping at the console width
    assert "Cluster 1 · 2 documents" in out
    assert f"representative: {seeds_dir / SEED_000}" in out
    # CliRunner's output is not a terminal, so edits carry wdiff's markers.
    assert "[-Col. Mohammed Yerima, a spokesman for the Nigerian army, told CNN that 190" in out
    assert "{+The Nigerian army said it plans to deploy 900 soldiers within 10 days" in out
    assert "French President Francois Hollande said his nation" in out
    # Stripped furniture is not shown as an edit.
    assert "Story highlights" not in out and "Read more" not in out and "Sagai tank" not in out
    assert "1 document without a copy" in out and str(seeds_dir / SEED_002) in out
    assert "3 documents: 1 cluster holding 2 documents, 1 without a copy, 0 skipped" in err


def test_json_has_the_documented_schema(seeds_dir: Path) -> None:
    code, out, _ = run("cluster", str(seeds_dir), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {
        "schema_version",
        "storydiff_version",
        "settings",
        "documents",
        "counts",
        "clusters",
        "singletons",
        "unplaced",
        "skipped",
        "boilerplate",
        "inputs",
        "files",
    }
    assert data["schema_version"] == 2 and data["documents"] == 3
    assert data["counts"] == {
        "documents": 3,
        "clusters": 1,
        "clustered_documents": 2,
        "singletons": 1,
        "unplaced": 0,
        "skipped": 0,
    }
    assert data["inputs"] == [str(seeds_dir)]
    assert data["files"] == [
        {
            "path": str(seeds_dir / name),
            "content_hash": xxhash.xxh3_128_hexdigest((seeds_dir / name).read_bytes()),
            "bytes": size,
        }
        for name, size in ((SEED_000, 6798), (SEED_001, 5536), (SEED_002, 2478))
    ]
    assert data["singletons"] == [str(seeds_dir / SEED_002)]
    (cluster,) = data["clusters"]
    assert cluster["id"] == 1 and cluster["representative"] == str(seeds_dir / SEED_000)
    representative, copy = cluster["members"]
    assert representative == {
        "path": str(seeds_dir / SEED_000),
        "jaccard": 1.0,
        "containment": 1.0,
        "added_words": 0,
        "removed_words": 0,
        "moved_words": 0,
        "changed_figures": [],
        "diff": [],
    }
    assert copy["path"] == str(seeds_dir / SEED_001)
    assert 0.5 <= copy["jaccard"] < 0.9 and copy["containment"] > 0.8
    assert {segment["op"] for segment in copy["diff"]} == {"equal", "insert", "delete"}
    assert all(set(segment) <= {"op", "text", "a", "b", "b_text"} for segment in copy["diff"])
    assert any(
        segment["op"] == "insert" and "900 soldiers within 10 days" in segment["text"]
        for segment in copy["diff"]
    )
    assert [figure["label"] for figure in copy["changed_figures"]] == [
        "190 → 900 soldiers",
        "24 hours → 10 days",
    ]
    assert copy["changed_figures"][0] == {
        "old": "190",
        "new": "900",
        "old_unit": "soldiers",
        "new_unit": "soldiers",
        "label": "190 → 900 soldiers",
        "a": copy["changed_figures"][0]["a"],
        "b": copy["changed_figures"][0]["b"],
    }
    assert data["boilerplate"]["read-more"] == 8
    assert data["settings"]["threshold"] == 0.5


def test_json_is_byte_identical_across_runs(seeds_dir: Path) -> None:
    assert (
        run("cluster", str(seeds_dir), "--format", "json")[1]
        == run("cluster", str(seeds_dir), "--format", "json")[1]
    )


def test_jsonl_streams_typed_records(seeds_dir: Path) -> None:
    code, out, _ = run("cluster", str(seeds_dir), "--format", "jsonl")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [record["type"] for record in records] == ["run", "cluster", "singleton", "summary"]
    assert records[2] == {"type": "singleton", "path": str(seeds_dir / SEED_002)}
    assert records[3]["counts"] == json.loads(run("cluster", str(seeds_dir), "--format", "json")[1])["counts"]
    assert records[3]["counts"]["singletons"] == 1 and "singletons" not in records[3]


def test_jsonl_has_a_record_per_skipped_file_before_the_summary(seeds_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(seeds_dir, corpus)
    (corpus / "broken.txt").write_bytes(b"caf\xe9 \xff\xfe")
    code, out, _ = run("cluster", str(corpus), "--format", "jsonl")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert [record["type"] for record in records][-3:] == ["singleton", "skipped", "summary"]
    assert records[-2]["path"] == str(corpus / "broken.txt") and records[-1]["counts"]["skipped"] == 1


def test_paths_are_relative_to_where_the_user_stands(seeds_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(seeds_dir.parent)
    data = json.loads(run("cluster", "seeds", "--format", "json")[1])
    assert data["clusters"][0]["representative"] == os.path.join("seeds", SEED_000)


def test_no_strip_compares_the_raw_files(seeds_dir: Path) -> None:
    data = json.loads(run("cluster", str(seeds_dir), "--format", "json", "--no-strip")[1])
    copy = data["clusters"][0]["members"][1]
    assert data["boilerplate"] == {}
    assert any(
        segment["op"] == "delete" and "Story highlights" in segment["text"] for segment in copy["diff"]
    )


def test_bad_files_are_skipped_and_the_run_goes_on(corpus: Path) -> None:
    (corpus / "latin1.txt").write_bytes("Caf\xe9 au lait".encode("latin-1"))
    (corpus / "blank.txt").write_text("\n\n")
    code, out, err = run("cluster", str(corpus), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["documents"] == 3 and len(data["clusters"]) == 1
    assert data["skipped"] == [
        {"path": str(corpus / "blank.txt"), "reason": "empty file"},
        {
            "path": str(corpus / "latin1.txt"),
            "reason": "not valid UTF-8 at byte 3 (use --encoding cp1252 or latin-1 to read such files)",
        },
    ]
    assert f"storydiff: skipped {corpus / 'latin1.txt'}: not valid UTF-8 at byte 3" in err
    with_encoding = json.loads(run("cluster", str(corpus), "--format", "json", "--encoding", "cp1252")[1])
    assert with_encoding["documents"] == 4


def test_missing_and_empty_directories_exit_2_with_one_line(tmp_path: Path) -> None:
    code, out, err = run("cluster", str(tmp_path / "nope"))
    assert (code, out) == (2, "")
    assert err == f"Error: {tmp_path / 'nope'}: no such file or directory\n"
    code, _, err = run("cluster", str(tmp_path))
    assert (
        code == 2
        and err == f"Error: {tmp_path}: no files matching '*.txt' (use --glob to choose other files)\n"
    )


def test_bad_options_exit_2(seeds_dir: Path) -> None:
    assert run("cluster", str(seeds_dir), "--threshold", "0")[0] == 2
    assert run("cluster", str(seeds_dir), "--encoding", "klingon")[0] == 2
    assert run("cluster")[0] == 2


def test_keep_shortest_makes_the_trimmed_version_representative(seeds_dir: Path) -> None:
    data = json.loads(run("cluster", str(seeds_dir), "--format", "json", "--keep", "shortest")[1])
    assert data["clusters"][0]["representative"] == str(seeds_dir / SEED_001)


def test_keep_newest_and_oldest_follow_the_modification_times(corpus: Path) -> None:
    os.utime(corpus / SEED_000, ns=(1_600_000_000_000_000_000,) * 2)
    os.utime(corpus / SEED_001, ns=(1_700_000_000_000_000_000,) * 2)
    newest = json.loads(run("cluster", str(corpus), "--format", "json", "--keep", "newest")[1])
    oldest = json.loads(run("cluster", str(corpus), "--format", "json", "--keep", "oldest")[1])
    assert newest["clusters"][0]["representative"] == str(corpus / SEED_001)
    assert oldest["clusters"][0]["representative"] == str(corpus / SEED_000)
    assert newest["settings"]["keep"] == "newest"


def test_help_has_examples_and_exit_codes() -> None:
    code, out, _ = run("cluster", "--help")
    assert code == 0 and "storydiff cluster examples/seeds" in out
    assert "Exit codes: 0 success" in run("--help")[1]


def test_ctrl_c_exits_130_without_traceback(seeds_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("storydiff.pipeline.run_cluster", interrupted)
    code, out, err = run("cluster", str(seeds_dir))
    assert code == 130 and out == "" and err.strip() == "storydiff: interrupted"


def test_layouts_and_the_html_report_beside_another_format(seeds_dir: Path, tmp_path: Path) -> None:
    code, out, _ = run("cluster", str(seeds_dir), "--layout", "stat")
    assert code == 0 and "Changed figures: 190 → 900 soldiers · 24 hours → 10 days" in out
    assert "[-Col. Mohammed" not in out
    code, out, _ = run("cluster", str(seeds_dir), "--layout", "side-by-side")
    assert code == 0 and "000_6cbf83f250581d03.txt" in out and "{+The Nigerian army said" in out
    report = tmp_path / "report.html"
    code, out, _ = run("cluster", str(seeds_dir), "--format", "json", "--html", str(report))
    assert code == 0 and json.loads(out)["schema_version"] == 2
    assert report.read_text(encoding="utf-8").startswith("<!doctype html>")
    code, out, _ = run("cluster", str(seeds_dir), "--format", "html")
    assert code == 0 and out == report.read_text(encoding="utf-8")


def test_an_html_path_that_cannot_be_written_exits_2(seeds_dir: Path, tmp_path: Path) -> None:
    code, _, err = run("cluster", str(seeds_dir), "--html", str(tmp_path / "missing" / "report.html"))
    assert code == 2 and "cannot write the HTML report" in err


def test_show_stripped_puts_removed_lines_in_the_diff(seeds_dir: Path) -> None:
    code, out, _ = run("cluster", str(seeds_dir), "--show-stripped")
    assert code == 0
    lines = out.splitlines()
    joined = " ".join(out.split())
    # The furniture only the first version carried, marked as such ...
    assert "✂ photo-caption, representative only: French army Legionnaire from the Licorne force" in joined
    assert "✂ story-highlights, representative only: Story highlights" in lines
    # ... the links both versions carried, once each, where they stood ...
    assert sum(line.startswith("✂ read-more: Read more:") for line in lines) == 4
    assert "result of a coup. ✂ read-more: Read more: Panetta: U.S. could provide" in joined
    # ... and the credits, which differ.
    assert "✂ contributor, representative only: CNN’s Antonia Mortensen" in joined
    assert "✂ contributor, this copy only: CNN's Vlad Duthiers and Chris Lawrence" in joined
    assert "✂" not in run("cluster", str(seeds_dir))[1]


def test_show_stripped_adds_the_lines_to_json(seeds_dir: Path) -> None:
    data = json.loads(run("cluster", str(seeds_dir), "--format", "json", "--show-stripped")[1])
    copy = data["clusters"][0]["members"][1]
    member_text = "".join(
        segment.get("b_text", segment["text"]) for segment in copy["diff"] if segment["op"] != "delete"
    )
    placed = copy["stripped"]["member"]
    assert [rule for _, rule, _ in placed] == ["read-more"] * 4 + ["contributor"]
    offset, _, text = placed[0]
    assert text == "Read more: Panetta: U.S. could provide logistical, intel support in Mali"
    assert member_text[offset - 1] == "\n" and member_text[offset:].startswith("No support can go")
    assert placed[-1][0] == len(member_text)  # the credit ended the text
    assert [rule for _, rule, _ in copy["stripped"]["representative"]][:3] == [
        "photo-caption",
        "video-source",
        "video-source",
    ]
    plain = json.loads(run("cluster", str(seeds_dir), "--format", "json")[1])
    assert "stripped" not in plain["clusters"][0]["members"][1]


def test_no_diffs_json_holds_the_same_clusters_and_similarities_without_word_diffs(seeds_dir: Path) -> None:
    _, full_out, _ = run("cluster", str(seeds_dir), "--format", "json", "--no-cache")
    code, out, _ = run("cluster", str(seeds_dir), "--format", "json", "--no-cache", "--no-diffs")
    assert code == 0
    full, bare = json.loads(full_out), json.loads(out)
    assert bare.pop("diffs") is False
    for item in full["clusters"]:
        for member in item["members"]:
            for field in ("added_words", "removed_words", "moved_words", "changed_figures", "diff"):
                del member[field]
    assert bare == full
    assert bare["clusters"][0]["members"][1] == {
        "path": str(seeds_dir / SEED_001),
        "jaccard": 0.7062,
        "containment": 0.8674,
        "kind": "edited",
    }


def test_no_diffs_jsonl_clusters_carry_similarities_only(seeds_dir: Path) -> None:
    code, out, _ = run("cluster", str(seeds_dir), "--format", "jsonl", "--no-diffs")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert records[0]["diffs"] is False
    assert records[1] == {
        "type": "cluster",
        "id": 1,
        "representative": str(seeds_dir / SEED_000),
        "related": [],
        "members": [
            {"path": str(seeds_dir / SEED_000), "jaccard": 1.0, "containment": 1.0},
            {"path": str(seeds_dir / SEED_001), "jaccard": 0.7062, "containment": 0.8674, "kind": "edited"},
        ],
    }


def test_no_diffs_needs_json_output(seeds_dir: Path) -> None:
    code, _, err = run("cluster", str(seeds_dir), "--no-diffs")
    assert code == 2
    assert "--no-diffs needs --format json or jsonl (and no --html)" in err


def test_a_near_duplicate_of_a_member_only_is_not_called_a_document_without_a_copy(
    chained_corpus: Path, tmp_path: Path
) -> None:
    a, b, c, d = (chained_corpus / f"{name}.txt" for name in "abcd")
    code, out, _ = run("cluster", str(chained_corpus), "--no-cache")
    assert code == 0
    assert out.endswith(
        f"1 document without a copy\n{d}\n\n"
        "1 document is a near-duplicate of a copy in a cluster but not of its representative\n"
        f"{c}  (near-duplicate of a copy in cluster 1)\n\n"
        "4 documents: 1 cluster holding 2 documents, 1 without a copy, "
        "1 near-duplicate of a copy in a cluster, 0 skipped\n"
    )
    code, out, _ = run("cluster", str(chained_corpus), "--no-cache", "--format", "json")
    data = json.loads(out)
    assert [[member["path"] for member in found["members"]] for found in data["clusters"]] == [
        [str(a), str(b)]
    ]
    assert (data["singletons"], data["unplaced"]) == ([str(d)], [{"path": str(c), "related": [1]}])
    assert data["counts"] == {
        "documents": 4,
        "clusters": 1,
        "clustered_documents": 2,
        "singletons": 1,
        "unplaced": 1,
        "skipped": 0,
    }
    code, out, _ = run("cluster", str(chained_corpus), "--no-cache", "--format", "jsonl")
    records = [json.loads(line) for line in out.splitlines()]
    assert [record["type"] for record in records] == ["run", "cluster", "singleton", "unplaced", "summary"]
    assert records[3] == {"type": "unplaced", "path": str(c), "related": [1]}
    assert records[4]["counts"] == data["counts"]
    code, out, _ = run("cluster", str(chained_corpus), "--no-cache", "--format", "html")
    assert (
        '<details class="list"><summary>1 document is a near-duplicate of a copy in a cluster but not of '
        f'its representative</summary><ul class="paths"><li>{c} (near-duplicate of a copy in cluster 1)</li>'
    ) in out

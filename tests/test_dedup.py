from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
from pathlib import Path

import pytest
from tests.conftest import CORRECTED, SEED_000, SEED_001, SEED_002, WIRE, tree_fingerprint

from storydiff import cluster, dedup, shingles
from storydiff.errors import ChangedFilesError, DestinationError, InputError
from storydiff.pipeline import run_cluster
from storydiff.render import ManifestFormat
from storydiff.render.json import render_json
from storydiff.settings import KeepPolicy, Settings

SIZES = {SEED_000: 6798, SEED_001: 5536, SEED_002: 2478, CORRECTED: 6948, WIRE: 6798}
CLUSTER = (SEED_000, SEED_001, CORRECTED, WIRE)


def plan_for(corpus: Path, keep: KeepPolicy = "longest") -> dedup.DedupPlan:
    return dedup.build_plan(run_cluster([str(corpus)], Settings(keep=keep)), str(corpus))


def kept_and_dropped(plan: dedup.DedupPlan) -> tuple[list[str], list[str]]:
    return [item.relative_path for item in plan.kept], [item.relative_path for item in plan.dropped]


@pytest.mark.parametrize(
    ("keep", "kept"),
    [("longest", CORRECTED), ("shortest", SEED_001), ("first", SEED_000), ("last", WIRE)],
)
def test_each_cluster_keeps_the_copy_its_policy_chooses(
    dedup_corpus: Path, keep: KeepPolicy, kept: str
) -> None:
    plan = plan_for(dedup_corpus, keep)
    assert kept_and_dropped(plan) == ([kept, SEED_002], sorted(set(CLUSTER) - {kept}))
    assert plan.bytes_saved == sum(SIZES[name] for name in CLUSTER if name != kept)
    assert (plan.keep, plan.clusters, len(plan.files)) == (keep, 1, 5)


@pytest.mark.parametrize("newest", [SEED_001, WIRE])
def test_newest_and_oldest_go_by_modification_time(dedup_corpus: Path, newest: str) -> None:
    oldest = SEED_000 if newest == WIRE else CORRECTED
    for second, name in enumerate(CLUSTER):
        stamp = 1_700_000_000 + second
        stamp = 1_800_000_000 if name == newest else 1_500_000_000 if name == oldest else stamp
        os.utime(dedup_corpus / name, (stamp, stamp))
    assert kept_and_dropped(plan_for(dedup_corpus, "newest"))[0] == [newest, SEED_002]
    assert kept_and_dropped(plan_for(dedup_corpus, "oldest"))[0] == [oldest, SEED_002]


def test_the_plan_says_what_happens_to_each_file_and_why(dedup_corpus: Path) -> None:
    plan = plan_for(dedup_corpus)
    root = str(dedup_corpus)
    corrected = os.path.join(root, CORRECTED)
    copy_of = f"cluster 1: edited near-duplicate of {corrected}"
    assert dedup.plan_lines(plan) == [
        f"keep  {corrected}  (cluster 1: the longest of 4 near-duplicates)",
        f"drop  {root}/{SEED_000}  ({copy_of} (Jaccard 0.96, containment 0.99))",
        f"drop  {root}/{SEED_001}  ({copy_of} (Jaccard 0.69, containment 0.87))",
        f"drop  {root}/{WIRE}  ({copy_of} (Jaccard 0.95, containment 0.99))",
        f"keep  {root}/{SEED_002}  (no near-duplicate)",
    ]
    assert dedup.summary_line(plan) == (
        "5 documents in, 2 out: 1 cluster, 3 copies dropped (3 edited), 19,132 bytes saved"
    )


def test_relative_paths_are_below_the_directory_given(tmp_path: Path) -> None:
    assert dedup.relative_path("corpus/wire/a.txt", "corpus") == os.path.join("wire", "a.txt")
    assert dedup.relative_path("./corpus/a.txt", "corpus/") == "a.txt"
    with pytest.raises(InputError, match=re.escape("elsewhere/a.txt: not below corpus")):
        dedup.relative_path("elsewhere/a.txt", "corpus")


def test_kept_files_are_copied_byte_for_byte_with_their_times(dedup_corpus: Path, tmp_path: Path) -> None:
    plan = plan_for(dedup_corpus)
    before = tree_fingerprint(dedup_corpus)
    out = tmp_path / "out"
    dedup.check_destinations(plan, str(out), None, None)
    assert dedup.write_kept(plan, str(out)) == 2
    assert tree_fingerprint(out) == {name: before[name] for name in (CORRECTED, SEED_002)}
    assert tree_fingerprint(dedup_corpus) == before


def test_existing_files_in_the_output_are_never_overwritten(dedup_corpus: Path, tmp_path: Path) -> None:
    plan = plan_for(dedup_corpus)
    out = tmp_path / "out"
    (out / "updates").mkdir(parents=True)
    (out / CORRECTED).write_text("mine")
    with pytest.raises(
        DestinationError, match=re.escape(f"refusing to overwrite 1 existing file: {out / CORRECTED}")
    ):
        dedup.check_destinations(plan, str(out), None, None)
    with pytest.raises(DestinationError, match=re.escape(f"refusing to overwrite {out / CORRECTED}")):
        dedup.write_kept(plan, str(out))  # a file that appears after the check is not overwritten either
    assert (out / CORRECTED).read_text() == "mine"


def test_dropped_files_move_out_keeping_their_relative_paths(dedup_corpus: Path, tmp_path: Path) -> None:
    plan = plan_for(dedup_corpus)
    before = tree_fingerprint(dedup_corpus)
    moved = tmp_path / "duplicates"
    assert dedup.move_dropped(plan, str(moved)) == 3
    assert tree_fingerprint(moved) == {name: before[name] for name in (SEED_000, SEED_001, WIRE)}
    assert tree_fingerprint(dedup_corpus) == {name: before[name] for name in (CORRECTED, SEED_002)}


def test_a_move_never_replaces_an_existing_file(dedup_corpus: Path, tmp_path: Path) -> None:
    plan = plan_for(dedup_corpus)
    before = tree_fingerprint(dedup_corpus)
    moved = tmp_path / "duplicates"
    (moved / "wire").mkdir(parents=True)
    (moved / WIRE).write_text("an older duplicate")
    with pytest.raises(
        DestinationError, match=re.escape(f"refusing to overwrite 1 existing file: {moved / WIRE}")
    ):
        dedup.check_destinations(plan, None, str(moved), None)
    with pytest.raises(DestinationError, match=re.escape(f"refusing to overwrite {moved / WIRE}")):
        dedup.move_dropped(plan, str(moved))
    assert (moved / WIRE).read_text() == "an older duplicate"
    assert tree_fingerprint(dedup_corpus) == {
        name: value for name, value in before.items() if name not in (SEED_000, SEED_001)
    }


@pytest.mark.parametrize(
    ("out", "move_to", "manifest", "message"),
    [
        ("corpus/deduped", None, None, "must be outside the input directory"),
        (".", None, None, "must be outside the input directory"),
        (None, "corpus/wire/dups", None, "must be outside the input directory"),
        ("out", "out/dups", None, "--move-dropped-to must be apart from --out"),
        (None, None, "corpus/manifest.csv", "must be outside the input directory"),
        ("out", None, "out/updates/000_corrected.txt", "the manifest would overwrite a kept file"),
    ],
)
def test_outputs_inside_the_input_are_refused(
    dedup_corpus: Path,
    monkeypatch: pytest.MonkeyPatch,
    out: str | None,
    move_to: str | None,
    manifest: str | None,
    message: str,
) -> None:
    monkeypatch.chdir(dedup_corpus.parent)
    plan = dedup.build_plan(run_cluster(["corpus"], Settings()), "corpus")
    with pytest.raises(DestinationError, match=re.escape(message)):
        dedup.check_destinations(plan, out, move_to, manifest)


def test_changed_and_vanished_files_are_refused_by_name(dedup_corpus: Path) -> None:
    plan = plan_for(dedup_corpus)
    dedup.check_unchanged(plan)
    wire = dedup_corpus / WIRE
    wire.write_text(
        wire.read_text(encoding="utf-8").replace("2,500 troops", "2,600 troops"), encoding="utf-8"
    )
    (dedup_corpus / SEED_002).unlink()
    with pytest.raises(ChangedFilesError) as refusal:
        dedup.check_unchanged(plan)
    assert str(refusal.value) == (
        f"refusing to act: 2 files changed or vanished since the report: {wire} (changed), "
        f"{dedup_corpus / SEED_002} (vanished); make a new report with storydiff cluster "
        "(its paths are relative to where it was made)"
    )


def test_counts_name_what_they_count() -> None:
    assert [dedup.count(1, "file"), dedup.count(2, "file"), dedup.count(1, "copy", "copies")] == [
        "1 file",
        "2 files",
        "1 copy",
    ]
    assert dedup.count(19043, "document") == "19,043 documents"


def test_a_refusal_names_twenty_files_and_counts_the_rest() -> None:
    assert (
        dedup._named([str(number) for number in range(23)]) == ", ".join(map(str, range(20))) + " and 3 more"
    )


def manifest_rows(corpus: Path) -> list[dict[str, object]]:
    root, corrected = str(corpus), str(corpus / CORRECTED)

    def row(action: str, name: str, cluster: int | None, kept: str, reason: str) -> dict[str, object]:
        data = (corpus / name).read_bytes()
        return {
            "action": action,
            "path": os.path.join(root, name),
            "relative_path": name,
            "cluster": cluster,
            "kind": "edited" if action == "drop" else None,
            "kept_copy": kept,
            "reason": reason,
            "bytes": len(data),
            "content_hash": dedup.ingest.content_hash(data),
        }

    return [
        row("keep", CORRECTED, 1, corrected, "the longest of 4 near-duplicates"),
        row(
            "drop",
            SEED_000,
            1,
            corrected,
            f"edited near-duplicate of {corrected} (Jaccard 0.96, containment 0.99)",
        ),
        row(
            "drop",
            SEED_001,
            1,
            corrected,
            f"edited near-duplicate of {corrected} (Jaccard 0.69, containment 0.87)",
        ),
        row(
            "drop",
            WIRE,
            1,
            corrected,
            f"edited near-duplicate of {corrected} (Jaccard 0.95, containment 0.99)",
        ),
        row("keep", SEED_002, None, str(corpus / SEED_002), "no near-duplicate"),
    ]


def test_json_manifest_lists_every_file_with_the_totals(dedup_corpus: Path) -> None:
    manifest = json.loads(dedup.render_manifest(plan_for(dedup_corpus), ManifestFormat.JSON))
    files = manifest.pop("files")
    assert manifest == {
        "storydiff_version": "0.1.0",
        "input": str(dedup_corpus),
        "keep": "longest",
        "documents_in": 5,
        "documents_out": 2,
        "clusters": 1,
        "dropped": 3,
        "bytes_saved": 19132,
        "dropped_by_kind": {"identical": 0, "reformatted": 0, "figures": 0, "edited": 3},
    }
    assert files == manifest_rows(dedup_corpus)


def test_csv_manifest_has_one_row_per_file(dedup_corpus: Path) -> None:
    text = dedup.render_manifest(plan_for(dedup_corpus), ManifestFormat.CSV)
    assert (
        text.splitlines()[0] == "action,path,relative_path,cluster,kind,kept_copy,reason,bytes,content_hash"
    )
    expected = [
        {key: "" if value is None else str(value) for key, value in row.items()}
        for row in manifest_rows(dedup_corpus)
    ]
    assert list(csv.DictReader(io.StringIO(text))) == expected


def test_every_manifest_format_has_a_renderer() -> None:
    assert set(dedup.MANIFEST_RENDERERS) == set(ManifestFormat)


def test_the_manifest_format_follows_the_name_unless_given() -> None:
    assert dedup.manifest_format_for("plan.CSV") is ManifestFormat.CSV
    assert dedup.manifest_format_for("plan.json") is ManifestFormat.JSON
    assert dedup.manifest_format_for("plan.txt", "csv") is ManifestFormat.CSV
    assert dedup.manifest_format_for("-") is ManifestFormat.JSON
    with pytest.raises(
        InputError, match=re.escape("plan.txt: cannot tell the manifest format from the name")
    ):
        dedup.manifest_format_for("plan.txt")


def test_a_saved_report_plans_the_same_as_a_fresh_run(dedup_corpus: Path, tmp_path: Path) -> None:
    saved = tmp_path / "report.json"
    saved.write_text(render_json(run_cluster([str(dedup_corpus)], Settings())), encoding="utf-8")
    report = dedup.read_report(str(saved))
    assert dedup.build_plan(report, report.inputs[0]) == plan_for(dedup_corpus)


def test_reports_dedup_cannot_act_on_are_refused(seeds_dir: Path, tmp_path: Path) -> None:
    saved = tmp_path / "report.json"
    data = json.loads(render_json(run_cluster([str(seeds_dir)], Settings())))
    saved.write_text(json.dumps({**data, "files": []}))
    with pytest.raises(InputError, match=re.escape("the report has no content hashes")):
        dedup.read_report(str(saved))
    saved.write_text(json.dumps({**data, "inputs": [str(seeds_dir), "more.txt"]}))
    with pytest.raises(
        InputError, match=re.escape("made from 2 paths; dedup --from needs a report of one directory")
    ):
        dedup.read_report(str(saved))
    saved.write_text("{")
    with pytest.raises(InputError, match=re.escape("report.json: not JSON")):
        dedup.read_report(str(saved))
    with pytest.raises(InputError, match=re.escape("nope.json: cannot read: No such file or directory")):
        dedup.read_report(str(tmp_path / "nope.json"))


def test_moving_out_of_a_read_only_directory_is_refused_before_any_move(
    dedup_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = plan_for(dedup_corpus)
    read_only = str(dedup_corpus / "wire")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: path != read_only and real_access(path, mode))
    with pytest.raises(DestinationError) as refusal:
        dedup.check_destinations(plan, None, str(tmp_path / "dups"), None)
    assert str(refusal.value) == (
        f"cannot move files out of directories that are not writable: {read_only} "
        "(use --out to copy the kept files instead)"
    )


def test_a_move_that_cannot_remove_the_old_name_leaves_no_new_one(
    dedup_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tree_fingerprint(dedup_corpus)
    source, target = dedup_corpus / SEED_001, tmp_path / SEED_001
    real_unlink = os.unlink

    def unlink(path: str) -> None:
        if path == str(source):
            raise PermissionError(13, "Permission denied")
        real_unlink(path)

    monkeypatch.setattr(os, "unlink", unlink)
    with pytest.raises(PermissionError):
        dedup._move_without_overwriting(str(source), str(target))
    assert not target.exists()
    assert tree_fingerprint(dedup_corpus) == before


def test_a_member_below_both_thresholds_in_a_saved_report_is_kept(dedup_corpus: Path) -> None:
    """A report saved when clusters were connected components could chain a member that is no
    near-duplicate of the representative: dedup keeps it and says why."""
    report = run_cluster([str(dedup_corpus)], Settings())
    (found,) = report.clusters
    chained = dataclasses.replace(found.members[2], jaccard=0.30, containment=0.70)
    members = (*found.members[:2], chained, *found.members[3:])
    report = dataclasses.replace(report, clusters=(dataclasses.replace(found, members=members),))
    plan = dedup.build_plan(report, str(dedup_corpus))
    (kept,) = [item for item in plan.files if item.path == chained.path]
    assert kept.action == "keep"
    assert kept.reason == (f"not a near-duplicate of {found.representative} (Jaccard 0.30, containment 0.70)")
    assert len(plan.dropped) == 2


def test_every_dropped_file_is_a_near_duplicate_of_the_file_kept_in_its_place(tmp_path: Path) -> None:
    """On copies that drift from each other (each a near-duplicate of the last only), every
    dropped file meets a threshold against its kept copy, measured on the shingle sets."""
    from tests.test_pipeline import _edited_copies

    corpus = tmp_path / "edited"
    _edited_copies(corpus)
    settings = Settings(strip=False)
    plan = dedup.build_plan(run_cluster([str(corpus)], settings), str(corpus))
    assert plan.dropped
    for item in plan.dropped:
        texts = [Path(path).read_text(encoding="utf-8") for path in (item.kept_copy, item.path)]
        kept_set, dropped_set = shingles.shingle_sets(texts, settings.ngram, settings.seed)
        jaccard, containment = cluster.similarity(kept_set, dropped_set)
        assert cluster.is_near_duplicate(jaccard, containment, min(len(kept_set), len(dropped_set)), settings)

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.conftest import CORRECTED, SEED_000, SEED_001, SEED_002, WIRE, tree_fingerprint

from storydiff.cli import cli

CLUSTER = (SEED_000, SEED_001, CORRECTED, WIRE)
SUMMARY = "5 documents in, 2 out: 1 cluster, 3 copies dropped (3 edited), 19,132 bytes saved\n"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_out_holds_one_copy_per_cluster_and_the_input_is_untouched(
    dedup_corpus: Path, tmp_path: Path
) -> None:
    before = tree_fingerprint(dedup_corpus)
    out = tmp_path / "out"
    code, stdout, stderr = run("dedup", str(dedup_corpus), "--out", str(out))
    assert (code, stdout) == (0, "")
    assert tree_fingerprint(out) == {name: before[name] for name in (CORRECTED, SEED_002)}
    assert stderr == f"copied 2 files to {out}\n" + SUMMARY
    assert tree_fingerprint(dedup_corpus) == before


@pytest.mark.parametrize(
    ("keep", "kept"),
    [("longest", CORRECTED), ("shortest", SEED_001), ("first", SEED_000), ("last", WIRE)],
)
def test_keep_chooses_the_copy_written(dedup_corpus: Path, tmp_path: Path, keep: str, kept: str) -> None:
    before = tree_fingerprint(dedup_corpus)
    out = tmp_path / "out"
    assert run("dedup", str(dedup_corpus), "--out", str(out), "--keep", keep)[0] == 0
    assert tree_fingerprint(out) == {name: before[name] for name in (kept, SEED_002)}
    assert tree_fingerprint(dedup_corpus) == before


@pytest.mark.parametrize(("keep", "kept"), [("newest", WIRE), ("oldest", SEED_001)])
def test_newest_and_oldest_go_by_modification_time(
    dedup_corpus: Path, tmp_path: Path, keep: str, kept: str
) -> None:
    for name, stamp in ((SEED_000, 1_600_000_000), (SEED_001, 1_500_000_000), (CORRECTED, 1_650_000_000)):
        os.utime(dedup_corpus / name, (stamp, stamp))
    os.utime(dedup_corpus / WIRE, (1_700_000_000, 1_700_000_000))
    before = tree_fingerprint(dedup_corpus)
    out = tmp_path / "out"
    assert run("dedup", str(dedup_corpus), "--out", str(out), "--keep", keep)[0] == 0
    assert tree_fingerprint(out) == {name: before[name] for name in (kept, SEED_002)}  # times kept too
    assert tree_fingerprint(dedup_corpus) == before


def test_manifest_alone_lists_kept_and_dropped_files_as_json(dedup_corpus: Path, tmp_path: Path) -> None:
    before = tree_fingerprint(dedup_corpus)
    manifest = tmp_path / "plan.json"
    code, stdout, stderr = run("dedup", str(dedup_corpus), "--manifest", str(manifest))
    assert (code, stdout) == (0, "")
    assert stderr == f"wrote the manifest {manifest}\n" + SUMMARY
    data = json.loads(manifest.read_text(encoding="utf-8"))
    assert (data["documents_in"], data["documents_out"], data["bytes_saved"]) == (5, 2, 19132)
    assert [(row["action"], row["relative_path"], row["cluster"]) for row in data["files"]] == [
        ("keep", CORRECTED, 1),
        ("drop", SEED_000, 1),
        ("drop", SEED_001, 1),
        ("drop", WIRE, 1),
        ("keep", SEED_002, None),
    ]
    assert data["files"][2]["kept_copy"] == str(dedup_corpus / CORRECTED)
    assert tree_fingerprint(dedup_corpus) == before
    assert sorted(os.listdir(tmp_path)) == ["corpus", "plan.json"]


def test_manifest_as_csv_beside_the_copies(dedup_corpus: Path, tmp_path: Path) -> None:
    before = tree_fingerprint(dedup_corpus)
    out, manifest = tmp_path / "out", tmp_path / "plan.csv"
    code, _, stderr = run("dedup", str(dedup_corpus), "--out", str(out), "--manifest", str(manifest))
    assert code == 0
    assert stderr == f"copied 2 files to {out}\nwrote the manifest {manifest}\n" + SUMMARY
    rows = list(csv.DictReader(io.StringIO(manifest.read_text(encoding="utf-8"))))
    assert [(row["action"], row["relative_path"], row["cluster"], row["bytes"]) for row in rows] == [
        ("keep", CORRECTED, "1", "6948"),
        ("drop", SEED_000, "1", "6798"),
        ("drop", SEED_001, "1", "5536"),
        ("drop", WIRE, "1", "6798"),
        ("keep", SEED_002, "", "2478"),
    ]
    assert (
        rows[3]["reason"]
        == f"edited near-duplicate of {dedup_corpus / CORRECTED} (Jaccard 0.95, containment 0.99)"
    )
    assert tree_fingerprint(dedup_corpus) == before


def test_manifest_format_overrides_the_name_and_dash_is_stdout(dedup_corpus: Path, tmp_path: Path) -> None:
    code, stdout, _ = run("dedup", str(dedup_corpus), "--manifest", "-", "--manifest-format", "csv")
    assert code == 0 and stdout.splitlines()[0].startswith("action,path,relative_path,cluster")
    assert len(stdout.splitlines()) == 6
    code, _, stderr = run("dedup", str(dedup_corpus), "--manifest", str(tmp_path / "plan.txt"))
    assert code == 2
    assert "plan.txt: cannot tell the manifest format from the name (end it in .json or .csv" in stderr


def test_dry_run_prints_the_plan_and_writes_nothing(dedup_corpus: Path, tmp_path: Path) -> None:
    before = tree_fingerprint(dedup_corpus)
    out, manifest, moved = tmp_path / "out", tmp_path / "plan.csv", tmp_path / "dups"
    code, stdout, stderr = run(
        "dedup",
        str(dedup_corpus),
        "--dry-run",
        "--out",
        str(out),
        "--manifest",
        str(manifest),
        "--move-dropped-to",
        str(moved),
    )
    assert code == 0
    corrected = dedup_corpus / CORRECTED
    assert stdout.splitlines() == [
        f"keep  {corrected}  (cluster 1: the longest of 4 near-duplicates)",
        f"drop  {dedup_corpus / SEED_000}  (cluster 1: edited near-duplicate of {corrected} "
        "(Jaccard 0.96, containment 0.99))",
        f"drop  {dedup_corpus / SEED_001}  (cluster 1: edited near-duplicate of {corrected} "
        "(Jaccard 0.69, containment 0.87))",
        f"drop  {dedup_corpus / WIRE}  (cluster 1: edited near-duplicate of {corrected} "
        "(Jaccard 0.95, containment 0.99))",
        f"keep  {dedup_corpus / SEED_002}  (no near-duplicate)",
    ]
    assert stderr == (
        f"dry run: would copy 2 files to {out}\n"
        f"dry run: would move 3 dropped files to {moved}\n"
        f"dry run: would write the manifest {manifest}\n"
        "dry run: nothing was written\n" + SUMMARY
    )
    assert sorted(os.listdir(tmp_path)) == ["corpus"]
    assert tree_fingerprint(dedup_corpus) == before


def save_report(corpus: Path, report: Path, *options: str) -> None:
    code, stdout, _ = run("cluster", str(corpus), "--format", "json", *options)
    assert code == 0
    report.write_text(stdout, encoding="utf-8")


def test_from_a_saved_report_gives_what_a_fresh_run_gives(
    dedup_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # paths in the report as typed: relative to where it was made
    save_report(Path("corpus"), tmp_path / "report.json", "--keep", "shortest")
    before = tree_fingerprint(dedup_corpus)
    code, stdout, stderr = run("dedup", "--from", "report.json", "--out", "out", "--manifest", "plan.json")
    assert (code, stdout) == (0, "")
    assert stderr == (
        "copied 2 files to out\nwrote the manifest plan.json\n"
        "5 documents in, 2 out: 1 cluster, 3 copies dropped (3 edited), 20,544 bytes saved\n"
    )
    assert tree_fingerprint(tmp_path / "out") == {name: before[name] for name in (SEED_001, SEED_002)}
    plan = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert plan["input"] == "corpus" and plan["keep"] == "shortest"
    assert plan["files"][0]["path"] == os.path.join("corpus", SEED_001)
    assert tree_fingerprint(dedup_corpus) == before


def test_from_refuses_when_a_file_changed_and_names_it(dedup_corpus: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    save_report(dedup_corpus, report)
    wire = dedup_corpus / WIRE
    wire.write_text(
        wire.read_text(encoding="utf-8").replace("2,500 troops", "3,000 troops"), encoding="utf-8"
    )
    before = tree_fingerprint(dedup_corpus)
    out = tmp_path / "out"
    code, stdout, stderr = run("dedup", "--from", str(report), "--out", str(out))
    assert (code, stdout) == (2, "")
    assert stderr == (
        f"Error: refusing to act: 1 file changed or vanished since the report: {wire} (changed); "
        "make a new report with storydiff cluster (its paths are relative to where it was made)\n"
    )
    assert not out.exists()
    assert tree_fingerprint(dedup_corpus) == before


def test_from_refuses_when_a_file_vanished_even_in_a_dry_run(dedup_corpus: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    save_report(dedup_corpus, report)
    (dedup_corpus / SEED_002).unlink()
    manifest = str(tmp_path / "plan.csv")
    code, stdout, stderr = run("dedup", "--from", str(report), "--dry-run", "--manifest", manifest)
    assert (code, stdout) == (2, "")
    assert f"1 file changed or vanished since the report: {dedup_corpus / SEED_002} (vanished)" in stderr


def test_from_rejects_options_that_the_report_already_fixed(dedup_corpus: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    save_report(dedup_corpus, report)
    code, _, stderr = run(
        "dedup",
        "--from",
        str(report),
        "--out",
        str(tmp_path / "out"),
        "--threshold",
        "0.9",
        "--keep",
        "newest",
    )
    assert code == 2
    assert "--threshold, --keep cannot be used with --from: the report's settings made its clusters" in stderr


def test_move_dropped_to_is_the_one_mode_that_changes_the_input(dedup_corpus: Path, tmp_path: Path) -> None:
    before = tree_fingerprint(dedup_corpus)
    moved = tmp_path / "duplicates"
    code, stdout, stderr = run("dedup", str(dedup_corpus), "--move-dropped-to", str(moved))
    assert (code, stdout) == (0, "")
    assert stderr == f"moved 3 dropped files to {moved}\n" + SUMMARY
    assert tree_fingerprint(moved) == {name: before[name] for name in (SEED_000, SEED_001, WIRE)}
    assert tree_fingerprint(dedup_corpus) == {name: before[name] for name in (CORRECTED, SEED_002)}


def test_move_refuses_to_overwrite_and_moves_nothing(dedup_corpus: Path, tmp_path: Path) -> None:
    before = tree_fingerprint(dedup_corpus)
    moved = tmp_path / "duplicates"
    (moved / "wire").mkdir(parents=True)
    (moved / WIRE).write_text("kept from an earlier run")
    code, stdout, stderr = run("dedup", str(dedup_corpus), "--move-dropped-to", str(moved))
    assert (code, stdout) == (2, "")
    assert stderr == (
        f"Error: refusing to overwrite 1 existing file: {moved / WIRE} (choose an empty directory)\n"
    )
    assert (moved / WIRE).read_text() == "kept from an earlier run"
    assert tree_fingerprint(dedup_corpus) == before


def test_outputs_inside_the_input_are_refused(dedup_corpus: Path) -> None:
    before = tree_fingerprint(dedup_corpus)
    code, _, stderr = run("dedup", str(dedup_corpus), "--out", str(dedup_corpus / "deduped"))
    assert code == 2
    assert stderr == (
        f"Error: {dedup_corpus / 'deduped'}: --out must be outside the input directory {dedup_corpus}, "
        "and not hold it\n"
    )
    assert tree_fingerprint(dedup_corpus) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give either DIRECTORY or --from REPORT.json"),
        (("corpus", "--from", "report.json", "--out", "out"), "give either DIRECTORY or --from REPORT.json"),
        (("corpus",), "nothing to do: give --out, --manifest, --move-dropped-to or --dry-run"),
        (("corpus", "--out", "out", "--manifest-format", "csv"), "--manifest-format needs --manifest"),
    ],
)
def test_usage_errors_exit_2(
    dedup_corpus: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], message: str
) -> None:
    monkeypatch.chdir(dedup_corpus.parent)
    code, stdout, stderr = run("dedup", *args)
    assert (code, stdout) == (2, "")
    assert message in stderr
    assert sorted(os.listdir(dedup_corpus.parent)) == ["corpus"]


def test_a_file_or_missing_directory_is_an_input_error(dedup_corpus: Path, tmp_path: Path) -> None:
    code, _, stderr = run("dedup", str(dedup_corpus / SEED_000), "--out", str(tmp_path / "out"))
    assert code == 2
    assert stderr == (
        f"Error: {dedup_corpus / SEED_000}: not a directory (dedup works on the files below one directory)\n"
    )
    code, _, stderr = run("dedup", str(tmp_path / "nope"), "--dry-run")
    assert (code, stderr) == (2, f"Error: {tmp_path / 'nope'}: no such file or directory\n")


def test_skipped_files_are_named_and_not_copied(dedup_corpus: Path, tmp_path: Path) -> None:
    (dedup_corpus / ":warning: [bold]blank.txt").write_text("\n")
    out = tmp_path / "out"
    code, _, stderr = run("dedup", str(dedup_corpus), "--out", str(out))
    assert code == 0
    skipped = dedup_corpus / ":warning: [bold]blank.txt"
    assert stderr.startswith(f"storydiff: skipped {skipped}: empty file (not copied)\n")
    assert sorted(tree_fingerprint(out)) == [SEED_002, CORRECTED]


def test_help_has_examples() -> None:
    code, out, _ = run("dedup", "--help")
    assert code == 0
    assert "storydiff dedup examples/seeds --out deduped/" in out
    assert "storydiff dedup --from report.json" in out
    assert "Exit codes: 0 done, 2 usage or input error, or a refusal" in out


def test_drop_chooses_the_kinds_of_copies_dropped(dedup_corpus: Path, tmp_path: Path) -> None:
    """Kept by path, 000 stands for the cluster: the wire copy changed only a figure (1,700 →
    2,500 troops) and goes with --drop figures; the corrected and 001 copies were edited and stay."""
    out = tmp_path / "out"
    code, stdout, stderr = run(
        "dedup", str(dedup_corpus), "--keep", "first", "--drop", "identical,figures", "--out", str(out)
    )
    assert (code, stdout) == (0, "")
    assert stderr.splitlines()[-1] == (
        "5 documents in, 4 out: 1 cluster, 1 copy dropped (1 figures), 6,798 bytes saved"
    )
    assert sorted(tree_fingerprint(out)) == sorted([SEED_000, SEED_001, SEED_002, CORRECTED])
    code, stdout, _ = run("dedup", str(dedup_corpus), "--keep", "first", "--drop", "figures", "--dry-run")
    assert code == 0
    assert (
        f"keep  {dedup_corpus / CORRECTED}  (cluster 1: edited copy of {dedup_corpus / SEED_000}, kept "
        in (stdout)
    )
    code, _, stderr = run("dedup", str(dedup_corpus), "--drop", "figures,typos", "--dry-run")
    assert code == 2
    assert "typos: expected a comma list of identical, reformatted, figures, edited" in stderr


def test_a_near_duplicate_of_a_member_only_is_kept_and_the_plan_says_why(
    chained_corpus: Path, tmp_path: Path
) -> None:
    a, b, c, d = (chained_corpus / f"{name}.txt" for name in "abcd")
    plan = [
        f"keep  {a}  (cluster 1: the longest of 2 near-duplicates)",
        f"drop  {b}  (cluster 1: edited near-duplicate of {a} (Jaccard 0.62, containment 0.78))",
        f"keep  {d}  (no near-duplicate)",
        f"keep  {c}  (near-duplicate of a copy in cluster 1, not of its representative)",
    ]
    code, stdout, _ = run("dedup", str(chained_corpus), "--dry-run")
    assert (code, stdout.splitlines()) == (0, plan)
    report = tmp_path / "report.json"
    code, stdout, _ = run("cluster", str(chained_corpus), "--format", "json")
    report.write_text(stdout, encoding="utf-8")
    code, stdout, _ = run("dedup", "--from", str(report), "--dry-run")
    assert (code, stdout.splitlines()) == (0, plan)
    out = tmp_path / "out"
    code, _, stderr = run("dedup", str(chained_corpus), "--out", str(out))
    assert code == 0 and stderr.endswith(
        "4 documents in, 3 out: 1 cluster, 1 copy dropped (1 edited), 1,323 bytes saved\n"
    )
    assert sorted(path.name for path in out.iterdir()) == ["a.txt", "c.txt", "d.txt"]

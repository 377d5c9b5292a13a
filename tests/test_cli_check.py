"""storydiff check and storydiff baseline: findings, exit codes, baseline by content hash,
renames, stale entries, split file lists and where the corpus comes from."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.conftest import SEED_000, SEED_001, SEED_002, SEEDS

from storydiff.check import configured_corpus
from storydiff.cli import cli


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def seed(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def reversed_words(text: str) -> str:
    """Real words in an order no article has: shares no 5-word shingle with anything."""
    return "\n".join(" ".join(reversed(line.split())) for line in text.splitlines())


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A corpus/ holding seeds 000 and 002, and new/ with files to check; cwd is tmp_path."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEEDS / SEED_000, corpus / "mali.txt")
    shutil.copy(SEEDS / SEED_002, corpus / "other.txt")
    new = tmp_path / "new"
    new.mkdir()
    shutil.copy(SEEDS / SEED_001, new / "mali_edited.txt")  # the edited version of 000
    (new / "unrelated.txt").write_text(reversed_words(seed(SEED_002)), encoding="utf-8")
    (new / "other_copy.txt").write_text(seed(SEED_002) + "\nA line the copy desk added.\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def findings(out: str) -> list[tuple[str, str]]:
    return [(item["path"], item["match"]) for item in json.loads(out)["findings"]]


def test_a_near_duplicate_fails_with_the_finding(work: Path) -> None:
    code, out, err = run("check", "--corpus", "corpus", "new/mali_edited.txt")
    assert code == 1
    text = " ".join(out.split())
    assert text.startswith("new/mali_edited.txt Jaccard 0.71 · containment 0.87 · +64 / −144 words")
    assert "near-duplicate of corpus/mali.txt" in text
    assert "[-Col. Mohammed Yerima, a spokesman for the Nigerian army, told CNN that 190" in text
    assert "{+The Nigerian army said it plans to deploy 900 soldiers within 10 days" in text
    assert err.strip().splitlines()[-2:] == [
        "checked 1 file against 3 documents: 1 near-duplicate not in the baseline, 0 accepted",
        "To accept these copies, run `storydiff baseline --update` and commit .storydiff-baseline.json; "
        "to commit once without this check, `SKIP=storydiff git commit` (`git commit --no-verify` skips "
        "every hook).",
    ]


def test_an_unrelated_file_passes(work: Path) -> None:
    code, out, err = run("check", "--corpus", "corpus", "new/unrelated.txt")
    assert (code, out) == (0, "")
    assert "0 near-duplicates not in the baseline" in err


def test_json_lists_each_finding(work: Path) -> None:
    code, out, _ = run("check", "--corpus", "corpus", "new/mali_edited.txt", "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert set(data) == {
        "schema_version",
        "storydiff_version",
        "checked",
        "documents",
        "findings",
        "accepted",
        "stale",
        "skipped",
    }
    (finding,) = data["findings"]
    assert finding["path"] == "new/mali_edited.txt" and finding["match"] == "corpus/mali.txt"
    assert (finding["jaccard"], finding["containment"]) == (0.7062, 0.8674)
    assert (finding["added_words"], finding["removed_words"]) == (64, 144)
    assert {segment["op"] for segment in finding["diff"]} == {"equal", "insert", "delete"}


def test_given_files_are_compared_with_each_other_too(work: Path) -> None:
    (work / "new" / "mali_again.txt").write_text(seed(SEED_001) + "\nOne more line.\n", encoding="utf-8")
    code, out, _ = run(
        "check", "--corpus", "corpus", "new/mali_edited.txt", "new/mali_again.txt", "--format", "json"
    )
    assert code == 1
    assert findings(out) == [
        ("new/mali_again.txt", "corpus/mali.txt"),
        ("new/mali_again.txt", "new/mali_edited.txt"),
        ("new/mali_edited.txt", "corpus/mali.txt"),
        ("new/mali_edited.txt", "new/mali_again.txt"),
    ]


def test_splitting_the_file_list_changes_nothing(work: Path) -> None:
    # pre-commit may pass the files in several calls; the corpus holds all of them.
    for name in ("mali_edited.txt", "unrelated.txt", "other_copy.txt"):
        shutil.copy(work / "new" / name, work / "corpus" / name)
    names = ["corpus/mali_edited.txt", "corpus/unrelated.txt", "corpus/other_copy.txt"]
    code, together, _ = run("check", "--corpus", "corpus", *names, "--format", "json")
    assert code == 1
    split = []
    for name in names:
        part_code, out, _ = run("check", "--corpus", "corpus", name, "--format", "json")
        assert part_code == (0 if name == "corpus/unrelated.txt" else 1)
        split.extend(json.loads(out)["findings"])
    assert sorted(split, key=lambda item: (item["path"], item["match"])) == json.loads(together)["findings"]
    assert findings(together) == [
        ("corpus/mali_edited.txt", "corpus/mali.txt"),
        ("corpus/other_copy.txt", "corpus/other.txt"),
    ]


def test_baseline_accepts_by_content_and_survives_renames(work: Path) -> None:
    shutil.copy(work / "new" / "mali_edited.txt", work / "corpus" / "mali_edited.txt")
    assert run("check", "--corpus", "corpus", "corpus/mali_edited.txt")[0] == 1
    code, out, err = run("baseline", "--corpus", "corpus")
    assert code == 0 and out == ""
    assert err.strip() == "wrote .storydiff-baseline.json: 1 accepted cluster holding 2 files"
    baseline = json.loads((work / ".storydiff-baseline.json").read_text(encoding="utf-8"))
    (accepted,) = baseline["accepted"]
    assert accepted["paths"] == ["corpus/mali.txt", "corpus/mali_edited.txt"]
    assert accepted["hashes"] == sorted(accepted["hashes"]) and len(accepted["hashes"]) == 2
    code, _, err = run("check", "--corpus", "corpus", "corpus/mali_edited.txt")
    assert code == 0 and "0 near-duplicates not in the baseline, 1 accepted" in err
    # Moving both files keeps them accepted: the baseline knows their contents, not their names.
    (work / "corpus" / "archive").mkdir()
    os.rename(work / "corpus" / "mali.txt", work / "corpus" / "archive" / "2013-mali.txt")
    os.rename(work / "corpus" / "mali_edited.txt", work / "corpus" / "mali_v2.txt")
    code, _, err = run("check", "--corpus", "corpus", "corpus/mali_v2.txt")
    assert code == 0 and "1 accepted" in err and "stale" not in err
    # A new copy of an accepted article is not accepted.
    code, out, _ = run("check", "--corpus", "corpus", "new/other_copy.txt", "--format", "json")
    assert code == 1 and findings(out) == [("new/other_copy.txt", "corpus/other.txt")]


def test_baseline_file_is_stable_and_refuses_to_overwrite(work: Path) -> None:
    shutil.copy(work / "new" / "mali_edited.txt", work / "corpus" / "mali_edited.txt")
    shutil.copy(work / "new" / "other_copy.txt", work / "corpus" / "other_copy.txt")
    assert run("baseline", "--corpus", "corpus")[0] == 0
    first = (work / ".storydiff-baseline.json").read_bytes()
    code, _, err = run("baseline", "--corpus", "corpus")
    assert code == 2 and ".storydiff-baseline.json exists (use --update" in err
    assert run("baseline", "--corpus", "corpus", "--update")[0] == 0
    assert (work / ".storydiff-baseline.json").read_bytes() == first
    data = json.loads(first)
    assert list(data) == ["version", "accepted"] and len(data["accepted"]) == 2
    assert data["accepted"] == sorted(data["accepted"], key=lambda item: item["hashes"])


def test_stale_entries_are_reported_and_update_drops_them(work: Path) -> None:
    shutil.copy(work / "new" / "mali_edited.txt", work / "corpus" / "mali_edited.txt")
    assert run("baseline", "--corpus", "corpus")[0] == 0
    (work / "corpus" / "mali_edited.txt").write_text("Replaced by a different text.\n", encoding="utf-8")
    code, _, err = run("check", "--corpus", "corpus", "new/unrelated.txt")
    assert code == 0
    assert "storydiff: .storydiff-baseline.json: 1 accepted hash matches no file any more" in err
    assert "(run storydiff baseline --update)" in err
    assert run("baseline", "--corpus", "corpus", "--update")[0] == 0
    assert json.loads((work / ".storydiff-baseline.json").read_text(encoding="utf-8"))["accepted"] == []
    code, _, err = run("check", "--corpus", "corpus", "new/unrelated.txt")
    assert code == 0 and "match no file" not in err


def test_usage_and_input_errors_exit_2(work: Path) -> None:
    code, _, err = run("check", "--corpus", "corpus", "new/missing.txt")
    assert code == 2 and "new/missing.txt: not a file" in err
    (work / ".storydiff-baseline.json").write_text("{not json", encoding="utf-8")
    code, _, err = run("check", "--corpus", "corpus", "new/unrelated.txt")
    assert code == 2 and ".storydiff-baseline.json: not a storydiff baseline" in err
    code, _, _ = run("check", "--corpus", "no-such-dir", "new/unrelated.txt")
    assert code == 2


def test_no_files_is_clean(work: Path) -> None:
    assert run("check", "--corpus", "corpus")[0] == 0


def test_corpus_from_pyproject(work: Path) -> None:
    (work / "pyproject.toml").write_text('[tool.storydiff]\ncorpus = "corpus"\n', encoding="utf-8")
    assert configured_corpus() == "corpus"
    code, out, _ = run("check", "new/mali_edited.txt", "--format", "json")
    assert code == 1 and findings(out) == [("new/mali_edited.txt", "corpus/mali.txt")]
    (work / "pyproject.toml").write_text("[tool.storydiff]\ncorpus = 3\n", encoding="utf-8")
    code, _, err = run("check", "new/mali_edited.txt")
    assert code == 2 and "corpus must be a path string" in err


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_corpus_defaults_to_the_tracked_files(work: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=work, check=True, capture_output=True)

    git("init", "-q")
    git("add", "corpus/mali.txt")  # tracked; other.txt is not, so other_copy.txt has no match
    code, out, _ = run("check", "new/mali_edited.txt", "new/other_copy.txt", "--format", "json")
    assert code == 1 and findings(out) == [("new/mali_edited.txt", "corpus/mali.txt")]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_exclude_drops_a_directory_from_the_tracked_files_as_from_a_walk(work: Path) -> None:
    """`--exclude drafts` leaves out drafts/mali.txt from git's corpus, as `cluster` does from
    a directory (the git corpus used to match the pattern against whole paths and names only)."""

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=work, check=True, capture_output=True)

    (work / "drafts").mkdir()
    shutil.copy(SEEDS / SEED_000, work / "drafts" / "mali.txt")
    git("init", "-q")
    git("add", "drafts/mali.txt")
    code, out, _ = run("check", "new/mali_edited.txt", "--format", "json")
    assert code == 1 and findings(out) == [("new/mali_edited.txt", "drafts/mali.txt")]
    code, out, _ = run("check", "new/mali_edited.txt", "--format", "json", "--exclude", "drafts")
    assert code == 0 and findings(out) == []


def test_help_has_examples() -> None:
    for command in (["check"], ["baseline"], ["cache"], ["cache", "info"], ["cache", "clear"]):
        code, out, _ = run(*command, "--help")
        assert code == 0 and "Example" in out


def test_corpus_key_sits_beside_user_rules_in_pyproject(work: Path) -> None:
    """[tool.storydiff] holds check's corpus and the boilerplate rules; cluster accepts both."""
    (work / "pyproject.toml").write_text(
        '[tool.storydiff]\ncorpus = "corpus"\ndisable = ["byline"]\n', encoding="utf-8"
    )
    code, out, _ = run("check", "new/mali_edited.txt", "--format", "json")
    assert code == 1 and findings(out) == [("new/mali_edited.txt", "corpus/mali.txt")]
    code, _, err = run("cluster", "corpus")
    assert code == 0 and "boilerplate rules from pyproject.toml" in err

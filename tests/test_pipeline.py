"""Repeated-line detection, on a corpus built from real text: the seeds, edited copies of
seed 001, and Reuters-21578 excerpts from the labelled boilerplate set."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from tests.conftest import SEED_000, SEED_001, SEED_002, SEEDS

from storydiff import boilerplate, cluster, pipeline, shingles
from storydiff.cli import cli
from storydiff.pipeline import batching, diffing, second_pass, signing, verifying
from storydiff.settings import Settings

LABELLED = Path(__file__).parent / "data" / "boilerplate" / "labelled.jsonl"
FOOTER = "The Mali Monitor is published weekly by the Sahel Press Foundation."
# Excerpts of unrelated Reuters stories, all body.
REUTERS = ["reuters-11182", "reuters-15443", "reuters-12190", "reuters-14838", "reuters-10568"]
REUTERS += ["reuters-9957", "reuters-12943", "reuters-16947", "reuters-15375", "reuters-12338"]
WITH_FOOTER = [SEED_002, *(f"{name}.txt" for name in REUTERS[:8])]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """18 files: 000, 001 and five edited copies of 001 (one story), 002, ten Reuters stories.

    The footer ends 002 and eight of the Reuters stories: nine unrelated documents.
    """
    root = tmp_path / "monitor"
    shutil.copytree(SEEDS, root)
    seed_001 = (SEEDS / SEED_001).read_text(encoding="utf-8")
    for copy, (old, new) in enumerate(
        [("900", "950"), ("1,700", "1,800"), ("800", "850"), ("1992", "1991"), ("Tuesday", "Monday")]
    ):
        assert old in seed_001
        (root / f"001_copy{copy}.txt").write_text(seed_001.replace(old, new, 1), encoding="utf-8")
    excerpts = {}
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        excerpt = json.loads(line)
        excerpts[excerpt["id"]] = "\n".join(item["text"] for item in excerpt["lines"]) + "\n"
    for name in REUTERS:
        (root / f"{name}.txt").write_text(excerpts[name], encoding="utf-8")
    for name in WITH_FOOTER:
        path = root / name
        path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + f"\n\n{FOOTER}\n", encoding="utf-8")
    return root


def run(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_a_footer_on_unrelated_documents_is_stripped_but_a_shared_story_body_is_not(corpus: Path) -> None:
    stripped = run("strip", str(corpus), "--format", "json")
    repeated = {
        Path(file["path"]).name: [
            (span["line"], span["text"]) for span in file["removed"] if span["rule"] == "repeated-line"
        ]
        for file in stripped["files"]
    }
    for name, removed in repeated.items():
        if name in WITH_FOOTER:
            assert [text for _, text in removed] == [FOOTER], name
        else:
            # 000, 001 and its copies share dozens of lines in seven documents: one group.
            assert removed == [], name
    assert stripped["boilerplate"]["repeated-line"] == 9

    report = run("cluster", str(corpus), "--format", "json")
    assert report["boilerplate"]["repeated-line"] == 9
    (cluster,) = report["clusters"]
    assert [Path(member["path"]).name for member in cluster["members"]] == [
        SEED_000,
        "001_copy0.txt",
        "001_copy1.txt",
        "001_copy2.txt",
        "001_copy3.txt",
        "001_copy4.txt",
        SEED_001,
    ]
    copy = cluster["members"][1]
    assert any(segment["op"] == "insert" and "950 soldiers" in segment["text"] for segment in copy["diff"])
    assert "".join(segment["text"] for segment in copy["diff"] if segment["op"] != "insert").startswith(
        "As Islamists in northern Mali"
    )


def test_only_documents_with_a_repeated_line_are_signed_again(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_again: list[str] = []
    sign_batch = pipeline.sign_batch

    def spy(job: Any, settings: Settings, spill_to: str, repeated: Any = None) -> Any:
        if repeated is not None:
            signed_again.extend(Path(source.path).name for source in job[1])
        return sign_batch(job, settings, spill_to, repeated)

    monkeypatch.setattr(signing, "sign_batch", spy)
    pipeline.run_cluster([str(corpus)], Settings())
    assert sorted(signed_again) == sorted(WITH_FOOTER)


def test_the_diffs_look_for_repeated_lines_only_in_documents_that_held_one(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clustered copy ending in the footer has it stripped in its diff; the other members'
    lines are never keyed, and treating every document as holding one changes nothing."""
    copy = corpus / "001_copy2.txt"
    copy.write_text(copy.read_text(encoding="utf-8").rstrip("\n") + f"\n\n{FOOTER}\n", encoding="utf-8")
    keyed: list[str] = []
    real_keys = boilerplate.repeated_line_keys

    def repeated_line_keys(texts: Any, repeated: Any) -> Any:
        keyed.extend(texts)
        return real_keys(texts, repeated)

    monkeypatch.setattr(boilerplate, "repeated_line_keys", repeated_line_keys)
    report = run("cluster", str(corpus), "--format", "json", "--jobs", "1", "--no-cache")
    assert report["boilerplate"]["repeated-line"] == 10
    assert len(keyed) == len(WITH_FOOTER) + 2 and all(FOOTER in text for text in keyed)  # the copy, twice
    (members,) = [item["members"] for item in report["clusters"]]
    diff = next(member["diff"] for member in members if member["path"].endswith("001_copy2.txt"))
    assert not any("Mali Monitor" in segment["text"] for segment in diff)

    def everyone(corpus: pipeline.Corpus, repeated: Any) -> Any:
        return np.ones(len(corpus.paths), dtype=bool)

    monkeypatch.setattr(second_pass, "holding_repeated", everyone)
    keyed.clear()
    assert run("cluster", str(corpus), "--format", "json", "--jobs", "1", "--no-cache") == report
    assert len(keyed) > len(WITH_FOOTER) + 2


def test_no_second_pass_without_repeated_lines(seeds_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def signed_again(*args: object) -> None:
        raise AssertionError("signed twice")

    monkeypatch.setattr(second_pass, "_strip_repeated", signed_again)
    report = pipeline.run_cluster([str(seeds_dir)], Settings())
    assert len(report.clusters) == 1 and "repeated-line" not in dict(report.boilerplate)


def test_the_threshold_is_a_number_of_groups_and_a_share_of_them(corpus: Path) -> None:
    # 18 documents in 12 groups; the footer is in 9 of them.
    assert run("cluster", str(corpus), "--format", "json")["settings"]["repeated_min_documents"] == 5
    (corpus / ".storydiff.toml").write_text("[repeated-lines]\nmin-documents = 10\n")
    assert "repeated-line" not in run("cluster", str(corpus), "--format", "json")["boilerplate"]
    (corpus / ".storydiff.toml").write_text("[repeated-lines]\nmin-share = 0.75\n")
    assert run("cluster", str(corpus), "--format", "json")["boilerplate"]["repeated-line"] == 9
    (corpus / ".storydiff.toml").write_text("[repeated-lines]\nmin-share = 0.8\n")
    assert "repeated-line" not in run("cluster", str(corpus), "--format", "json")["boilerplate"]
    (corpus / ".storydiff.toml").write_text('disable = ["repeated-line"]\n')
    assert "repeated-line" not in run("cluster", str(corpus), "--format", "json")["boilerplate"]


def test_repeated_lines_do_not_depend_on_jobs_or_batch_size(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = []
    for jobs, batch in [(1, 512), (2, 3)]:
        monkeypatch.setattr(batching, "SIGN_BATCH_FILES", batch)
        result = CliRunner().invoke(cli, ["cluster", str(corpus), "--format", "json", "--jobs", str(jobs)])
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])["boilerplate"]["repeated-line"] == 9


def test_a_warm_signature_cache_gives_the_cold_output_when_repeated_lines_are_stripped(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache holds first-pass signatures and line keys: a warm run finds the same repeated
    lines without opening unchanged files, and signs the documents holding one again."""
    an_hour_ago = time.time() - 3600  # older than the cache's racy window, so stats are recorded
    for path in corpus.iterdir():
        os.utime(path, (an_hour_ago, an_hour_ago))
    cache_file = str(tmp_path / "signatures.sqlite")

    def cluster_json(*extra: str) -> str:
        result = CliRunner().invoke(cli, ["cluster", str(corpus), "--format", "json", "--jobs", "1", *extra])
        assert result.exit_code == 0, result.output
        return result.stdout

    uncached = cluster_json("--no-cache")
    assert dict(json.loads(uncached)["boilerplate"])["repeated-line"] == len(WITH_FOOTER)
    cold = cluster_json("--cache", cache_file)
    passes: list[tuple[str, str]] = []
    shingled: list[str] = []
    sign_batch, batch_shingles = pipeline.sign_batch, shingles.batch_shingles

    def sign_spy(
        job: Any, settings: Settings, spill_to: str, repeated: Any = None, cache_spec: Any = None
    ) -> Any:
        passes.extend(("second" if repeated else "first", Path(source.path).name) for source in job[1])
        return sign_batch(job, settings, spill_to, repeated, cache_spec)

    def shingle_spy(texts: list[str], *args: int) -> shingles.ShingleBatch:
        shingled.extend(texts)
        return batch_shingles(texts, *args)

    with_line_keys = shingles.batch_shingles_and_line_keys

    first_pass: list[str] = []

    def line_key_spy(texts: list[str], *args: int) -> Any:  # the first pass: shingles and line keys
        first_pass.extend(texts)
        return with_line_keys(texts, *args)

    monkeypatch.setattr(signing, "sign_batch", sign_spy)
    monkeypatch.setattr(shingles, "batch_shingles", shingle_spy)
    monkeypatch.setattr(shingles, "batch_shingles_and_line_keys", line_key_spy)
    stored = cluster_json("--cache", cache_file)  # the stored report: nothing shingled
    assert stored == cold == uncached and shingled == first_pass == []
    # Another threshold is another report, from the cached first-pass signatures and line
    # keys, and the documents holding the footer as the cold run signed them again without
    # it (the same contents, the same repeated lines): nothing is signed. The cluster is
    # diffed again, but the cached pairs give its members' similarities to the representative,
    # so no exact set (which the cache does not keep) is shingled either.
    passes.clear()
    warm = cluster_json("--cache", cache_file, "--threshold", "0.6")
    assert [name for stage, name in passes if stage == "second"] == [] and first_pass == []
    assert json.loads(warm)["clusters"] and shingled == []
    assert warm == cluster_json("--no-cache", "--threshold", "0.6")
    assert dict(json.loads(warm)["boilerplate"])["repeated-line"] == len(WITH_FOOTER)
    # One of them edited: its batch (all of them, here) is signed again without the footer.
    edited = corpus / WITH_FOOTER[3]
    edited.write_text(edited.read_text(encoding="utf-8").replace("the", "a", 1), encoding="utf-8")
    passes.clear()
    shingled.clear()
    first_pass.clear()
    warm = cluster_json("--cache", cache_file, "--threshold", "0.6")
    assert sorted(name for stage, name in passes if stage == "second") == sorted(WITH_FOOTER)
    assert len(first_pass) == 1 and "night desk" not in first_pass[0]  # the edited file
    assert len(shingled) >= len(WITH_FOOTER) and not any(FOOTER in text for text in shingled)
    assert warm == cluster_json("--no-cache", "--threshold", "0.6")


def test_a_re_run_after_one_file_changed_verifies_and_diffs_only_what_involves_it(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With repeated lines found (two passes); the output is the same as without the cache."""
    cache_file = str(tmp_path / "c.sqlite")
    arguments = ("cluster", str(corpus), "--format", "json", "--jobs", "1", "--cache", cache_file)
    cold = run(*arguments)
    assert [len(item["members"]) for item in cold["clusters"]] == [7]
    assert cold["boilerplate"]["repeated-line"] == 9
    changed = corpus / "001_copy2.txt"
    changed.write_text(changed.read_text(encoding="utf-8").replace("Mali", "Mali's", 1), encoding="utf-8")
    verified: list[tuple[str, str]] = []
    diffed: list[list[str]] = []
    real_verify, real_diff = pipeline.verify_batch, pipeline.diff_batch
    paths = sorted(str(path) for path in corpus.iterdir())

    def verify_batch(job: pipeline.VerifyJob) -> Any:
        verified.extend((paths[left], paths[right]) for left, right in job.pairs.tolist())
        return real_verify(job)

    def diff_batch(tasks: Any, *args: Any) -> Any:
        diffed.extend([task.representative[0], *(member[0] for member in task.members)] for task in tasks)
        return real_diff(tasks, *args)

    banded: list[int] = []
    real_candidates = cluster.candidate_codes

    def candidate_codes(signatures: Any, *args: Any) -> Any:
        banded.append(len(signatures))
        return real_candidates(signatures, *args)

    monkeypatch.setattr(verifying, "verify_batch", verify_batch)
    monkeypatch.setattr(diffing, "diff_batch", diff_batch)
    monkeypatch.setattr(cluster, "candidate_codes", candidate_codes)
    warm = run(*arguments)
    assert banded == []  # both passes banded only the changed file, from the stored passes
    assert verified and all(str(changed) in pair for pair in verified)
    assert len(diffed) == 1 and str(changed) in diffed[0]
    monkeypatch.setattr(verifying, "verify_batch", real_verify)
    monkeypatch.setattr(diffing, "diff_batch", real_diff)
    uncached = CliRunner().invoke(cli, [*arguments[:-2], "--no-cache"]).stdout
    assert json.dumps(warm) == json.dumps(json.loads(uncached))
    assert CliRunner().invoke(cli, list(arguments)).stdout == uncached  # and the stored report


def test_cleaning_many_files_at_once_strips_what_cleaning_each_does(corpus: Path) -> None:
    from storydiff.boilerplate import RepeatedLines
    from storydiff.model import SourceFile

    settings = Settings()
    (key,) = shingles.keys_by_line([FOOTER], settings.repeated_min_words, settings.seed)
    assert key is not None
    repeated = RepeatedLines(frozenset({key}), settings.repeated_min_words, seed=settings.seed)
    sources = [SourceFile(str(path), str(path)) for path in sorted(corpus.iterdir())]
    one_by_one = [pipeline.clean(source, settings, repeated=repeated) for source in sources]
    assert list(pipeline.clean_each(sources, settings, repeated=repeated)) == one_by_one
    footers = [item for item in one_by_one if any(r.rule == "repeated-line" for r in item.removals)]
    assert len(footers) == len(WITH_FOOTER)


def test_the_repeated_line_pass_verifies_only_pairs_touching_a_document_signed_again(
    corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Turn 001_copy0 into a near-copy of a footer document, so a changed document has a pair.
    (corpus / "001_copy0.txt").write_text((corpus / f"{REUTERS[0]}.txt").read_text(encoding="utf-8")[:-40])
    with_memo = pipeline.run_cluster([str(corpus)], Settings())

    verified_counts: list[int] = []
    verify_batch = pipeline.verify_batch

    def counting(job: Any) -> Any:
        verified_counts.append(len(job.pairs))
        return verify_batch(job)

    verified_pairs = pipeline.verified_pairs

    def forgetful(*args: Any) -> Any:
        verified_counts.append(-1)  # a pass starts
        return verified_pairs(*args[:6])

    monkeypatch.setattr(verifying, "verify_batch", counting)
    monkeypatch.setattr(verifying, "verified_pairs", forgetful)
    without_memo = pipeline.run_cluster([str(corpus)], Settings())
    assert with_memo == without_memo
    monkeypatch.setattr(verifying, "verified_pairs", verified_pairs)
    first_pass_pairs = sum(count for count in verified_counts[1 : verified_counts.index(-1, 1)])
    verified_counts.clear()
    pipeline.run_cluster([str(corpus)], Settings())
    assert 0 < sum(verified_counts) - first_pass_pairs < first_pass_pairs


def test_a_text_like_a_member_but_not_like_the_representative_stays_out(tmp_path: Path) -> None:
    """a is like b and b like c, but a is not like c: connected components chained all three
    into a's cluster (the issue's bug); the cluster is a and b, measured against each other,
    and c is left out of it: not a singleton, a near-duplicate of a copy in cluster 1."""
    words = (SEEDS / SEED_000).read_text(encoding="utf-8").split()
    texts = {"a.txt": words[0:620], "b.txt": words[150:750], "c.txt": words[300:900]}
    for name, chosen in texts.items():
        lines = [" ".join(chosen[start : start + 12]) for start in range(0, len(chosen), 12)]
        (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = Settings(strip=False)
    cleaned = {name: (tmp_path / name).read_text(encoding="utf-8") for name in texts}
    found_sets = shingles.shingle_sets(list(cleaned.values()), settings.ngram, settings.seed)
    sets = dict(zip(cleaned, found_sets, strict=True))
    far = cluster.similarity(sets["a.txt"], sets["c.txt"])
    assert far[0] < settings.threshold and far[1] < settings.containment  # a and c are no pair

    report = pipeline.run_cluster([str(tmp_path)], settings)

    (found,) = report.clusters
    assert [member.path for member in found.members] == [str(tmp_path / name) for name in ("a.txt", "b.txt")]
    assert (found.members[1].jaccard, found.members[1].containment) == cluster.similarity(
        sets["a.txt"], sets["b.txt"]
    )
    assert report.singletons == ()
    assert report.unplaced == ((str(tmp_path / "c.txt"), (1,)),)
    assert found.related == ()
    # A warm run with another threshold takes the pairs from the cache, which keeps no sets,
    # and diffs again: the representative's and the far member's sets are read again.
    cache_file = str(tmp_path / "cache.sqlite")
    run("cluster", str(tmp_path), "--no-strip", "--format", "json", "--cache", cache_file)
    warm = run(
        "cluster",
        str(tmp_path),
        "--no-strip",
        "--format",
        "json",
        "--threshold",
        "0.49",
        "--cache",
        cache_file,
    )
    assert warm == run(
        "cluster", str(tmp_path), "--no-strip", "--format", "json", "--threshold", "0.49", "--no-cache"
    )


def test_without_diffs_members_get_the_same_similarities_and_no_word_diff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The far member (joined through the middle one) is measured from the spilled sets, as
    with diffs; no word diff is made."""
    words = (SEEDS / SEED_000).read_text(encoding="utf-8").split()
    texts = {"a.txt": words[0:620], "b.txt": words[150:750], "c.txt": words[300:900]}
    for name, chosen in texts.items():
        lines = [" ".join(chosen[start : start + 12]) for start in range(0, len(chosen), 12)]
        (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = Settings(strip=False)
    diffed = pipeline.run_cluster([str(tmp_path)], settings)

    def no_word_diff(*_: object) -> None:
        raise AssertionError("word_diff called without diffs")

    monkeypatch.setattr(diffing, "word_diff", no_word_diff)
    bare = pipeline.run_cluster([str(tmp_path)], settings, diffs=False)

    assert bare.diffed is False and diffed.diffed is True
    assert [
        [(member.path, member.jaccard, member.containment) for member in found.members]
        for found in bare.clusters
    ] == [
        [(member.path, member.jaccard, member.containment) for member in found.members]
        for found in diffed.clusters
    ]
    assert all(member.segments == () and member.added_words == 0 for member in bare.clusters[0].members)
    assert (bare.singletons, bare.files) == (diffed.singletons, diffed.files)


def _edited_copies(root: Path, stories: int = 6, copies: int = 4, seed: int = 7) -> None:
    """Stories cut from the seeds, each followed by copies edited one from the last (about a fifth
    of the shingles lost each time), so that the later copies drift far from the first."""
    generator = np.random.default_rng(seed)
    words = " ".join((SEEDS / name).read_text(encoding="utf-8") for name in (SEED_000, SEED_001)).split()
    vocabulary = sorted(set(words))
    root.mkdir()
    for story in range(stories):
        text = words[story * 160 : story * 160 + 160]
        (root / f"s{story}_0.txt").write_text(" ".join(text) + "\n", encoding="utf-8")
        for copy in range(1, copies + 1):
            text = list(text)
            for position in generator.choice(len(text), size=len(text) // 25, replace=False):
                text[position] = vocabulary[int(generator.integers(len(vocabulary)))]
            (root / f"s{story}_{copy}.txt").write_text(" ".join(text) + "\n", encoding="utf-8")


def test_every_member_is_a_near_duplicate_of_its_representative(tmp_path: Path) -> None:
    corpus = tmp_path / "edited"
    _edited_copies(corpus)
    settings = Settings(strip=False)
    names = sorted(path.name for path in corpus.iterdir())
    texts = [(corpus / name).read_text(encoding="utf-8") for name in names]
    sets = dict(zip(names, shingles.shingle_sets(texts, settings.ngram, settings.seed), strict=True))
    chained = [
        (first, second)
        for first in names
        for second in names
        if first < second
        and first.split("_")[0] == second.split("_")[0]
        and not cluster.is_near_duplicate(
            *cluster.similarity(sets[first], sets[second]), min(len(sets[first]), len(sets[second])), settings
        )
    ]
    assert chained  # copies of one story that are no near-duplicates of each other

    report = pipeline.run_cluster([str(corpus)], settings)

    assert report.clusters
    for found in report.clusters:
        representative = Path(found.representative).name
        for member in found.members[1:]:
            name = Path(member.path).name
            jaccard, containment = cluster.similarity(sets[representative], sets[name])
            assert (member.jaccard, member.containment) == (jaccard, containment)
            assert cluster.is_near_duplicate(
                jaccard, containment, min(len(sets[representative]), len(sets[name])), settings
            )
    assert any(found.related for found in report.clusters)
    one_job = run("cluster", str(corpus), "--no-strip", "--format", "json", "--no-cache", "--jobs", "1")
    two_jobs = run("cluster", str(corpus), "--no-strip", "--format", "json", "--no-cache", "--jobs", "2")
    cache_file = str(tmp_path / "cache.sqlite")
    cold = run("cluster", str(corpus), "--no-strip", "--format", "json", "--cache", cache_file)
    warm = run("cluster", str(corpus), "--no-strip", "--format", "json", "--cache", cache_file)
    assert one_job == two_jobs == cold == warm


def test_a_near_duplicate_of_a_member_only_is_unplaced_not_a_document_without_a_copy(
    chained_corpus: Path,
) -> None:
    report = pipeline.run_cluster([str(chained_corpus)], Settings())

    def names(paths: Any) -> list[str]:
        return [Path(path).name for path in paths]

    assert [names(member.path for member in found.members) for found in report.clusters] == [
        ["a.txt", "b.txt"]
    ]
    assert [(Path(path).name, related) for path, related in report.unplaced] == [("c.txt", (1,))]
    assert names(report.singletons) == ["d.txt"]
    assert names(item.path for item in report.files) == ["a.txt", "b.txt", "c.txt", "d.txt"]
    one_job = run("cluster", str(chained_corpus), "--format", "json", "--no-cache", "--jobs", "1")
    two_jobs = run("cluster", str(chained_corpus), "--format", "json", "--no-cache", "--jobs", "2")
    assert one_job == two_jobs
    assert one_job["unplaced"] == [{"path": str(chained_corpus / "c.txt"), "related": [1]}]

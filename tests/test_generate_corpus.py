"""benchmarks/generate_corpus.py: the heavy mode's corpus, its truth and its edits, on short news items."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from itertools import combinations
from pathlib import Path
from random import Random

import pytest

_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "generate_corpus.py"
_spec = importlib.util.spec_from_file_location("generate_corpus", _SCRIPT)
assert _spec is not None and _spec.loader is not None
generate_corpus = importlib.util.module_from_spec(_spec)
sys.modules["generate_corpus"] = generate_corpus
_spec.loader.exec_module(generate_corpus)

ARTICLES = {
    "harbour.txt": "Harbour cranes idle as dockers strike\n\nDockers at the northern harbour walked out on "
    "Monday over a pay offer of 3.5 percent. The port authority said 42 ships were waiting offshore. "
    '"We will not load a single container until the offer improves," a union official said.',
    "wheat.txt": "Wheat prices climb after dry spring\n\nWheat futures rose 12 cents a bushel on Tuesday as "
    "forecasters cut their harvest estimate. Farmers in the plains reported the driest April since 1988. "
    "Traders expect exports to fall by a fifth this season.",
    "library.txt": "City library reopens after flood repairs\n\nThe central library reopened its doors "
    "on Saturday, eight months after a burst main flooded the basement. Staff rescued 9,000 rare books "
    "from the archive. Visitors queued around the block before the doors opened at ten.",
    "rail.txt": "Rail operator orders new trains\n\nThe regional rail operator signed a contract for 24 "
    "electric trains worth 610 million euros. Deliveries begin in 2028 and replace diesel units built in "
    "the seventies. Passenger groups welcomed the order but asked for more seats.",
    "copper.txt": "Copper miner raises output forecast\n\nThe copper miner now expects to produce 1.2 "
    "million tonnes this year, up from its earlier estimate. Its chief executive credited a new "
    "smelter in the south. Shares rose 4 percent in early trading.",
    "bridge.txt": "Old bridge closed for safety checks\n\nEngineers closed the old river bridge on Thursday "
    "after divers found cracks in two piers. Commuters face detours of up to 40 minutes. The council said "
    "repairs could take the whole summer.",
    "vaccine.txt": "Clinic extends vaccination hours\n\nThe district clinic will stay open until nine on "
    "weekdays to meet demand for flu shots. Nurses gave 3,100 doses last week alone. Officials urged "
    "older residents to book early.",
    "election.txt": "Mayor announces bid for second term\n\nThe mayor told supporters on Friday that she "
    "would run again next spring. Her campaign promises 5,000 affordable homes and cheaper buses. "
    "Opposition leaders called the plan unrealistic.",
    "airline.txt": "Airline adds routes to the coast\n\nThe budget airline will fly to three coastal "
    "towns from June, with fares from 29 pounds. It expects to carry 250,000 extra passengers a year. "
    "Local hotels reported a rush of bookings within hours.",
    "museum.txt": "Museum buys lost painting at auction\n\nThe national museum paid 2.4 million for a "
    "landscape missing since the war. Curators traced its journey through four private collections. "
    "It goes on display in the east wing next month.",
    "fishing.txt": "Fishing quotas cut for cod\n\nMinisters agreed to cut the cod quota by 18 percent "
    "after scientists warned of falling stocks. Skippers said the decision would cost jobs in small "
    "ports. Talks on herring resume in October.",
    "solar.txt": "Solar farm approved despite protests\n\nPlanners approved a 300 acre solar farm on "
    "former pasture late on Wednesday. Residents had gathered 1,700 signatures against it. The developer "
    "promised to plant hedges and keep footpaths open.",
    "school.txt": "School meals to go free for infants\n\nEvery pupil in the first three years will get a "
    "free hot lunch from September. The scheme costs 75 million a year and covers 400 schools. Teachers "
    "said hungry children struggle to concentrate.",
    "storm.txt": "Storm cuts power to thousands\n\nHigh winds brought down lines across the valley, "
    "leaving 16,000 homes without power overnight. Crews restored most supplies by noon. Forecasters "
    "warned of another gale on Sunday.",
    "bank.txt": "Central bank holds interest rates\n\nThe central bank kept its main rate at 4.25 "
    "percent for a third month. Its governor said inflation was falling more slowly than hoped. Markets "
    "had expected the decision.",
    "football.txt": "Club names new head coach\n\nThe football club appointed a former youth coach on "
    "a two year contract. He replaces a manager sacked after seven defeats in a row. Fans gathered "
    "outside the stadium to cheer his arrival.",
}
HEAVY_ARGUMENTS = ["--documents", "14", "--mode", "heavy", "--words", "130-200", "--max-cluster", "5"]
_WORD = re.compile(r"\w+")


@pytest.fixture
def source_dir(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    for name, text in ARTICLES.items():
        (source / name).write_text(text + "\n", encoding="utf-8")
    return source


def generate(source_dir: Path, out_dir: Path, *extra: str) -> None:
    generate_corpus.main([str(source_dir), str(out_dir), *HEAVY_ARGUMENTS, *extra])


def corpus_files(out_dir: Path) -> dict[str, bytes]:
    return {
        path.relative_to(out_dir).as_posix(): path.read_bytes()
        for path in out_dir.rglob("*")
        if path.is_file()
    }


def test_heavy_corpus_is_the_same_for_the_same_seed_and_differs_for_another(
    source_dir: Path, tmp_path: Path
) -> None:
    generate(source_dir, tmp_path / "first")
    generate(source_dir, tmp_path / "second")
    generate(source_dir, tmp_path / "other", "--seed", "8")
    first = corpus_files(tmp_path / "first")
    assert len([name for name in first if name.startswith("docs/")]) == 14
    assert first == corpus_files(tmp_path / "second")
    assert first != corpus_files(tmp_path / "other")


def test_heavy_truth_is_clean(source_dir: Path, tmp_path: Path) -> None:
    """Every expected pair is a near-duplicate, and no other pair of documents is one."""
    out_dir = tmp_path / "corpus"
    generate(source_dir, out_dir)
    records = [
        json.loads(line) for line in (out_dir / "truth.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    texts = {record["path"]: (out_dir / record["path"]).read_text(encoding="utf-8") for record in records}
    expected = generate_corpus.load_truth_pairs(out_dir)
    groups: dict[int, list[str]] = {}
    for record in records:
        if record["group"] is not None:
            groups.setdefault(record["group"], []).append(record["path"])
    assert {tuple(sorted(pair)) for paths in groups.values() for pair in combinations(paths, 2)} == expected
    assert all(2 <= len(paths) <= 5 for paths in groups.values())
    assert sum(len(paths) for paths in groups.values()) >= 10  # --in-clusters 0.8 of 14, rounded down
    shingles = {path: generate_corpus.shingle_set(text) for path, text in texts.items()}
    near = {
        (left, right)
        for left, right in combinations(sorted(texts), 2)
        if generate_corpus.is_near_duplicate(*generate_corpus.similarity(shingles[left], shingles[right]))
    }
    assert near == expected


def test_heavy_variants_carry_heavy_edit_records(source_dir: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "corpus"
    generate(source_dir, out_dir)
    records = [
        json.loads(line) for line in (out_dir / "truth.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    variants = [record for record in records if not record["base"]]
    assert variants
    for record in variants:
        kinds = [edit["type"] for edit in record["edits"]]
        assert kinds
        assert kinds == [kind for kind in generate_corpus.HEAVY_EDIT_ORDER if kind in kinds]
        assert record["jaccard"] >= 0.6 or record["containment"] >= 0.85


def maker(heavy: bool = True) -> object:
    articles = [
        generate_corpus.Article(name, text, generate_corpus.shingle_set(text))
        for name, text in ARTICLES.items()
    ]
    return generate_corpus.VariantMaker(articles, Random(3), heavy=heavy)


BASE = ARTICLES["harbour.txt"] + "\n\n" + ARTICLES["rail.txt"] + "\n"


def test_reflow_changes_line_breaks_only() -> None:
    reflowed, record = maker().reflow(BASE, set())
    assert record == {"type": "reflow", "width": record["width"]}
    assert 60 <= record["width"] <= 80
    assert reflowed != BASE
    assert _WORD.findall(reflowed) == _WORD.findall(BASE)
    assert reflowed.split("\n", 1)[0] == "Harbour cranes idle as dockers strike"
    assert max(len(line) for line in reflowed.splitlines()) <= record["width"]


def test_move_sentences_keeps_every_sentence() -> None:
    moved, record = maker().move_sentences(BASE, set())
    assert record["type"] == "move_sentences"
    assert moved != BASE
    assert sorted(_WORD.findall(moved)) == sorted(_WORD.findall(BASE))
    assert moved.startswith("Harbour cranes idle as dockers strike\n\nDockers at the northern harbour")


def test_glue_boilerplate_puts_it_on_a_line_of_article_text() -> None:
    glued, record = maker().glue_boilerplate(BASE, set())
    assert record["type"] == "glue_boilerplate"
    assert glued.count("\n") == BASE.count("\n")
    for line in record["lines"]:
        (holder,) = [text for text in glued.splitlines() if line in text]
        assert holder != line


def test_easy_mode_is_the_default_and_rejects_nothing_new(source_dir: Path, tmp_path: Path) -> None:
    generate_corpus.main(
        [str(source_dir), str(tmp_path / "easy"), "--documents", "6", "--duplicate-rate", "0.3"]
    )
    records = [
        json.loads(line)
        for line in (tmp_path / "easy" / "truth.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    kinds = {edit["type"] for record in records for edit in record["edits"]}
    assert len(records) == 6
    assert sum(not record["base"] for record in records) == 2
    assert kinds <= set(generate_corpus.EDIT_ORDER)

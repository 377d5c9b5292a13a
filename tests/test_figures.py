"""The figure grammar (storydiff.figures) against the labelled pairs in tests/data/figures, and
the kinds of copies against the word diff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storydiff import diff
from storydiff.diff import comparison_words, copy_kind, diff_tokens, pair_in_order, word_diff
from storydiff.figures import is_figure_token
from storydiff.model import ChangedFigure

DATA = Path(__file__).parent / "data" / "figures"
SETS = ("reuters.jsonl", "reuters-unchanged.jsonl", "constructed.jsonl")


def _pairs(name: str) -> list[dict[str, object]]:
    with open(DATA / name, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _tokens(phrase: str) -> list[str]:
    return [word.strip(".,;:()\"'").lstrip("$€£¥") for word in phrase.split()]


def _label_in(label: list[str], old: str, new: str) -> bool:
    """A label (old and new figure, as written) lies in a reported change (phrases)."""
    old_tokens, new_tokens = _tokens(old), _tokens(new)

    def inside(part: list[str], whole: list[str]) -> bool:
        return any(whole[start : start + len(part)] == part for start in range(len(whole)))

    return inside(_tokens(label[0]), old_tokens) and inside(_tokens(label[1]), new_tokens)


def _sides(change: ChangedFigure) -> tuple[str, str]:
    return f"{change.old} {change.old_unit}", f"{change.new} {change.new_unit}"


def score(pairs: list[dict[str, object]]) -> tuple[int, int, int, list[str]]:
    """Labelled changes found, false figures, labelled changes missed, and the false figures.

    A reported change is true when a label lies in it ("6-1/8" → "6-3/8" in "6-1/8 pct →
    6-3/8 pct"; a date's labels may be its words, "Feb" → "March" and "28" → "21"); a label
    written n times in a pair is found as often as reported changes hold it, up to n.
    """
    found_true = false = missed = 0
    wrong = []
    for pair in pairs:
        labels = [tuple(label) for label in pair["figures"]]  # type: ignore[attr-defined]
        changes = word_diff(str(pair["old"]), str(pair["new"])).changed_figures
        for change in changes:
            if not any(_label_in(list(label), *_sides(change)) for label in labels):
                false += 1
                wrong.append(f"{pair['id']}: {change.label}")
        for label in set(labels):
            holding = sum(_label_in(list(label), *_sides(change)) for change in changes)
            found = min(labels.count(label), holding)
            found_true += found
            missed += labels.count(label) - found
    return found_true, false, missed, wrong


def test_the_labelled_set_is_as_its_readme_says() -> None:
    real, unchanged, constructed = (_pairs(name) for name in SETS)
    assert sum(len(pair["figures"]) for pair in real) >= 150  # type: ignore[arg-type]
    assert len(unchanged) + sum(1 for pair in constructed if not pair["figures"]) >= 50


def test_changed_figures_are_never_false(capsys: pytest.CaptureFixture[str]) -> None:
    pairs = [pair for name in SETS for pair in _pairs(name)]
    found_true, false, missed, wrong = score(pairs)
    precision = found_true / max(found_true + false, 1)
    recall = found_true / max(found_true + missed, 1)
    with capsys.disabled():
        print(
            f"\nchanged figures on tests/data/figures ({len(pairs)} pairs): precision {precision:.3f}, "
            f"recall {recall:.3f} ({found_true} of {found_true + missed} labelled changes found, "
            f"{false} false)"
        )
    assert wrong == []
    assert precision == 1.0 and recall >= 0.95


@pytest.mark.parametrize(
    ("text", "figures"),
    [
        ("at 6-1/2 pct", ["6-1/2"]),
        ("3/4 and 42-5/8", ["3/4", "42-5/8"]),
        ("1,250,000 and 12.5 and .75", ["1,250,000", "12.5", ".75"]),
        ("$1.5 billion, £600m, 12.5%", ["$1.5", "billion", "£600m", "12.5%"]),
        ("30-89 days at 782.50/786.41", ["30-89", "782.50/786.41"]),
        ("the 1st COVID-19 case", ["19"]),
    ],
)
def test_a_figure_is_one_token(text: str, figures: list[str]) -> None:
    assert [token for token in diff_tokens(text) if is_figure_token(token)] == figures
    assert "".join(diff_tokens(text)) == text


def test_a_figure_change_is_never_split() -> None:
    change = word_diff("prime rate 6-1/2 pct and 1.5 billion", "prime rate 6-1/8 pct and 2.5 billion")
    assert [(segment.op, segment.text) for segment in change.segments if segment.op != "equal"] == [
        ("delete", "6-1/2"),
        ("insert", "6-1/8"),
        ("delete", "1.5"),
        ("insert", "2.5"),
    ]
    assert [figure.label for figure in change.changed_figures] == [
        "6-1/2 pct → 6-1/8 pct",
        "1.5 billion → 2.5 billion",
    ]


class _CountingKey:
    """A figure key that counts how often it is hashed or compared."""

    calls = 0

    def __init__(self, value: int) -> None:
        self.value = value

    def __hash__(self) -> int:
        _CountingKey.calls += 1
        return hash(self.value)

    def __eq__(self, other: object) -> bool:
        _CountingKey.calls += 1
        return isinstance(other, _CountingKey) and self.value == other.value


@pytest.mark.parametrize("count", [1_000, 10_000])
def test_pairing_figures_is_linear(count: int) -> None:
    """Each old figure pairs with the first new one of its key: a pass over each side, not
    every old figure against every new one (count * count comparisons)."""
    _CountingKey.calls = 0
    old = [_CountingKey(number % 97) for number in range(count)]
    new = [_CountingKey(number % 89) for number in range(count)]
    pairs = pair_in_order(old, new, set(), set())
    assert len(pairs) == sum(
        min(count // 97 + (key < count % 97), count // 89 + (key < count % 89)) for key in range(89)
    )
    assert _CountingKey.calls <= 4 * count


def _changes_are_figures_or_formatting(old: str, new: str) -> bool:
    """Whether every change the word diff shows replaces figures or changes what the
    comparison key ignores (case, quotes, punctuation, whitespace)."""
    change = word_diff(old, new)
    if change.moved_words:
        return False
    deleted: list[str] = []
    inserted: list[str] = []
    for segment in change.segments:
        if segment.op == "delete":
            deleted += comparison_words(segment.text)
        elif segment.op == "insert":
            inserted += comparison_words(segment.text)
        elif segment.op == "equal":
            if deleted or inserted:
                masked_old = ["#" if _figure(word) else word for word in deleted]
                masked_new = ["#" if _figure(word) else word for word in inserted]
                if masked_old != masked_new:
                    return False
            deleted, inserted = [], []
    return ["#" if _figure(word) else word for word in deleted] == [
        "#" if _figure(word) else word for word in inserted
    ]


def _figure(word: str) -> bool:
    return is_figure_token(word)


def test_a_copy_is_of_kind_figures_exactly_when_its_diff_only_replaces_figures() -> None:
    kinds = {"identical": 0, "reformatted": 0, "figures": 0, "edited": 0}
    for pair in (pair for name in SETS for pair in _pairs(name)):
        old, new = str(pair["old"]), str(pair["new"])
        kind = copy_kind(old, new)
        kinds[kind] += 1
        assert (kind in ("identical", "reformatted", "figures")) == _changes_are_figures_or_formatting(
            old, new
        ), (
            pair["id"],
            kind,
        )
    assert all(kinds[kind] for kind in ("reformatted", "figures", "edited")), kinds


def test_kinds_from_least_to_most() -> None:
    text = "The Fed arranged one billion dlrs of repurchases at 6-1/8 pct."
    assert copy_kind(text, text) == "identical"
    assert copy_kind(text, "THE FED ARRANGED\nONE BILLION DLRS OF REPURCHASES AT 6-1/8 PCT") == "reformatted"
    assert copy_kind(text, "The Fed arranged two billion dlrs of repurchases at 6-3/8 pct.") == "figures"
    assert (
        copy_kind(text, "The Fed arranged two billion dlrs of reverse repurchases at 6-3/8 pct.") == "edited"
    )
    assert (
        copy_kind(text, "The Fed arranged one billion dlrs of repurchases.") == "edited"
    )  # a figure dropped


def test_the_fed_reports_of_the_issue() -> None:
    """reuters-21578/10503 and 10864, the issue's example (excerpts)."""
    old = (
        "The Federal Reserve entered the U.S.\nGovernment securities market to arrange one billion dlrs of\n"
        "customer repurchase agreements, a Fed spokesman said.\n    Dealers said Federal funds were trading "
        "at 6-1/8 pct when\nthe Fed began its temporary and indirect supply of reserves to\n"
        "the banking system.\n"
    )
    new = old.replace("one billion", "two billion").replace("6-1/8", "6-3/8")
    change = word_diff(old, new)
    assert [figure.label for figure in change.changed_figures] == [
        "one billion → two billion dlrs",
        "6-1/8 pct → 6-3/8 pct",
    ]
    assert copy_kind(old, new) == "figures"
    assert diff.figure_value("eight") == diff.figure_value("8")

"""Rebuild reuters.jsonl, the real figure edits of the labelled set, from Reuters-21578.

    python tests/data/figures/build_reuters.py ../shared/corpora/reuters-21578 REPORT.json

REPORT.json is `storydiff cluster ../shared/corpora/reuters-21578 --format json --no-cache`
(its clusters give the corrections and re-issues). Not a test: tests read only the output.

Pairs: consecutive stories under the same headline (daily template reports: Fed repurchases,
slaughter guesstimates, discount note rates ...) whose whitespace-token diff is figures but
for at most three other edits, and each cluster member against its representative whose diff
replaces figures. Labels: every replaced whitespace token pair that are both figures (digits,
spelled-out numbers, month names) and say different values, found by difflib, not by
storydiff; and the changes listed in CHECKED_BY_EYE, which difflib could not label (a
replaced run of a different length) and which were read in both texts and found to be figure
replacements.
"""

from __future__ import annotations

import collections
import difflib
import json
import os
import re
import sys

NUMBER_WORDS = frozenset(
    [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
        "hundred",
        "thousand",
        "million",
        "billion",
        "trillion",
    ]
)
MONTHS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)
VALUES = {
    word: index
    for index, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
FIGURE = re.compile(r"^[$€£¥]?(\d[\d,./-]*\d|\d)%?$")

CHECKED_BY_EYE: dict[str, list[list[str]]] = json.loads(
    """{"96.txt>4918.txt": [["260,500","200,500"],["6.4 pct","5.0 pct"],["370,500","260,500"],["9.2 pct","6.4 pct"]],"11704.txt>14579.txt": [["14.85 billion","25.55 billion"]],"1325.txt>9037.txt": [["Feb 28","March 21"]],"17512.txt>17990.txt": [["275,000","265,000"],["285,000","275,000"]],"19607.txt>20196.txt": [["265,000","325,000"]],"9787.txt>12801.txt": [["5.4 billion","300 mln"]],"12880.txt>12919.txt": [["5.92 pct","5.90 pct"],["5.83 pct","5.92 pct"],["90-100","274-294"]],"12919.txt>13827.txt": [["5.90 pct","5.83 pct"],["5.92 pct","5.90 pct"]],"15560.txt>15610.txt": [["5.85 pct","5.88 pct"],["5.82 pct","5.85 pct"],["88-103","175-190"]],"13909.txt>15579.txt": [["5.95 pct","6.00 pct"]],"12081.txt>14360.txt": [["2","1"]],"12796.txt>13526.txt": [["21","one"]],"13697.txt>16236.txt": [["69.35","70.03"],["69.25","69.87"]],"14015.txt>14246.txt": [["2-1/2","2-1/4"],["2-1/4","1"],["3-1/2","2"]],"12010.txt>13909.txt": [["1","31"]],"12010.txt>15579.txt": [["1","33"]],"12215.txt>14476.txt": [["0.25","0.50"]],"12215.txt>14499.txt": [["0.25","0.50"]],"15999.txt>12711.txt": [["2,825,600","2.65 mln"],["April 2","March 26"]],"12711.txt>15999.txt": [["2.65 mln","2,825,600"]],"17005.txt>5439.txt": [["TWO","THREE"],["two","three"]]}"""
)


def _clean(token: str) -> str:
    return token.strip(".,;:()\"'")


def _is_figure(token: str) -> bool:
    word = _clean(token).lower()
    return bool(FIGURE.match(word)) or word in NUMBER_WORDS or word.rstrip(".") in MONTHS


def _value(token: str) -> float | None:
    word = token.lower()
    if word in VALUES:
        return float(VALUES[word])
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?", word):
        return float(word.replace(",", ""))
    return None


def token_labels(old: str, new: str) -> tuple[list[list[str]], int]:
    """Replaced figure tokens (old, new) by difflib over whitespace tokens, and how many other edits."""
    before, after = old.split(), new.split()
    labels: list[list[str]] = []
    other = 0
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        pairs = list(zip(before[i1:i2], after[j1:j2], strict=False))
        if tag == "replace" and i2 - i1 == j2 - j1 and all(_is_figure(a) and _is_figure(b) for a, b in pairs):
            for a, b in pairs:
                a, b = _clean(a), _clean(b)
                if a.lower() != b.lower() and (_value(a) is None or _value(a) != _value(b)):
                    labels.append([a, b])
        else:
            other += 1
    return labels, other


def main(corpus: str, report_path: str) -> None:
    texts = {}
    by_headline = collections.defaultdict(list)
    names = sorted(
        (name for name in os.listdir(corpus) if name[:-4].isdigit()), key=lambda name: int(name[:-4])
    )
    for name in names:
        with open(os.path.join(corpus, name), encoding="utf-8", errors="replace") as handle:
            texts[name] = handle.read()
        headline = texts[name].strip().split("\n")[0].strip()
        if len(headline) > 10:
            by_headline[headline].append(name)
    pairs: list[tuple[str, str, list[list[str]]]] = []
    for group in by_headline.values():
        for old, new in zip(group, group[1:], strict=False):
            before, after = texts[old].split(), texts[new].split()
            if abs(len(before) - len(after)) > 0.3 * max(len(before), len(after)):
                continue
            labels, other = token_labels(texts[old], texts[new])
            if labels and other <= 3:
                pairs.append((old, new, labels))
    with open(report_path, encoding="utf-8") as handle:
        report = json.load(handle)
    for cluster in report["clusters"]:
        representative = os.path.basename(cluster["representative"])
        for member in cluster["members"][1:]:
            name = os.path.basename(member["path"])
            labels, _ = token_labels(texts[representative], texts[name])
            if labels:
                pairs.append((representative, name, labels))
    seen = set()
    with open(os.path.join(os.path.dirname(__file__), "reuters.jsonl"), "w", encoding="utf-8") as out:
        for old, new, labels in pairs:
            if (old, new) in seen:
                continue
            seen.add((old, new))
            record = {
                "id": f"reuters-{old[:-4]}-{new[:-4]}",
                "old": texts[old],
                "new": texts[new],
                "figures": labels
                + [label for label in CHECKED_BY_EYE.get(f"{old}>{new}", []) if label not in labels],
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

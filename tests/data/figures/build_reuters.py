"""Rebuild reuters.jsonl, the real figure edits of the labelled set, from Reuters-21578.

    python tests/data/figures/build_reuters.py ../shared/corpora/reuters-21578 REPORT.json

REPORT.json is `storydiff cluster ../shared/corpora/reuters-21578 --format json --no-cache`
(its clusters give the corrections and re-issues). Not a test: tests read only the output.

Pairs: consecutive stories under the same headline (daily template reports: Fed repurchases,
slaughter guesstimates, discount note rates ...) whose whitespace-token diff is figures but
for at most three other edits, and each cluster member against its representative whose diff
replaces figures. Labels: every replaced whitespace token pair that are both figures (digits,
spelled-out numbers, month names) and say different values, found by difflib, not by
storydiff; and the changes listed in checked-by-eye.json, which difflib could not label (a
replaced run of a different length) and which were read in both texts and found to be figure
replacements.
"""

from __future__ import annotations

import collections
import difflib
import itertools
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

with open(os.path.join(os.path.dirname(__file__), "checked-by-eye.json"), encoding="utf-8") as _handle:
    CHECKED_BY_EYE: dict[str, list[list[str]]] = json.load(_handle)


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
        for old, new in itertools.pairwise(group):
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

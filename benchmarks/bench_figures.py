"""Two large near-duplicates full of numbers: the word diff, its changed figures and the copy's kind.

    python benchmarks/bench_figures.py                 # two 8 MB texts
    python benchmarks/bench_figures.py --megabytes 2   # smaller, for a quick look

The texts are daily template reports (rates, amounts, fractions, percentages, dates), as
Reuters' FED ADDS RESERVES or SLAUGHTER GUESSTIMATES, one after another, with different
figures in each; the copy replaces one figure in fifty (and so one line in four or so). Both
are under the default --max-bytes (16 MB). Reported: wall time of `word_diff` (which pairs the
changed figures) and of `copy_kind`, how many figures each text holds and how many changed.
Pairing used to try every old figure against every new one of a replaced stretch: two
1.35 MB texts with 43,000 numbers took 191 s, and 8 MB ones more than five minutes. The
bound this must meet: under 10 s for the two 8 MB texts.
"""

from __future__ import annotations

import argparse
import random
import time

from storydiff.diff import copy_kind, word_diff
from storydiff.figures import FIGURE_TOKEN

TEMPLATES = (
    "The Federal Reserve entered the U.S. Government securities market to arrange {spelled} billion dlrs "
    "of customer repurchase agreements, a Fed spokesman said. Dealers said Federal funds were trading at "
    "{fraction} pct when the Fed began its temporary and indirect supply of reserves to the banking system.",
    "Hog slaughter is guesstimated at about {thousands} to {thousands} head versus {thousands} week ago and "
    "{thousands} a year ago, with cattle at {thousands} head on {date}.",
    "The FHLBB set rates of {decimal} pct for notes of {days}-{days} days, against {decimal} pct before, and "
    "sold ${money} billion of bills, {percent}% of the total, in the week ended {date}.",
)
FRACTIONS = ("1/8", "1/4", "3/8", "1/2", "5/8", "3/4")
SPELLED = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _figures(generator: random.Random) -> dict[str, str]:
    return {
        "spelled": generator.choice(SPELLED),
        "fraction": f"{generator.randint(4, 9)}-{generator.choice(FRACTIONS)}",
        "thousands": f"{generator.randint(100, 400)},{generator.randint(0, 999):03d}",
        "decimal": f"{generator.randint(4, 8)}.{generator.randint(0, 99):02d}",
        "days": str(generator.randint(30, 360)),
        "money": f"{generator.randint(1, 20)}.{generator.randint(0, 9)}",
        "percent": f"{generator.randint(1, 99)}.{generator.randint(0, 9)}",
        "date": f"{generator.choice(MONTHS)} {generator.randint(1, 28)}, {generator.randint(1980, 1990)}",
    }


def texts(megabytes: float, seed: int = 1) -> tuple[str, str]:
    """A text of template reports and its copy with one figure in fifty replaced."""
    generator = random.Random(seed)
    paragraphs: list[str] = []
    size = 0
    while size < megabytes * 1_000_000:
        template = TEMPLATES[len(paragraphs) % len(TEMPLATES)]
        paragraph = template.format_map(_Fresh(generator))
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
    old = "\n\n".join(paragraphs)
    pieces = []
    at = 0
    for match in FIGURE_TOKEN.finditer(old):
        if generator.random() < 0.02:
            pieces.append(old[at : match.start()])
            pieces.append(_other(match.group(), generator))
            at = match.end()
    pieces.append(old[at:])
    return old, "".join(pieces)


class _Fresh(dict[str, str]):
    """Fresh figures for every placeholder of a template, even a repeated one."""

    def __init__(self, generator: random.Random) -> None:
        super().__init__()
        self.generator = generator

    def __missing__(self, key: str) -> str:
        return _figures(self.generator)[key]


def _other(figure: str, generator: random.Random) -> str:
    """The figure with one digit changed."""
    digits = [index for index, char in enumerate(figure) if char.isdigit()]
    index = generator.choice(digits)
    replacement = str((int(figure[index]) + generator.randint(1, 9)) % 10)
    return figure[:index] + replacement + figure[index + 1 :]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--megabytes", type=float, default=8.0)
    options = parser.parse_args()
    old, new = texts(options.megabytes)
    figures = sum(1 for _ in FIGURE_TOKEN.finditer(old))
    started = time.perf_counter()
    change = word_diff(old, new)
    diffed = time.perf_counter() - started
    started = time.perf_counter()
    kind = copy_kind(old, new)
    kinded = time.perf_counter() - started
    print(
        f"two texts of {len(old) / 1e6:.1f} and {len(new) / 1e6:.1f} MB, {figures:,} figure tokens each: "
        f"word_diff {diffed:.1f} s ({len(change.changed_figures):,} changed figures, "
        f"+{change.added_words:,} / -{change.removed_words:,} words), copy_kind {kinded:.2f} s ({kind})"
    )


if __name__ == "__main__":
    main()

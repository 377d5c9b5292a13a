"""The figure grammar: what storydiff counts as a figure, in one place.

Two levels, both regular expressions built here from the same pieces:

- A figure *token* (`FIGURE_TOKEN`) is what the word diff keeps whole, so an edit never splits
  a number at "-", "/", "." or ",": integers with separators (1,250,000), decimals (12.5,
  .75), fractions and wire fractions (3/4, 6-1/2, 42-5/8), with a currency sign before
  ($1.5, £600m) and a percent sign or a scale letter after (12.5%, 600m, 5bn). A token holds
  no whitespace, so the tokens of a text are those of its lines end to end. Ranges (30-89)
  and bid/offer pairs (782.50/786.41) are one token too. Spelled-out
  numbers (`NUMBER_WORDS`: one, six, twenty, billion) are single words already and count as
  figure tokens too.
- A figure *phrase* (`FIGURE_PHRASE`) is what a changed figure is reported as: a figure token
  or spelled-out number with its scale and percent words ("1.5 bln", "one billion",
  "6-1/8 pct", "twelve per cent", "$1.5 billion"), or a date ("March 3, 1987", "3 March",
  "March 1987"). Named groups say its kind: `date`, `amount` (a currency sign), `percent`.
- Month names (`MONTH_WORDS`) are figure tokens too where copies are compared with figures
  masked: a date replaced is a figure replaced.

Everything that decides whether something is a figure reads these; the kinds of copies
(`diff.copy_kind`) mask figure tokens with `FIGURE_TOKEN` and `NUMBER_WORDS`, and the word
diff's changed figures are read with `FIGURE_PHRASE`. tests/data/figures holds the labelled
pairs that pin the grammar down.
"""

from __future__ import annotations

import re

CURRENCY_SIGNS = "$€£¥"
# The numeric core of a figure token: digits joined by "." or "," (1,250,000, 12.5, 2,29),
# or a decimal without its leading zero (.75), and such numbers joined by "-" or "/": wire
# fractions (6-1/2, 42-5/8), fractions (3/4), ranges (30-89) and bid/offer pairs
# (782.50/786.41) are one figure each.
_NUMBER = r"(?:\d+(?:[.,]\d+)*|\.\d+)"
_NUMERIC = rf"(?:{_NUMBER}(?:[-/]{_NUMBER})*)"
# Scale letters written onto a number ("£600m", "$5bn", "3.2k").
_SCALE_SUFFIX = r"(?:bn|mln|bln|m|b|k)"
# A figure token ends where a word would ("1st" and "600mm" are words); "COVID-19" is two
# tokens ("COVID" and the figure "19").
FIGURE_TOKEN_PATTERN = rf"[{CURRENCY_SIGNS}]?{_NUMERIC}(?:%|{_SCALE_SUFFIX})?(?!\w)"
FIGURE_TOKEN = re.compile(FIGURE_TOKEN_PATTERN)

_UNITS = [
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
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
# The value of each spelled-out number up to twenty, for telling a rewrite ("eight" -> "8") from a change.
WORD_VALUES = {word: value for value, word in enumerate([*_UNITS, "twenty"])}
_SCALES = ["hundred", "thousand", "million", "billion", "trillion"]
# Spelled-out numbers, as lower-case words ("twenty-one" is one word here, three diff tokens).
NUMBER_WORDS: frozenset[str] = frozenset(
    [*_UNITS, *_TENS, *_SCALES, *(f"{tens}-{unit}" for tens in _TENS for unit in _UNITS[1:10])]
)

_SPELLED = (
    r"(?:(?:" + "|".join(_TENS) + r")(?:-(?:" + "|".join(_UNITS[1:10]) + r"))?"
    r"|" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")"
)
_SCALE_WORD = r"(?:hundred|thousand|million|billion|trillion|mln|bln|bn)"
# Month names are capitalised ("may" is a verb); the rest of the phrase ignores case.
_MONTH = (
    r"(?-i:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_YEAR = r"\d{4}"
_SPACE = r"(?:[ \t]+|[ \t]*\n[ \t]*)"  # a phrase may run over a line break ("Feb\n28")
# A count: a figure token or spelled-out number, then scale words ("1.5 bln", "one billion",
# "a billion" only with the scale word, "two hundred thousand").
_COUNT = (
    rf"(?:(?:{_NUMERIC}{_SCALE_SUFFIX}?|{_SPELLED}|a(?={_SPACE}{_SCALE_WORD}))"
    rf"(?:{_SPACE}{_SCALE_WORD})*)"
)
FIGURE_PHRASE = re.compile(
    r"(?<![\w.,/$€£¥-])(?:"
    rf"(?P<date>{_MONTH}{_SPACE}{_DAY}(?:,?{_SPACE}{_YEAR})?|{_DAY}{_SPACE}{_MONTH}(?:,?{_SPACE}{_YEAR})?"
    rf"|{_MONTH}{_SPACE}{_YEAR})"
    rf"|(?P<amount>[{CURRENCY_SIGNS}][ ]?{_COUNT})"
    rf"|{_COUNT}(?P<percent>[ ]?%|{_SPACE}(?:percent|per{_SPACE}cent|pct))?"
    r")(?![\w%])",
    re.IGNORECASE,
)


# Month names, lower-case: a date's words ("March 3" → "April 6" replaces figures).
MONTH_WORDS: frozenset[str] = frozenset(
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


def is_figure_token(token: str) -> bool:
    """Whether a diff token is a figure: a numeric token, a spelled-out number or a month."""
    folded = token.casefold()
    return FIGURE_TOKEN.fullmatch(token) is not None or folded in NUMBER_WORDS or folded in MONTH_WORDS

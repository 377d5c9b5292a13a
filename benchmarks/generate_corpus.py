"""Write a benchmark corpus of N news documents with known near-duplicates, and its ground truth.

    python benchmarks/generate_corpus.py ../shared/corpora/reuters-21578 /tmp/corpus-100k --documents 100000
    python benchmarks/generate_corpus.py ../shared/corpora/onestopenglish-adv \
        ../shared/corpora/reuters-21578 /tmp/storydiff-heavy-100k --documents 100000 --mode heavy

Two modes. Source articles are every *.txt under each SOURCE_DIR, read in sorted order.

easy (the default, the corpora of the earlier benchmarks): base documents are 1-3 source
articles joined by blank lines (~1.6 KB from Reuters). About --duplicate-rate of the documents
are variants: copies of a base with 1-3 recorded edits (dropped or inserted sentences, changed
figures, other quote marks, boilerplate lines, a trimmed end).

heavy (the corpus that shows the diff cost): about --in-clusters (0.8) of the documents are in
groups of 2 to --max-cluster (20) members, sizes weighted 1 / (size - 1) ** 1.5 (a mean of 4.4).
Base documents are news length (--words, 500-1,000): a source article of that length on its own
(each such article in one document only; the OneStopEnglish articles), else several shorter
articles (Reuters stories), each at most 35% of the document, no pair of articles in two
documents (see HeavyComposer). Variants take 3-6 kinds of edit at first, larger ones: up to 4
sentences dropped, 3 inserted and 2 moved, 5 figures changed, boilerplate glued to the start or end
of a paragraph line, boilerplate lines added, a trimmed end, other quote marks, lines reflowed
(wrapped at 60-80 columns, or wrapped lines joined).

Speed benchmarks run on docs/; recall and precision benchmarks compare against truth_pairs.tsv
(see `load_truth_pairs`). The same arguments and --seed give the same corpus.

OUT_DIR receives:

    docs/<shard>/<id>.txt  documents in random order, at most 1000 per shard (docs/0000/000123.txt)
    truth.jsonl            one record per document: path, group (shared by a base and its
                           variants, null for documents without variants), base, edits, and the
                           variant's jaccard and containment against its base (null for bases)
    truth_pairs.tsv        every expected near-duplicate pair (all pairs within a group): two
                           paths relative to OUT_DIR, tab-separated, sorted

"Near-duplicate" throughout means 5-word shingles (lowercase, words = \\w+) with Jaccard >= 0.6
or containment (of the smaller set in the larger) >= 0.85. The truth stays clean because:

1. Source articles that are near-duplicates of an earlier kept one are dropped first (Reuters
   re-issues stories): an article goes if it shares >= 30% of the smaller shingle set with an
   earlier kept article, found through an inverted index from shingle to articles. Articles with
   fewer than 10 shingles (bare one-line notices) are dropped too.
2. A group (a base and its variants) is built from articles that no other document uses, so a
   variant can only be close to its own group. Group bases have at least 100 shingles. Every
   variant must be a near-duplicate of its base and of the earlier variants of its group, and
   keep at least 60% of its base's shingles (so it is no mere excerpt); failing edits are redrawn,
   fewer and lighter each time, and in the rare dead end the group's variants are redrawn.
3. When the sources are enough, each plain base document also uses articles of its own: nothing
   is shared at all. Otherwise (roughly N > 10,000 for Reuters) articles must be reused, which is
   unavoidable: 100,000 documents of ~1.6 KB are ten times the Reuters text. Then each group base
   is a single article, and every plain base document is 2-3 articles of similar size, each at
   most half of the document's shingles, with at least 50 shingles in all; no two documents share
   more than one article (no pair of articles is used twice), and articles are reused least-used
   first, in rounds. Two plain documents therefore share at most one article that is at most half
   of each: containment ~0.5 and Jaccard ~1/3 at most (plus chance phrases in common), far from
   near-duplicate. Such partial overlaps are common, though; the summary counts them.
4. In heavy mode articles are always reused (100,000 news-length documents are ~25 times the
   Reuters text), under the rules of point 3 with shares of at most 35%; group bases take the
   same kind of composed text. Every variant is still checked against its base and its earlier
   siblings as in point 2.
"""

from __future__ import annotations

import argparse
import bisect
import json
import re
import sys
import textwrap
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain, combinations, pairwise
from pathlib import Path
from random import Random
from typing import Any

import numpy as np

NGRAM = 5
NEAR_JACCARD = 0.6
NEAR_CONTAINMENT = 0.85
# Containment alone would accept a short excerpt (trim plus two dropped sentences of a short
# story); a variant must also keep this share of its base's shingles.
MIN_KEPT = 0.6
SOURCE_DUPLICATE_CONTAINMENT = 0.3
MIN_SOURCE_SHINGLES = 10
# Groups need enough text that trimming or dropping a sentence still leaves a near-duplicate.
MIN_GROUP_SHINGLES = 100
# Without reuse, base documents take 1, 2 or 3 articles with these weights: a mean of 1.8
# Reuters articles (~890 bytes each) gives the ~1.6 KB average document.
ARTICLE_COUNT_WEIGHTS = (0.4, 0.4, 0.2)
# With reuse, most documents pair two articles of near-equal size (a 50/50 split); the rest are
# triples of similar sizes, which also take articles too large to find an equal partner.
TRIPLE_SHARE = 0.2
MAX_SHARE = 0.5
# Tiny reused documents (two dividend notices) can overlap mostly through shared template phrases.
MIN_REUSED_DOCUMENT_SHINGLES = 50
PAIR_SIZE_SLACK = 4  # shingles; the article boundary adds NGRAM - 1 shingles to a document
TRIPLE_SIZE_RANGE = (0.75, 1.33)
PARTNER_TRIES = 16
VARIANT_TRIES = 12
GROUP_TRIES = 10
DOCS_PER_SHARD = 1000

_WORD = re.compile(r"\w+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"']?\s+(?=[\"'(]?[A-Z])")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CURLY = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})
REPORTERS = ("Jane Doe", "Ana Silva", "Kenji Sato", "Priya Nair", "Tom Becker", "Lena Fischer")
EDITORS = ("John Smith", "Maria Rossi", "David Chen", "Sara Jones", "Omar Haddad")
FIXED_BOILERPLATE = (
    "Copyright 2026 Example News. All rights reserved.",
    "Sign up for our morning briefing at example.com/newsletter.",
    "This story has not been edited by Example News staff.",
)
EDIT_ORDER = (
    "trim_end",
    "drop_sentences",
    "insert_sentence",
    "change_figures",
    "swap_quotes",
    "add_boilerplate",
)
# Heavy variants also move sentences, glue boilerplate to paragraphs and reflow lines; reflowing
# comes last so that it also wraps what the other edits added.
HEAVY_EDIT_ORDER = (
    "trim_end",
    "drop_sentences",
    "insert_sentence",
    "move_sentences",
    "change_figures",
    "glue_boilerplate",
    "add_boilerplate",
    "swap_quotes",
    "reflow",
)
DATELINES = ("LONDON", "NEW YORK", "TOKYO", "FRANKFURT", "WASHINGTON", "PARIS", "SYDNEY")
REFLOW_WIDTHS = (60, 80)
LONG_LINE = 100

Edit = dict[str, Any]


def shingle_set(text: str) -> set[int]:
    """Hashes of the 5-word shingles of a text (lowercase \\w+ words).

    Python's hash of the word tuple changes between processes, but only set sizes and
    intersections are used, so the output does not depend on it.
    """
    words = _WORD.findall(text.lower())
    return set(map(hash, zip(*(words[offset:] for offset in range(NGRAM)), strict=False)))


def similarity(left: set[int], right: set[int]) -> tuple[float, float]:
    """Jaccard and containment (shared shingles over the smaller set) of two shingle sets."""
    shared = len(left & right)
    union = len(left) + len(right) - shared
    smaller = min(len(left), len(right))
    return (shared / union if union else 0.0, shared / smaller if smaller else 0.0)


def is_near_duplicate(jaccard: float, containment: float) -> bool:
    return jaccard >= NEAR_JACCARD or containment >= NEAR_CONTAINMENT


@dataclass
class Article:
    name: str
    text: str
    shingles: set[int]

    @property
    def headline(self) -> str:
        return self.text.split("\n", 1)[0].strip()


def load_articles(source_dirs: list[Path]) -> tuple[list[Article], int]:
    """Every *.txt under each source directory in sorted order, and how many were too short to use.

    With several directories, article names start with their directory's name.
    """
    articles = []
    too_short = 0
    for source_dir in source_dirs:
        prefix = f"{source_dir.name}/" if len(source_dirs) > 1 else ""
        for path in sorted(source_dir.rglob("*.txt")):
            text = path.read_text(encoding="utf-8", errors="replace").strip()
            shingles = shingle_set(text)
            if len(shingles) < MIN_SOURCE_SHINGLES:
                too_short += 1
                continue
            articles.append(Article(prefix + path.relative_to(source_dir).as_posix(), text, shingles))
    return articles, too_short


def drop_near_duplicate_sources(articles: list[Article]) -> list[Article]:
    """The articles that share < 30% of the smaller shingle set with every earlier kept article.

    The inverted index is the shingle hashes sorted with their owners: each run of one hash is
    that shingle's posting list, and every pair within a run shares it. Posting lists are short
    (the longest in Reuters has ~600 articles), so counting all sharing pairs is cheap.
    """
    count = len(articles)
    sizes = np.array([len(article.shingles) for article in articles], dtype=np.int64)
    values = np.fromiter(
        chain.from_iterable(article.shingles for article in articles), dtype=np.int64, count=int(sizes.sum())
    )
    owners = np.repeat(np.arange(count, dtype=np.int64), sizes)
    order = np.argsort(values, kind="stable")  # stable: owners stay ascending within a run
    values, owners = values[order], owners[order]
    run_starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    run_lengths = np.diff(np.r_[run_starts, len(values)])
    pair_keys = []
    for length in np.unique(run_lengths[run_lengths > 1]).tolist():
        members = owners[run_starts[run_lengths == length][:, None] + np.arange(length)]
        earlier, later = np.triu_indices(length, 1)
        pair_keys.append(members[:, earlier].ravel() * count + members[:, later].ravel())
    keys, shared = np.unique(np.concatenate(pair_keys or [np.empty(0, np.int64)]), return_counts=True)
    earlier_ids, later_ids = keys // count, keys % count
    containment = shared / np.minimum(sizes[earlier_ids], sizes[later_ids])
    duplicate = containment >= SOURCE_DUPLICATE_CONTAINMENT
    dropped = np.zeros(count, dtype=bool)
    # Sorted by the later article, so an earlier article's fate is settled before it is consulted.
    for later, earlier in sorted(
        zip(later_ids[duplicate].tolist(), earlier_ids[duplicate].tolist(), strict=True)
    ):
        if not dropped[earlier]:
            dropped[later] = True
    return [article for article, gone in zip(articles, dropped.tolist(), strict=True) if not gone]


def split_sentences(text: str) -> list[str]:
    """Sentence-like pieces that join back to the text, each keeping its trailing whitespace."""
    bounds = [0, *(match.end() for match in _SENTENCE_BREAK.finditer(text)), len(text)]
    return [text[start:end] for start, end in pairwise(bounds) if end > start]


class VariantError(RuntimeError):
    """No variant passed the near-duplicate check."""


class VariantMaker:
    """Applies recorded edits to a base text; each edit returns None where it cannot apply."""

    def __init__(self, articles: list[Article], rng: Random, heavy: bool = False) -> None:
        self.articles = articles
        self.rng = rng
        # Heavy variants (the --mode heavy corpus) take more and larger edits, of more kinds.
        self.heavy = heavy
        self.order = HEAVY_EDIT_ORDER if heavy else EDIT_ORDER
        # Light edits (used after failed attempts) trim less, drop and change less, add one line.
        self.light = False

    def other_article(self, exclude: set[int]) -> Article:
        while True:
            index = self.rng.randrange(len(self.articles))
            if index not in exclude:
                return self.articles[index]

    def trim_end(self, text: str, exclude: set[int]) -> tuple[str, Edit] | None:
        cut = text.rfind(" ", 0, int(len(text) * self.rng.uniform(0.85 if self.light else 0.70, 0.90)))
        if cut <= 0:
            return None
        trimmed = text[:cut].rstrip() + "\n"
        return trimmed, {"type": "trim_end", "keep": round(len(trimmed) / len(text), 3)}

    def drop_sentences(self, text: str, exclude: set[int]) -> tuple[str, Edit] | None:
        sentences = split_sentences(text)
        if len(sentences) < 4:
            return None
        # The first piece holds the headline; keep it.
        if self.light:
            count = 1
        elif self.heavy:
            count = self.rng.randint(1, min(4, len(sentences) // 4))
        else:
            count = self.rng.randint(1, 2)
        dropped = set(self.rng.sample(range(1, len(sentences)), count))
        kept = "".join(sentence for index, sentence in enumerate(sentences) if index not in dropped)
        return kept, {"type": "drop_sentences", "count": len(dropped)}

    def insert_sentence(self, text: str, exclude: set[int]) -> tuple[str, Edit] | None:
        sentences = split_sentences(text)
        if len(sentences) < 2:
            return None
        wanted = self.rng.randint(1, 3) if self.heavy and not self.light else 1
        sources = []
        for _ in range(5 * wanted):
            source = self.other_article(exclude)
            candidates = [
                " ".join(sentence.split())
                for sentence in split_sentences(source.text.partition("\n\n")[2])
                if 6 <= len(sentence.split()) <= 60
            ]
            if candidates:
                position = self.rng.randrange(1, len(sentences))
                inserted = self.rng.choice(candidates)
                sentences.insert(position, inserted + " ")
                sources.append(source.name)
                if len(sources) == wanted:
                    break
        if not sources:
            return None
        if not self.heavy:
            return "".join(sentences), {"type": "insert_sentence", "source": sources[0]}
        return "".join(sentences), {"type": "insert_sentence", "count": len(sources), "sources": sources}

    def move_sentences(self, text: str, exclude: set[int]) -> tuple[str, Edit] | None:
        """Moves 1-2 sentences (never the first piece, which holds the headline) elsewhere."""
        sentences = split_sentences(text)
        if len(sentences) < 5:
            return None
        moves = []
        for _ in range(1 if self.light else self.rng.randint(1, 2)):
            origin = self.rng.randrange(1, len(sentences))
            moved = sentences.pop(origin)
            if not moved[-1:].isspace():
                moved += " "
            target = self.rng.randrange(1, len(sentences) + 1)
            while target == origin:
                target = self.rng.randrange(1, len(sentences) + 1)
            sentences.insert(target, moved)
            moves.append([origin, target])
        moved_text = "".join(sentences)
        if not moved_text.endswith("\n"):
            moved_text = moved_text.rstrip() + "\n"
        return moved_text, {"type": "move_sentences", "count": len(moves), "moves": moves}

    def glue_boilerplate(self, text: str, exclude: set[int]) -> tuple[str, Edit] | None:
        """Boilerplate on the same line as article text: a dateline before the first body line,
        a credit or a read-more line after the last words of a paragraph."""
        lines = text.split("\n")
        body = [index for index, line in enumerate(lines) if index > 0 and len(line.split()) >= 6]
        if not body:
            return None
        glued = []
        kinds = ["dateline", "credit", "read_more"]
        for kind in self.rng.sample(kinds, 1 if self.light else self.rng.randint(1, 2)):
            if kind == "dateline":
                index = body[0]
                dateline = f"{self.rng.choice(DATELINES)} (Example News) - "
                lines[index] = dateline + lines[index].lstrip()
                glued.append(dateline.strip())
            else:
                if kind == "credit":
                    line = (
                        f"(Reporting by {self.rng.choice(REPORTERS)}; Editing by {self.rng.choice(EDITORS)})"
                    )
                    index = body[-1]
                else:
                    line = f"Read more: {self.other_article(exclude).headline}"
                    index = self.rng.choice(body)
                lines[index] = lines[index].rstrip() + " " + line
                glued.append(line)
        return "\n".join(lines), {"type": "glue_boilerplate", "lines": glued}

    def reflow(self, text: str, exclude: set[int]) -> tuple[str, Edit] | None:
        """Other line breaks, the same words: long lines are wrapped at 60-80 columns, blocks of
        short (wrapped) lines are joined into one line each. The headline line stays."""
        headline, _, rest = text.partition("\n")
        if not rest.strip():
            return None
        width = self.rng.randint(*REFLOW_WIDTHS)
        blocks = []
        for block in rest.split("\n\n"):
            lines = block.split("\n")
            if any(len(line) > LONG_LINE for line in lines):
                blocks.append(
                    "\n".join(textwrap.fill(line, width) if line.strip() else line for line in lines)
                )
            else:
                blocks.append(" ".join(line.strip() for line in lines if line.strip()))
        reflowed = headline + "\n" + "\n\n".join(blocks)
        if not reflowed.endswith("\n"):
            reflowed += "\n"
        if reflowed == text:
            return None
        return reflowed, {"type": "reflow", "width": width}

    def change_figures(self, text: str, exclude: set[int]) -> tuple[str, Edit] | None:
        numbers = list(_NUMBER.finditer(text))
        if not numbers:
            return None
        most = 5 if self.heavy else 3
        chosen = sorted(
            self.rng.sample(numbers, min(len(numbers), 1 if self.light else self.rng.randint(1, most))),
            key=lambda m: m.start(),
        )
        changes = []
        for match in reversed(chosen):
            old = match.group()
            new = old
            while new == old:
                new = "".join(self.rng.choice("0123456789") if char.isdigit() else char for char in old)
                if len(old) > 1 and old[0] != "0" and new[0] == "0":
                    new = str(self.rng.randint(1, 9)) + new[1:]
            text = text[: match.start()] + new + text[match.end() :]
            changes.append([old, new])
        return text, {"type": "change_figures", "count": len(changes), "changes": changes[::-1]}

    def swap_quotes(self, text: str, exclude: set[int]) -> tuple[str, Edit] | None:
        if any(mark in text for mark in "“”‘’"):
            return text.translate(_CURLY), {"type": "swap_quotes", "to": "straight"}
        if '"' not in text and "'" not in text:
            return None
        pieces = []
        opening = True
        for index, char in enumerate(text):
            if char == '"':
                pieces.append("“" if opening else "”")
                opening = not opening
            elif char == "'":
                # An apostrophe or closing mark follows a word; an opening mark precedes one.
                opens = (index == 0 or not text[index - 1].isalnum()) and text[
                    index + 1 : index + 2
                ].isalnum()
                pieces.append("‘" if opens else "’")
            else:
                pieces.append(char)
        return "".join(pieces), {"type": "swap_quotes", "to": "curly"}

    def add_boilerplate(self, text: str, exclude: set[int]) -> tuple[str, Edit] | None:
        options = [
            f"Read more: {self.other_article(exclude).headline}",
            f"(Reporting by {self.rng.choice(REPORTERS)}; Editing by {self.rng.choice(EDITORS)})",
            *FIXED_BOILERPLATE,
        ]
        lines = self.rng.sample(options, 1 if self.light else self.rng.randint(1, 2))
        return text.rstrip() + "\n\n" + "\n\n".join(lines) + "\n", {"type": "add_boilerplate", "lines": lines}

    def edit(self, text: str, kinds: Iterable[str], exclude: set[int]) -> tuple[str, list[Edit]] | None:
        """The text after the given kinds of edit, in EDIT_ORDER; None if one cannot apply."""
        wanted = set(kinds)
        edits = []
        for kind in self.order:
            if kind in wanted:
                result = getattr(self, kind)(text, exclude)
                if result is None:
                    return None
                text, record = result
                edits.append(record)
        return text, edits

    def make(
        self, base: str, base_shingles: set[int], siblings: list[tuple[str, set[int]]], exclude: set[int]
    ) -> tuple[str, list[Edit], float, float]:
        """A variant that is a near-duplicate of the base and of every earlier sibling.

        Failed attempts are redrawn with fewer and then lighter edits. The last resorts change
        no shingle (quote marks) or only add a few (one boilerplate line), so a variant that is
        as close to every sibling as the base is practically always found.
        """
        last_resorts = [["swap_quotes"]] * 3 + [["add_boilerplate"]] * 10 + [["change_figures"]] * 5
        for attempt in range(VARIANT_TRIES + len(last_resorts)):
            self.light = attempt >= VARIANT_TRIES // 2
            if attempt < VARIANT_TRIES:
                if self.heavy:
                    fewest, most = (3, 6) if attempt < 4 else (2, 4) if attempt < 8 else (1, 2)
                    kinds = self.rng.sample(self.order, self.rng.randint(fewest, most))
                else:
                    most = 3 if attempt < 4 else 2 if attempt < 8 else 1
                    kinds = self.rng.sample(EDIT_ORDER, self.rng.randint(1, most))
            else:
                kinds = last_resorts[attempt - VARIANT_TRIES]
            result = self.edit(base, kinds, exclude)
            if result is None:
                continue
            text, edits = result
            if text == base or any(text == sibling for sibling, _ in siblings):
                continue
            shingles = shingle_set(text)
            jaccard, containment = similarity(base_shingles, shingles)
            kept = len(base_shingles & shingles) / len(base_shingles)
            if (
                kept >= MIN_KEPT
                and is_near_duplicate(jaccard, containment)
                and all(
                    is_near_duplicate(*similarity(sibling_shingles, shingles))
                    for _, sibling_shingles in siblings
                )
            ):
                return text, edits, jaccard, containment
        raise VariantError("no variant passed the near-duplicate check")


def make_group_variants(
    maker: VariantMaker, base: str, count: int, exclude: set[int]
) -> list[tuple[str, list[Edit], float, float]]:
    """Variants that are all near-duplicates of the base and of each other.

    An early variant that is only just near the base can leave no room for a later one; then
    the whole group is redrawn.
    """
    base_shingles = shingle_set(base)
    for _ in range(GROUP_TRIES):
        variants: list[tuple[str, list[Edit], float, float]] = []
        siblings: list[tuple[str, set[int]]] = []
        try:
            for _ in range(count):
                variant = maker.make(base, base_shingles, siblings, exclude)
                siblings.append((variant[0], shingle_set(variant[0])))
                variants.append(variant)
        except VariantError:
            continue
        return variants
    raise VariantError(
        f"could not make {count} near-duplicate variants of a base of {len(base_shingles)} shingles"
    )


class CorpusWriter:
    """Writes documents under random ids (so groups are scattered) and collects their truth."""

    def __init__(self, out_dir: Path, total: int, rng: Random) -> None:
        self.out_dir = out_dir
        self.slots = list(range(total))
        rng.shuffle(self.slots)
        self.id_width = max(6, len(str(total - 1)))
        self.shard_width = max(4, len(str((total - 1) // DOCS_PER_SHARD)))
        self.records: list[dict[str, Any] | None] = [None] * total
        self.written = 0
        self.bytes = 0
        self.words: list[int] = []
        self.shards: set[int] = set()

    def add(
        self,
        text: str,
        group: int | None,
        base: bool,
        edits: list[Edit],
        jaccard: float | None = None,
        containment: float | None = None,
    ) -> str:
        doc_id = self.slots[self.written]
        self.written += 1
        shard = doc_id // DOCS_PER_SHARD
        path = f"docs/{shard:0{self.shard_width}d}/{doc_id:0{self.id_width}d}.txt"
        if shard not in self.shards:
            (self.out_dir / path).parent.mkdir(parents=True, exist_ok=True)
            self.shards.add(shard)
        data = text.encode("utf-8")
        (self.out_dir / path).write_bytes(data)
        self.bytes += len(data)
        self.words.append(len(_WORD.findall(text)))
        self.records[doc_id] = {
            "path": path,
            "group": group,
            "base": base,
            "edits": edits,
            "jaccard": None if jaccard is None else round(jaccard, 4),
            "containment": None if containment is None else round(containment, 4),
        }
        return path


@dataclass
class BalancedComposer:
    """Chooses reused articles for plain base documents so that overlaps stay partial.

    Each document takes a first article plus 1-2 partners of similar size, with every article at
    most MAX_SHARE of the document's shingles, and no pair of articles used twice: so two
    documents share at most one article, and it is at most half of either.
    """

    articles: list[Article]
    pool: list[int]
    rng: Random
    uses: dict[int, int] = field(default_factory=dict)
    used_pairs: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.by_size = sorted(self.pool, key=lambda index: (len(self.articles[index].shingles), index))
        self.sizes = [len(self.articles[index].shingles) for index in self.by_size]
        self.uses = dict.fromkeys(self.pool, 0)

    def pair_key(self, left: int, right: int) -> int:
        return min(left, right) * len(self.articles) + max(left, right)

    def acceptable(self, combo: tuple[int, ...]) -> bool:
        """Whether the document is large enough and no article is more than MAX_SHARE of it."""
        sets = [self.articles[index].shingles for index in combo]
        document_size = len(set().union(*sets)) + (NGRAM - 1) * (len(combo) - 1)
        largest = max(len(shingles) for shingles in sets)
        return document_size >= MIN_REUSED_DOCUMENT_SHINGLES and largest <= MAX_SHARE * document_size

    def compose(self, first: int, round_number: int) -> tuple[int, ...] | None:
        sizes = (3, 2) if self.rng.random() < TRIPLE_SHARE else (2, 3)
        for size in sizes:
            combo = self.try_compose(first, size, round_number)
            if combo is not None:
                for left, right in combinations(combo, 2):
                    self.used_pairs.add(self.pair_key(left, right))
                for index in combo:
                    self.uses[index] += 1
                combo_list = list(combo)
                self.rng.shuffle(combo_list)
                return tuple(combo_list)
        return None

    def try_compose(self, first: int, size: int, round_number: int) -> tuple[int, ...] | None:
        shingles = len(self.articles[first].shingles)
        if size == 2:
            low, high = shingles - PAIR_SIZE_SLACK, shingles + PAIR_SIZE_SLACK
        else:
            low, high = int(shingles * TRIPLE_SIZE_RANGE[0]), int(shingles * TRIPLE_SIZE_RANGE[1]) + 1
        start, stop = bisect.bisect_left(self.sizes, low), bisect.bisect_right(self.sizes, high)
        if stop - start < size:
            return None
        for attempt in range(PARTNER_TRIES):
            # Prefer partners not yet used this round; relax that for the second half of the tries.
            most_uses = round_number + (attempt >= PARTNER_TRIES // 2)
            partners = [self.by_size[self.rng.randrange(start, stop)] for _ in range(size - 1)]
            combo = (first, *partners)
            if len(set(combo)) < size or any(self.uses[partner] > most_uses for partner in partners):
                continue
            if any(self.pair_key(left, right) in self.used_pairs for left, right in combinations(combo, 2)):
                continue
            if self.acceptable(combo):
                return combo
        return None


def join_articles(articles: list[Article], indices: Iterable[int]) -> str:
    return "\n\n".join(articles[index].text for index in indices) + "\n"


def plan_groups(documents: int, duplicate_rate: float, rng: Random) -> list[int]:
    """The number of variants of each group: 1-4 each, about duplicate_rate * documents in all."""
    variants = round(documents * duplicate_rate)
    sizes: list[int] = []
    while sum(sizes) < variants:
        sizes.append(min(rng.randint(1, 4), variants - sum(sizes)))
    if len(sizes) + variants > documents:
        raise SystemExit(f"--duplicate-rate {duplicate_rate} leaves no room for the bases of the variants")
    return sizes


@dataclass
class Summary:
    plain: int = 0
    reuse: bool = False
    reuse_counts: list[int] = field(default_factory=list)
    solo: int = 0


def generate(
    articles: list[Article], writer: CorpusWriter, documents: int, duplicate_rate: float, rng: Random
) -> tuple[list[list[str]], Summary]:
    """Writes all documents; returns the paths of each group and what the summary reports."""
    group_sizes = plan_groups(documents, duplicate_rate, rng)
    plain_count = documents - len(group_sizes) - sum(group_sizes)
    article_counts = rng.choices((1, 2, 3), weights=ARTICLE_COUNT_WEIGHTS, k=len(group_sizes) + plain_count)
    # A group base may take up to two extra articles to reach MIN_GROUP_SHINGLES.
    reuse = sum(article_counts) + 2 * len(group_sizes) > len(articles)
    summary = Summary(plain=plain_count, reuse=reuse)
    fresh = list(range(len(articles)))
    rng.shuffle(fresh)
    next_fresh = 0
    group_articles: list[list[int]] = []
    if reuse:
        # Groups take one large article each and leave the rest for reuse.
        large = [index for index in fresh if len(articles[index].shingles) >= MIN_GROUP_SHINGLES]
        if len(large) < len(group_sizes):
            raise SystemExit(
                f"only {len(large)} source articles are long enough for {len(group_sizes)} groups"
            )
        group_articles = [[index] for index in large[: len(group_sizes)]]
    else:
        for count in article_counts[: len(group_sizes)]:
            chosen = fresh[next_fresh : next_fresh + count]
            next_fresh += count
            while sum(len(articles[i].shingles) for i in chosen) < MIN_GROUP_SHINGLES and len(chosen) < 3:
                chosen.append(fresh[next_fresh])
                next_fresh += 1
            group_articles.append(chosen)

    variant_maker = VariantMaker(articles, rng)
    group_paths = []
    for group, (chosen, variant_count) in enumerate(zip(group_articles, group_sizes, strict=True)):
        base = join_articles(articles, chosen)
        variants = make_group_variants(variant_maker, base, variant_count, set(chosen))
        paths = [writer.add(base, group, True, [])]
        for text, edits, jaccard, containment in variants:
            paths.append(writer.add(text, group, False, edits, jaccard, containment))
        group_paths.append(paths)

    if not reuse:
        for count in article_counts[len(group_sizes) :]:
            writer.add(join_articles(articles, fresh[next_fresh : next_fresh + count]), None, True, [])
            next_fresh += count
        return group_paths, summary

    taken = {index for chosen in group_articles for index in chosen}
    composer = BalancedComposer(
        articles, [index for index in range(len(articles)) if index not in taken], rng
    )
    made = 0
    round_number = 0
    while made < plain_count:
        order = list(composer.pool)
        rng.shuffle(order)
        made_before = made
        for first in order:
            if made == plain_count:
                break
            if composer.uses[first] > round_number:
                continue
            combo = composer.compose(first, round_number)
            if combo is not None:
                writer.add(join_articles(articles, combo), None, True, [])
                made += 1
        if made == made_before:
            raise SystemExit(f"the sources give only {made} plain documents under the reuse rules")
        round_number += 1
    summary.reuse_counts = list(composer.uses.values())
    return group_paths, summary


# Heavy mode: most documents in clusters of 2 to --max-cluster, news-length bases, heavy edits.
# Cluster sizes are drawn with weights 1 / (size - 1) ** 1.5: a mean of 4.4 members up to 20.
CLUSTER_SIZE_EXPONENT = 1.5
# Each article is at most this share of a composed base: two bases share at most one article, so
# at most ~35% of either, and a variant that keeps >= 60% of its base stays far from other bases.
MAX_ARTICLE_SHARE = 0.35
COMPOSE_TRIES = 40
BASE_TRIES = 3


def plan_heavy_groups(documents: int, in_clusters: float, max_cluster: int, rng: Random) -> list[int]:
    """The number of variants of each group (its size minus one), about in_clusters * documents
    documents in groups of 2 to max_cluster."""
    wanted = round(documents * in_clusters)
    sizes = range(2, max_cluster + 1)
    weights = [(size - 1) ** -CLUSTER_SIZE_EXPONENT for size in sizes]
    variant_counts: list[int] = []
    total = 0
    while wanted - total >= 2:
        size = min(rng.choices(sizes, weights)[0], wanted - total)
        variant_counts.append(size - 1)
        total += size
    return variant_counts


@dataclass
class HeavyComposer:
    """Chooses the articles of each news-length base document so that documents stay apart.

    Articles of min_words to max_words stand alone, each in one document only (the OneStopEnglish
    articles, the longest Reuters stories). Shorter ones are combined: random articles, the least
    used first, until the document reaches a length drawn from [min_words, max_words], each
    article at most MAX_ARTICLE_SHARE of it and no pair of articles used twice. Two documents
    therefore share at most one article, at most a third of either. Lengths are counted in
    5-word shingles, about the word count.
    """

    articles: list[Article]
    rng: Random
    min_words: int
    max_words: int
    used_pairs: set[tuple[int, int]] = field(default_factory=set)

    def __post_init__(self) -> None:
        sizes = [len(article.shingles) for article in self.articles]
        self.solo = [index for index, size in enumerate(sizes) if self.min_words <= size <= self.max_words]
        self.rng.shuffle(self.solo)
        solo = set(self.solo)
        cap = MAX_ARTICLE_SHARE * self.max_words
        self.combinable = sorted(
            (index for index, size in enumerate(sizes) if index not in solo and size <= cap),
            key=lambda index: (sizes[index], index),
        )
        self.sizes = [sizes[index] for index in self.combinable]
        self.uses = [0] * len(self.articles)
        self.most_uses = 1
        self.solo_used = 0

    def next_base(self) -> list[int]:
        if self.solo:
            self.solo_used += 1
            index = self.solo.pop()
            self.uses[index] += 1
            return [index]
        return self.compose()

    def compose(self) -> list[int]:
        while True:
            target = self.rng.randint(self.min_words, self.max_words)
            stop = bisect.bisect_right(self.sizes, MAX_ARTICLE_SHARE * target)
            if stop < 3:
                raise SystemExit(
                    f"the sources hold too few short articles to compose {target}-word documents"
                )
            chosen: list[int] = []
            total = misses = 0
            while total < target and misses < COMPOSE_TRIES:
                index = self.combinable[self.rng.randrange(stop)]
                if (
                    self.uses[index] >= self.most_uses
                    or index in chosen
                    or any((min(index, other), max(index, other)) in self.used_pairs for other in chosen)
                ):
                    misses += 1
                    continue
                chosen.append(index)
                total += len(self.articles[index].shingles) + (NGRAM - 1)
            if total >= target:
                for left, right in combinations(sorted(chosen), 2):
                    self.used_pairs.add((left, right))
                for index in chosen:
                    self.uses[index] += 1
                return chosen
            if self.most_uses > 1000:
                raise SystemExit("the sources are too few to compose more documents without repeating a pair")
            self.most_uses += 1


def generate_heavy(
    articles: list[Article],
    writer: CorpusWriter,
    documents: int,
    in_clusters: float,
    max_cluster: int,
    words: tuple[int, int],
    rng: Random,
) -> tuple[list[list[str]], Summary]:
    """Writes all documents of a heavy corpus; returns the paths of each group and the summary."""
    variant_counts = plan_heavy_groups(documents, in_clusters, max_cluster, rng)
    plain_count = documents - sum(count + 1 for count in variant_counts)
    composer = HeavyComposer(articles, rng, *words)
    variant_maker = VariantMaker(articles, rng, heavy=True)
    group_paths = []
    for group, variant_count in enumerate(variant_counts):
        for attempt in range(BASE_TRIES):
            chosen = composer.next_base()
            base = join_articles(articles, chosen)
            try:
                variants = make_group_variants(variant_maker, base, variant_count, set(chosen))
                break
            except VariantError:
                if attempt == BASE_TRIES - 1:
                    raise
                if plain_count > 0:  # a base that failed stays, as a plain document
                    writer.add(base, None, True, [])
                    plain_count -= 1
        paths = [writer.add(base, group, True, [])]
        for text, edits, jaccard, containment in variants:
            paths.append(writer.add(text, group, False, edits, jaccard, containment))
        group_paths.append(paths)
    for _ in range(plain_count):
        writer.add(join_articles(articles, composer.next_base()), None, True, [])
    summary = Summary(plain=plain_count, reuse=True)
    summary.reuse_counts = [uses for uses in composer.uses if uses]
    summary.solo = composer.solo_used
    return group_paths, summary


def write_truth(out_dir: Path, writer: CorpusWriter, group_paths: list[list[str]]) -> int:
    """Writes truth.jsonl and truth_pairs.tsv; returns the number of expected pairs."""
    with (out_dir / "truth.jsonl").open("w", encoding="utf-8") as truth:
        for record in writer.records:
            truth.write(json.dumps(record, ensure_ascii=False) + "\n")
    pairs = sorted(pair for paths in group_paths for pair in combinations(sorted(paths), 2))
    with (out_dir / "truth_pairs.tsv").open("w", encoding="utf-8") as pair_file:
        pair_file.writelines(f"{left}\t{right}\n" for left, right in pairs)
    return len(pairs)


def load_truth_pairs(out_dir: str | Path) -> set[tuple[str, str]]:
    """The expected near-duplicate pairs of a generated corpus, as sorted (path, path) tuples.

    Paths are relative to out_dir ("docs/0000/000123.txt"), as in truth.jsonl.
    """
    pairs = set()
    with (Path(out_dir) / "truth_pairs.tsv").open(encoding="utf-8") as pair_file:
        for line in pair_file:
            if line.strip():
                left, right = line.rstrip("\n").split("\t")
                pairs.add((left, right) if left <= right else (right, left))
    return pairs


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def log(message: str) -> None:
    print(message, file=sys.stderr)


def _words_range(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        bounds = (int(low), int(high))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN-MAX words, e.g. 500-1000, got {text}") from None
    if not 20 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError(f"expected 20 <= MIN <= MAX, got {text}")
    return bounds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "source_dirs",
        type=Path,
        nargs="+",
        metavar="SOURCE_DIR",
        help="directories of source articles (*.txt, searched recursively)",
    )
    parser.add_argument("out_dir", type=Path, help="where docs/, truth.jsonl and truth_pairs.tsv go")
    parser.add_argument("--documents", type=int, required=True, help="number of documents to write")
    parser.add_argument(
        "--mode",
        choices=("easy", "heavy"),
        default="easy",
        help="easy: a few light variants of wire-length bases; heavy: most documents in clusters of "
        "2 to --max-cluster heavily edited news-length copies [default: easy]",
    )
    parser.add_argument(
        "--duplicate-rate",
        type=_fraction,
        default=0.1,
        help="easy mode: share of documents that are variants [default: 0.1]",
    )
    parser.add_argument(
        "--in-clusters",
        type=_fraction,
        default=0.8,
        help="heavy mode: share of documents in clusters (bases and variants) [default: 0.8]",
    )
    parser.add_argument(
        "--max-cluster", type=int, default=20, help="heavy mode: largest cluster [default: 20]"
    )
    parser.add_argument(
        "--words",
        type=_words_range,
        default=(500, 1000),
        metavar="MIN-MAX",
        help="heavy mode: length of the base documents in words [default: 500-1000]",
    )
    parser.add_argument(
        "--seed", type=int, default=7, help="random seed; the same seed gives the same corpus"
    )
    args = parser.parse_args(argv)
    if args.documents < 1:
        parser.error("--documents must be at least 1")
    if args.max_cluster < 2:
        parser.error("--max-cluster must be at least 2")
    if (args.out_dir / "docs").exists() or (args.out_dir / "truth.jsonl").exists():
        parser.error(f"{args.out_dir} already holds a corpus; remove it or choose another OUT_DIR")

    started = time.perf_counter()
    rng = Random(args.seed)
    loaded, too_short = load_articles(args.source_dirs)
    articles = drop_near_duplicate_sources(loaded)
    log(
        f"sources: {len(loaded) + too_short} files, {too_short} dropped as too short "
        f"(< {MIN_SOURCE_SHINGLES} shingles), {len(loaded) - len(articles)} dropped as near-duplicates "
        f"of an earlier article, {len(articles)} used"
    )
    if not articles:
        raise SystemExit("no usable source articles")

    args.out_dir.mkdir(parents=True, exist_ok=True)
    writer = CorpusWriter(args.out_dir, args.documents, rng)
    if args.mode == "heavy":
        group_paths, summary = generate_heavy(
            articles, writer, args.documents, args.in_clusters, args.max_cluster, args.words, rng
        )
    else:
        group_paths, summary = generate(articles, writer, args.documents, args.duplicate_rate, rng)
    pair_count = write_truth(args.out_dir, writer, group_paths)

    variants = sum(len(paths) - 1 for paths in group_paths)
    log(
        f"documents: {writer.written} ({summary.plain} plain bases, {len(group_paths)} group bases, "
        f"{variants} variants)"
    )
    log(f"bytes: {writer.bytes:,} ({writer.bytes / max(writer.written, 1):,.0f} per document)")
    words = sorted(writer.words)
    if words:
        quartiles = [words[len(words) * share // 4] for share in (1, 2, 3)]
        log(
            f"words per document: mean {sum(words) / len(words):,.0f}, quartiles "
            f"{quartiles[0]:,} / {quartiles[1]:,} / {quartiles[2]:,}, "
            f"{sum(1 for count in words if 500 <= count <= 1000) / len(words):.0%} within 500-1,000"
        )
    in_groups = sum(len(paths) for paths in group_paths)
    largest = max((len(paths) for paths in group_paths), default=0)
    log(
        f"groups: {len(group_paths)} ({in_groups} documents, {in_groups / max(writer.written, 1):.0%}; "
        f"largest {largest}), expected pairs: {pair_count}"
    )
    if summary.reuse:
        counts = summary.reuse_counts
        overlapping = sum(count * (count - 1) // 2 for count in counts)
        sharing = "plain-document" if args.mode == "easy" else "base-document"
        log(
            f"reuse: {len(counts)} articles, used {min(counts)}-{max(counts)} times "
            f"(mean {sum(counts) / len(counts):.1f}); {overlapping:,} {sharing} pairs share one "
            f"article (containment <= ~{MAX_SHARE if args.mode == 'easy' else MAX_ARTICLE_SHARE})"
        )
        if args.mode == "heavy":
            log(f"single-article bases: {summary.solo} (each article in that one document only)")
    else:
        log("reuse: none; every source article is in at most one document")
    log(f"seconds: {time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()

"""`storydiff strip`: what boilerplate stripping removes from each file."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from .. import ingest, spill
from ..boilerplate import RepeatedLines
from ..model import (
    RemovedSpan,
    Skipped,
    SourceFile,
    StrippedFile,
)
from ..settings import Settings
from . import batching, corpus_table, second_pass, signing
from .batching import _chunks
from .protocols import Engine, Progress, _NoProgress
from .verifying import verified_components

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def strip_batch(
    sources: Sequence[SourceFile], settings: Settings, repeated: RepeatedLines, keep_text: bool
) -> list[StrippedFile | Skipped]:
    """Strip a batch of files and locate every removed line in its file."""
    results: list[StrippedFile | Skipped] = []
    for item in signing.clean_each(sources, settings, repeated=repeated):
        if isinstance(item, Skipped):
            results.append(item)
            continue
        text = item.document.text
        starts = [0, *(match.end() for match in _LINE_BREAK.finditer(text))]
        ends = [match.start() for match in _LINE_BREAK.finditer(text)] + [len(text)]
        removed = tuple(
            RemovedSpan(
                rule=removal.rule,
                line_number=removal.line_number,
                start=starts[removal.line_number - 1],
                end=ends[removal.line_number - 1],
                text=removal.text,
            )
            for removal in item.removals
        )
        line_count = len(starts) - (1 if len(starts) > 1 and starts[-1] == len(text) else 0)
        results.append(StrippedFile(item.document.path, line_count, removed, text if keep_text else ""))
    return results


def run_strip(
    paths: Sequence[str],
    settings: Settings,
    progress: Progress | None = None,
    engine: Engine | None = None,
    keep_text: bool = True,
) -> Iterator[StrippedFile | Skipped]:
    """Strip every file under `paths`, in path order, as `storydiff cluster` would.

    Repeated lines are found among these files first (signing and clustering them), so the
    view shows them too; that pass is skipped when there are too few files to hold any.
    """
    from ..engines.local import LocalEngine

    progress = progress or _NoProgress()
    if engine is None:
        with LocalEngine(jobs=1) as local:
            yield from run_strip(paths, settings, progress, local, keep_text)
        return

    sources, walk_problems = ingest.discover(paths, settings.glob, settings.exclude)
    yield from walk_problems
    repeated = RepeatedLines(min_words=settings.repeated_min_words, seed=settings.seed)
    if settings.finds_repeated_lines and len(sources) >= settings.repeated_min_documents:
        with spill.spill_directory() as spill_to:
            corpus, _, _ = corpus_table.sign_all(sources, settings, progress, engine, spill_to)
            corpus, components = verified_components(corpus, settings, progress, engine, spill_to=spill_to)
            repeated = second_pass.repeated_lines(corpus, components, settings)
    progress.start("Stripping", len(sources))
    for results in engine.map(
        strip_batch, _chunks(sources, batching.SIGN_BATCH_FILES), settings, repeated, keep_text
    ):
        progress.advance(len(results))
        yield from results

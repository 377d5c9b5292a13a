"""run_cluster: the stages in order, and the store asked for what is already known."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .. import cluster, ingest, spill
from ..boilerplate import RepeatedLines
from ..model import (
    Cluster,
    FileRecord,
    MemberDiff,
    Pair,
    Report,
    Skipped,
)
from ..settings import Settings
from ..store import cache
from ..store.keys import (
    repeated_digest,
    report_key,
    signature_fingerprint,
    stored_pass_key,
)
from ..store.walks import Discovered, discover
from . import corpus_table, diffing, second_pass, verifying
from .corpus_table import Corpus
from .protocols import Engine, Progress, _NoProgress
from .second_pass import _Signed
from .verifying import PassMemo


def run_cluster(
    paths: Sequence[str],
    settings: Settings,
    progress: Progress | None = None,
    engine: Engine | None = None,
    signature_cache: cache.SignatureCache | None = None,
    discovered: Discovered | None = None,
    on_diffed: Callable[[Sequence[MemberDiff]], None] | None = None,
    diffs: bool = True,
) -> Report:
    """Cluster the near-duplicates among the files under `paths` and diff each cluster.

    With a `signature_cache`, unchanged documents are not signed again; the report is the
    same with or without it. `discovered` is what `discover` found under `paths` (and each
    file's stat), if the caller walked them already. `on_diffed` sees each cluster's members
    as soon as they are diffed, while the rest still are (a renderer can start on them).
    Without `diffs`, members carry their similarity to the representative but no word diff
    (`Report.diffed` is False), for the callers that show none.
    """
    from ..engines.local import LocalEngine

    progress = progress or _NoProgress()
    if engine is None:
        with LocalEngine(jobs=1) as local:
            return run_cluster(
                paths, settings, progress, local, signature_cache, discovered, on_diffed, diffs
            )

    if signature_cache is not None:
        signature_cache.prefetch(signature_fingerprint(settings))
    if discovered is None:
        discovered = Discovered(*discover(paths, settings, signature_cache))
    sources, walk_problems = discovered.sources, discovered.problems
    with spill.spill_directory() as spill_to:
        statuses, discovered = discovered.statuses, None  # (the stats go once signed)
        corpus, signing_skipped, totals = corpus_table.sign_all(
            sources,
            settings,
            progress,
            engine,
            spill_to,
            signature_cache,
            keep_signatures=True,
            statuses=statuses,
        )
        del statuses
        first_skipped = [*walk_problems, *signing_skipped]
        memo_key = None
        if diffs and signature_cache is not None and signature_cache.enabled:
            # Keyed on the first pass: the repeated lines follow from the corpus and settings.
            memo_key = report_key(settings, corpus, first_skipped, paths)
            stored = signature_cache.get_report(memo_key)
            if stored is not None:
                return stored

        def verify(
            corpus: Corpus, set_ids: Sequence[str], name: str, earlier: Any = None
        ) -> tuple[Corpus, list[Pair], PassMemo]:
            pass_key = stored_pass_key(settings, paths, name)
            return verifying.verified_pairs(
                corpus, settings, progress, engine, signature_cache, spill_to, set_ids, pass_key, earlier
            )

        set_ids: Sequence[str] = corpus.content_hashes  # each row's exact set, for the cache's pairs
        corpus, verified, memo = verify(corpus, set_ids, "first")
        repeated = RepeatedLines()
        holding = None  # which documents hold one of the repeated lines
        if settings.finds_repeated_lines:
            components = cluster.connected_components(len(corpus.paths), verified)
            repeated = second_pass.repeated_lines(corpus, components, settings)
            if repeated:
                # Documents holding a repeated line are signed again without it (batches the
                # cache kept from an earlier run with the same contents are taken from it).
                holding = second_pass.holding_repeated(corpus, repeated)
                signed = second_pass._strip_repeated(
                    _Signed(corpus, tuple(signing_skipped), totals),
                    repeated,
                    holding,
                    settings,
                    spill_to,
                    engine,
                    progress,
                    signature_cache,
                )
                corpus, totals = signed.corpus, signed.boilerplate
                stripped = f"+{repeated_digest(repeated)}"
                set_ids = [
                    content_hash + stripped if row in signed.resigned else content_hash
                    for row, content_hash in enumerate(corpus.content_hashes)
                ]
                changed = np.zeros(len(corpus.paths), dtype=bool)
                changed[sorted(signed.resigned)] = True
                corpus, verified, _ = verify(corpus, set_ids, "second", (memo, changed))
        clusters, vanished, cluster_keys = diffing._diff_clusters(
            verified,
            corpus,
            settings,
            engine,
            progress,
            repeated,
            signature_cache,
            set_ids,
            spill_to,
            on_diffed,
            holding,
            diffs,
        )
    for row in sorted(corpus.changed_meanwhile):  # compared with an empty set: not to be trusted
        path = corpus.paths[row]
        vanished.setdefault(path, Skipped(path, "changed while storydiff was reading it (run again)"))
    skipped = [*first_skipped, *vanished.values()]
    clustered = {path for item in clusters for path in (member.path for member in item.members)}
    unplaced = _unplaced(clusters, verified, corpus, vanished)
    report = Report(
        settings=settings.as_dict(),
        documents=len(corpus.paths) - len(vanished),
        clusters=tuple(clusters),
        singletons=tuple(
            path
            for path in corpus.paths
            if path not in clustered and path not in vanished and path not in unplaced
        ),
        skipped=tuple(sorted(skipped, key=lambda item: item.path)),
        boilerplate=tuple(sorted(totals.items())),
        inputs=tuple(ingest.display_path(path) for path in paths),
        files=tuple(
            FileRecord(path, corpus.content_hashes[index], int(corpus.sizes[index]))
            for index, path in enumerate(corpus.paths)
            if path not in vanished
        ),
        diffed=diffs,
        unplaced=tuple((path, unplaced[path]) for path in corpus.paths if path in unplaced),
    )
    if (
        memo_key is not None
        and signature_cache is not None
        and not vanished
        and len(cluster_keys) == len(report.clusters)  # (each cluster's diffs are in the cache)
    ):
        signature_cache.put_report(memo_key, report, cluster_keys)
    if signature_cache is not None:
        signature_cache.checkpoint()  # (the run's writes are queued: see checkpoint)
    return report


def _unplaced(
    clusters: Sequence[Cluster], verified: Sequence[Pair], corpus: Corpus, vanished: Mapping[str, Skipped]
) -> dict[str, tuple[int, ...]]:
    """The documents in no cluster that have a verified pair with a cluster's member (star
    clusters take each document once), each with the ids of those clusters, sorted. A
    byte-identical copy of such a document is one too, whatever pairs were verified for it."""
    cluster_of = {member.path: item.id for item in clusters for member in item.members}
    related: dict[str, set[int]] = {}  # by content hash
    for pair in verified:
        left, right = corpus.paths[pair.left], corpus.paths[pair.right]
        if left in vanished or right in vanished:
            continue
        for row, path, other in ((pair.left, left, right), (pair.right, right, left)):
            if path not in cluster_of and other in cluster_of:
                related.setdefault(corpus.content_hashes[row], set()).add(cluster_of[other])
    return {
        path: tuple(sorted(related[content_hash]))
        for path, content_hash in zip(corpus.paths, corpus.content_hashes, strict=True)
        if content_hash in related and path not in cluster_of and path not in vanished
    }

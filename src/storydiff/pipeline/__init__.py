"""The cluster pipeline: files → documents → cleaned text → shingles → signatures →
candidate pairs → verified pairs → clusters → diffs → report.

`orchestrator.run_cluster` wires the stages together and alone asks the store what is
already known. The heavy work is done by three batch functions (`signing.sign_batch`,
`verifying.verify_batch`, `diffing.diff_batch`) that take and return picklable values, so
an engine can run them in this process, in a process pool or on a Dask cluster. An engine
that is a `SignatureKeeper` (the Dask engine) also keeps the signatures out of this process
and runs the candidate stage itself, with the same `cluster` functions. Signing keeps no
text: it spills each document's exact shingle set to a temporary file for verification,
and only the documents that end up in a cluster are read again, for their diffs (and, on a
warm run, those whose pairs were not verified before: the cache keeps no sets).

Boilerplate: every stage reads files through `signing.clean`, with the rules in Settings
and the corpus's repeated lines, so all of them compare the same text. Repeated lines are
found after a first clustering (`second_pass.repeated_lines`); only the documents holding
one are signed again. `stripping.run_strip` shows what stripping removes (`storydiff strip`).

The modules, in the order a run uses them: protocols (what an engine and a progress display
must do), batching (how much work goes in one task), signing, corpus_table (the document
table), verifying, second_pass, diffing, stripping, orchestrator. The names other packages
use are exported here.
"""

from __future__ import annotations

from .batching import DIFF_BATCH_CLUSTERS, DIFF_STORE_CLUSTERS, SIGN_BATCH_FILES, STORE_ROWS
from .corpus_table import Corpus, load_sets, sign_all
from .diffing import DiffTask, diff_batch, diff_files
from .orchestrator import run_cluster
from .protocols import Engine, KeptSignatures, Progress, SignatureKeeper, _NoProgress, set_signatures_aside
from .signing import CacheSpec, clean, clean_each, sign_batch
from .stripping import run_strip
from .verifying import VerifyJob, verified_components, verified_pairs, verify_batch

__all__ = [
    "DIFF_BATCH_CLUSTERS",
    "DIFF_STORE_CLUSTERS",
    "SIGN_BATCH_FILES",
    "STORE_ROWS",
    "CacheSpec",
    "Corpus",
    "DiffTask",
    "Engine",
    "KeptSignatures",
    "Progress",
    "SignatureKeeper",
    "VerifyJob",
    "_NoProgress",
    "clean",
    "clean_each",
    "diff_batch",
    "diff_files",
    "load_sets",
    "run_cluster",
    "run_strip",
    "set_signatures_aside",
    "sign_all",
    "sign_batch",
    "verified_components",
    "verified_pairs",
    "verify_batch",
]

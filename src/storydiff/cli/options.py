"""Options shared by the commands, and the one place that turns them into Settings, a cache
and an engine."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import click

from ..boilerplate import DEFAULT_PACK, PACKS
from ..config import RulesConfig, find_config, load_config
from ..render import Layout, OutputFormat
from ..settings import (
    DEFAULT_CONTAINMENT,
    DEFAULT_CONTEXT_WORDS,
    DEFAULT_MAX_BYTES,
    DEFAULT_NGRAM,
    DEFAULT_NUM_PERM,
    DEFAULT_SEED,
    DEFAULT_THRESHOLD,
    Settings,
)
from ..terminal import CACHE_OPTION_HELP
from ..terminal import default_cache_path as terminal_cache_path
from .io import _chatter

F = TypeVar("F", bound=Callable[..., Any])


# The settings that decide what `storydiff strip` removes, as its JSON reports them.
STRIP_SETTINGS = (
    "glob",
    "exclude",
    "pack",
    "rules",
    "repeated_lines",
    "repeated_min_words",
    "repeated_min_documents",
    "repeated_min_share",
    "repeated_max_document_share",
    "encoding",
    "max_bytes",
)


def _fraction(_ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not 0.0 < value <= 1.0:
        raise click.BadParameter(f"must be greater than 0 and at most 1, got {value}")
    return value


_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def _byte_size(_ctx: click.Context, _param: click.Parameter, value: str | int) -> int:
    """A number of bytes, with an optional binary unit: 500000, 64K, 16M, 1G."""
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"\s*(\d+)\s*([kmg]?)(?:i?b)?\s*", value, re.IGNORECASE)
    if match is None or int(match[1]) == 0:
        raise click.BadParameter(f"expected a size such as 500000, 64K, 16M or 1G, got {value!r}")
    return int(match[1]) * _SIZE_UNITS[match[2].lower()]


def _size_text(size: int) -> str:
    for unit in ("g", "m", "k"):
        if size % _SIZE_UNITS[unit] == 0:
            return f"{size // _SIZE_UNITS[unit]}{unit.upper()}"
    return str(size)


def similarity_options(function: F) -> F:
    """Options that decide what counts as a near-duplicate; shared by every command that compares."""
    options = [
        click.option(
            "--threshold",
            type=float,
            default=DEFAULT_THRESHOLD,
            show_default=True,
            callback=_fraction,
            help="Jaccard similarity of shingle sets at or above which two texts are near-duplicates.",
        ),
        click.option(
            "--containment",
            type=float,
            default=DEFAULT_CONTAINMENT,
            show_default=True,
            callback=_fraction,
            help="Share of the shorter text's shingles found in the longer one at or above which they are "
            "near-duplicates (only for texts of 50 shingles or more).",
        ),
        click.option(
            "--ngram",
            type=click.IntRange(min=1),
            default=DEFAULT_NGRAM,
            show_default=True,
            help="Words per shingle.",
        ),
        click.option(
            "--num-perm",
            type=click.IntRange(min=2, max=4096),
            default=DEFAULT_NUM_PERM,
            show_default=True,
            help="MinHash permutations per signature, up to 4096; at least 4 at --threshold 0.5 "
            "(more for lower thresholds). The LSH bands follow from it.",
        ),
        click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="MinHash seed."),
        click.option(
            "--no-strip", is_flag=True, help="Compare the files as they are, without removing boilerplate."
        ),
    ]
    function = input_options(function)
    for option in reversed(options):
        function = option(function)
    return function


def input_options(function: F) -> F:
    """Which files to read and how to decode them."""
    options = [
        click.option(
            "--glob", default="*.txt", show_default=True, help="Which files to read in directories."
        ),
        click.option(
            "--exclude", multiple=True, metavar="PATTERN", help="Skip files or directories matching this."
        ),
        click.option(
            "--encoding",
            default=None,
            metavar="CODEC",
            help="Encoding to try for files that are not valid UTF-8 (e.g. cp1252); "
            "without it such files are skipped.",
        ),
        click.option(
            "--max-bytes",
            metavar="SIZE",
            default=_size_text(DEFAULT_MAX_BYTES),
            show_default=True,
            callback=_byte_size,
            help="Skip files larger than this, unread (K, M and G are binary units).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def rules_options(function: F) -> F:
    """Which boilerplate rules to strip with."""
    options = [
        click.option(
            "--pack",
            type=click.Choice(sorted(PACKS)),
            default=None,
            help=f"Boilerplate rule pack [default: the configuration's, else {DEFAULT_PACK}].",
        ),
        click.option(
            "--config",
            "config_path",
            type=click.Path(exists=True, dir_okay=False, path_type=str),
            default=None,
            help="Configuration file with boilerplate rules [default: .storydiff.toml or "
            "pyproject.toml with [tool.storydiff], searched upward from the corpus].",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _rules_config(paths: Sequence[str], config_path: str | None) -> RulesConfig:
    """The configuration that applies to a corpus (the defaults if there is none)."""
    found = config_path or find_config(paths)
    return load_config(found) if found else RulesConfig()


def _rules_settings(rules_config: RulesConfig, pack: str | None) -> dict[str, Any]:
    """Settings fields for boilerplate stripping, from the configuration and --pack."""
    return {
        "pack": pack or rules_config.pack,
        "rules": rules_config.resolve(pack),
        "repeated_lines": rules_config.repeated_lines,
        "repeated_min_words": rules_config.repeated_min_words,
        "repeated_min_documents": rules_config.repeated_min_documents,
        "repeated_min_share": rules_config.repeated_min_share,
        "repeated_max_document_share": rules_config.repeated_max_document_share,
    }


def jobs_option(function: F) -> F:
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=1),
        default=None,
        help="Worker processes [default: all cores]. Output does not depend on it.",
    )(function)


def output_options(function: F) -> F:
    """How results are shown; shared by `cluster` and `diff`."""
    options = [
        click.option(
            "--format",
            "output_format",
            type=click.Choice([item.value for item in OutputFormat]),
            default=OutputFormat.TEXT.value,
            show_default=True,
            help="text for reading, json for one document, jsonl for one record per line, "
            "html for a self-contained report.",
        ),
        click.option(
            "--layout",
            type=click.Choice([item.value for item in Layout]),
            default=Layout.INLINE.value,
            show_default=True,
            help="Text output: edits inline, the two versions side by side, or a stat line per member.",
        ),
        click.option(
            "--context",
            type=click.IntRange(min=0),
            default=DEFAULT_CONTEXT_WORDS,
            show_default=True,
            help="Unchanged words shown around each edit in text and HTML output.",
        ),
        click.option(
            "--html",
            "html_path",
            type=click.Path(dir_okay=False, writable=True, path_type=str),
            default=None,
            metavar="PATH",
            help="Also write the HTML report to PATH, whatever --format is.",
        ),
        click.option(
            "--show-stripped",
            is_flag=True,
            help="Show the lines stripping removed in each diff, dimmed, with the rule that removed them.",
        ),
        click.option(
            "--no-pager",
            is_flag=True,
            help="Text output at a terminal: print it all rather than through $STORYDIFF_PAGER, "
            "$PAGER or less.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


CACHE_ENVIRONMENT = "STORYDIFF_CACHE"


CACHE_FILE_NAME = "signatures.sqlite"


def default_cache_path() -> str:
    """$STORYDIFF_CACHE, else signatures.sqlite in the user cache directory (a cache in click's
    application directory, where it used to be, is moved there once)."""
    return terminal_cache_path(click.get_app_dir("storydiff"))


def cache_options(function: F) -> F:
    """--cache and --no-cache, for every command that signs documents."""
    function = click.option(
        "--no-cache", is_flag=True, help="Sign every file again; neither read nor write the signature cache."
    )(function)
    return click.option(
        "--cache",
        "cache_path",
        type=click.Path(dir_okay=False, path_type=str),
        default=None,
        help=CACHE_OPTION_HELP,
    )(function)


def _open_cache(cache_path: str | None, no_cache: bool, errors: Any) -> Any:
    """The signature cache to use, or None; its problems are reported, never fatal."""
    if no_cache:
        return None
    from ..store.cache import SignatureCache

    signature_cache = SignatureCache.open(cache_path or default_cache_path())
    _print_cache_warnings(signature_cache, errors)
    return signature_cache


def _print_cache_warnings(signature_cache: Any, errors: Any) -> None:
    if signature_cache is None:
        return
    for warning in signature_cache.warnings:
        errors.print(f"storydiff: {warning}", markup=False, highlight=False, soft_wrap=True)
    signature_cache.warnings.clear()


# Each command option that sets a Settings field, by its parameter name; --no-strip is `strip`.
_SETTINGS_FIELDS = {
    "glob": "glob",
    "exclude": "exclude",
    "ngram": "ngram",
    "num_perm": "num_perm",
    "seed": "seed",
    "threshold": "threshold",
    "containment": "containment",
    "keep": "keep",
    "encoding": "encoding",
    "max_bytes": "max_bytes",
    "context": "context_words",
    "show_stripped": "show_stripped",
}


def settings_from_options(options: Mapping[str, Any], rules_config: RulesConfig | None = None) -> Settings:
    """The one place a command's options become Settings: every option the command has (its
    click parameters, by name) that sets a field, the stripping switch, and with `rules_config`
    the boilerplate rules (--pack over the configuration's). Options left unset (None) keep
    the Settings default."""
    values = {
        field: options[name]
        for name, field in _SETTINGS_FIELDS.items()
        if name in options and options[name] is not None
    }
    if "no_strip" in options:
        values["strip"] = not options["no_strip"]
    if rules_config is not None:
        values.update(_rules_settings(rules_config, options.get("pack")))
    return _settings(**values)


def _settings(**values: Any) -> Settings:
    try:
        return Settings(**values)
    except ValueError as error:
        raise click.UsageError(str(error)) from None


def _engine(name: str, jobs: int | None, scheduler: str | None, errors: Any) -> Any:
    """The engine `cluster` runs on; the Dask dashboard's address goes to stderr."""
    if name == "dask":
        from ..engines.dask import DaskEngine

        dask_engine = DaskEngine(scheduler=scheduler, workers=jobs)
        if dask_engine.dashboard_link:
            errors.print(
                f"storydiff: Dask dashboard at {dask_engine.dashboard_link}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        return dask_engine
    from ..engines.local import LocalEngine

    return LocalEngine(jobs)


SIMILARITY_OPTIONS = (
    "threshold",
    "containment",
    "ngram",
    "num_perm",
    "seed",
    "no_strip",
    "glob",
    "exclude",
    "encoding",
)


def _say_config(errors: Any, rules_config: RulesConfig, strip: bool) -> None:
    if rules_config.source and strip:
        _chatter(errors, f"storydiff: boilerplate rules from {rules_config.source}", style="dim")


def _check_encoding(encoding: str | None) -> None:
    if encoding is None:
        return
    import codecs

    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        raise click.BadParameter(f"unknown encoding {encoding!r}", param_hint="--encoding") from None
    if not getattr(codec, "_is_text_encoding", True):  # rot13, base64, hex, zlib, uu: not bytes to text
        raise click.BadParameter(
            f"{encoding!r} is not a text encoding (use one such as cp1252 or latin-1)",
            param_hint="--encoding",
        )

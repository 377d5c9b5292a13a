"""`storydiff cache info` and `storydiff cache clear`."""

from __future__ import annotations

import click

from ..terminal import CACHE_OPTION_HELP
from .group import cli
from .io import _stderr_console
from .options import _print_cache_warnings, default_cache_path


@cli.group()
def cache() -> None:
    """Inspect or empty the signature cache.

    \b
    Examples:
      storydiff cache info
      storydiff cache clear --cache /tmp/storydiff.sqlite
    """


@cache.command("info")
@click.option(
    "--cache",
    "cache_path",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help=CACHE_OPTION_HELP,
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for reading, json for scripts.",
)
def cache_info(cache_path: str | None, output_format: str) -> None:
    """Show where the cache is, how big, and how many entries each settings fingerprint has.

    \b
    Example:
      storydiff cache info --format json
    """
    import json

    from ..store.cache import SignatureCache

    errors = _stderr_console()
    with SignatureCache.open(cache_path or default_cache_path()) as signature_cache:
        _print_cache_warnings(signature_cache, errors)
        info = signature_cache.info()
    if output_format == "json":
        click.echo(json.dumps(info, sort_keys=True))
        return
    click.echo(f"path: {info['path']}")
    click.echo(f"size: {info['size_bytes']} bytes")
    click.echo(f"entries: {info['entries']}")
    click.echo(f"stat rows: {info['stat_rows']}")
    fingerprints = info["fingerprints"]
    assert isinstance(fingerprints, dict)
    for fingerprint, count in fingerprints.items():
        click.echo(f"fingerprint {fingerprint}: {count} entries")


@cache.command("clear")
@click.option(
    "--cache",
    "cache_path",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help=CACHE_OPTION_HELP,
)
def cache_clear(cache_path: str | None) -> None:
    """Delete every entry of the signature cache.

    \b
    Example:
      storydiff cache clear
    """
    from ..store.cache import SignatureCache

    errors = _stderr_console()
    with SignatureCache.open(cache_path or default_cache_path()) as signature_cache:
        removed = signature_cache.clear()
        _print_cache_warnings(signature_cache, errors)
        click.echo(f"removed {removed} entries from {signature_cache.path}")

"""`storydiff rules`."""

from __future__ import annotations

import sys

import click

from ..boilerplate import DEFAULT_PACK, PACK_DESCRIPTIONS, PACKS
from ..render import OutputFormat
from .group import cli
from .options import _rules_config, rules_options


@cli.command()
@click.argument("path", required=False, default=".", type=click.Path(path_type=str))
@rules_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice([OutputFormat.TEXT.value, OutputFormat.JSON.value]),
    default=OutputFormat.TEXT.value,
    show_default=True,
    help="text for reading, json for scripts.",
)
def rules(path: str, pack: str | None, config_path: str | None, output_format: str) -> None:
    """List the boilerplate rule packs and their rules, and the rules in use for PATH.

    PATH (default: the current directory) decides which configuration file applies:
    .storydiff.toml, or pyproject.toml with a [tool.storydiff] table, searched upward.

    \b
    Examples:
      storydiff rules
      storydiff rules corpus/ --format json
    """
    from rich.console import Console

    from ..render.json import rule_record
    from ..render.text import RulesInUse, rules_renderable

    rules_config = _rules_config([path], config_path)
    active = rules_config.resolve(pack)
    repeated = (
        f"A line of {rules_config.repeated_min_words} or more words found in"
        f" {rules_config.repeated_min_documents} or more groups of documents and in"
        f" {rules_config.repeated_min_share:.0%} of all groups, where each cluster of near-duplicates"
        " is one group; not taken from a document where such lines hold more than"
        f" {rules_config.repeated_max_document_share:.0%} of the words."
    )
    disabled = list(rules_config.disable)
    if OutputFormat(output_format) is OutputFormat.JSON:
        import json

        document = {
            "default_pack": DEFAULT_PACK,
            "packs": [
                {
                    "name": name,
                    "description": PACK_DESCRIPTIONS[name],
                    "rules": [rule_record(r) for r in rules],
                }
                for name, rules in PACKS.items()
            ],
            "repeated_lines": {
                "enabled": rules_config.repeated_lines,
                "min_words": rules_config.repeated_min_words,
                "min_documents": rules_config.repeated_min_documents,
                "min_share": rules_config.repeated_min_share,
                "max_document_share": rules_config.repeated_max_document_share,
            },
            "config": rules_config.source,
            "pack": pack or rules_config.pack,
            "rules": [rule_record(rule) for rule in active],
            "disabled": disabled,
        }
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return
    packs = [(name, PACK_DESCRIPTIONS[name], rules) for name, rules in PACKS.items()]
    in_use = RulesInUse(
        path=path,
        pack=pack or rules_config.pack,
        rules=active,
        disabled=tuple(disabled),
        repeated_lines=rules_config.repeated_lines,
        config_source=rules_config.source,
    )
    Console(highlight=False, emoji=False).print(rules_renderable(packs, DEFAULT_PACK, repeated, in_use))

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from storydiff.boilerplate import NEWS_RULES
from storydiff.cli import cli


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "250"})
    return result.exit_code, result.stdout, result.stderr


def test_lists_every_pack_and_rule_with_its_description(tmp_path: Path) -> None:
    code, out, _ = run("rules", str(tmp_path))
    assert code == 0
    lines = [line.rstrip() for line in out.splitlines()]
    assert lines[0].startswith("Pack news (default) · News furniture: captions, credits, links")
    words = " ".join(out.split())  # a description with a word limit wraps in its column
    for rule in NEWS_RULES:
        if not rule.max_words:
            assert f"{rule.name:18}{rule.description}" in lines
        assert f"{rule.name} {' '.join(rule.summary.split())}" in words
    assert (
        'copyright Copyright lines: "Copyright 2013 CNN", "© 2013 ..." and "All rights reserved". Only lines '
        "of at most 20 words: a longer line that opens or ends with it is body text and is kept whole."
    ) in words
    assert any(line.startswith("Pack none · Strips nothing.") for line in lines)
    assert (
        "repeated-line  A line of 4 or more words found in 5 or more groups of documents and in 1% of all "
        "groups, where each cluster of near-duplicates is one group; not taken from a document where "
        "such lines hold more than 50% of the words." in lines
    )
    assert lines[-1] == "pack news · no configuration file · 20 rules · repeated-line on"


def test_shows_what_the_configuration_changes(tmp_path: Path) -> None:
    config = tmp_path / ".storydiff.toml"
    config.write_text(
        'disable = ["byline", "repeated-line"]\n\n[[rules]]\nname = "planet-footer"\n'
        "description = \"The Daily Planet's footer.\"\npattern = '^The Daily Planet, Metropolis$'\n"
        'hints = ["^the daily planet"]\n'
    )
    code, out, _ = run("rules", str(tmp_path))
    assert code == 0
    tail = [line.rstrip() for line in out.splitlines()][-4:]
    assert tail == [
        f"pack news · configuration {config} · 20 rules · repeated-line off",
        "planet-footer  The Daily Planet's footer. (added)",
        "byline         disabled",
        "repeated-line  disabled",
    ]
    data = json.loads(run("rules", str(tmp_path), "--format", "json")[1])
    assert data["config"] == str(config) and data["disabled"] == ["byline", "repeated-line"]
    assert data["rules"][-1] == {
        "name": "planet-footer",
        "description": "The Daily Planet's footer.",
        "pattern": "^The Daily Planet, Metropolis$",
        "hints": ["^the daily planet"],
    }
    assert "byline" not in [rule["name"] for rule in data["rules"]]
    assert data["repeated_lines"]["enabled"] is False


def test_json_gives_each_rule_as_a_configuration_would() -> None:
    code, out, _ = run("rules", "--format", "json", "--pack", "none")
    assert code == 0
    data = json.loads(out)
    assert data["default_pack"] == "news" and data["pack"] == "none" and data["rules"] == []
    (news, none) = data["packs"]
    assert none == {"name": "none", "description": "Strips nothing.", "rules": []}
    signoff = next(rule for rule in news["rules"] if rule["name"] == "wire-signoff")
    assert signoff["last-line-only"] is True and "hints" not in signoff
    assert data["repeated_lines"] == {
        "enabled": True,
        "min_words": 4,
        "min_documents": 5,
        "min_share": 0.01,
        "max_document_share": 0.5,
    }


def test_help_has_examples() -> None:
    code, out, _ = run("rules", "--help")
    assert code == 0 and "storydiff rules corpus/ --format json" in out

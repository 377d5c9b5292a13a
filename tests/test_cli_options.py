from __future__ import annotations

import click
import pytest

from storydiff.cli.options import settings_from_options
from storydiff.config import RulesConfig
from storydiff.settings import Settings


def test_options_map_to_settings_fields_and_unset_ones_keep_the_defaults() -> None:
    options = {
        "glob": "*.md",
        "exclude": ("drafts",),
        "no_strip": True,
        "context": 3,
        "keep": None,
        "threshold": 0.7,
        "output_format": "json",
        "html_path": None,
    }
    assert settings_from_options(options) == Settings(
        glob="*.md", exclude=("drafts",), strip=False, context_words=3, threshold=0.7
    )


def test_rules_come_from_the_configuration_and_pack_overrides_it() -> None:
    settings = settings_from_options({"no_strip": False, "pack": "none"}, RulesConfig())
    assert (settings.strip, settings.pack, settings.rules) == (True, "none", ())


def test_an_impossible_combination_is_a_usage_error() -> None:
    with pytest.raises(click.UsageError, match="threshold"):
        settings_from_options({"threshold": 1.5})

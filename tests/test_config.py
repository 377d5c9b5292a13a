from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.conftest import SEED_000, SEED_001, SEEDS

from storydiff import config
from storydiff.boilerplate import NEWS_RULES, Rule
from storydiff.cli import cli
from storydiff.errors import ConfigError
from storydiff.pipeline import batching
from storydiff.settings import Settings

# CNN's section headings in the seeds ("Other ways to help", ...): body by the labelling
# guideline, but a site could choose to strip them, and they make a visible test.
SUBHEAD_RULE = """
name = "cnn-subhead"
description = "CNN's section headings."
pattern = '^(Other ways to help|Several countries offer troops|A cycle of unrest)$'
hints = ["^other ways", "^several countries", "^a cycle"]
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A project directory holding the seeds two levels down, as site/corpus/cnn/."""
    corpus = tmp_path / "site" / "corpus" / "cnn"
    shutil.copytree(SEEDS, corpus)
    return tmp_path / "site"


def removed_rules(out: str) -> dict[str, int]:
    data = json.loads(out)
    counts: dict[str, int] = data["boilerplate"]
    return counts


def test_storydiff_toml_is_found_upward_and_adds_and_disables_rules(site: Path) -> None:
    (site / ".storydiff.toml").write_text(f'disable = ["contributor"]\n\n[[rules]]{SUBHEAD_RULE}')
    corpus = site / "corpus" / "cnn"
    assert config.find_config([str(corpus)]) == str(site / ".storydiff.toml")
    code, out, err = run("strip", str(corpus), "--format", "json")
    assert code == 0, err
    counts = removed_rules(out)
    assert counts["cnn-subhead"] == 6 and "contributor" not in counts
    assert f"storydiff: boilerplate rules from {site / '.storydiff.toml'}" in err


def test_pyproject_tool_table_sets_the_pack(site: Path) -> None:
    (site / "pyproject.toml").write_text(
        '[project]\nname = "newsroom"\n\n[tool.storydiff]\npack = "none"\n\n'
        f"[[tool.storydiff.rules]]{SUBHEAD_RULE}"
    )
    code, out, _ = run("cluster", str(site / "corpus"), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["boilerplate"] == {"cnn-subhead": 6}
    assert data["settings"]["pack"] == "none" and data["settings"]["rules"] == ["cnn-subhead"]
    # --pack overrides the file's pack; the file's own rules still apply.
    assert (
        removed_rules(run("cluster", str(site / "corpus"), "--format", "json", "--pack", "news")[1])[
            "read-more"
        ]
        == 8
    )


def test_pyproject_without_a_tool_table_is_passed_over(site: Path) -> None:
    (site / "corpus" / "pyproject.toml").write_text('[project]\nname = "other"\n')
    (site / ".storydiff.toml").write_text('pack = "none"\n')
    assert config.find_config([str(site / "corpus" / "cnn" / SEED_000)]) == str(site / ".storydiff.toml")


def test_storydiff_toml_wins_over_pyproject_in_one_directory(site: Path) -> None:
    (site / "pyproject.toml").write_text('[tool.storydiff]\npack = "none"\n')
    (site / ".storydiff.toml").write_text('pack = "news"\n')
    assert config.find_config([str(site / "corpus")]) == str(site / ".storydiff.toml")


def test_a_user_rule_replaces_the_pack_rule_of_its_name() -> None:
    replacement = Rule(
        "read-more", "Only 'Read more:' with a colon.", r"^\s*read more:", hints=("^read more",)
    )
    resolved = config.RulesConfig(rules=(replacement,)).resolve()
    assert [rule.name for rule in resolved] == [rule.name for rule in NEWS_RULES]
    assert resolved[[rule.name for rule in resolved].index("read-more")] is replacement


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[rules]]\nname = "broken"\ndescription = "A broken rule."\npattern = \'(unclosed\'\n',
            "{file}: rule 'broken': invalid pattern '(unclosed': "
            "unclosed group (rule patterns use Rust's regex syntax: see docs/rules-syntax.md)",
        ),
        (
            'disable = ["bylines"]\n',
            "{file}: rule 'bylines': cannot disable an unknown rule (see `storydiff rules` for the names)",
        ),
        (
            '[[rules]]\nname = "footer"\ndescription = "A footer."\npattern = "x"\nmin-words = "three"\n',
            "{file}: rule 'footer': 'min-words' must be an integer, got 'three'",
        ),
        (
            '[[rules]]\nname = "footer"\ndescription = "A footer."\npattern = "x"\nhints = "footer"\n',
            "{file}: rule 'footer': 'hints' must be a list, got 'footer'",
        ),
        (
            '[[rules]]\nname = "footer"\ndescription = "A footer."\npatern = "x"\n',
            "{file}: rule 'footer': unknown key 'patern' (expected one of: name, description, pattern, "
            "hints, first-line-only, last-line-only, min-words, max-words, takes-title-above, "
            "block-max-words, end, block-max-lines)",
        ),
        (
            '[[rules]]\nname = "footer"\ndescription = "A footer."\npattern = "x"\nhints = ["Footer"]\n',
            "{file}: rule 'footer': invalid hint 'Footer': hints are non-empty lower-case text on one line",
        ),
        ('[[rules]]\nname = "footer"\npattern = "x"\n', "{file}: rule 'footer': missing 'description'"),
        ('pack = "web"\n', "{file}: unknown rule pack 'web'; choose one of: news, none"),
        ("pack = \n", "{file}: invalid TOML: Invalid value (at line 1, column 8)"),
    ],
)
def test_a_bad_configuration_is_one_line_and_exit_2(site: Path, text: str, message: str) -> None:
    path = site / ".storydiff.toml"
    path.write_text(text)
    code, out, err = run("cluster", str(site / "corpus"))
    assert (code, out) == (2, "")
    assert err == "Error: " + message.format(file=path) + "\n"


def test_a_bad_rule_in_pyproject_names_the_table(site: Path) -> None:
    path = site / "pyproject.toml"
    path.write_text("[tool.storydiff]\npack = 3\n")
    code, _, err = run("strip", str(site / "corpus"))
    assert code == 2 and err == f"Error: {path}: [tool.storydiff]: 'pack' must be a string, got 3\n"


def test_config_option_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(f"[[rules]]{SUBHEAD_RULE}")
    code, out, _ = run("strip", str(SEEDS), "--config", str(path), "--format", "json")
    assert code == 0 and removed_rules(out)["cnn-subhead"] == 6


def test_settings_with_user_rules_survive_pickling() -> None:
    settings = Settings(rules=(*NEWS_RULES, Rule("footer", "A footer.", "^footer$", hints=("^footer",))))
    assert pickle.loads(pickle.dumps(settings)) == settings


def test_user_rules_reach_worker_processes_and_the_diffs(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (site / ".storydiff.toml").write_text(f"[[rules]]{SUBHEAD_RULE}")
    monkeypatch.setattr(batching, "SIGN_BATCH_FILES", 1)  # three batches: the pool is used
    code, out, err = run("cluster", str(site / "corpus"), "--format", "json", "--jobs", "2")
    assert code == 0, err
    data = json.loads(out)
    assert data["boilerplate"]["cnn-subhead"] == 6
    (cluster,) = data["clusters"]
    assert cluster["members"][1]["path"].endswith(SEED_001)
    diff_text = "".join(segment["text"] for segment in cluster["members"][1]["diff"])
    assert "Other ways to help" not in diff_text and "A cycle of unrest" not in diff_text


def test_repeated_line_can_be_disabled_and_tuned(site: Path) -> None:
    (site / ".storydiff.toml").write_text(
        'disable = ["repeated-line"]\n\n[repeated-lines]\nmin-words = 6\nmin-documents = 3\n'
        "min-share = 0.5\nmax-document-share = 0.25\n"
    )
    loaded = config.load_config(str(site / ".storydiff.toml"))
    assert not loaded.repeated_lines
    assert loaded.repeated_min_words == 6 and loaded.repeated_min_documents == 3
    assert loaded.repeated_min_share == 0.5 and loaded.repeated_max_document_share == 0.25


def test_config_errors_are_storydiff_errors(tmp_path: Path) -> None:
    path = tmp_path / ".storydiff.toml"
    path.write_text("[repeated-lines]\nmin-documents = 1\n")
    with pytest.raises(ConfigError, match="need min-words >= 1, min-documents >= 2"):
        config.load_config(str(path))

"""User boilerplate rules run on the core's linear-time regex engine (Rust's `regex` crate)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from storydiff import boilerplate, config
from storydiff.cli import cli

CATASTROPHIC = '[[rules]]\nname = "runs"\ndescription = "a line of a\'s"\npattern = "^(a+)+$"\n'
# Forty-seven a's and a b: Python's backtracking `re` tries 2**47 ways to split the a's.
TRAP = "a" * 47 + "b"


def test_a_catastrophic_user_pattern_finishes_through_the_command_line(tmp_path: Path) -> None:
    (tmp_path / ".storydiff.toml").write_text(CATASTROPHIC, encoding="utf-8")
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "trap.txt").write_text(
        f"The story starts.\n{TRAP}\naaaa\nThe end.\n", encoding="utf-8"
    )
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "storydiff", "strip", "corpus", "--removed-only"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,  # Python's re would run for hours
    )
    elapsed = time.perf_counter() - started
    assert run.returncode == 0, run.stderr
    assert "aaaa" in run.stdout and TRAP not in run.stdout
    assert run.stderr.splitlines()[-1] == "1 file: 1 line removed (runs 1), 0 skipped"
    assert elapsed < 30
    rule = config.load_config(str(tmp_path / ".storydiff.toml")).rules[0]
    started = time.perf_counter()
    assert not rule.regex.search(TRAP * 100)
    assert time.perf_counter() - started < 0.1


def test_unsupported_syntax_is_one_line_naming_the_file_and_rule(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("Share this story\n", encoding="utf-8")
    for pattern, reason in [
        ("^(?=.{0,80}$)Share", "look-around, including look-ahead and look-behind, is not supported"),
        ("(share)\\1", "backreferences are not supported"),
    ]:
        toml = tmp_path / "rules.toml"
        toml.write_text(
            f"[[rules]]\nname = 'share'\ndescription = 'x'\npattern = '{pattern}'\n", encoding="utf-8"
        )
        result = CliRunner().invoke(cli, ["strip", str(tmp_path / "corpus"), "--config", str(toml)])
        assert result.exit_code == 2
        assert result.stderr == (
            f"Error: {toml}: rule 'share': invalid pattern {pattern!r}: {reason}"
            " (rule patterns use Rust's regex syntax: see docs/rules-syntax.md)\n"
        )


def test_user_rules_match_case_insensitively_as_before(tmp_path: Path) -> None:
    toml = tmp_path / ".storydiff.toml"
    toml.write_text(
        '[[rules]]\nname = "promo"\ndescription = "x"\npattern = "^watch (?-i:LIVE)\\\\b"\n', encoding="utf-8"
    )
    rule = config.load_config(str(toml)).rules[0]
    assert rule.engine == "rust"
    assert rule.regex.search("WATCH LIVE: the summit")
    assert not rule.regex.search("Watch live: the summit")  # (?-i:...) keeps its case
    assert not rule.regex.search("stopwatch LIVE")


def test_built_in_packs_keep_pythons_engine() -> None:
    assert {rule.engine for rule in boilerplate.NEWS_RULES} == {"python"}

from __future__ import annotations

import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from storydiff.cli import cli
from storydiff.terminal import COMMAND_ORDER, default_cache_path, user_cache_directory

pytestmark = pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="the Linux cache directory")


def test_the_cache_lives_in_the_user_cache_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert user_cache_directory({}) == str(tmp_path / ".cache" / "storydiff")
    assert user_cache_directory({"XDG_CACHE_HOME": "/var/cache/me"}) == "/var/cache/me/storydiff"
    assert user_cache_directory({"XDG_CACHE_HOME": "relative"}) == str(tmp_path / ".cache" / "storydiff")


def test_storydiff_cache_wins(tmp_path: Path) -> None:
    chosen = str(tmp_path / "mine.sqlite")
    assert default_cache_path(str(tmp_path / "old"), {"STORYDIFF_CACHE": chosen}) == chosen


def test_an_old_cache_is_moved_once(tmp_path: Path) -> None:
    legacy = tmp_path / "config" / "storydiff"
    legacy.mkdir(parents=True)
    (legacy / "signatures.sqlite").write_bytes(b"sqlite")
    (legacy / "signatures.sqlite-wal").write_bytes(b"wal")
    environ = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    path = default_cache_path(str(legacy), environ)
    assert path == str(tmp_path / "cache" / "storydiff" / "signatures.sqlite")
    assert Path(path).read_bytes() == b"sqlite" and Path(path + "-wal").read_bytes() == b"wal"
    assert not (legacy / "signatures.sqlite").exists()
    (legacy / "signatures.sqlite").write_bytes(b"made later")  # an older storydiff ran since
    assert default_cache_path(str(legacy), environ) == path
    assert Path(path).read_bytes() == b"sqlite"  # never overwritten


def test_cache_info_reports_the_cache_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STORYDIFF_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path))
    result = CliRunner().invoke(cli, ["cache", "info"])
    assert result.exit_code == 0
    assert str(tmp_path / "cache" / "storydiff" / "signatures.sqlite") in result.stdout
    chosen = tmp_path / "elsewhere.sqlite"
    result = CliRunner().invoke(cli, ["cache", "info", "--cache", str(chosen)])
    assert str(chosen) in result.stdout


def test_help_lists_cluster_first_with_whole_summaries() -> None:
    result = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    listed = result.stdout.split("Commands:\n", 1)[1]
    names = [line.split()[0] for line in listed.splitlines() if line.startswith("  ") and line[2] != " "]
    assert names == list(COMMAND_ORDER)
    assert "..." not in listed
    assert (
        "Keep one copy of each near-duplicate: write a deduplicated corpus, a manifest, or both."
        in " ".join(listed.split())
    )


def test_every_option_is_described() -> None:
    def commands(
        group: click.Group, prefix: tuple[str, ...] = ()
    ) -> list[tuple[tuple[str, ...], click.Command]]:
        found = []
        for name, command in group.commands.items():
            found.append(((*prefix, name), command))
            if isinstance(command, click.Group):
                found.extend(commands(command, (*prefix, name)))
        return found

    undescribed = [
        (" ".join(path), option.name)
        for path, command in commands(cli)
        for option in command.params
        if isinstance(option, click.Option) and not option.help
    ]
    assert undescribed == []


def test_context_has_one_default_everywhere() -> None:
    defaults = {
        name: next(p.default for p in cli.commands[name].params if p.name == "context")
        for name in ("cluster", "diff", "check")
    }
    assert defaults == {"cluster": 8, "diff": 8, "check": 8}

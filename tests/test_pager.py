from __future__ import annotations

import io
import os
import pty
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from storydiff.render.pager import PagedOutput, paged, pager_command


def test_the_pager_follows_storydiff_pager_then_pager_then_less() -> None:
    assert pager_command({}) == ["less"]
    assert pager_command({"PAGER": "most -s"}) == ["most", "-s"]
    assert pager_command({"PAGER": "most", "STORYDIFF_PAGER": "less -S"}) == ["less", "-S"]
    assert pager_command({"PAGER": "less", "STORYDIFF_PAGER": ""}) is None
    assert pager_command({"PAGER": "cat"}) is None


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_never_when_piped_or_turned_off() -> None:
    piped = io.StringIO()
    assert paged(piped, True, {}) is piped
    terminal = Terminal()
    assert paged(terminal, False, {}) is terminal
    assert paged(terminal, True, {"PAGER": "cat"}) is terminal
    assert isinstance(paged(terminal, True, {}), PagedOutput)


def run_at_a_terminal(arguments: list[str], environ: dict[str, str]) -> bytes:
    """storydiff with its stdout on a pseudo-terminal; what it printed there."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "storydiff", *arguments],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **environ, "COLUMNS": "100", "LINES": "30"},
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed
            break
        if not chunk:
            break
        shown += chunk
    assert process.wait(timeout=120) == 0
    os.close(leader)
    return shown


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals")
def test_text_at_a_terminal_goes_through_the_pager(seeds_dir: Path, tmp_path: Path) -> None:
    received = tmp_path / "paged.txt"
    pager = f"{sys.executable} -c " + shlex.quote(
        f"import sys; open({str(received)!r}, 'wb').write(sys.stdin.buffer.read())"
    )
    shown = run_at_a_terminal(["cluster", str(seeds_dir), "--no-cache"], {"STORYDIFF_PAGER": pager})
    paged_text = received.read_text(encoding="utf-8")
    assert "Cluster 1" in paged_text and "\x1b[" in paged_text  # rendered for the terminal, in colour
    assert paged_text.rstrip().endswith("0 skipped\x1b[0m")
    assert b"Cluster 1" not in shown

    received.unlink()
    shown = run_at_a_terminal(
        ["cluster", str(seeds_dir), "--no-cache", "--no-pager"], {"STORYDIFF_PAGER": pager}
    )
    assert not received.exists() and b"Cluster 1" in shown

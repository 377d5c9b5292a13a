"""What a hostile-input audit found (issue 20), through the command line: real files, FIFOs,
symbolic links and codecs; one line on stderr and exit 2, nothing left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from storydiff.cli import cli

ARTICLE = (
    "Col. Mohammed Yerima, a spokesman for the Nigerian army, told CNN that 190 of its soldiers would "
    "arrive in Mali within 24 hours. France said it has committed about 1,700 troops to the effort, "
    "including about 800 on the ground in Mali. The United Nations said preparations are under way for a "
    "multidisciplinary team to go to Bamako. A Canadian military transport plane departed for Mali on "
    "Tuesday, where it will transport equipment and personnel."
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*args, "--jobs", "1"], env={"COLUMNS": "5000"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout_bytes.decode("utf-8"), result.stderr_bytes.decode("utf-8")


def corpus(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "a.txt").write_text(ARTICLE)
    (root / "b.txt").write_text(ARTICLE.replace("Tuesday", "Wednesday"))
    (root / "c.txt").write_text("An unrelated note about the weather in the hills this week, cold and wet.")
    return root


@pytest.mark.parametrize("codec", ["rot13", "base64", "hex", "zlib", "uu", "bz2"])
def test_an_encoding_that_is_not_a_text_encoding_is_a_usage_error(codec: str, tmp_path: Path) -> None:
    (tmp_path / "latin1.txt").write_bytes(ARTICLE.replace("Mali", "Malí").encode("latin-1"))
    code, out, err = run("cluster", str(tmp_path), "--encoding", codec)
    assert (code, out) == (2, "")
    assert err.endswith(
        f"Error: Invalid value for --encoding: {codec!r} is not a text encoding "
        "(use one such as cp1252 or latin-1)\n"
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            ".storydiff.toml",
            b'pack = "caf\xe9"\n',
            ".storydiff.toml: not UTF-8 (byte 12); TOML files are UTF-8",
        ),
        (
            ".storydiff.toml",
            b"a = " + b"[" * 100_000 + b"]" * 100_000,
            ".storydiff.toml: invalid TOML: nested too deeply",
        ),
        (
            "pyproject.toml",
            b"[tool.storydiff]\npack = 'caf\xe9'\n",
            "{tmp}/pyproject.toml: not UTF-8 (byte 29); TOML files are UTF-8",
        ),
        (
            "pyproject.toml",
            b"[tool.storydiff]\na = " + b"[" * 100_000 + b"]" * 100_000,
            "{tmp}/pyproject.toml: invalid TOML: nested too deeply",
        ),
    ],
)
def test_broken_configuration_files_are_one_line(
    name: str, content: bytes, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    corpus(tmp_path / "corpus")
    (tmp_path / name).write_bytes(content)
    code, out, err = run("cluster", "corpus")
    assert (code, out, err) == (2, "", f"Error: {message.format(tmp=tmp_path)}\n")


@pytest.mark.parametrize(
    "content", [b"[tool.black]\nline = 'caf\xe9'\n", b"a = " + b"[" * 100_000 + b"]" * 100_000]
)
def test_a_broken_pyproject_that_does_not_configure_storydiff_is_not_ours(
    content: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    corpus(tmp_path / "corpus")
    (tmp_path / "pyproject.toml").write_bytes(content)
    code, out, err = run("cluster", "corpus")
    assert (code, err) == (0, "3 documents: 1 cluster holding 2 documents, 1 without a copy, 0 skipped\n")
    assert out.startswith("Cluster 1")
    code, out, err = run("check", "--corpus", "corpus", "corpus/a.txt", "--no-cache")
    assert code == 1 and "near-duplicate of corpus/b.txt" in out


def test_a_baseline_nested_too_deeply(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    corpus(tmp_path / "corpus")
    Path("deep.json").write_bytes(b"[" * 200_000 + b"]" * 200_000)
    code, out, err = run("check", "--corpus", "corpus", "--baseline", "deep.json", "corpus/a.txt")
    assert (code, out) == (2, "")
    assert err == (
        "Error: deep.json: not a storydiff baseline (nested too deeply); run storydiff baseline --update\n"
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_a_baseline_that_is_a_fifo_does_not_block(tmp_path: Path) -> None:
    corpus(tmp_path / "corpus")
    os.mkfifo(tmp_path / "fifo")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "storydiff",
            "check",
            "--corpus",
            "corpus",
            "--baseline",
            "fifo",
            "corpus/a.txt",
        ],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout, result.stderr.decode()) == (
        2,
        b"",
        "Error: fifo: not a regular file (name a baseline file with --baseline)\n",
    )


def test_baseline_update_when_the_baseline_is_a_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    corpus(tmp_path / "corpus")
    Path(".storydiff-baseline.json").mkdir()
    code, out, err = run("baseline", "--corpus", "corpus", "--update", "--no-cache")
    assert (code, out) == (2, "")
    assert err == (
        "Error: .storydiff-baseline.json: not a regular file "
        "(remove it, or name another file with --baseline)\n"
    )
    assert sorted(os.listdir(".")) == [".storydiff-baseline.json", "corpus"]


def linked_corpus(tmp_path: Path) -> Path:
    """corpus/sub holds a near-duplicate pair and one other file."""
    corpus(tmp_path / "corpus" / "sub")
    return tmp_path / "corpus"


@pytest.mark.parametrize("option", ["--out", "--move-dropped-to"])
def test_dedup_does_not_write_into_the_input_through_a_symbolic_link(
    option: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    linked_corpus(tmp_path)
    Path("dest").mkdir()
    os.symlink("../corpus", "dest/sub")  # dest/sub/a.txt would be corpus/a.txt
    code, out, err = run("dedup", "corpus", option, "dest")
    targets = "dest/sub/a.txt, dest/sub/c.txt" if option == "--out" else "dest/sub/b.txt"
    assert (code, out, err) == (
        2,
        "",
        f"Error: refusing to write into the input directory corpus through a symbolic link: {targets}\n",
    )
    assert sorted(os.listdir("corpus")) == ["sub"] and sorted(os.listdir("corpus/sub")) == [
        "a.txt",
        "b.txt",
        "c.txt",
    ]


def test_dedup_does_not_move_files_that_live_outside_the_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    corpus(tmp_path / "elsewhere")
    Path("corpus").mkdir()
    os.symlink("../elsewhere", "corpus/linked")
    code, out, err = run("dedup", "corpus", "--move-dropped-to", "moved")
    assert (code, out, err) == (
        2,
        "",
        "Error: refusing to move files that live outside the input directory corpus (reached through a "
        "symbolic link): corpus/linked/b.txt (use --out to copy the kept files instead)\n",
    )
    assert sorted(os.listdir("elsewhere")) == ["a.txt", "b.txt", "c.txt"]
    assert not Path("moved").exists()


def test_an_interrupted_dedup_out_says_so_and_a_rerun_completes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import storydiff.dedup

    monkeypatch.chdir(tmp_path)
    corpus(tmp_path / "corpus")
    calls = []

    def interrupted_after_one(source: str, target: str) -> None:
        calls.append(target)
        if len(calls) == 2:
            raise KeyboardInterrupt
        shutil.copystat(source, target)

    monkeypatch.setattr(storydiff.dedup.shutil, "copystat", interrupted_after_one)
    code, out, err = run("dedup", "corpus", "--out", "deduped")
    assert (code, out, err) == (
        130,
        "",
        "storydiff: deduped is incomplete; run the same command again to complete it\n"
        "\nstorydiff: interrupted\n",
    )
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    code, out, err = run("dedup", "corpus", "--out", "deduped")
    assert (code, out) == (0, "")
    assert (
        err == "copied 2 files to deduped\n"
        "3 documents in, 2 out: 1 cluster, 1 copy dropped (1 edited), 448 bytes saved\n"
    )
    assert sorted(os.listdir("deduped")) == ["a.txt", "c.txt"]
    for name in ("a.txt", "c.txt"):
        assert Path("deduped", name).read_bytes() == Path("corpus", name).read_bytes()
        assert Path("deduped", name).stat().st_mtime == Path("corpus", name).stat().st_mtime


@pytest.mark.parametrize("num_perm", ["4", "11", "128", "1024", "4096"])
def test_the_seeds_cluster_whatever_the_number_of_permutations(num_perm: str, seeds_dir: Path) -> None:
    code, out, err = run("cluster", str(seeds_dir), "--num-perm", num_perm, "--no-cache", "--format", "json")
    assert code == 0, err
    clusters = [
        [Path(member["path"]).name for member in item["members"]] for item in json.loads(out)["clusters"]
    ]
    assert clusters == [["000_6cbf83f250581d03.txt", "001_f0087190d5a72797.txt"]]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--num-perm", "3"], "num_perm 3 is too few: finding pairs at threshold 0.5 takes at least 4"),
        (
            ["--num-perm", "16", "--threshold", "0.1"],
            "num_perm 16 is too few: finding pairs at threshold 0.1 takes at least 22",
        ),
        (["--num-perm", "4097"], "Invalid value for '--num-perm': 4097 is not in the range 2<=x<=4096."),
    ],
)
def test_too_few_or_too_many_permutations_are_a_usage_error(
    arguments: list[str], message: str, seeds_dir: Path
) -> None:
    code, out, err = run("cluster", str(seeds_dir), *arguments, "--no-cache")
    assert (code, out) == (2, "")
    assert err.endswith(f"\nError: {message}\n")


INVISIBLE = "\u00ad\u034f\u115f\u3164\ufe0f\U0001d173"


@pytest.mark.parametrize("output_format", ["text", "json", "jsonl", "html"])
def test_invisible_characters_are_escaped_in_every_format(output_format: str, tmp_path: Path) -> None:
    corpus(tmp_path)
    (tmp_path / "b.txt").write_text(ARTICLE.replace("Tuesday", f"Tues{INVISIBLE}day"))
    (tmp_path / f"d{INVISIBLE}.txt").write_text(ARTICLE)
    code, out, err = run("cluster", str(tmp_path), "--format", output_format, "--no-cache")
    assert code == 0
    assert not any(character in out + err for character in INVISIBLE)
    if output_format == "text":
        assert "<U+00AD><U+034F><U+115F><U+3164><U+FE0F><U+1D173>" in " ".join(out.split())
    else:
        assert "\\u00ad\\u034f\\u115f\\u3164\\ufe0f\\ud834\\udd73" in out


def test_zeroed_signature_rows_in_the_cache_are_detected_and_recomputed(
    tmp_path: Path, seeds_dir: Path
) -> None:
    import sqlite3

    cache = str(tmp_path / "cache.db")
    code, _, err = run("cluster", str(seeds_dir), "--format", "json", "--cache", cache)
    assert code == 0, err
    with sqlite3.connect(cache) as connection:
        damaged = connection.execute(
            "UPDATE entries SET signature = zeroblob(length(signature)) WHERE rowid IN "
            "(SELECT rowid FROM entries ORDER BY content_hash LIMIT 2)"
        ).rowcount
    assert damaged == 2
    # Another threshold: the stored output and pass do not apply, the signatures do.
    arguments = ["cluster", str(seeds_dir), "--format", "json", "--threshold", "0.45"]
    uncached = run(*arguments, "--no-cache")
    assert run(*arguments, "--cache", cache) == uncached
    assert len(json.loads(uncached[1])["clusters"]) == 1


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="no /dev/null")
def test_a_cache_that_is_dev_null_is_not_used_and_leaves_no_journal(seeds_dir: Path) -> None:
    journal_before = os.path.exists("/dev/null-journal")
    code, out, err = run("cluster", str(seeds_dir), "--cache", "/dev/null")
    assert code == 0 and out.startswith("Cluster 1")
    assert err == (
        "storydiff: /dev/null: not a regular file; running without the signature cache\n"
        "3 documents: 1 cluster holding 2 documents, 1 without a copy, 0 skipped\n"
    )
    assert os.path.exists("/dev/null-journal") == journal_before


def test_unreadable_files_and_directories_named_on_the_command_line_are_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As README's bad-input table says: skipped, and the run goes on, as when they are met in a
    directory. (Real modes; as root, who reads them anyway, the denials are simulated.)"""
    import errno

    corpus(tmp_path / "corpus")
    secret = tmp_path / "secret.txt"
    secret.write_text(ARTICLE)
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.txt").write_text(ARTICLE)
    secret.chmod(0)
    locked.chmod(0)
    if os.access(secret, os.R_OK):
        denied_paths = {str(secret), str(locked)}
        real_access, real_open, real_scandir = os.access, os.open, os.scandir

        def deny(path: object) -> None:
            if str(path) in denied_paths:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

        def access(path: str, mode: int, *args: object, **kwargs: object) -> bool:
            return str(path) not in denied_paths and real_access(path, mode)

        def open_(path: str, *args: object, **kwargs: object) -> int:
            deny(path)
            return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

        def scandir(path: str) -> object:
            deny(path)
            return real_scandir(path)

        monkeypatch.setattr(os, "access", access)
        monkeypatch.setattr(os, "open", open_)
        monkeypatch.setattr(os, "scandir", scandir)
    try:
        code, out, err = run("cluster", str(tmp_path / "corpus"), str(secret), str(locked), "--no-cache")
    finally:
        secret.chmod(0o644)
        locked.chmod(0o755)
    assert code == 0 and out.startswith("Cluster 1")
    assert err == (
        f"storydiff: skipped {locked}: cannot list directory: Permission denied\n"
        f"storydiff: skipped {secret}: cannot read: Permission denied\n"
        "3 documents: 1 cluster holding 2 documents, 1 without a copy, 2 skipped\n"
    )

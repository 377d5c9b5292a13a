"""Ctrl-C and a closed stdout: one line or none, the right exit code, no traceback, nothing left behind."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from storydiff.cli import cli

INTERRUPTED = "\nstorydiff: interrupted\n"
linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")


def generated_corpus(root: Path, stories: int, words: int) -> Path:
    """`stories` random texts, each with a near-duplicate, in directories of 500 files."""
    rng = random.Random(7)
    vocabulary = [f"w{number}" for number in range(3000)]
    for number in range(stories):
        text = " ".join(rng.choice(vocabulary) for _ in range(words)) + "."
        directory = root / f"{number // 250:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{number:05d}a.txt").write_text(text)
        (directory / f"{number:05d}b.txt").write_text(
            text.replace(" w1 ", " changed ").replace(" w2 ", " two ")
        )
    return root


@pytest.mark.parametrize(
    "stage",
    [
        "storydiff.ingest.discover",
        "storydiff.pipeline.signing.sign_batch",
        "storydiff.cluster.candidate_codes",
        "storydiff.cluster.likely_mask",
        "storydiff.pipeline.verifying.verify_batch",
        "storydiff.pipeline.diffing.diff_batch",
        "storydiff.render.json.json_pieces",
    ],
)
def test_ctrl_c_at_any_stage(
    stage: str, seeds_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(stage, interrupted)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = CliRunner().invoke(cli, ["cluster", str(seeds_dir), "--format", "json", "--jobs", "1"])
    assert (result.exit_code, result.stdout, result.stderr) == (130, "", INTERRUPTED)
    assert list(tmp_path.iterdir()) == []  # the spilled shingle sets are gone


def session_processes(session: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == session:
                found.append(int(entry))
    return found


def storydiff(*args: str, **options: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "storydiff", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, **options
    )


@linux_only
@pytest.mark.parametrize(
    ("moment", "processes"),
    [("while the pool starts", 4), ("while the workers sign", 5)],  # parent, tracker, forkserver, workers
)
def test_ctrl_c_during_a_run_with_workers(moment: str, processes: int, tmp_path: Path) -> None:
    """A terminal sends SIGINT to the whole process group: parent, workers and their helpers.

    Afterwards nothing is left running or on disk, and the signature cache the run was
    writing to gives the same report as no cache at all."""
    corpus = generated_corpus(tmp_path / "corpus", 1000, 40)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    arguments = ["cluster", str(corpus), "--format", "json"]
    process = storydiff(
        *arguments,
        "--jobs",
        "2",
        start_new_session=True,  # its own process group, as a terminal's foreground job has
        env={**os.environ, "TMPDIR": str(temporary)},
    )
    try:
        deadline = time.monotonic() + 60
        while len(session_processes(process.pid)) < processes and process.poll() is None:
            assert time.monotonic() < deadline, "the worker processes never started"
            time.sleep(0.001)
        assert process.poll() is None, "the run ended before it could be interrupted"
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert (process.returncode, out, err.decode()) == (130, b"", INTERRUPTED), moment
    while session_processes(process.pid) and time.monotonic() < deadline:
        time.sleep(0.01)  # the forkserver and resource tracker end when they see the parent go
    assert session_processes(process.pid) == []
    assert list(temporary.iterdir()) == []
    if processes == 5:
        cached, uncached = storydiff(*arguments), storydiff(*arguments, "--no-cache")
        assert cached.communicate(timeout=60)[0] == uncached.communicate(timeout=60)[0]
        assert (cached.returncode, uncached.returncode) == (0, 0)


@pytest.fixture(scope="module")
def chatty_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough clusters for more output than a pipe holds in every format (text, the shortest:
    about 150 KB)."""
    return generated_corpus(tmp_path_factory.mktemp("chatty"), 300, 200)


@pytest.mark.parametrize("output_format", ["jsonl", "json", "text"])
def test_a_reader_that_stops_early_ends_the_run_quietly(output_format: str, chatty_corpus: Path) -> None:
    corpus = chatty_corpus
    process = storydiff("cluster", str(corpus), "--jobs", "1", "--format", output_format)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.read(100)  # like `head -c 100`
    process.stdout.close()
    err = process.stderr.read()
    assert (process.wait(timeout=60), err) == (141, b"")
    assert first.startswith(b'{"' if output_format != "text" else b"Cluster 1")


def test_head_in_a_shell_pipeline(chatty_corpus: Path) -> None:
    command = f"'{sys.executable}' -m storydiff cluster '{chatty_corpus}' --jobs 1 --format jsonl | head -1"
    result = subprocess.run(
        ["bash", "-c", command + '; exit "${PIPESTATUS[0]}"'], capture_output=True, timeout=60
    )
    assert (result.returncode, result.stderr) == (141, b"")
    assert result.stdout.startswith(b'{"type":"run"') and result.stdout.count(b"\n") == 1


def descendants(root: int) -> list[int]:
    """The processes below `root`, found through /proc (parent links)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def alive(pids: list[int]) -> list[int]:
    living = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            living.append(pid)
    return living


@linux_only
@pytest.mark.parametrize(
    ("number", "returncode"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGKILL, -9)]
)
def test_a_signal_to_the_main_process_alone_ends_every_process_of_the_run(
    number: int, returncode: int, tmp_path: Path
) -> None:
    """`kill PID` of the main process only, not its group, while the workers sign, with stdout a
    pipe as in `storydiff cluster … | wc -c`: the pipe ends and no process of the run outlives
    the main one by more than a few seconds. SIGTERM and SIGHUP also leave no temporary files
    and say nothing."""
    corpus = generated_corpus(tmp_path / "corpus", 1000, 40)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    process = storydiff(
        "cluster",
        str(corpus),
        "--format",
        "json",
        "--no-cache",
        "--jobs",
        "2",
        start_new_session=True,
        env={**os.environ, "TMPDIR": str(temporary)},
    )
    run: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(descendants(process.pid)) < 4 and process.poll() is None:  # tracker, server, workers
            assert time.monotonic() < deadline, "the worker processes never started"
            time.sleep(0.001)
        assert process.poll() is None, "the run ended before it could be killed"
        run = descendants(process.pid)
        os.kill(process.pid, number)
        started = time.monotonic()
        out, err = process.communicate(timeout=20)  # returns when every holder of the pipe is gone
        ended = time.monotonic() - started
        while alive(run) and time.monotonic() < started + 5:
            time.sleep(0.01)
        assert alive(run) == []
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        for pid in alive(run + descendants(process.pid)):
            os.kill(pid, signal.SIGKILL)
    assert ended < 5
    assert process.returncode == returncode
    if number != signal.SIGKILL:
        assert (out, err) == (b"", b"")
        assert list(temporary.iterdir()) == []


def caught_signals(pid: int) -> set[int]:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            mask = int(line.split()[1], 16)
            return {number for number in range(1, 65) if mask & (1 << (number - 1))}
    return set()


@linux_only
@pytest.mark.parametrize("delay", [0.0, 0.01, 0.03, 0.06, 0.1, 0.15, 0.2, 0.3])
def test_ctrl_c_while_starting(delay: float, tmp_path: Path) -> None:
    """Ctrl-C while Python imports the command line (about half a second), as soon as storydiff's
    own first lines have run (or 0.1 s after Python set up its own Ctrl-C handling): one line,
    exit 130, no traceback."""
    corpus = generated_corpus(
        tmp_path / "corpus", 2000, 40
    )  # still running at 0.3 s, even with the compiled core
    process = storydiff("cluster", str(corpus), "--jobs", "1", "--no-cache")
    try:
        python_ready = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            caught = caught_signals(process.pid)
            if signal.SIGTERM in caught:
                break
            if signal.SIGINT in caught:
                python_ready = python_ready or time.monotonic()
                if time.monotonic() > python_ready + 0.1:
                    break
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert (process.returncode, out, err.decode()) == (130, b"", INTERRUPTED)


@pytest.mark.parametrize(
    "arguments",
    [
        ["cluster", "{seeds}"],
        ["cluster", "{seeds}", "--format", "json", "--cache", "{cache}"],  # the replay
        ["diff", "{seeds}/000_6cbf83f250581d03.txt", "{seeds}/001_f0087190d5a72797.txt"],
        ["strip", "{seeds}"],
        ["rules"],
        ["--help"],
    ],
)
@pytest.mark.parametrize(
    ("redirect", "message"),
    [
        (">&-", "storydiff: stdout is closed (redirect it to a file, or to /dev/null to discard the output)"),
        ("> /dev/full", "storydiff: cannot write the output: No space left on device"),
    ],
)
def test_a_closed_or_failing_stdout_is_one_line(
    arguments: list[str], redirect: str, message: str, seeds_dir: Path, tmp_path: Path
) -> None:
    if redirect == "> /dev/full" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    words = [word.format(seeds=seeds_dir.resolve(), cache=tmp_path / "cache.db") for word in arguments]
    command = " ".join(f"'{word}'" for word in [sys.executable, "-m", "storydiff", *words])
    if "--cache" in arguments:  # a first run fills the cache; the second replays its output
        subprocess.run(["bash", "-c", f"{command} > /dev/null"], check=True, capture_output=True, timeout=60)
    result = subprocess.run(["bash", "-c", f"{command} {redirect}"], capture_output=True, timeout=60)
    assert (result.returncode, result.stderr.decode()) == (2, message + "\n")


def test_ctrl_c_caught_after_leaving_code_run_by_exec(tmp_path: Path, seeds_dir: Path) -> None:
    """Ctrl-C that lands in code run by `exec` of a string (a dataclass or namedtuple being made
    while a module is imported): CPython remembers it as unhandled even though the command line
    caught it, and killed the process with SIGINT at exit (returncode -2) instead of exit 130."""
    (tmp_path / "interrupted_in_exec.py").write_text(
        "import sys\n"
        "import storydiff.entry\n"
        "import storydiff.pipeline.signing\n"
        "def interrupted(*args, **kwargs):\n"
        "    exec('raise KeyboardInterrupt')\n"
        "storydiff.pipeline.signing.sign_batch = interrupted\n"
        f"sys.argv = ['storydiff', 'cluster', {str(seeds_dir.resolve())!r}, '--jobs', '1', '--no-cache']\n"
        "storydiff.entry.main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "interrupted_in_exec"], cwd=tmp_path, capture_output=True, timeout=60
    )
    assert (result.returncode, result.stdout, result.stderr.decode()) == (130, b"", INTERRUPTED)

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tests.conftest import SEED_000, SEED_001, SEED_002

from storydiff.cli import cli
from storydiff.model import Cluster, MemberDiff, Report, Segment
from storydiff.render import RenderOptions
from storydiff.render.html import render_html
from storydiff.render.json import cluster_record

NASTY = "</script><script>alert(1)</script><!-- <img src=x onerror=alert(2)> &amp; \u2028"


def nasty_report(clusters: int = 1) -> Report:
    members = (
        MemberDiff("<b>a</b>.txt", 1.0, 1.0, 0, 0, (), is_representative=True),
        MemberDiff("b.txt", 0.8, 0.9, 9, 0, (Segment("insert", NASTY, (0, 0), (0, len(NASTY))),)),
    )
    return Report(
        {}, 3, tuple(Cluster(n, "<b>a</b>.txt", members) for n in range(1, clusters + 1)), ("<i>c</i>",), ()
    )


def embedded_data(page: str) -> Any:
    blob = re.search(r'<script type="application/json" id="storydiff-data">(.*?)</script>', page, re.DOTALL)
    assert blob is not None
    return json.loads(blob.group(1))


def test_file_text_cannot_escape_into_markup_or_script() -> None:
    report = nasty_report()
    page = render_html(report, RenderOptions())
    assert page.count("<script") == 3 and page.count("</script>") == 3  # settings, data, code
    assert "<b>a</b>" not in page and "&lt;b&gt;a&lt;/b&gt;.txt" in page and "&lt;i&gt;c&lt;/i&gt;" in page
    assert "<img" not in page and "<!--" not in page and "\u2028" not in page  # all inside the JSON, escaped
    assert embedded_data(page)["clusters"] == [cluster_record(cluster) for cluster in report.clusters]


def test_the_page_is_self_contained() -> None:
    page = render_html(nasty_report(), RenderOptions())
    assert not re.search(r"\b(src|href)=[\"']?(https?:|//)", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page  # Content-Security-Policy: no fetch of any kind


def test_thousands_of_clusters_stay_a_list_until_opened() -> None:
    page = render_html(nasty_report(clusters=3000), RenderOptions())
    assert page.count('<details class="cluster"') == 3000
    assert page.count("<table") == 0  # diffs are drawn only when a cluster is opened
    assert len(page) < 3_000_000


# Headless Chromium, driven over the DevTools protocol (websocket-client).

CHROMIUM = shutil.which("chromium")


class DevTools:
    """A minimal Chrome DevTools Protocol session on one page: commands, and the events seen."""

    def __init__(self, websocket_url: str) -> None:
        import websocket

        self.socket = websocket.create_connection(websocket_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return dict(message.get("result", {}))
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(event.get("method") == method for event in self.events):
            assert time.monotonic() < deadline, f"no {method}"
            self.events.append(json.loads(self.socket.recv()))

    def requested_urls(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[DevTools]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (CI installs Debian's chromium package; see .ci/run)")
    process = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--remote-debugging-port=0",
            "--window-size=1280,2000",
            f"--user-data-dir={tmp_path / 'profile'}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            found = re.search(r"DevTools listening on ws://([^/]+)/", line)
            if found:
                break
        else:
            pytest.fail("chromium did not start its DevTools server")
        with urllib.request.urlopen(f"http://{found.group(1)}/json/list", timeout=10) as response:
            page = next(target for target in json.load(response) if target["type"] == "page")
        session = DevTools(page["webSocketDebuggerUrl"])
        session.send("Network.enable")
        session.send("Page.enable")
        yield session
        session.socket.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_seeds_report_in_chromium(seeds_dir: Path, tmp_path: Path, chromium: DevTools) -> None:
    result = CliRunner().invoke(cli, ["cluster", str(seeds_dir), "--format", "html"])
    assert result.exit_code == 0
    report = tmp_path / "seeds.html"
    report.write_text(result.stdout, encoding="utf-8")

    chromium.send("Page.navigate", url=report.as_uri())
    chromium.wait_for("Page.loadEventFired")
    text = chromium.send("Runtime.evaluate", expression="document.body.innerText", returnByValue=True)[
        "result"
    ]["value"]
    flat = " ".join(text.split())
    # The cluster, opened at load (a report of few clusters), and both members' differences.
    assert "#1 2 documents Jaccard 0.71" in flat
    assert str(seeds_dir / SEED_000) in flat and str(seeds_dir / SEED_001) in flat
    assert "Changed figures: 190 → 900 soldiers24 hours → 10 days" in flat
    assert (
        "Col. Mohammed Yerima, a spokesman for the Nigerian army, told CNN that 190" in flat
    )  # the representative's side
    assert "The Nigerian army said it plans to deploy 900 soldiers within 10 days" in flat  # the copy's side
    deleted = chromium.send(
        "Runtime.evaluate",
        expression="[...document.querySelectorAll('del')].map(n => n.textContent).join('|')",
        returnByValue=True,
    )["result"]["value"]
    assert "Col. Mohammed Yerima" in deleted
    assert "1 document without a copy" in flat and SEED_002 not in flat  # the singletons list starts closed

    # No request but the file itself.
    assert chromium.requested_urls() == [report.as_uri()]

    shot = chromium.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    png = base64.b64decode(shot["data"])
    assert png.startswith(b"\x89PNG")
    (tmp_path / "seeds-report.png").write_bytes(png)
    if os.access("/tmp", os.W_OK):
        Path("/tmp/storydiff-seeds-report.png").write_bytes(png)

    # The check above can see requests: a page that fetches something is caught.
    chromium.send("Page.navigate", url="data:text/html,<img src='http://127.0.0.1:9/x.png'>")
    deadline = time.monotonic() + 10
    while "http://127.0.0.1:9/x.png" not in chromium.requested_urls() and time.monotonic() < deadline:
        chromium.events.append(json.loads(chromium.socket.recv()))
    assert "http://127.0.0.1:9/x.png" in chromium.requested_urls()


def test_drawn_clusters_show_hostile_names_as_text_output_does(tmp_path: Path, chromium: DevTools) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    article = (Path("examples/seeds") / SEED_000).read_text(encoding="utf-8")
    (corpus / "a\u202eevil.txt").write_text(article, encoding="utf-8")
    (corpus / "b\x1b[31mred.txt").write_text(article.replace("190", "191"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["cluster", str(corpus), "--format", "html", "--no-cache"])
    assert result.exit_code == 0
    report = tmp_path / "report.html"
    report.write_text(result.stdout, encoding="utf-8")
    chromium.send("Page.navigate", url=report.as_uri())
    chromium.wait_for("Page.loadEventFired")
    text = chromium.send("Runtime.evaluate", expression="document.body.innerText", returnByValue=True)[
        "result"
    ]["value"]
    assert "\u202e" not in text and "\x1b" not in text
    assert text.count(f"{corpus}/a<U+202E>evil.txt") >= 3  # overview row, the note, the table head
    assert f"{corpus}/b<U+001B>[31mred.txt" in text


# A report at corpus scale, in Chromium


def story(number: int) -> str:
    return (
        f"WHEAT STOCKS {number} REPORTED\n"
        f"Stocks of wheat in store number {number} rose to {number * 10} tonnes in the week, the board said, "
        "and traders expected further rises before the harvest ends next month."
    )


def corpus_scale_report(clusters: int) -> Report:
    """`clusters` clusters of three documents each, with kinds and related clusters set."""
    built = []
    for number in range(1, clusters + 1):
        text = story(number)
        edited = text.replace("the board said", "the grain board said")
        members = (
            MemberDiff(f"{number * 3}.txt", 1.0, 1.0, 0, 0, (), is_representative=True),
            MemberDiff(
                f"{number * 3 + 1}.txt",
                1.0,
                1.0,
                0,
                0,
                (Segment("equal", text, (0, len(text)), (0, len(text))),),
                kind="identical",
            ),
            MemberDiff(
                f"{number * 3 + 2}.txt",
                0.9,
                0.95,
                1,
                0,
                (
                    Segment(
                        "equal",
                        text[: text.index("board")],
                        (0, text.index("board")),
                        (0, text.index("board")),
                    ),
                    Segment(
                        "insert",
                        "grain ",
                        (text.index("board"),) * 2,
                        (text.index("board"), text.index("board") + 6),
                    ),
                    Segment(
                        "equal",
                        text[text.index("board") :],
                        (text.index("board"), len(text)),
                        (text.index("board") + 6, len(edited)),
                    ),
                ),
                kind="edited",
            ),
        )
        related = (number + 1,) if number % 2 else ()
        built.append(Cluster(number, members[0].path, members, related=related))
    singletons = tuple(f"{n}.txt" for n in range(100_000, 101_200))
    return Report({}, clusters * 3 + len(singletons), tuple(built), singletons, ())


def evaluate(chromium: DevTools, expression: str) -> Any:
    return chromium.send("Runtime.evaluate", expression=expression, returnByValue=True)["result"]["value"]


def test_a_corpus_scale_report_in_chromium(tmp_path: Path, chromium: DevTools) -> None:
    report = tmp_path / "corpus.html"
    report.write_text(render_html(corpus_scale_report(1_500), RenderOptions()), encoding="utf-8")
    chromium.send("Page.navigate", url=report.as_uri() + "#cluster-900")
    chromium.wait_for("Page.loadEventFired")
    time.sleep(0.5)
    # Plurals and thousands separators.
    summary = evaluate(chromium, "document.querySelector('.summary').textContent")
    assert (
        summary == "5,700 documents: 1,500 clusters holding 4,500 documents, 1,200 without a copy, 0 skipped"
    )
    assert evaluate(chromium, "document.title") == "storydiff: 1,500 clusters in 5,700 documents"
    # #cluster-900 is open, at the top of the window.
    top = evaluate(chromium, "document.getElementById('cluster-900').getBoundingClientRect().top")
    assert abs(top) < 2
    assert evaluate(chromium, "document.getElementById('cluster-900').open") is True
    # A headline per row, the kinds of the copies and the related clusters.
    row = evaluate(chromium, "document.querySelector('#cluster-899 summary').innerText")
    assert (
        "WHEAT STOCKS 899 REPORTED" in row
        and "2 copies: 1 edited, 1 identical · also close to cluster 900" in row
    )
    titles = evaluate(
        chromium,
        "[...document.querySelectorAll('#cluster-900 h3')]"
        ".map(h => h.firstChild.textContent + ' ' + h.querySelector('.kind').textContent)",
    )
    assert titles == ["2701.txt identical", "2702.txt edited"]
    evaluate(chromium, "document.getElementById('cluster-899').open = true")
    time.sleep(0.2)
    assert evaluate(chromium, "document.querySelector('#cluster-899 .related').innerText") == (
        "also close to cluster 900"
    )
    assert evaluate(chromium, "document.querySelector('#cluster-899 .related a').hash") == "#cluster-900"
    # Headings stand over their values: same left edge, column by column.
    edges = evaluate(
        chromium,
        "[document.querySelectorAll('.columns > span'),"
        " document.querySelectorAll('#cluster-1 > summary > span')]"
        ".map(list => [...list].map(node => Math.round(node.getBoundingClientRect().left)))",
    )
    assert edges[0] == edges[1]
    # The legend: true with clusters closed, and with every shown cluster open.
    hint = "document.getElementById('hint').textContent"
    assert "Open a cluster" in evaluate(chromium, hint)
    # The filter matches a headline, the text, and a path.
    matches = (
        "(value => { const f = document.getElementById('filter'); f.value = value;"
        " f.dispatchEvent(new Event('input'));"
        " return [...document.querySelectorAll('details.cluster')].filter(d => !d.hidden).map(d => d.id); })"
    )
    assert evaluate(chromium, matches + "('wheat stocks 77 reported')") == ["cluster-77"]
    assert evaluate(chromium, matches + "('into store number 1234 rose')") == []
    assert evaluate(chromium, matches + "('store number 1234 rose')") == ["cluster-1234"]
    assert evaluate(chromium, matches + "('1501.txt')") == ["cluster-500"]
    evaluate(chromium, "document.getElementById('cluster-500').open = true")
    time.sleep(0.2)
    assert "Each open cluster shows" in evaluate(chromium, hint)
    shot = chromium.send("Page.captureScreenshot", format="png")
    assert base64.b64decode(shot["data"]).startswith(b"\x89PNG")


def test_html_path_says_where_it_wrote(seeds_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["cluster", str(seeds_dir), "--no-cache", "--html", str(target)])
    assert result.exit_code == 0
    assert f"storydiff: wrote the HTML report to {target}\n" in result.stderr
    assert target.read_text(encoding="utf-8").startswith("<!doctype html>")

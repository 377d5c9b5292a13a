"""A self-contained HTML report: one file, inline CSS and JavaScript, nothing fetched.

The page lists every cluster in a line (size, similarity, words changed, changed figures,
representative) and draws a cluster's side-by-side diffs only when it is opened, from the
report's JSON (the documented schema, see render/json.py) embedded once in the page, so a
report of thousands of clusters loads as fast as a list. A Content-Security-Policy forbids
the page any network access.

File text is never written as markup: paths in the overview go through `html.escape`, diff
text reaches the page inside the JSON (with "<", ">" and "&" escaped, so it cannot close the
script element) and is put into the document with `textContent`. The page's source holds no
control or bidirectional characters either (see render.UNSAFE): the JSON escapes them, and
paths in the overview show them as <U+001B>, as in text output, so the file is safe to look at
in a terminal too.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from ..model import Cluster, Report
from ..wording import count, near_duplicate_in
from . import RenderOptions
from .json import SCHEMA_VERSION, cluster_record, escape_unsafe
from .text import (
    KIND_LABELS,
    headline,
    kinds_summary,
    natural_key,
    related_note,
    similarity_range,
    summary_line,
    unplaced_heading,
    visible,
    visible_path,
)

OPEN_AT_LOAD = 5  # reports with at most this many clusters open them all at load

_CSS = """
:root { color-scheme: light dark; --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --bg: #fff;
  --panel: #f6f8fa; --del: #ffebe9; --del-fg: #82071e; --ins: #dafbe1; --ins-fg: #116329;
  --move: #ddf4ff; --move-fg: #0550ae; --fig: #fff8c5; --fig-line: #bf8700; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #8d96a0; --line: #30363d;
  --bg: #0d1117; --panel: #161b22; --del: #5d1a1f; --del-fg: #ffdcd7; --ins: #1a4023; --ins-fg: #aff5b4;
  --move: #0c2d6b; --move-fg: #a5d6ff; --fig: #4b3d00; --fig-line: #d29922; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
header, main { max-width: 1400px; margin: 0 auto; padding: 0 16px; }
header { padding-top: 16px; }
h1 { font-size: 20px; margin: 0 0 4px; }
.summary, .legend, .stats, .note { color: var(--muted); margin: 4px 0; }
.legend span, .legend del, .legend ins, .legend mark { margin-right: 10px; }
input[type=search] { width: 100%; max-width: 560px; padding: 6px 8px; margin: 8px 0 12px;
  border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); font: inherit; }
.cluster, .list { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 8px; background: var(--bg); }
/* Rows out of sight are not laid out: thousands of clusters cost little until scrolled to. */
.cluster:not([open]) { content-visibility: auto; contain-intrinsic-size: auto 60px; }
.cluster { scroll-margin-top: 0; }
/* The column headings and every row share one grid: the same columns, padding and border. */
.cluster > summary, .list > summary, .columns { padding: 8px 12px; display: grid; gap: 12px;
  grid-template-columns: 4em 8.5em 9em 9em 6.5em minmax(0, 1fr); align-items: baseline; }
.cluster > summary, .list > summary { cursor: pointer; }
.cluster > summary { list-style: none; }
.cluster > summary > span { font-variant-numeric: tabular-nums; }
.cluster > summary::-webkit-details-marker { display: none; }
.cluster > summary .story { min-width: 0; display: flex; flex-direction: column; }
.cluster > summary .headline { overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  font-weight: 600; }
.cluster > summary .kinds { color: var(--muted); font-size: 13px; }
.list > summary { display: list-item; }
.cluster[open] > summary { border-bottom: 1px solid var(--line); background: var(--panel); }
.cluster > summary .path { overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  color: var(--muted); font-size: 13px; }
/* The headings' font is smaller, not the grid's: its columns are in em. */
.columns { border: 1px solid transparent; padding-top: 0; padding-bottom: 4px; color: var(--muted);
  margin: 0; }
.columns > span { font-size: 13px; }
.related a { margin-right: 6px; }
.kind { font-size: 12px; border: 1px solid var(--line); border-radius: 8px; padding: 0 6px; margin-left: 6px;
  color: var(--muted); font-weight: normal; }
.num { font-variant-numeric: tabular-nums; }
.plus { color: var(--ins-fg); } .minus { color: var(--del-fg); } .moved { color: var(--move-fg); }
.body { padding: 4px 12px 12px; }
.member { margin: 12px 0 20px; }
.member h3 { font-size: 15px; margin: 0; overflow-wrap: anywhere; }
.figures { margin: 6px 0; }
.figures mark { background: var(--fig); color: inherit; border: 1px solid var(--fig-line);
  border-radius: 4px; padding: 0 4px; margin-right: 6px; white-space: nowrap; }
table.diff { width: 100%; border-collapse: collapse; table-layout: fixed; margin-top: 8px; }
table.diff th { text-align: left; font-weight: 600; padding: 4px 8px; border-bottom: 1px solid var(--line);
  overflow-wrap: anywhere; background: var(--panel); }
table.diff td { vertical-align: top; padding: 4px 8px; border-bottom: 1px solid var(--line);
  white-space: pre-wrap; overflow-wrap: anywhere; }
table.diff td + td, table.diff th + th { border-left: 1px solid var(--line); }
del { background: var(--del); color: var(--del-fg); text-decoration: line-through;
  text-decoration-thickness: 1px; }
ins { background: var(--ins); color: var(--ins-fg); text-decoration: none; }
.move { background: var(--move); color: var(--move-fg); border-radius: 3px; }
.tag { font-size: 12px; font-style: italic; color: var(--move-fg); border: 1px solid currentColor;
  border-radius: 8px; padding: 0 5px; margin: 0 3px; text-decoration: none; white-space: nowrap; }
mark.figure { background: none; color: inherit; outline: 2px solid var(--fig-line); border-radius: 2px; }
button.gap { font: inherit; font-size: 13px; color: var(--muted); background: var(--panel);
  border: 1px dashed var(--line); border-radius: 4px; padding: 0 8px; cursor: pointer; }
ul.paths { margin: 0; padding: 4px 12px 12px 32px; }
@media (max-width: 800px) {
  .cluster > summary, .columns { grid-template-columns: 4em 8.5em minmax(0, 1fr); }
  .cluster > summary > span:nth-child(n+3):nth-child(-n+5), .columns .wide { display: none; }
}
"""

# The page's one script: it reads the embedded JSON, and draws a cluster when it is opened.
_SCRIPT = r"""
"use strict";
(function () {
  // The report's JSON is parsed when first needed: a page of thousands of clusters shows its
  // list before reading the diffs of any of them.
  let parsed = null;
  const data = () => parsed || (parsed = JSON.parse(document.getElementById("storydiff-data").textContent));
  const settings = JSON.parse(document.getElementById("storydiff-settings").textContent);
  const TOKEN = /\s+|[\p{L}\p{N}\p{M}_]+(?:['’][\p{L}\p{N}\p{M}_]+)*|\.{2,}|[^\p{L}\p{N}\p{M}_\s]/gu;
  const WORD = /^[\p{L}\p{N}_]/u;
  const PREVIEW = 6;
  const MIN_HIDDEN = 12;
  const KIND_LABELS = settings.kind_labels;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function tokens(text) { return text.match(TOKEN) || []; }
  function firstLineWords(list) {
    let words = 0;
    for (const token of list) {
      if (token.includes("\n") && words) return words;
      if (WORD.test(token)) words++;
    }
    return 0;
  }
  function wordCount(list) { let n = 0; for (const t of list) if (WORD.test(t)) n++; return n; }
  function takeWords(list, count) {
    let seen = 0;
    for (let i = 0; i < list.length; i++) {
      if (WORD.test(list[i])) { if (seen === count) return i; seen++; }
    }
    return list.length;
  }

  // Text into `parent`, with the parts inside `marks` ([start, end) in code points of the
  // whole text, `start` being where `text` begins) wrapped in <mark class="figure">.
  function appendText(parent, text, start, marks) {
    // text.length counts UTF-16 units, never fewer than the code points: a safe bound.
    const inside = marks.filter(m => m[0] < start + text.length && m[1] > start);
    if (!inside.length) { parent.appendChild(document.createTextNode(text)); return; }
    const chars = Array.from(text);
    let at = 0;
    for (const [from, to] of inside) {
      const a = Math.max(0, from - start), b = Math.min(chars.length, to - start);
      if (b <= a || a < at) continue;
      if (a > at) parent.appendChild(document.createTextNode(chars.slice(at, a).join("")));
      parent.appendChild(el("mark", "figure", chars.slice(a, b).join("")));
      at = b;
    }
    if (at < chars.length) parent.appendChild(document.createTextNode(chars.slice(at).join("")));
  }

  // Where each move came from: segment index -> moves whose old place lies just before it.
  function moveOrigins(segments) {
    const origins = new Map();
    segments.forEach((segment, index) => {
      if (segment.op !== "move") return;
      let place = segments.length;
      for (let i = 0; i < segments.length; i++) {
        const other = segments[i];
        const holdsOld = other.op === "equal" || other.op === "delete";
        if (holdsOld && other.a[0] >= segment.a[1]) { place = i; break; }
      }
      if (!origins.has(place)) origins.set(place, []);
      origins.get(place).push(index);
    });
    return origins;
  }

  function preview(text) {
    const list = tokens(text.trim());
    const cut = takeWords(list, PREVIEW);
    return list.slice(0, cut).join("").trimEnd() + (cut < list.length ? "…" : "");
  }

  function diffTable(member, representative, context, prefix) {
    const segments = member.diff;
    const oldMarks = member.changed_figures.map(f => f.a);
    const newMarks = member.changed_figures.map(f => f.b);
    const origins = moveOrigins(segments);
    const numbers = new Map(), place = new Map();
    [...origins.values()].flat().sort((x, y) => x - y).forEach((index, n) => numbers.set(index, n + 1));
    for (const [at, list] of origins) for (const index of list) place.set(index, at);

    const table = el("table", "diff");
    const head = table.createTHead().insertRow();
    head.appendChild(el("th", "", representative));
    head.appendChild(el("th", "", member.shown_path ?? member.path));
    const body = table.createTBody();

    // Rows of two cells: the representative's text on the left, the member's on the right.
    function rows(target) {
      const out = { left: el("td"), right: el("td") };
      out.finish = () => {
        if (out.left.textContent.trim() || out.right.textContent.trim()) {
          const row = el("tr");
          row.appendChild(out.left); row.appendChild(out.right);
          target.appendChild(row);
        }
        out.left = el("td"); out.right = el("td");
      };
      return out;
    }
    const main = rows(body);
    // Unchanged text, a row per paragraph; both sides have the same paragraphs unless only
    // the spacing differs.
    function same(into, oldText, newText, oldStart, newStart) {
      const oldLines = oldText.split("\n"), newLines = newText.split("\n");
      if (oldLines.length !== newLines.length) {
        // The texts break lines in different places: each side keeps its own breaks.
        appendText(into.left, oldText, oldStart, oldMarks);
        appendText(into.right, newText, newStart, newMarks);
        return;
      }
      oldLines.forEach((line, i) => {
        if (i) { into.finish(); oldStart += 1; newStart += 1; }
        appendText(into.left, line, oldStart, oldMarks);
        appendText(into.right, newLines[i], newStart, newMarks);
        oldStart += Array.from(line).length; newStart += Array.from(newLines[i]).length;
      });
    }
    // Hidden unchanged words: a row with a button that puts them back.
    function gap(hidden, oldText, newText, oldStart, newStart) {
      main.finish();
      const row = body.insertRow();
      const cell = row.insertCell();
      cell.colSpan = 2;
      const button = el("button", "gap", `⋯ ${hidden} unchanged words ⋯`);
      button.type = "button";
      button.title = "Show them";
      cell.appendChild(button);
      button.addEventListener("click", () => {
        const shown = document.createDocumentFragment();
        const into = rows(shown);
        same(into, oldText, newText, oldStart, newStart);
        into.finish();
        row.replaceWith(shown);
      });
    }
    function equal(segment, index) {
      const oldText = segment.text, newText = segment.b_text ?? segment.text;
      const oldList = tokens(oldText), newList = tokens(newText);
      const words = wordCount(oldList);
      // A text's first line (a headline, mostly) is never hidden: it says which story this is.
      const head = index === 0 ? firstLineWords(oldList) : context;
      const tail = index === segments.length - 1 ? 0 : context;
      // A gap takes a row: hide only runs long enough to be worth one.
      if (words < head + tail + MIN_HIDDEN) {
        same(main, oldText, newText, segment.a[0], segment.b[0]);
        return;
      }
      const length = text => Array.from(text).length;
      const tailStart = list => {
        if (!tail) return list.length;
        let start = list.length - takeWords([...list].reverse(), tail);
        while (start < list.length && !WORD.test(list[start])) start++;
        return start;
      };
      const oldCut = [takeWords(oldList, head), tailStart(oldList)];
      const newCut = [takeWords(newList, head), tailStart(newList)];
      const part = (list, from, to) => list.slice(from, to).join("");
      const oldHead = part(oldList, 0, oldCut[0]), newHead = part(newList, 0, newCut[0]);
      const oldTail = part(oldList, oldCut[1]), newTail = part(newList, newCut[1]);
      if (head) same(main, oldHead, newHead, segment.a[0], segment.b[0]);
      gap(words - head - tail, part(oldList, oldCut[0], oldCut[1]), part(newList, newCut[0], newCut[1]),
        segment.a[0] + length(oldHead), segment.b[0] + length(newHead));
      if (tail) same(main, oldTail, newTail, segment.a[1] - length(oldTail), segment.b[1] - length(newTail));
    }
    function tag(text, id, href) {
      const link = el("a", "tag", text);
      link.id = id; link.href = "#" + href;
      return link;
    }
    // The same label at both ends of a move: the way it went, and its number.
    const label = (n, up) => `moved ${up ? "up" : "down"} #${n}`;
    function origin(index, here) {
      const n = numbers.get(index), up = index < here;
      const span = el("span", "move");
      span.appendChild(tag(label(n, up), `${prefix}-from-${n}`, `${prefix}-to-${n}`));
      span.appendChild(document.createTextNode(`“${preview(segments[index].text)}”`));
      span.title = "This passage moved " + (up ? "up" : "down") + "; the link goes to its new place";
      main.left.appendChild(span);
      if (segments[index].text.endsWith("\n")) main.finish();  // it was a paragraph of its own
    }
    segments.forEach((segment, index) => {
      for (const moved of origins.get(index) || []) origin(moved, index);
      if (segment.op === "equal") equal(segment, index);
      else if (segment.op === "delete") {
        if (!segment.text.trim()) return;
        const node = el("del");
        appendText(node, segment.text, segment.a[0], oldMarks);
        main.left.appendChild(node);
      } else if (segment.op === "insert") {
        if (!segment.text.trim()) { main.right.appendChild(document.createTextNode(segment.text)); return; }
        const node = el("ins");
        appendText(node, segment.text, segment.b[0], newMarks);
        main.right.appendChild(node);
      } else {
        const n = numbers.get(index), up = place.get(index) > index;
        const span = el("span", "move");
        span.title = "This passage moved " + (up ? "up" : "down") + "; the link goes to its old place";
        span.appendChild(tag(label(n, up), `${prefix}-to-${n}`, `${prefix}-from-${n}`));
        appendText(span, (segment.b_text ?? segment.text).trimEnd(), segment.b[0], newMarks);
        main.right.appendChild(span);
        if ((segment.b_text ?? segment.text).endsWith("\n")) main.finish();
      }
    });
    for (const moved of origins.get(segments.length) || []) origin(moved, segments.length);
    main.finish();
    return table;
  }

  function memberView(member, representative, context, prefix) {
    const view = el("article", "member");
    const title = el("h3", "", member.shown_path ?? member.path);
    if (member.kind) title.appendChild(el("span", "kind", KIND_LABELS[member.kind] || member.kind));
    view.appendChild(title);
    const stats = el("p", "stats num",
      `Jaccard ${member.jaccard.toFixed(2)} · containment ${member.containment.toFixed(2)} · ` +
      `+${member.added_words} / −${member.removed_words} words` +
      (member.moved_words ? ` · ${member.moved_words} moved` : "") +
      (member.kind ? ` · ${member.kind}` : ""));
    view.appendChild(stats);
    if (member.changed_figures.length) {
      const figures = el("p", "figures", "Changed figures: ");
      for (const figure of member.changed_figures) figures.appendChild(el("mark", "", figure.label));
      view.appendChild(figures);
    }
    if (!member.diff.some(segment => segment.op !== "equal")) {
      view.appendChild(el("p", "note", "(same text after normalisation)"));
    } else {
      view.appendChild(diffTable(member, representative, context, prefix));
    }
    return view;
  }

  function draw(details) {
    const body = details.querySelector(".body");
    if (body.dataset.drawn) return;
    body.dataset.drawn = "1";
    const cluster = data().clusters[Number(details.dataset.index)];
    if (settings.kind !== "pair") {
      const shown = cluster.shown_representative ?? cluster.representative;
      body.appendChild(el("p", "note", "representative: " + shown));
      if (cluster.related && cluster.related.length) {
        const several = cluster.related.length > 1;
        const note = el("p", "note related", `also close to cluster${several ? "s" : ""} `);
        for (const id of cluster.related) {
          const link = el("a", "", String(id));
          link.href = "#cluster-" + id;
          note.appendChild(link);
        }
        body.appendChild(note);
      }
    }
    if (cluster.related && cluster.related.length) {
      body.appendChild(el("p", "note", "near-duplicates also in clusters: " + cluster.related.join(", ")));
    }
    cluster.members.forEach((member, i) => {
      if (i === 0) return;
      const representative = cluster.shown_representative ?? cluster.representative;
      body.appendChild(memberView(member, representative, settings.context, `c${cluster.id}-m${i}`));
    });
  }

  const all = [...document.querySelectorAll("details.cluster")];
  // The legend's hint says what the reader can do now: open a cluster, or read the open ones.
  const hint = document.getElementById("hint");
  function updateHint() {
    if (!hint) return;
    const closed = all.filter(details => !details.open && !details.hidden).length;
    hint.textContent = closed
      ? " Open a cluster to see how each copy differs from its representative."
      : " Each open cluster shows how its copies differ from its representative.";
  }
  for (const details of all) details.addEventListener("toggle", () => {
    if (details.open) draw(details);
    updateHint();
  });
  function openFromHash() {
    const target = location.hash && document.getElementById(location.hash.slice(1));
    const details = target && target.closest("details.cluster");
    if (!details) return;
    details.open = true; draw(details);
    // Rows above are laid out lazily (content-visibility): scroll again once they have been,
    // so that the cluster ends at the top of the window, not below a blank band.
    target.scrollIntoView({ block: "start" });
    requestAnimationFrame(() => requestAnimationFrame(() => target.scrollIntoView({ block: "start" })));
  }
  if (all.length <= settings.open_at_load) for (const details of all) { details.open = true; draw(details); }
  openFromHash();
  updateHint();
  window.addEventListener("hashchange", openFromHash);

  const filter = document.getElementById("filter");
  // What the filter searches in a cluster: its headline, every member's path and every
  // text of its diffs (both versions), lower-cased once, when first needed.
  const haystacks = new Map();
  function haystack(details) {
    const index = Number(details.dataset.index);
    if (!haystacks.has(index)) {
      const cluster = data().clusters[index];
      const parts = [details.querySelector(".headline")?.textContent || ""];
      for (const member of cluster.members) {
        parts.push(member.path);
        for (const segment of member.diff) parts.push(segment.text, segment.b_text || "");
      }
      haystacks.set(index, parts.join("\n").toLowerCase());
    }
    return haystacks.get(index);
  }
  if (filter) filter.addEventListener("input", () => {
    const wanted = filter.value.trim().toLowerCase();
    for (const details of all) details.hidden = wanted !== "" && !haystack(details).includes(wanted);
    updateHint();
  });
})();
"""


def _script_json(value: object) -> str:
    """JSON that is safe inside <script>: no "<", ">" or "&" can end the element or open a
    comment, whatever the file text holds."""
    text = escape_unsafe(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _with_shown_paths(cluster: Cluster) -> dict[str, Any]:
    """The cluster's record, with each path that holds unsafe characters also as text output
    shows it (<U+202E>, <0xE9>), which the page draws: a raw name could reorder or hide what
    is around it."""
    record = cluster_record(cluster)
    if visible_path(cluster.representative) != cluster.representative:
        record["shown_representative"] = visible_path(cluster.representative)
    for member, member_record in zip(cluster.members, record["members"], strict=True):
        if visible_path(member.path) != member.path:
            member_record["shown_path"] = visible_path(member.path)
    return record


def _attribute(text: str) -> str:
    return escape(visible_path(text), quote=True)


def _overview_row(cluster: Cluster, index: int) -> str:
    others = [member for member in cluster.members if not member.is_representative]
    added = sum(member.added_words for member in others)
    removed = sum(member.removed_words for member in others)
    moved = sum(member.moved_words for member in others)
    figures = sum(len(member.changed_figures) for member in others)
    moved_text = f' <span class="moved">~{moved:,}</span>' if moved else ""
    path = _attribute(cluster.representative)
    first_line = headline(cluster)
    story = f'<span class="headline">{escape(visible(first_line))}</span>' if first_line else ""
    notes = [count(len(others), "copy", "copies")]
    kinds = kinds_summary(others)
    if kinds:
        notes[0] += f": {kinds}"
    related = related_note(cluster)
    if related:
        notes.append(related)
    # Classless cells, styled by position (see _CSS): thousands of rows, so every byte counts.
    return (
        f'<details class="cluster" id="cluster-{cluster.id}" data-index="{index}">'
        f"<summary><span>#{cluster.id}</span>"
        f"<span>{count(len(cluster.members), 'document')}</span>"
        f"<span>{similarity_range(others)}</span>"
        f'<span><span class="plus">+{added:,}</span> <span class="minus">−{removed:,}</span>'
        f"{moved_text}</span>"
        f"<span>{count(figures, 'figure')}</span>"
        f'<span class="story">{story}<span class="kinds">{escape(" · ".join(notes))}</span>'
        f'<span class="path" title="{path}">{path}</span></span></summary>'
        '<div class="body"></div></details>'
    )


def _cluster_data(cluster: Cluster) -> dict[str, object]:
    """The cluster's JSON record, with its related clusters and its copies' kinds (when known)."""
    record = _with_shown_paths(cluster)
    if cluster.related:
        record["related"] = list(cluster.related)
    for member, member_data in zip(cluster.members, record["members"], strict=True):
        if member.kind is not None:
            member_data["kind"] = member.kind
    return record


def _path_list(title: str, lines: list[str]) -> str:
    if not lines:
        return ""
    items = "".join(f"<li>{line}</li>" for line in lines)
    return f'<details class="list"><summary>{escape(title)}</summary><ul class="paths">{items}</ul></details>'


def render_html(report: Report, options: RenderOptions) -> str:
    """The whole page as one string."""
    if report.kind == "pair":
        old, new = report.clusters[0].members
        title = f"storydiff: {visible_path(old.path)} → {visible_path(new.path)}"
        summary = "How the second file differs from the first, after cleaning."
    else:
        title = (
            f"storydiff: {count(len(report.clusters), 'cluster')} in {count(report.documents, 'document')}"
        )
        summary = summary_line(report)
    settings = {
        "kind": report.kind,
        "context": options.context,
        "open_at_load": OPEN_AT_LOAD,
        "kind_labels": KIND_LABELS,
    }
    data = {
        "schema_version": SCHEMA_VERSION,
        "clusters": [_cluster_data(cluster) for cluster in report.clusters],
    }
    rows = "".join(_overview_row(cluster, index) for index, cluster in enumerate(report.clusters))
    singletons = _path_list(
        f"{count(len(report.singletons), 'document')} without a copy",
        [_attribute(path) for path in sorted(report.singletons, key=natural_key)],
    )
    unplaced = _path_list(
        unplaced_heading(len(report.unplaced)),
        [
            f"{_attribute(path)} ({escape(near_duplicate_in(related))})"
            for path, related in sorted(report.unplaced, key=lambda item: natural_key(item[0]))
        ],
    )
    skipped = _path_list(
        f"{len(report.skipped):,} skipped",
        [f"{_attribute(item.path)}: {_attribute(item.reason)}" for item in report.skipped],
    )
    search = (
        '<input type="search" id="filter" placeholder="Show clusters whose headline, text or paths contain…" '
        'aria-label="Filter clusters by headline, text or path">'
        if len(report.clusters) > 1
        else ""
    )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # No network at all: only the page's own inline style and script may run.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>\n<body>"
        f'<header><h1>{escape(title)}</h1><p class="summary">{escape(summary)}</p>'
        '<p class="legend"><del>deleted</del><ins>inserted</ins><span class="move">moved</span>'
        f'<mark class="figure">changed figure</mark><span id="hint"></span></p>'
        f"{search}</header>\n<main>"
        '<div class="columns" aria-hidden="true"><span>cluster</span><span>size</span>'
        '<span class="wide">similarity</span><span class="wide">words ±</span>'
        '<span class="wide">figures</span><span>headline · copies · representative</span></div>'
        f"{rows}{singletons}{unplaced}{skipped}"
        "<noscript><p>The diffs are drawn by the page's script; with JavaScript off, only the "
        "overview shows.</p></noscript></main>\n"
        f'<script type="application/json" id="storydiff-settings">{_script_json(settings)}</script>\n'
        f'<script type="application/json" id="storydiff-data">{_script_json(data)}</script>\n'
        f"<script>{_SCRIPT}</script>\n</body></html>\n"
    )

"""Rendering an audit run (the document from `Store.document`, or `Store.view`) as json, text, markdown
or html.

Everything renders from the stored document, so `iamlint audit show RUN` prints exactly what the run
printed. Findings are in `scan`'s JSON shape plus one `audit` key (state, account, age...).

A large run (750,000 findings) does not fit in memory as one document and one string: `write` renders
`Store.view` piece by piece (`chunks`: its findings read from the store one at a time, on each pass
a format needs) into a temporary file renamed over the target, the text byte for byte what `render`
gives for the whole document.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections import defaultdict
from types import SimpleNamespace

from .. import __version__
from ..findings import SEVERITIES, SEVERITY_RANK
from ..graph.paths import render_chain
from ..output import Style, write_atomic_with
from ..reporters.html import CSP, CSS, _list, _severity, esc
from ..reporters.text import SEV_STYLE
from ..jsonio import dumps_pretty, dumps_pretty_parts, orjson
from .store import Findings

FORMATS = ("text", "json", "markdown", "html")
EXTENSIONS = {"json": "json", "text": "txt", "markdown": "md", "html": "html"}


def short(arn: str | None) -> str:
    """`123456789012:role/name` for an IAM ARN (names repeat across accounts), the rest as given."""
    if not arn:
        return ""
    parts = arn.split(":", 5)
    if arn.startswith("arn:") and len(parts) == 6 and parts[2] == "iam" and parts[4]:
        return f"{parts[4]}:{parts[5]}"
    return arn


def chain(f: dict) -> str:
    steps = [SimpleNamespace(source=s["source"], target=s["target"], method=s["method"],
                             potential=s.get("potential", False)) for s in f.get("path") or []]
    return render_chain(steps, short)


def age(f: dict) -> str:
    a = (f.get("audit") or {}).get("age_days")
    return "" if a is None else f"{a}d"


def render(doc: dict, fmt: str, style: Style | None = None) -> str:
    """The whole report as one string (for a small run, or a test): see `chunks` and `write`."""
    if fmt == "json":
        if not isinstance(doc.get("new"), Findings):
            return dumps_pretty(doc)
        try:
            return "".join(chunks(doc, fmt, style))
        except _Plain:
            return "".join(chunks_plain_json(doc))
    return "".join(chunks(doc, fmt, style))


def chunks(doc: dict, fmt: str, style: Style | None = None):
    """The report as pieces of text, the findings rendered one at a time as they are read: `doc` is
    `Store.view` (lists read from the store while iterated) or `Store.document`; the pieces joined are
    exactly `render`'s text. JSON: `dumps_pretty`'s text, which is orjson's when all of it is ASCII and
    orjson can encode it, else `json.dumps`'s; the pieces are orjson's and `_Plain` is raised on the
    first piece orjson cannot write as that text (the writer starts over with `chunks_plain_json`)."""
    if fmt == "json":
        return _json_chunks(doc, _orjson_text if orjson is not None else _plain_text)
    if fmt == "text":
        return _joined(_text_lines(doc, style), "\n")
    if fmt == "markdown":
        return _joined(_markdown_lines(doc), "\n", "\n")
    return _html_chunks(doc)


def chunks_plain_json(doc: dict):
    return _json_chunks(doc, _plain_text)


class _Plain(Exception):
    """orjson would not write this text (non-ASCII, or a value it refuses): the document is json.dumps'."""


def _orjson_text(obj) -> str:
    try:
        out = orjson.dumps(obj, option=orjson.OPT_INDENT_2)
    except (TypeError, orjson.JSONEncodeError):
        raise _Plain() from None
    if not out.isascii():
        raise _Plain()
    return out.decode("ascii")


def _plain_text(obj) -> str:
    return json.dumps(obj, indent=2)


LISTS = ("new", "resolved", "open", "unverified")


def _json_chunks(doc: dict, enc):
    """The document indented by 2 as `enc` writes it, its finding lists (depth 1) read a few hundred
    findings at a time (`jsonio.dumps_pretty_parts`)."""
    head = {k: ([] if k in LISTS else v) for k, v in doc.items()}
    return dumps_pretty_parts(head, {k: doc[k] for k in LISTS if k in doc}, 1, 500, enc)


def _joined(lines, sep: str, end: str = ""):
    """`sep.join(lines) + end`, piece by piece (a line may be an `_element`: written in its pieces)."""
    first = True
    for line in lines:
        if isinstance(line, _element):
            if not first:
                yield sep
            for part in line.parts:
                if isinstance(part, str):
                    yield part
                else:
                    yield from part
        else:
            yield line if first else sep + line
        first = False
    if end:
        yield end


# ----------------------------------------------------------------------------------- writing


def write(doc: dict, fmt: str, path: str | None, style: Style | None = None) -> None:
    """The report to `path`, atomically (written to a temporary file beside it, synced, then renamed over
    it: an interrupted write leaves the previous file as it was), or to stdout (None); a newline at the
    end as `output.emit` adds it. The text is written as it is rendered, never held whole."""
    if path:
        write_atomic_with(path, lambda fh: _fill(fh, doc, fmt, style))
        return
    if fmt != "json":
        _fill(sys.stdout, doc, fmt, style)
        return
    with tempfile.TemporaryFile("w+", encoding="utf-8") as fh:      # JSON may start over: staged first
        _fill(fh, doc, fmt, style)
        fh.seek(0)
        shutil.copyfileobj(fh, sys.stdout, 1 << 20)


def write_file(fh, doc: dict, fmt: str, style: Style | None = None, newline: bool = True) -> None:
    """The report into an open, seekable text file (from where it is), exactly `render`'s text, plus a
    newline at the end if it has none and `newline`."""
    _fill(fh, doc, fmt, style, newline)
    fh.flush()


def _fill(fh, doc: dict, fmt: str, style: Style | None, newline: bool = True) -> None:
    start = fh.tell() if fmt == "json" else 0
    try:
        _put(fh, chunks(doc, fmt, style), newline)
    except _Plain:
        fh.seek(start)
        fh.truncate()
        _put(fh, chunks_plain_json(doc), newline)


def _put(fh, pieces, newline: bool = True) -> None:
    last = ""
    for piece in pieces:
        if piece:
            fh.write(piece)
            last = piece
    if newline and not last.endswith("\n"):
        fh.write("\n")


def _counts(fs: list[dict]) -> str:
    c = defaultdict(int)
    for f in fs:
        c[f["severity"]] += 1
    return ", ".join(f"{c[s]} {s}" for s in SEVERITIES if c[s])


# ----------------------------------------------------------------------------------- text


def render_text(doc: dict, style: Style | None = None) -> str:
    return "\n".join(_text_lines(doc, style))


def _text_lines(doc: dict, style: Style | None = None):
    style = style or Style(False)
    s = doc["summary"]
    base = f", compared with run {doc['baseline_run']}" if doc.get("baseline_run") else ", first run"
    yield (f"iamlint audit run {doc['run']} ({doc['finished_at']}{base}): {s['accounts_read']}/"
           f"{s['accounts']} account(s) read, {len(s['rules'])} rules")
    yield ""
    width = max([len(f["rule_id"]) for k in ("new", "resolved", "open", "unverified") for f in doc[k]] + [6])

    def block(title: str, fs, extra):
        yield style(f"{title} ({len(fs)})", "bold") + (f": {_counts(fs)}" if fs else "")
        for f in fs:
            sev = style(f"{f['severity'].upper():<8}", *SEV_STYLE.get(f["severity"], ()))
            yield f"  {sev}  {f['rule_id']:<{width}}  {short(f.get('principal'))}: {f['title']}{extra(f)}"
            c = chain(f)
            if c:
                yield " " * (2 + 8 + 2 + width + 2) + c
        yield ""

    yield from block("NEW", doc["new"], lambda f: "")
    yield from block("RESOLVED", doc["resolved"], lambda f: f"  [{(f.get('audit') or {}).get('reason')}]")
    yield from block("OPEN", doc["open"], lambda f: f"  [open {age(f)}]")
    if doc["unverified"]:
        yield from block("UNVERIFIED (not looked at this run, still open)", doc["unverified"],
                         lambda f: f"  [{(f.get('audit') or {}).get('reason')}, open {age(f)}]")
    failed = [a for a in doc["accounts"] if a["status"] != "read"]
    for a in failed:
        yield style(f"account {a['status']}: ", "yellow") + f"{a['account']} {a.get('name') or ''}".rstrip()
    for e in doc["errors"]:
        yield style("error: ", "yellow") + " ".join(str(e.get(k)) for k in
                                                    ("stage", "account", "operation", "error_code", "message")
                                                    if e.get(k))
    yield (f"{s['new']} new, {s['resolved']} resolved, {s['open']} still open"
           + (f", {s['unverified']} unverified" if s["unverified"] else "")
           + (f"; {len(doc['errors'])} error(s)" if doc["errors"] else ""))


# ----------------------------------------------------------------------------------- markdown


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(doc: dict, style=None) -> str:
    return "\n".join(_markdown_lines(doc)) + "\n"


def _markdown_lines(doc: dict):
    s = doc["summary"]
    yield f"## iamlint audit run {doc['run']}"
    yield ""
    yield (f"**{s['new']} new**, {s['resolved']} resolved, {s['open']} still open"
           + (f", {s['unverified']} unverified" if s["unverified"] else "")
           + f" · {s['accounts_read']}/{s['accounts']} accounts read · {doc['finished_at']}"
           + (f" · compared with run {doc['baseline_run']}" if doc.get("baseline_run") else ""))
    yield ""
    for title, key in (("New", "new"), ("Resolved", "resolved"), ("Still open", "open"), ("Unverified", "unverified")):
        fs = doc[key]
        if not fs:
            continue
        yield from (f"### {title} ({len(fs)})", "", "| Severity | Rule | Principal | Finding | Age |", "|---|---|---|---|---|")
        for f in fs:
            detail = f["title"] + (f"<br>`{_cell(chain(f))}`" if f.get("path") else "")
            yield (f"| {f['severity']} | {f['rule_id']} | {_cell(short(f.get('principal')))} | {_cell(detail)} "
                   f"| {age(f)} |")
        yield ""
    if doc["errors"]:
        yield from (f"### Errors ({len(doc['errors'])})", "")
        for e in doc["errors"]:
            yield f"- {_cell(' '.join(str(e.get(k)) for k in ('stage', 'account', 'operation', 'error_code', 'message') if e.get(k)))}"


# ----------------------------------------------------------------------------------- html


def _rows(fs, with_age: bool):
    yield ("<table><thead><tr><th>Severity</th><th>Rule</th><th>Principal</th><th>Finding</th><th>Path</th>"
           f"<th>Fix</th>{'<th>Open for</th>' if with_age else ''}</tr></thead><tbody>")
    for f in fs:
        c = chain(f)
        yield (f'<tr class="finding sev-{esc(f["severity"])}"><td>{_severity(f["severity"])}</td>'
               f"<td>{esc(f['rule_id'])}<br>{esc(f['title'])}</td>"
               f'<td class="mono">{esc(short(f.get("principal")))}</td><td class="msg">{esc(f["message"])}'
               f"{_list(f.get('conditions') or [])}</td>"
               f'<td class="path">{f"<code class=chain>{esc(c)}</code>" if c else ""}</td>'
               f"<td>{esc(f.get('remediation'))}</td>"
               + (f"<td>{esc(age(f))}</td>" if with_age else "") + "</tr>")
    yield "</tbody></table>"


def render_html(doc: dict, style=None) -> str:
    return "".join(_html_chunks(doc))


def _html_chunks(doc: dict):
    s = doc["summary"]
    yield ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
           '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
           f"<title>iamlint audit run {esc(doc['run'])}</title>\n<style>{CSS}</style>\n</head>\n<body>\n")
    yield from _joined(_html_body(doc, s), "\n")
    yield "\n</body>\n</html>\n"


def _html_body(doc: dict, s: dict):
    """The body's elements (joined by newlines); a findings table is one element written row by row."""
    def present():
        for k in ("new", "open", "unverified"):
            yield from doc[k]

    cards = [("new", s["new"]), ("resolved", s["resolved"]), ("still open", s["open"]),
             ("unverified", s["unverified"]), ("accounts read", f"{s['accounts_read']}/{s['accounts']}"),
             ("errors", len(doc["errors"]))]
    yield (f"<header><h1>iamlint audit run {esc(doc['run'])}</h1><p class=\"meta\">{esc(doc['finished_at'])} · "
           f"{esc(doc['source'])}" + (f" · compared with run {esc(doc['baseline_run'])}" if doc.get("baseline_run")
                                      else " · first run") + f" · iamlint {esc(__version__)}</p></header>")
    yield '<section id="summary"><h2>Summary</h2><div class="cards">'
    for k, v in cards:
        yield f'<div class="card"><div class="n">{esc(v)}</div><div class="k">{esc(k)}</div></div>'
    yield "</div></section>"
    # the organization at a glance: per account, open findings by severity and agent reach; per agent
    # source its count, worst severity and where it reaches (counted in one pass, findings not kept)
    per: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    agents: dict[str, list] = {}                 # source -> [count, (rank, worst severity), ends]
    for f in present():
        acct = (f.get("audit") or {}).get("account") or "-"
        per[acct][f["severity"]] += 1
        if f.get("source"):
            per[acct]["agent"] += 1
            a = agents.get(f["source"])
            rank = SEVERITY_RANK.get(f["severity"], 9)
            if a is None:
                a = agents[f["source"]] = [0, (rank, f["severity"]), set()]
            a[0] += 1
            if rank < a[1][0]:
                a[1] = (rank, f["severity"])
            if f.get("path"):
                a[2].add(short(f["path"][-1]["target"]))
        if (f.get("audit") or {}).get("state") == "new":
            per[acct]["new"] += 1
    yield ('<section id="accounts"><h2>Accounts</h2><table><thead><tr><th>Account</th><th>Name</th>'
           "<th>Status</th>" + "".join(f"<th>{esc(x)}</th>" for x in SEVERITIES)
           + "<th>New</th><th>Agent reach</th><th>Principals</th><th>Digest</th></tr></thead><tbody>")
    for a in doc["accounts"]:
        c = per.get(a["account"], {})
        yield (f'<tr><td class="mono">{esc(a["account"])}</td><td>{esc(a.get("name") or "")}</td>'
               f"<td>{esc(a['status'])}</td>"
               + "".join(f"<td>{c.get(x, 0) or ''}</td>" for x in SEVERITIES)
               + f"<td>{c.get('new', 0) or ''}</td><td>{c.get('agent', 0) or ''}</td>"
               f"<td>{esc(a.get('principals') if a.get('principals') is not None else '')}</td>"
               f'<td class="mono">{esc((a.get("digest") or "")[:19])}</td></tr>')
    yield "</tbody></table></section>"
    if agents:
        yield ('<section id="reach"><h2>Agent reach</h2><table><thead><tr><th>Agent source</th>'
               "<th>Findings</th><th>Worst</th><th>Reaches</th></tr></thead><tbody>")
        for src in sorted(agents):
            n, (_, worst), ends = agents[src]
            yield (f'<tr><td class="mono">{esc(short(src))}</td><td>{n}</td><td>{_severity(worst)}</td>'
                   f"<td>{_list(sorted(ends))}</td></tr>")
        yield "</tbody></table></section>"
    for title, key, with_age in (("New", "new", False), ("Resolved", "resolved", False), ("Still open", "open", True),
                                 ("Unverified (account not read this run)", "unverified", True)):
        if doc[key] or key != "unverified":
            yield _element(f'<section id="{key}"><h2>{esc(title)} ({len(doc[key])})</h2>',
                           _rows(doc[key], with_age) if doc[key] else ("<p>None.</p>",), "</section>")
    if doc["errors"]:
        keys = ("stage", "account", "operation", "error_code", "message")
        yield ('<section id="errors"><h2>Errors</h2><table><thead><tr>'
               + "".join(f"<th>{k}</th>" for k in keys) + "</tr></thead><tbody>"
               + "".join("<tr>" + "".join(f"<td>{esc(e.get(k) or '')}</td>" for k in keys) + "</tr>"
                         for e in doc["errors"]) + "</tbody></table></section>")
    yield f"<footer>iamlint {esc(__version__)} · run {esc(doc['run'])}</footer>"


class _element:
    """One body element written in pieces (a findings table): `_joined` puts no newline inside it."""

    def __init__(self, *parts):
        self.parts = parts

"""Rendering an audit run (the document from `Store.document`) as json, text, markdown or html.

Everything renders from the stored document, so `iamlint audit show RUN` prints exactly what the run
printed. Findings are in `scan`'s JSON shape plus one `audit` key (state, account, age...).
"""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace

from .. import __version__
from ..findings import SEVERITIES, SEVERITY_RANK
from ..graph.paths import render_chain
from ..output import Style
from ..reporters.html import CSP, CSS, _list, _severity, esc
from ..reporters.text import SEV_STYLE
from ..jsonio import dumps_pretty

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
    if fmt == "json":
        return dumps_pretty(doc)
    return {"text": render_text, "markdown": render_markdown, "html": render_html}[fmt](doc, style)


def _counts(fs: list[dict]) -> str:
    c = defaultdict(int)
    for f in fs:
        c[f["severity"]] += 1
    return ", ".join(f"{c[s]} {s}" for s in SEVERITIES if c[s])


# ----------------------------------------------------------------------------------- text


def render_text(doc: dict, style: Style | None = None) -> str:
    style = style or Style(False)
    s = doc["summary"]
    base = f", compared with run {doc['baseline_run']}" if doc.get("baseline_run") else ", first run"
    lines = [f"iamlint audit run {doc['run']} ({doc['finished_at']}{base}): {s['accounts_read']}/"
             f"{s['accounts']} account(s) read, {len(s['rules'])} rules", ""]
    width = max([len(f["rule_id"]) for k in ("new", "resolved", "open", "unverified") for f in doc[k]] + [6])

    def block(title: str, fs: list[dict], extra) -> None:
        lines.append(style(f"{title} ({len(fs)})", "bold") + (f": {_counts(fs)}" if fs else ""))
        for f in fs:
            sev = style(f"{f['severity'].upper():<8}", *SEV_STYLE.get(f["severity"], ()))
            lines.append(f"  {sev}  {f['rule_id']:<{width}}  {short(f.get('principal'))}: {f['title']}{extra(f)}")
            c = chain(f)
            if c:
                lines.append(" " * (2 + 8 + 2 + width + 2) + c)
        lines.append("")

    block("NEW", doc["new"], lambda f: "")
    block("RESOLVED", doc["resolved"], lambda f: f"  [{(f.get('audit') or {}).get('reason')}]")
    block("OPEN", doc["open"], lambda f: f"  [open {age(f)}]")
    if doc["unverified"]:
        block("UNVERIFIED (not looked at this run, still open)", doc["unverified"],
              lambda f: f"  [{(f.get('audit') or {}).get('reason')}, open {age(f)}]")
    failed = [a for a in doc["accounts"] if a["status"] != "read"]
    for a in failed:
        lines.append(style(f"account {a['status']}: ", "yellow") + f"{a['account']} {a.get('name') or ''}".rstrip())
    for e in doc["errors"]:
        lines.append(style("error: ", "yellow") + " ".join(str(e.get(k)) for k in
                     ("stage", "account", "operation", "error_code", "message") if e.get(k)))
    lines.append(f"{s['new']} new, {s['resolved']} resolved, {s['open']} still open"
                 + (f", {s['unverified']} unverified" if s["unverified"] else "")
                 + (f"; {len(doc['errors'])} error(s)" if doc["errors"] else ""))
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- markdown


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(doc: dict, style=None) -> str:
    s = doc["summary"]
    out = [f"## iamlint audit run {doc['run']}", "",
           f"**{s['new']} new**, {s['resolved']} resolved, {s['open']} still open"
           + (f", {s['unverified']} unverified" if s["unverified"] else "")
           + f" · {s['accounts_read']}/{s['accounts']} accounts read · {doc['finished_at']}"
           + (f" · compared with run {doc['baseline_run']}" if doc.get("baseline_run") else ""), ""]
    for title, key in (("New", "new"), ("Resolved", "resolved"), ("Still open", "open"), ("Unverified", "unverified")):
        fs = doc[key]
        if not fs:
            continue
        out += [f"### {title} ({len(fs)})", "", "| Severity | Rule | Principal | Finding | Age |", "|---|---|---|---|---|"]
        for f in fs:
            detail = f["title"] + (f"<br>`{_cell(chain(f))}`" if f.get("path") else "")
            out.append(f"| {f['severity']} | {f['rule_id']} | {_cell(short(f.get('principal')))} | {_cell(detail)} "
                       f"| {age(f)} |")
        out.append("")
    if doc["errors"]:
        out += [f"### Errors ({len(doc['errors'])})", ""]
        out += [f"- {_cell(' '.join(str(e.get(k)) for k in ('stage', 'account', 'operation', 'error_code', 'message') if e.get(k)))}"
                for e in doc["errors"]]
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------- html


def _rows(fs: list[dict], with_age: bool) -> str:
    out = ["<table><thead><tr><th>Severity</th><th>Rule</th><th>Principal</th><th>Finding</th><th>Path</th>"
           f"<th>Fix</th>{'<th>Open for</th>' if with_age else ''}</tr></thead><tbody>"]
    for f in fs:
        c = chain(f)
        out.append(f'<tr class="finding sev-{esc(f["severity"])}"><td>{_severity(f["severity"])}</td>'
                   f"<td>{esc(f['rule_id'])}<br>{esc(f['title'])}</td>"
                   f'<td class="mono">{esc(short(f.get("principal")))}</td><td class="msg">{esc(f["message"])}'
                   f"{_list(f.get('conditions') or [])}</td>"
                   f'<td class="path">{f"<code class=chain>{esc(c)}</code>" if c else ""}</td>'
                   f"<td>{esc(f.get('remediation'))}</td>"
                   + (f"<td>{esc(age(f))}</td>" if with_age else "") + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def render_html(doc: dict, style=None) -> str:
    s = doc["summary"]
    present = doc["new"] + doc["open"] + doc["unverified"]
    cards = [("new", s["new"]), ("resolved", s["resolved"]), ("still open", s["open"]),
             ("unverified", s["unverified"]), ("accounts read", f"{s['accounts_read']}/{s['accounts']}"),
             ("errors", len(doc["errors"]))]
    body = [f"<header><h1>iamlint audit run {esc(doc['run'])}</h1><p class=\"meta\">{esc(doc['finished_at'])} · "
            f"{esc(doc['source'])}" + (f" · compared with run {esc(doc['baseline_run'])}" if doc.get("baseline_run")
                                       else " · first run") + f" · iamlint {esc(__version__)}</p></header>",
            '<section id="summary"><h2>Summary</h2><div class="cards">']
    body += [f'<div class="card"><div class="n">{esc(v)}</div><div class="k">{esc(k)}</div></div>' for k, v in cards]
    body.append("</div></section>")
    # the organization at a glance: per account, open findings by severity and agent reach
    per: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for f in present:
        acct = (f.get("audit") or {}).get("account") or "-"
        per[acct][f["severity"]] += 1
        if f.get("source"):
            per[acct]["agent"] += 1
        if (f.get("audit") or {}).get("state") == "new":
            per[acct]["new"] += 1
    body.append('<section id="accounts"><h2>Accounts</h2><table><thead><tr><th>Account</th><th>Name</th>'
                "<th>Status</th>" + "".join(f"<th>{esc(x)}</th>" for x in SEVERITIES)
                + "<th>New</th><th>Agent reach</th><th>Principals</th><th>Digest</th></tr></thead><tbody>")
    for a in doc["accounts"]:
        c = per.get(a["account"], {})
        body.append(f'<tr><td class="mono">{esc(a["account"])}</td><td>{esc(a.get("name") or "")}</td>'
                    f"<td>{esc(a['status'])}</td>"
                    + "".join(f"<td>{c.get(x, 0) or ''}</td>" for x in SEVERITIES)
                    + f"<td>{c.get('new', 0) or ''}</td><td>{c.get('agent', 0) or ''}</td>"
                    f"<td>{esc(a.get('principals') if a.get('principals') is not None else '')}</td>"
                    f'<td class="mono">{esc((a.get("digest") or "")[:19])}</td></tr>')
    body.append("</tbody></table></section>")
    agents: dict[str, list] = defaultdict(list)
    for f in present:
        if f.get("source"):
            agents[f["source"]].append(f)
    if agents:
        body.append('<section id="reach"><h2>Agent reach</h2><table><thead><tr><th>Agent source</th>'
                    "<th>Findings</th><th>Worst</th><th>Reaches</th></tr></thead><tbody>")
        for src in sorted(agents):
            fs = agents[src]
            worst = min(fs, key=lambda f: SEVERITY_RANK.get(f["severity"], 9))["severity"]
            ends = sorted({short(f["path"][-1]["target"]) for f in fs if f.get("path")})
            body.append(f'<tr><td class="mono">{esc(short(src))}</td><td>{len(fs)}</td><td>{_severity(worst)}</td>'
                        f"<td>{_list(ends)}</td></tr>")
        body.append("</tbody></table></section>")
    for title, key, with_age in (("New", "new", False), ("Resolved", "resolved", False), ("Still open", "open", True),
                                 ("Unverified (account not read this run)", "unverified", True)):
        if doc[key] or key != "unverified":
            body.append(f'<section id="{key}"><h2>{esc(title)} ({len(doc[key])})</h2>'
                        + (_rows(doc[key], with_age) if doc[key] else "<p>None.</p>") + "</section>")
    if doc["errors"]:
        keys = ("stage", "account", "operation", "error_code", "message")
        body.append('<section id="errors"><h2>Errors</h2><table><thead><tr>'
                    + "".join(f"<th>{k}</th>" for k in keys) + "</tr></thead><tbody>"
                    + "".join("<tr>" + "".join(f"<td>{esc(e.get(k) or '')}</td>" for k in keys) + "</tr>"
                              for e in doc["errors"]) + "</tbody></table></section>")
    body.append(f"<footer>iamlint {esc(__version__)} · run {esc(doc['run'])}</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>iamlint audit run {esc(doc['run'])}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")

"""One self-contained HTML file: summary, findings table, and an inline SVG of every path.

No network: CSS is inline, pictures are inline SVG, there is no script at all, and a
Content-Security-Policy forbids loading anything. Everything that comes from the input (names, tags,
policy labels, messages, conditions, rule text) goes through `esc` (html.escape) before it is written,
in text and in attributes alike. Output is deterministic: no timestamps.
"""

from __future__ import annotations

import html
from collections import defaultdict

from .. import __version__
from ..findings import SEVERITIES
from ..graph.build import is_hub
from ..graph.paths import render_chain
from ..markers import display

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


CSS = """
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--panel:#f6f8fa;
--critical:#8b0000;--high:#cf222e;--medium:#bf8700;--low:#0969da;--info:#6e7781}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;
color:var(--fg);background:var(--bg)}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 12px;border-bottom:1px solid var(--line);
padding-bottom:4px}h3{font-size:15px;margin:20px 0 8px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.meta,.muted{color:var(--muted)}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 16px;min-width:110px;background:var(--panel)}
.card .n{font-size:24px;font-weight:600}.card .k{color:var(--muted);text-transform:uppercase;font-size:11px}
.card.sev-critical .n{color:var(--critical)}.card.sev-high .n{color:var(--high)}
.card.sev-medium .n{color:var(--medium)}.card.sev-low .n{color:var(--low)}.card.sev-info .n{color:var(--info)}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:var(--panel);font-weight:600}
table.kv{width:auto}table.kv th{width:160px}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;color:#fff;font-size:11px;font-weight:600;
text-transform:uppercase}
.badge.sev-critical{background:var(--critical)}.badge.sev-high{background:var(--high)}
.badge.sev-medium{background:var(--medium)}.badge.sev-low{background:var(--low)}.badge.sev-info{background:var(--info)}
.flag{display:inline-block;border:1px solid var(--medium);color:#7d4e00;border-radius:4px;padding:0 5px;
font-size:11px;margin:2px 4px 2px 0}
td ul{margin:0;padding-left:18px}
td.path{min-width:190px;max-width:320px}td.msg{min-width:200px}
tr.finding td:nth-child(1){white-space:nowrap}tr.finding td:nth-child(2){min-width:130px}
tr.finding td:nth-child(3){min-width:150px;max-width:240px}tr.finding td:nth-child(6){min-width:200px;max-width:320px}
tr.finding td:nth-child(7){min-width:200px}td .mono,td code,td li{overflow-wrap:anywhere}
tr.finding td{border-bottom:none}tr.diagram-row td{border-top:none;padding:0 8px 10px}
a{word-break:break-all}
.chain{display:block;margin-bottom:6px;word-break:break-word}
.diagram{overflow-x:auto;max-width:100%}

.reach{border:1px solid var(--line);border-radius:6px;padding:8px 16px 16px;margin:12px 0}
svg .node rect{fill:#fff;stroke:#57606a;stroke-width:1.2}
svg .node.start rect{fill:#ddf4ff;stroke:#0969da;stroke-width:2}
svg .node.end rect{fill:#ffebe9;stroke:#cf222e;stroke-width:2}
svg .node.start.end rect{fill:#fff8c5;stroke:#cf222e}
svg .node.hub rect{fill:#f6f8fa;stroke-dasharray:4 3}
svg .node .label{font:600 12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;fill:#1b1f24}
svg .node .sub{font:10px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;fill:#57606a}
svg .edge path{fill:none;stroke:#57606a;stroke-width:1.5}
svg .edge.potential path{stroke-dasharray:6 4}
svg .edge.conditional path{stroke:#bf8700}
svg .edge.rewrite path{stroke:#cf222e}
svg .edge text{font:11px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;fill:#1b1f24;
stroke:#fff;stroke-width:3px;paint-order:stroke;stroke-linejoin:round}
svg .edge.conditional text{fill:#7d4e00}svg .edge.rewrite text{fill:#a40e26}
.legend{font-size:12px;color:var(--muted);margin:4px 0 0}
footer{margin-top:40px;color:var(--muted);font-size:12px}
"""

# --- path diagrams ---------------------------------------------------------------------------------

CHAR_W, SUB_W = 7.3, 6.1          # monospace advance at 12px / 10px
BOX_H, ROW_GAP, MIN_BOX_W = 40, 22, 96
MAX_LABEL, MAX_METHOD = 36, 34


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


class _Namer:
    def __init__(self, model):
        self.model = model

    def name(self, arn: str) -> str:
        p = self.model.principal(arn)
        return display(p.name) if p is not None else arn

    def node_labels(self, node: str) -> tuple[str, str]:
        """(label, sub-label) of a graph node."""
        if is_hub(node):
            what, _, acct = node[len("hub:"):].partition("@")
            return what.replace("-", " "), f"hub \u00b7 {acct}" if acct else "hub"
        p = self.model.principal(node)
        if p is not None:
            return display(p.name), f"{p.kind.value} \u00b7 {p.account}"
        parts = node.split(":")
        if node.startswith("arn:") and len(parts) >= 6:
            return parts[5].rsplit("/", 1)[-1] or parts[5], f"{parts[2]} \u00b7 {parts[4] or '-'}"
        return node, ""


def _layers(nodes: list[str], edges: list, starts: list[str]) -> tuple[dict[str, int], set]:
    """Longest-path layering, left to right. Edges that close a cycle (found by a depth-first walk from
    the starts) are set aside as back edges and drawn underneath."""
    out_edges = defaultdict(list)
    for e in edges:
        if e.source != e.target:
            out_edges[e.source].append(e)
    back: set = set()
    state: dict[str, int] = {}   # 1 on stack, 2 done
    for root in starts + nodes:
        if root in state:
            continue
        stack = [(root, iter(out_edges[root]))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            for e in it:
                s = state.get(e.target)
                if s == 1:
                    back.add(id(e))
                elif s is None:
                    state[e.target] = 1
                    stack.append((e.target, iter(out_edges[e.target])))
                    break
            else:
                state[node] = 2
                stack.pop()
    forward = [e for e in edges if e.source != e.target and id(e) not in back]
    indeg = {n: 0 for n in nodes}
    for e in forward:
        indeg[e.target] += 1
    layer = {n: 0 for n in nodes}
    ready = [n for n in nodes if indeg[n] == 0]
    succ = defaultdict(list)
    for e in forward:
        succ[e.source].append(e.target)
    i = 0
    while i < len(ready):
        n = ready[i]
        i += 1
        for t in succ[n]:
            layer[t] = max(layer[t], layer[n] + 1)
            indeg[t] -= 1
            if indeg[t] == 0:
                ready.append(t)
    return layer, back


def svg_diagram(paths: list[list], namer: _Namer, ident: str, starts: list[str] | None = None,
                title: str = "") -> str:
    """The union of `paths` as boxes and arrows, layered left to right."""
    edges, seen = [], set()
    for path in paths:
        for e in path:
            k = (e.source, e.target, e.method)
            if k not in seen:
                seen.add(k)
                edges.append(e)
    if not edges:
        return ""
    starts = list(dict.fromkeys(starts or [p[0].source for p in paths if p]))
    ends = {p[-1].target for p in paths if p}
    nodes = list(dict.fromkeys(starts + [n for e in edges for n in (e.source, e.target)]))
    layer, back = _layers(nodes, edges, starts)

    # order inside a layer: first appearance, then one barycentre pass against the previous layer
    columns: dict[int, list[str]] = defaultdict(list)
    for n in nodes:
        columns[layer[n]].append(n)
    preds = defaultdict(list)
    for e in edges:
        if id(e) not in back and e.source != e.target:
            preds[e.target].append(e.source)
    row: dict[str, int] = {}
    for lvl in sorted(columns):
        col = columns[lvl]
        if lvl > 0:
            first = {n: i for i, n in enumerate(col)}

            def bary(n, first=first):
                ps = [row[p] for p in preds[n] if p in row]
                return (sum(ps) / len(ps) if ps else float(first[n]), first[n])
            col.sort(key=bary)
        for i, n in enumerate(col):
            row[n] = i

    def method_label(e) -> str:
        return _clip(e.method, MAX_METHOD) + ("?" if e.potential else "")

    labels = {n: namer.node_labels(n) for n in nodes}
    width = {n: max(MIN_BOX_W, int(max(len(_clip(labels[n][0], MAX_LABEL)) * CHAR_W,
                                       len(_clip(labels[n][1], MAX_LABEL + 6)) * SUB_W) + 20)) for n in nodes}
    for e in edges:   # a self-loop's label sits above its box: make the box at least as wide
        if e.source == e.target:
            width[e.source] = max(width[e.source], int(len(method_label(e)) * 6.7) + 12)
    n_layers = max(columns) + 1
    col_w = [max(width[n] for n in columns[lvl]) for lvl in range(n_layers)]

    gap = [90] * n_layers
    for e in edges:
        if id(e) not in back and e.source != e.target:
            lvl = layer[e.source]
            gap[lvl] = max(gap[lvl], int(len(method_label(e)) * 6.7) + 36)
    has_loop = any(e.source == e.target for e in edges)
    pad_x, pad_top = 16, (46 if has_loop else 16)
    x_of, cx = [], pad_x
    for lvl in range(n_layers):
        x_of.append(cx)
        cx += col_w[lvl] + gap[lvl]
    total_w = cx - gap[-1] + pad_x
    tallest = max(len(c) for c in columns.values())
    body_h = tallest * BOX_H + (tallest - 1) * ROW_GAP
    box = {}
    for lvl, col in columns.items():
        h = len(col) * BOX_H + (len(col) - 1) * ROW_GAP
        y0 = pad_top + (body_h - h) / 2
        for i, n in enumerate(col):
            x = x_of[lvl] + (col_w[lvl] - width[n]) / 2
            box[n] = (x, y0 + i * (BOX_H + ROW_GAP), width[n])
    bottom = pad_top + body_h
    back_list = [e for e in edges if id(e) in back]
    total_h = bottom + (26 + 22 * len(back_list) if back_list else 0) + 16

    mk = f"{ident}-arrow"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="path-diagram" role="img" '
             f'width="{total_w:.0f}" height="{total_h:.0f}" viewBox="0 0 {total_w:.0f} {total_h:.0f}" '
             f'aria-label="{esc(title)}">',
             f"<title>{esc(title)}</title>",
             "<defs>"]
    for suffix, colour in (("", "#57606a"), ("-c", "#bf8700"), ("-r", "#cf222e")):
        parts.append(f'<marker id="{mk}{suffix}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
                     f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
                     f'fill="{colour}"/></marker>')
    parts.append("</defs>")

    pair_count: dict[tuple, int] = defaultdict(int)
    back_i = 0
    for e in edges:
        classes = ["edge"]
        suffix = ""
        if e.potential:
            classes.append("potential")
        if e.conditions:
            classes.append("conditional")
            suffix = "-c"
        if e.rewrite:
            classes.append("rewrite")
            suffix = "-r"
        sx, sy, sw = box[e.source]
        tx, ty, tw = box[e.target]
        k = pair_count[(e.source, e.target)]
        pair_count[(e.source, e.target)] += 1
        if e.source == e.target:
            x1, x2, top = sx + sw * 0.35, sx + sw * 0.65, sy - 30 - 14 * k
            d = f"M{x1:.1f},{sy:.1f} C{x1:.1f},{top:.1f} {x2:.1f},{top:.1f} {x2:.1f},{sy:.1f}"
            lx, ly = sx + sw / 2, top + 6
        elif id(e) in back:
            x1, x2 = sx + sw / 2, tx + tw / 2
            y1, y2 = sy + BOX_H, ty + BOX_H
            ctrl = bottom + 30 + 22 * back_i
            back_i += 1
            d = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{ctrl:.1f} {x2:.1f},{ctrl:.1f} {x2:.1f},{y2:.1f}"
            lx, ly = (x1 + x2) / 2, 0.125 * y1 + 0.75 * ctrl + 0.125 * y2 + 4
        else:
            x1, y1 = sx + sw, sy + BOX_H / 2 + 8 * k
            x2, y2 = tx, ty + BOX_H / 2 + 8 * k
            mid = (x1 + x2) / 2
            d = f"M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
            lx, ly = mid, (y1 + y2) / 2 - 6 - 13 * k
        tip = render_chain([e], namer.name)
        if e.conditions:
            tip += "\ndepends on: " + display("; ".join(e.conditions))
        if e.potential and e.assumes:
            tip += "\nassumes: " + e.assumes
        parts.append(f'<g class="{" ".join(classes)}"><title>{esc(tip)}</title>'
                     f'<path d="{d}" marker-end="url(#{mk}{suffix})"/>'
                     f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle">{esc(method_label(e))}</text></g>')

    for n in nodes:
        x, y, w = box[n]
        classes = ["node"] + (["start"] if n in starts else []) + (["end"] if n in ends else []) \
            + (["hub"] if is_hub(n) else [])
        label, sub = labels[n]
        parts.append(f'<g class="{" ".join(classes)}"><title>{esc(n)}</title>'
                     f'<rect x="{x:.1f}" y="{y:.1f}" width="{w}" height="{BOX_H}" rx="6" ry="6"/>'
                     f'<text class="label" x="{x + w / 2:.1f}" y="{y + 17:.1f}" text-anchor="middle">'
                     f'{esc(_clip(label, MAX_LABEL))}</text>'
                     f'<text class="sub" x="{x + w / 2:.1f}" y="{y + 32:.1f}" text-anchor="middle">'
                     f'{esc(_clip(sub, MAX_LABEL + 6))}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


LEGEND = ('<p class="legend">Blue box: where the path starts; red box: what it ends up holding; dashed arrow '
          '(<code>?</code>): relies on a resource the input does not show; amber arrow: depends on '
          'conditions; red arrow: rewrites the target\u2019s permissions.</p>')


# --- page -------------------------------------------------------------------------------------------

def _link(url: str) -> str:
    if url.lower().startswith(("https://", "http://")):
        return f'<a href="{esc(url)}" rel="noopener noreferrer">{esc(url)}</a>'
    return esc(url)


def _list(items) -> str:
    items = list(items)
    if not items:
        return ""
    return "<ul>" + "".join(f"<li>{esc(display(x))}</li>" for x in items) + "</ul>"


def _severity(sev: str) -> str:
    return f'<span class="badge sev-{esc(sev)}">{esc(sev)}</span>'


def _summary(report, namer: _Namer) -> str:
    m = report.model
    counts = report.counts()
    out = ['<section id="summary"><h2>Summary</h2><div class="cards">',
           f'<div class="card"><div class="n">{len(report.findings)}</div><div class="k">findings</div></div>']
    for s in SEVERITIES:
        out.append(f'<div class="card sev-{s}"><div class="n">{counts.get(s, 0)}</div><div class="k">{s}</div></div>')
    n_principals = sum(len(a.principals) for a in m.accounts.values())
    out.append(f'<div class="card"><div class="n">{len(m.accounts)}</div><div class="k">accounts</div></div>'
               f'<div class="card"><div class="n">{n_principals}</div><div class="k">principals</div></div>'
               "</div>")
    out.append('<table class="kv"><tbody>')
    out.append(f"<tr><th>Edges</th><td>{report.graph.edge_count()}</td></tr>")
    out.append(f"<tr><th>Rules run</th><td>{len(report.rules)}</td></tr>")
    out.append(f"<tr><th>Suppressed</th><td>{len(report.suppressed)}</td></tr>")
    out.append(f"<tr><th>Input gaps</th><td>{len(report.errors)}</td></tr>")
    out.append("</tbody></table>")
    out.append("<h3>Accounts</h3><table><thead><tr><th>Account</th><th>Alias</th><th>Users</th><th>Roles</th>"
               "<th>Groups</th><th>Read from</th></tr></thead><tbody>")
    for acct_id in sorted(m.accounts):
        a = m.accounts[acct_id]
        kinds = defaultdict(int)
        for p in a.principals.values():
            kinds[p.kind.value] += 1
        out.append(f'<tr><td class="mono">{esc(acct_id)}</td><td>{esc(a.alias or "")}</td>'
                   f'<td>{kinds["user"]}</td><td>{kinds["role"]}</td><td>{kinds["group"]}</td>'
                   f'<td>{"<br>".join(f"<code>{esc(s)}</code>" for s in dict.fromkeys(a.sources))}</td></tr>')
    out.append("</tbody></table></section>")
    return "".join(out)


def _reach(report, namer: _Namer, index: dict[int, int]) -> str:
    by_source: dict[str, list] = defaultdict(list)
    for f in report.findings:
        if f.source:
            by_source[f.source].append(f)
    if not by_source:
        return ""
    out = ['<section id="reach"><h2>Agent reach</h2>', LEGEND]
    for n, src in enumerate(sorted(by_source, key=lambda s: (namer.name(s), s))):
        fs = by_source[src]
        paths = [list(f.path) for f in fs if f.path]
        starts = [src] if any(p[0].source == src for p in paths) else None
        title = f"Reach of {namer.name(src)}"
        out.append(f'<div class="reach"><h3>{esc(namer.name(src))} <span class="muted mono">{esc(src)}</span></h3>')
        if paths:
            out.append(f'<div class="diagram">{svg_diagram(paths, namer, f"reach{n}", starts, title)}</div>')
        out.append("<ul>")
        for f in fs:
            out.append(f'<li><a href="#finding-{index[id(f)]}">{esc(f.rule_id)}</a> {esc(f.title)}: '
                       f"{esc(display(f.message))}</li>")
        out.append("</ul></div>")
    out.append("</section>")
    return "".join(out)


def _who(f, namer: _Namer) -> str:
    if f.principal:
        return (f"<strong>{esc(namer.name(f.principal))}</strong><br>"
                f'<span class="muted mono">{esc(f.principal)}</span>')
    if f.location:
        return f"<code>{esc(f.location.file)}</code>"
    return ""


def _finding_row(f, n: int, namer: _Namer, rules: dict) -> str:
    chain = render_chain(list(f.path), namer.name) if f.path else ""
    rid = f'<a href="#rule-{esc(f.rule_id)}">{esc(f.rule_id)}</a>' if f.rule_id in rules else esc(f.rule_id)
    rule_cell = f"{rid}<br>{esc(f.title)}"
    msg = [esc(display(f.message))]
    if f.location:
        where = f.location.file + (f":{f.location.line}" if f.location.line else "") \
            + (f":{f.location.column}" if f.location.column else "")
        msg.append(f'<br><span class="muted">at <code>{esc(where)}</code>'
                   + (f" <code>{esc(f.location.pointer)}</code>" if f.location.pointer else "") + "</span>")
    if f.source:
        msg.append(f'<br><span class="muted">agent source: {esc(namer.name(f.source))}</span>')
    flags = []
    if f.potential:
        flags.append('<span class="flag">potential</span>')
    if f.conditions:
        flags.append('<span class="flag">conditional</span>')
    if f.preexisting:
        flags.append('<span class="flag">pre-existing</span>')
    path_cell = f'<code class="chain">{esc(chain)}</code>' if chain else ""
    diagram = ""
    if chain:
        diagram = (f'<tr class="diagram-row sev-{esc(f.severity)}"><td colspan="7"><div class="diagram">'
                   f'{svg_diagram([list(f.path)], namer, f"f{n}", None, chain)}</div></td></tr>')
    ev = _list(f.evidence)
    assumes = list(dict.fromkeys(e.assumes for e in f.path if e.potential and e.assumes))
    if assumes:
        ev += "<strong>assumes</strong>" + _list(assumes)
    if f.conditions:
        ev += "<strong>depends on</strong>" + _list(f.conditions)
    return (f'<tr id="finding-{n}" class="finding sev-{esc(f.severity)}"><td>{_severity(f.severity)}</td>'
            f'<td>{rule_cell}</td><td>{_who(f, namer)}</td><td class="msg">{"".join(flags)}{"".join(msg)}</td>'
            f'<td class="path">{path_cell}</td><td>{ev}</td><td>{esc(f.remediation)}</td></tr>{diagram}')


def _findings(report, namer: _Namer, index: dict[int, int]) -> str:
    rules = {r.id: r for r in report.rules}
    out = ['<section id="findings"><h2>Findings</h2>']
    if not report.findings:
        out.append("<p>No findings.</p></section>")
        return "".join(out)
    if any(f.path for f in report.findings):
        out.append(LEGEND)
    out.append("<table><thead><tr><th>Severity</th><th>Rule</th><th>Principal</th><th>Finding</th>"
               "<th>Path</th><th>Evidence</th><th>Remediation</th></tr></thead><tbody>")
    for f in report.findings:
        out.append(_finding_row(f, index[id(f)], namer, rules))
    out.append("</tbody></table></section>")
    return "".join(out)


def _others(report, namer: _Namer) -> str:
    out = []
    if report.suppressed:
        out.append('<section id="suppressed"><h2>Suppressed</h2><table><thead><tr><th>Rule</th><th>Principal</th>'
                   "<th>Reason</th><th>Until</th><th>Exclusion</th></tr></thead><tbody>")
        for f, e in report.suppressed:
            out.append(f"<tr><td>{esc(f.rule_id)}</td><td>{_who(f, namer)}</td><td>{esc(e.reason)}</td>"
                       f"<td>{esc(e.expires.isoformat() if e.expires else '')}</td>"
                       f"<td><code>{esc(e.source)}</code> entry {esc(e.index)}</td></tr>")
        out.append("</tbody></table></section>")
    if report.expired_exclusions:
        out.append('<section id="expired"><h2>Expired exclusions</h2><ul>')
        for e in report.expired_exclusions:
            out.append(f"<li><code>{esc(e.source)}</code> entry {esc(e.index)} ({esc(e.reason)}), expired "
                       f"{esc(e.expires.isoformat() if e.expires else '')}</li>")
        out.append("</ul></section>")
    if report.errors:
        out.append('<section id="gaps"><h2>Input gaps</h2><p>What could not be read; findings that depend on '
                   "it are incomplete.</p><table><thead><tr><th>Account</th><th>Service</th><th>Operation</th>"
                   "<th>Error</th><th>Message</th></tr></thead><tbody>")
        for e in report.errors:
            out.append("<tr>" + "".join(f"<td>{esc(e.get(k, ''))}</td>"
                                        for k in ("account", "service", "operation", "error_code", "message"))
                       + "</tr>")
        out.append("</tbody></table></section>")
    return "".join(out)


def _rules(report) -> str:
    out = ['<section id="rules"><h2>Rules run</h2><table><thead><tr><th>Rule</th><th>Severity</th>'
           "<th>Why it matters</th><th>Fix</th><th>References</th></tr></thead><tbody>"]
    for r in report.rules:
        out.append(f'<tr id="rule-{esc(r.id)}"><td><strong>{esc(r.id)}</strong><br>{esc(r.title)}'
                   f'<br><span class="muted">{esc(r.family)}</span></td><td>{_severity(r.severity)}</td>'
                   f"<td>{esc(r.rationale)}</td><td>{esc(r.remediation)}</td>"
                   f"<td>{'<br>'.join(_link(x) for x in r.references)}</td></tr>")
    out.append("</tbody></table></section>")
    return "".join(out)


def render(report, style=None) -> str:
    namer = _Namer(report.model)
    index = {id(f): i for i, f in enumerate(report.findings, start=1)}
    counts = report.counts()
    sev = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if s in counts)
    head = (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<meta name="generator" content="iamlint {esc(__version__)}">\n'
            "<title>iamlint report</title>\n"
            f"<style>{CSS}</style>\n</head>\n<body>\n")
    body = [f"<header><h1>iamlint report</h1><p class=\"meta\">{len(report.findings)} finding(s)"
            f"{esc(' (' + sev + ')') if sev else ''} \u00b7 {len(report.model.accounts)} account(s) \u00b7 "
            f"iamlint {esc(__version__)}</p></header>",
            _summary(report, namer), _reach(report, namer, index), _findings(report, namer, index),
            _others(report, namer), _rules(report),
            f"<footer>Generated by iamlint {esc(__version__)}. Self-contained: no scripts, no network.</footer>"]
    return head + "\n".join(b for b in body if b) + "\n</body>\n</html>\n"

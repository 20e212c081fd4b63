"""Graph exports: dot, graphml, json, mermaid; the whole graph or one node's neighbourhood."""

from __future__ import annotations

import io

import networkx as nx

from .build import Graph
from ..jsonio import dumps_pretty


def _subgraph(graph: Graph, focus: str | None) -> nx.MultiDiGraph:
    if not focus:
        return graph.g
    nodes = {focus} | set(graph.g.successors(focus)) | set(graph.g.predecessors(focus))
    return graph.g.subgraph(nodes)


def _label(graph: Graph, n: str) -> str:
    p = graph.model.principal(n)
    return p.name if p is not None else n


def to_json(graph: Graph, focus: str | None = None) -> str:
    g = _subgraph(graph, focus)
    nodes = [{"id": n, "label": _label(graph, n), "kind": g.nodes[n].get("kind"),
              "admin": graph.admin.get(n)} for n in sorted(g.nodes)]
    edges = [d["edge"].to_json() for _, _, d in sorted(g.edges(data=True), key=lambda x: (x[0], x[1], x[2]["edge"].method))]
    return dumps_pretty({"schema_version": 1, "nodes": nodes, "edges": edges})


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: Graph, focus: str | None = None) -> str:
    g = _subgraph(graph, focus)
    out = ["digraph iamlint {", "  rankdir=LR;", "  node [shape=box, fontname=Helvetica];"]
    for n in sorted(g.nodes):
        attrs = f"label={_q(_label(graph, n))}"
        if n in graph.admin:
            attrs += ", color=red, penwidth=2"
        out.append(f"  {_q(n)} [{attrs}];")
    for u, v, d in sorted(g.edges(data=True), key=lambda x: (x[0], x[1], x[2]["edge"].method)):
        e = d["edge"]
        style = ", style=dashed" if e.potential or e.conditional else ""
        out.append(f"  {_q(u)} -> {_q(v)} [label={_q(e.method)}{style}];")
    out.append("}")
    return "\n".join(out)


def to_graphml(graph: Graph, focus: str | None = None) -> str:
    g = _subgraph(graph, focus)
    h = nx.MultiDiGraph()
    for n in g.nodes:
        h.add_node(n, label=_label(graph, n), kind=str(g.nodes[n].get("kind")), admin=graph.admin.get(n) or "")
    for u, v, d in g.edges(data=True):
        e = d["edge"]
        h.add_edge(u, v, method=e.method, potential=e.potential, conditional=e.conditional,
                   actions=",".join(e.actions))
    buf = io.BytesIO()
    nx.write_graphml(h, buf)
    return buf.getvalue().decode()


def to_mermaid(graph: Graph, focus: str | None = None) -> str:
    g = _subgraph(graph, focus)
    ids = {n: f"n{i}" for i, n in enumerate(sorted(g.nodes))}
    out = ["flowchart LR"]
    for n, i in ids.items():
        label = _label(graph, n).replace('"', "'")
        out.append(f'  {i}["{label}"]')
    for u, v, d in sorted(g.edges(data=True), key=lambda x: (x[0], x[1], x[2]["edge"].method)):
        e = d["edge"]
        arrow = "-.->" if e.potential or e.conditional else "-->"
        out.append(f"  {ids[u]} {arrow}|{e.method}| {ids[v]}")
    for n in graph.admin:
        if n in ids:
            out.append(f"  style {ids[n]} stroke:#c00,stroke-width:2px")
    return "\n".join(out)


EXPORTERS = {"dot": to_dot, "graphml": to_graphml, "json": to_json, "mermaid": to_mermaid}

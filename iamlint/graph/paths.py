"""Reachability over the permission graph: what can a start principal end up holding?

Act-as edges are walked breadth-first, so paths are shortest in hops. Admin is reached when the walk
reaches an admin-equivalent principal, or when some reached principal can rewrite the permissions of
a reached principal (itself included: self-escalation is a one-step path ending at the start).
"""

from __future__ import annotations

from collections import deque

from .build import Graph, is_hub
from .edges import Edge, merge


def _act_edges(graph: Graph, node: str, certain_only: bool = False):
    for _, _, data in graph.g.out_edges(node, data=True):
        e: Edge = data["edge"]
        if not e.rewrite and not (certain_only and (e.potential or e.conditional)):
            yield e


def reach(graph: Graph, start: str, certain_only: bool = False) -> dict[str, Edge | None]:
    """Every node reachable from `start` by act-as edges -> the edge it was first reached by."""
    if start not in graph.g:
        return {}
    seen: dict[str, Edge | None] = {start: None}
    q = deque([start])
    while q:
        n = q.popleft()
        # prefer certain edges over potential/conditional ones at the same depth
        found = []
        for e in sorted(_act_edges(graph, n, certain_only), key=lambda e: (e.potential, e.conditional, e.method)):
            if e.target not in seen:
                seen[e.target] = e
                found.append(e.target)
        # into and out of a hub is one step: the hub's out-edges cost nothing (0-1 breadth-first, order kept)
        if is_hub(n):
            q.extendleft(reversed(found))
        else:
            q.extend(found)
    return seen


def collapse(path: list[Edge]) -> list[Edge]:
    """Steps into and out of a hub node (shared "may do X to every role" edges) drawn as one step."""
    out: list[Edge] = []
    for e in path:
        if out and is_hub(out[-1].target):
            out[-1] = merge(out[-1], e)
        else:
            out.append(e)
    return out


def path_to(seen: dict[str, Edge | None], target: str) -> list[Edge]:
    out = []
    node = target
    while seen.get(node) is not None:
        e = seen[node]
        out.append(e)
        node = e.source
    return collapse(list(reversed(out)))


def admin_sinks(graph: Graph) -> dict[str, Edge | None]:
    """Nodes at which admin-equivalence is held: admin principals (None) and principals that can rewrite
    their own or a directly reachable principal's permissions (the rewrite edge)."""
    sinks: dict[str, Edge | None] = {n: None for n, lvl in graph.admin.items() if lvl in ("admin", "iam-write")}
    for u, _, data in graph.g.edges(data=True):
        e: Edge = data["edge"]
        if e.rewrite and u not in sinks:
            sinks[u] = e
    return sinks


def toward(graph: Graph, sinks: dict[str, Edge | None], certain_only: bool = False) -> dict[str, Edge | None]:
    """For every node that can reach a sink by act-as edges: its first step on a shortest way (None at a
    sink). One breadth-first walk backwards from all sinks: linear in the graph, not per start."""
    nxt: dict[str, Edge | None] = {n: None for n in sinks if n in graph.g}
    q = deque(sorted(nxt))
    while q:
        n = q.popleft()
        preds = []
        for _, _, data in graph.g.in_edges(n, data=True):
            e: Edge = data["edge"]
            if e.rewrite or (certain_only and (e.potential or e.conditional)):
                continue
            preds.append(e)
        hubs = []
        for e in sorted(preds, key=lambda e: (e.potential, e.conditional, e.method, e.source)):
            if e.source not in nxt:
                nxt[e.source] = e
                # a hub is as far from the sinks as the target of its out-edge (one step in and out)
                if is_hub(e.source):
                    hubs.append(e.source)
                else:
                    q.append(e.source)
        q.extendleft(reversed(hubs))
    return nxt


def follow(nxt: dict[str, Edge | None], sinks: dict[str, Edge | None], start: str) -> list[Edge]:
    path, node, guard = [], start, 0
    while nxt.get(node) is not None and guard < 10000:
        e = nxt[node]
        path.append(e)
        node = e.target
        guard += 1
    tail = sinks.get(node)
    if tail is not None:
        path.append(tail)
    return collapse(path)


def paths_to_admin(graph: Graph, start: str, limit: int = 3) -> list[list[Edge]]:
    """Shortest ways from `start` to admin-equivalence (at most `limit`), shortest first."""
    found: list[list[Edge]] = []
    for certain in (True, False):
        found.extend(_admin_paths(graph, start, reach(graph, start, certain)))
    found.sort(key=lambda p: (sum(e.potential for e in p), sum(e.conditional for e in p), len(p),
                              [e.method for e in p]))
    uniq, keys = [], set()
    for p in found:
        k = tuple((e.source, e.target, e.method) for e in p)
        if k not in keys:
            keys.add(k)
            uniq.append(p)
    return uniq[:limit]


def _admin_paths(graph: Graph, start: str, seen: dict[str, Edge | None]) -> list[list[Edge]]:
    found: list[list[Edge]] = []
    for node in seen:
        if node != start and node in graph.admin and graph.admin[node] != "conditional" and not is_hub(node):
            found.append(path_to(seen, node))
    for node in seen:
        for _, _, data in graph.g.out_edges(node, data=True):
            e: Edge = data["edge"]
            if e.rewrite and e.target in seen:
                found.append(collapse(path_to(seen, node) + [e]))
    return found


def paths_between(graph: Graph, start: str, target: str, limit: int = 3) -> list[list[Edge]]:
    seen = reach(graph, start)
    if target not in seen or target == start:
        return []
    first = path_to(seen, target)
    out = [first]
    # alternatives: shortest simple paths in the act-as subgraph
    try:
        import networkx as nx
        sub = nx.DiGraph()
        for u, v, data in graph.g.edges(data=True):
            if not data["edge"].rewrite and not sub.has_edge(u, v):
                sub.add_edge(u, v, edge=data["edge"])
        for i, nodes in enumerate(nx.shortest_simple_paths(sub, start, target)):
            if i >= limit:
                break
            p = collapse([sub.edges[a, b]["edge"] for a, b in zip(nodes, nodes[1:])])
            if [e.target for e in p] != [e.target for e in first]:
                out.append(p)
    except Exception:  # noqa: BLE001 - alternatives are a bonus; the first path stands
        pass
    return out[:limit]


def render_chain(path: list[Edge], name=lambda a: a) -> str:
    if not path:
        return ""
    parts = [name(path[0].source)]
    for e in path:
        flag = "?" if e.potential else ""
        parts.append(f"--{e.method}{flag}--> {name(e.target)}")
    return " ".join(parts)

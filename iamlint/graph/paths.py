"""Reachability over the permission graph: what can a start principal end up holding?

Act-as edges are walked breadth-first, so paths are shortest in hops. Admin is reached when the walk
reaches an admin-equivalent principal, or when some reached principal can rewrite the permissions of
a reached principal (itself included: self-escalation is a one-step path ending at the start).
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace

from ..engine import wildcard
from ..markers import display
from .build import Graph, is_hub
from .edges import Edge, merge


def _act_edges(graph: Graph, node: str, certain_only: bool = False):
    for e in graph.edges_from(node):
        if not e.rewrite and not e.tool and not (certain_only and (e.potential or e.conditional)):
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


def _covers(graph: Graph, hub: str, node: str) -> bool:
    """Does a rewrite hub (a grant on every principal of some kinds in an account) cover `node`?"""
    members = graph.hub_members.get(hub)
    if members is not None:
        return node in members
    attrs = graph.g.nodes[hub]
    p = graph.model.principal(node)
    if (p is None or "covers" not in attrs or p.account != attrs.get("account")
            or p.kind.value not in attrs["covers"].split(",") or p.service_linked or p.aws_reserved):
        return False
    pat = attrs.get("pattern") or "*"
    if attrs.get("via") == "policy":
        return any(wildcard.match(pat, x) and (pol := graph.model.policies.get(x)) is not None
                   and not pol.aws_managed for x in p.managed_policies)
    return wildcard.match(pat, node)


def _in_act_edges(graph: Graph, node: str):
    for e in graph.edges_into(node):
        if not e.rewrite:
            yield e


def _held_directly(graph: Graph, u: str):
    """What `u` holds without a path search, lazily and in order: itself, then each act-as target one step
    (or one hub) away, with the edges that get it there (a hub's two edges are merged by `_steps`)."""
    seen = {u}
    yield u, ()
    for e in _act_edges(graph, u):
        if is_hub(e.target):
            for f in _act_edges(graph, e.target):
                if f.target not in seen:
                    seen.add(f.target)
                    yield f.target, (e, f)
        elif e.target not in seen:
            seen.add(e.target)
            yield e.target, (e,)


def _held_one(graph: Graph, u: str, t: str) -> tuple[Edge, ...] | None:
    """The first way (in `_held_directly`'s order) `u` holds `t` directly, or None: u's own edges only."""
    if t == u:
        return ()
    for e in _act_edges(graph, u):
        if e.target == t:
            return (e,)
        if is_hub(e.target) and graph.g.has_edge(e.target, t):
            f = next((f for f in _act_edges(graph, e.target) if f.target == t), None)
            if f is not None:
                return (e, f)
    return None


def _steps(edges: tuple[Edge, ...]) -> list[Edge]:
    return [merge(*edges)] if len(edges) == 2 else list(edges)


def admin_sinks(graph: Graph, prune: bool = True) -> dict[str, Edge | list[Edge] | None]:
    """Nodes at which admin-equivalence is held: admin principals (None), uncapped users that are or can
    make themselves members of an admin group, and nodes from which a rewrite leads to admin (the steps
    from them: the way to the target, then the rewrite). A rewrite target one step away is checked
    directly; otherwise the starts that reach both the rewriter and the target are found by backward
    walks and confirmed by the forward search of `paths_to_admin`. `prune=False` walks every ancestor set
    in full: the plain computation the tests compare the pruned walks against."""
    sinks: dict[str, Edge | list[Edge] | None] = {}
    for n, lvl in graph.admin.items():
        if lvl not in ("admin", "iam-write"):
            continue
        p = graph.model.principal(n)
        if p is None or p.kind.value != "group":
            sinks[n] = None
            continue
        # an admin group is held by the users that are (or can make themselves) members, unless capped
        for e in _in_act_edges(graph, n):
            if e.source not in graph.capped and e.source not in sinks:
                sinks[e.source] = [e]
    far: dict[str, list[Edge]] = {}
    for u, _, data in graph.g.edges(data=True):
        e: Edge = data["edge"]
        if not e.rewrite or u in sinks:
            continue
        if is_hub(e.target):
            cands = ((t, x) for t, x in _held_directly(graph, u) if _covers(graph, e.target, t))
        else:
            x = _held_one(graph, u, e.target)
            cands = iter(() if x is None else ((e.target, x),))
        hit = next(((t, x) for t, x in cands if _verified(e) or _gains(graph, t, x[0] if x else None)), None)
        if hit is not None:
            sinks[u] = _steps(hit[1]) + [_resolve(e, hit[0])]
        else:
            far.setdefault(u, []).append(e)
    # A rewrite u -> t one step is not enough for: whoever reaches both u and t holds u's rights and t
    # (u may reach t itself, or a start may reach them separately). Those starts are the common
    # ancestors of u and t, each confirmed (and its path drawn) by the forward search `paths` uses.
    # A start that reaches a confirmed sink needs no search of its own: the walk toward the sinks finds
    # it, so every ancestor of a confirmed start is `behind`. Candidates nearest to the rewriter and its
    # target go first, so each confirmed sink prunes the many starts behind it (one forward search per
    # sink found, not per start).
    behind: set[str] = set()
    anc: dict[frozenset, dict[str, int]] = {}
    pred = graph.g._pred     # the adjacency itself: the views cost more than the walk

    def ancestors(nodes: frozenset) -> dict[str, int]:
        """The nodes with a way to one of `nodes` that are not `behind`, with the length of their shortest
        way. `behind` is closed under ancestors (a union of ancestor sets), so the walk stops at it: a
        node outside it reaches `nodes` through nodes outside it only, by its shortest way too. The walks
        then cost what is not yet decided, not the whole graph once per rewriter. A walk kept from an
        earlier, smaller `behind` is a superset with the same lengths: callers filter by `behind`."""
        hit = anc.get(nodes)
        if hit is None:
            stop = behind if prune else frozenset()
            hit = {n: 0 for n in nodes if n not in stop}
            q = deque(hit)
            while q:
                n = q.popleft()
                d = hit[n] + 1
                for src, keyed in pred[n].items():
                    if src not in hit and src not in stop and any(not x["edge"].rewrite for x in keyed.values()):
                        hit[src] = d
                        q.append(src)
            anc[nodes] = hit
        return hit

    covered: dict[str, frozenset] = {}
    for u, edges in far.items():
        for e in edges:
            if is_hub(e.target):
                if e.target not in covered:
                    covered[e.target] = graph.hub_members.get(e.target) or frozenset(
                        n for n in graph.g.nodes if not is_hub(n) and _covers(graph, e.target, n))
                targets = covered[e.target]
            else:
                targets = frozenset([e.target])
            to_u = ancestors(frozenset([u]))
            if not to_u.keys() - behind:
                continue      # every start that reaches the rewriter is decided
            to_t = ancestors(targets)
            small, other = (to_u, to_t) if len(to_u) <= len(to_t) else (to_t, to_u)
            cands = [n for n in small if n in other and n not in sinks and n not in behind and not is_hub(n)]
            for start in sorted(cands, key=lambda n: (max(to_u[n], to_t[n]), n)):
                if start in sinks or start in behind:
                    continue
                found = paths_to_admin(graph, start, 1)
                if found:
                    sinks[start] = found[0]
                    behind.update(ancestors(frozenset([start])))
    return sinks


def _verified(e: Edge) -> bool:
    """Rewrites whose edge was only added after re-checking the target's admin-equivalence with the change
    (boundary or Deny removal, an older policy version, a new principal): capping is already accounted for."""
    from .methods import method
    m = method(e.method)
    return m is not None and m.matcher in ("boundary_removal", "deny_removal", "policy_version_rollback",
                                          "create_principal", "identity_center")


def _gains(graph: Graph, node: str, via: Edge | None) -> bool:
    """Does holding `node` once it is admin (or rewritten to admin) give admin? Not for a principal
    capped by its boundary, an SCP or a Deny; for a group, it depends on the member that holds it."""
    p = graph.model.principal(node)
    if p is not None and p.kind.value == "group":
        member = via.source if via is not None else None
        return member is None or member not in graph.capped
    return node not in graph.capped


def _resolve(e: Edge, target: str) -> Edge:
    """A rewrite edge to a hub, drawn to the principal it is used on."""
    return replace(e, target=target) if is_hub(e.target) else e


def toward(graph: Graph, sinks: dict[str, Edge | None], certain_only: bool = False) -> dict[str, Edge | None]:
    """For every node that can reach a sink by act-as edges: its first step on a shortest way (None at a
    sink). One breadth-first walk backwards from all sinks: linear in the graph, not per start.
    With `certain_only`, a sink held only through a potential or conditional step (its tail) is no sink:
    a certain way elsewhere is preferred. Sinks held directly go first, then those with shorter tails."""
    nxt: dict[str, Edge | None] = {n: None for n in sinks if n in graph.g
                                   and not (certain_only and not _certain_tail(sinks[n]))}
    q = deque(sorted(nxt, key=lambda n: (len(_tail(sinks[n])), n)))
    while q:
        n = q.popleft()
        preds = []
        for e in graph.edges_into(n):
            if e.rewrite or e.tool or (certain_only and (e.potential or e.conditional)):
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


def _tail(t: Edge | list[Edge] | None) -> list[Edge]:
    return t if isinstance(t, list) else ([t] if t is not None else [])


def _certain_tail(t: Edge | list[Edge] | None) -> bool:
    return not any(e.potential or e.conditional for e in _tail(t))


def follow(nxt: dict[str, Edge | None], sinks: dict[str, Edge | None], start: str) -> list[Edge]:
    path, node, guard = [], start, 0
    while nxt.get(node) is not None and guard < 10000:
        e = nxt[node]
        path.append(e)
        node = e.target
        guard += 1
    tail = sinks.get(node)
    if isinstance(tail, list):
        path.extend(tail)
    elif tail is not None:
        path.append(tail)
    return collapse(path)


def paths_to_admin(graph: Graph, start: str, limit: int = 3) -> list[list[Edge]]:
    """Shortest ways from `start` to admin-equivalence (at most `limit`), shortest first: by potential
    steps, conditional steps, length, then methods; certain walk first among equals."""
    found: list[tuple] = []
    for certain in (True, False):
        found.extend(_admin_paths(graph, start, reach(graph, start, certain)))
    # every way is ranked on its outline (source, target, method and the two flags of each collapsed
    # step); only the ways returned are drawn with their merged edges and evidence
    found.sort(key=lambda c: (sum(x[3] for x in c[0]), sum(x[4] for x in c[0]), len(c[0]), [x[2] for x in c[0]]))
    uniq, keys = [], set()
    for outline, draw in found:
        k = tuple(x[:3] for x in outline)
        if k not in keys:
            keys.add(k)
            uniq.append(draw())
            if len(uniq) == limit:
                break
    return uniq


def _outline(edges) -> list[tuple]:
    """`collapse` on (source, target, method, potential, conditional) outlines: what ranks a way."""
    out: list[tuple] = []
    for x in edges:
        _push(out, x)
    return out


def _push(out: list[tuple], x: tuple) -> None:
    """One step of `_outline`: `x` after the outline `out`, merged into its last step when that enters a hub."""
    if out and is_hub(out[-1][1]):
        a = out[-1]
        out[-1] = (a[0], x[1], a[2], a[3] or x[3], a[4] or x[4])
    else:
        out.append(x)


def _brief(e: Edge) -> tuple:
    return (e.source, e.target, e.method, e.potential, e.conditional)


def _admin_paths(graph: Graph, start: str, seen: dict[str, Edge | None]) -> list[tuple]:
    """Every way to admin in the walk `seen`, as (outline, draw): draw() gives its edges."""
    found: list[tuple] = []
    ways: dict[str, list[tuple]] = {}

    def way(node: str) -> list[tuple]:
        """The outline of `path_to(seen, node)`, kept per node (several rewrites leave one rewriter)."""
        chain, n = [], node
        while n not in ways:                  # iterative: chains can be long
            e = seen.get(n)
            if e is None:
                ways[n] = []
                break
            chain.append((n, e))
            n = e.source
        for n, e in reversed(chain):
            w = list(ways[e.source])
            _push(w, _brief(e))
            ways[n] = w
        return ways[node]

    for node in seen:
        if node != start and node in graph.admin and graph.admin[node] != "conditional" and not is_hub(node):
            if _gains(graph, node, seen[node]):
                found.append((way(node), lambda node=node: path_to(seen, node)))
    covered: dict[str, str] = {}          # rewrite hub -> a reached principal it covers
    for node in seen:
        for e in graph.edges_from(node):
            if not e.rewrite:
                continue
            target = e.target
            if is_hub(target):
                if target not in covered:
                    covered[target] = next((n for n in seen if _covers(graph, target, n)
                                            and _gains(graph, n, seen[n])), "")
                target = covered[target]
            if target in seen and (_verified(e) or _gains(graph, target, seen[target])):
                outline = _outline(_rewrite_path(way, start, node, target) + [_brief(_resolve(e, target))])
                found.append((outline, lambda node=node, target=target, e=e: collapse(
                    _rewrite_path(lambda n: path_to(seen, n), start, node, target) + [_resolve(e, target)])))
    return found


def _rewrite_path(way, start: str, rewriter: str, target: str) -> list:
    """The steps before `rewriter` rewrites `target` (`way(n)`: the steps to n, edges or outlines): the
    way to the target when the rewriter is on it (or is the start), the way to the rewriter when the
    target is on that, else both ways, one after the other."""
    to_target, to_rewriter = way(target), way(rewriter)
    on_target_way = rewriter == start or any(_target(e) == rewriter for e in to_target)
    on_rewriter_way = target == rewriter or target == start or any(_target(e) == target for e in to_rewriter)
    if on_target_way:
        return to_target
    if on_rewriter_way:
        return to_rewriter
    return to_rewriter + to_target


def _target(e) -> str:
    return e[1] if isinstance(e, tuple) else e.target


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
            if not data["edge"].rewrite and not data["edge"].tool and not sub.has_edge(u, v):
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
    """The path drawn for people: `a --method--> b`; values known only at deploy time shown readably."""
    if not path:
        return ""
    shown = lambda a: display(name(a))  # noqa: E731
    parts = [shown(path[0].source)]
    for e in path:
        flag = "?" if e.potential else ""
        parts.append(f"--{e.method}{flag}--> {shown(e.target)}")
    return " ".join(parts)

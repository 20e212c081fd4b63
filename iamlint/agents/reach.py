"""The agent-reachable set (agent-identities.md §5): the closure over the permission graph from the
agent sources, over role assumption, pass-role-plus-create, existing-resource and tool-invoke edges.

Computed once per scan (memoized in `RuleContext._cache`) by a multi-source breadth-first walk that is
linear in the size of the graph. Each node keeps its nearest source and the edge it was reached by, so
every finding about a reachable principal can draw the path from its agent source. The walk runs twice:
first over certain edges only, then over every edge from everything reached so far, so that a path is
certain wherever a certain path exists. Conditional and potential edges stay in the set, marked.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..graph.edges import Edge
from ..graph.paths import collapse
from ..model.account import Kind
from .sources import KINDS, AgentSource, agent_sources


@dataclass
class Reach:
    sources: dict[str, AgentSource]
    origin: dict[str, str] = field(default_factory=dict)          # node -> its nearest agent source
    parent: dict[str, Edge | None] = field(default_factory=dict)  # node -> edge it was reached by
    _paths: dict[str, list[Edge]] = field(default_factory=dict, repr=False, compare=False)

    def __contains__(self, node: str) -> bool:
        return node in self.origin

    def source_of(self, node: str) -> AgentSource | None:
        src = self.origin.get(node)
        return self.sources.get(src) if src else None

    def path(self, node: str) -> list[Edge]:
        """The path from the node's agent source to it ([] for a source itself). Drawn once per node (the
        walk is complete when rules ask); each caller gets its own list."""
        hit = self._paths.get(node)
        if hit is None:
            out: list[Edge] = []
            n = node
            while self.parent.get(n) is not None:
                e = self.parent[n]
                out.append(e)
                n = e.source
            hit = self._paths[node] = collapse(list(reversed(out)))
        return list(hit)

    def principals(self, model) -> list[str]:
        """Reached users and roles of the model (sources included), sorted by ARN."""
        out = []
        for n in self.origin:
            p = model.principal(n)
            if p is not None and p.kind is not Kind.GROUP and not p.service_linked:
                out.append(n)
        return sorted(out)


def _walk_edges(graph, node: str, certain_only: bool):
    for e in graph.edges_from(node):
        if e.rewrite:
            continue
        if certain_only and (e.potential or e.conditional):
            continue
        yield e


def compute(graph, sources: dict[str, AgentSource]) -> Reach:
    r = Reach(sources)
    order = sorted(sources.values(), key=lambda s: (KINDS.index(s.kind), s.arn))
    queue: deque[str] = deque()
    for s in order:
        if s.arn in graph.g:
            r.origin[s.arn] = s.arn
            r.parent[s.arn] = None
            queue.append(s.arn)
    seen_order = list(queue)
    for certain_only in (True, False):
        if not certain_only:
            queue = deque(seen_order)        # second pass: widen from everything reached so far
        while queue:
            n = queue.popleft()
            # an edge into a node already reached is skipped below anyway: leave it out before the sort
            edges = sorted((e for e in _walk_edges(graph, n, certain_only) if e.target not in r.origin),
                           key=lambda e: (e.potential, e.conditional, e.tool, e.method, e.target))
            for e in edges:
                if e.target in r.origin:
                    continue
                r.origin[e.target] = r.origin[n]
                r.parent[e.target] = e
                queue.append(e.target)
                seen_order.append(e.target)
    return r


def agent_reach(ctx) -> Reach:
    hit = ctx._cache.get("agents:reach")
    if hit is None:
        hit = ctx._cache["agents:reach"] = compute(ctx.graph, agent_sources(ctx))
    return hit


"""Graph edges: one step an identity can take, with its evidence and what it depends on."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..engine.evaluate import Decision


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    method: str
    actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()            # statement labels that grant it
    conditions: tuple[str, ...] = ()          # undecided conditions it depends on
    condition_keys: tuple[str, ...] = ()
    potential: bool = False                   # relies on a resource the input does not show
    assumes: str | None = None                # what a potential edge assumes exists
    rewrite: bool = False                     # the source can rewrite the target's permissions
    tool: bool = False                        # the source can invoke a tool running as the target (uses
                                              # it with inputs it controls; not act-as for escalation)

    @property
    def conditional(self) -> bool:
        return bool(self.conditions)

    def to_json(self) -> dict:
        out = {"source": self.source, "target": self.target, "method": self.method,
               "potential": self.potential, "conditions": list(self.conditions),
               "evidence": list(self.evidence), "actions": list(self.actions), "resources": list(self.resources)}
        if self.assumes:
            out["assumes"] = self.assumes
        if self.rewrite:
            out["rewrite"] = True
        if self.tool:
            out["tool"] = True
        return out


@dataclass
class EdgeBuilder:
    """Accumulates the decisions behind one edge (several actions may each need a check)."""

    actions: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def add(self, action: str, resource: str, d: Decision) -> None:
        self.actions.append(action)
        self.resources.append(resource)
        labels, described, keys = d.evidence_parts
        self.evidence.extend(labels)
        self.conditions.extend(described)
        self.keys.extend(keys)

    def copy(self) -> "EdgeBuilder":
        return EdgeBuilder(list(self.actions), list(self.resources), list(self.evidence),
                           list(self.conditions), list(self.keys))

    def edge(self, source: str, target: str, method: str, **kw) -> Edge:
        if len(self.actions) == 1 and len(self.resources) == 1:
            acts, ress = tuple(self.actions), tuple(self.resources)
        else:
            pairs = tuple(dict.fromkeys(zip(self.actions, self.resources)))
            acts, ress = tuple(a for a, _ in pairs), tuple(r for _, r in pairs)
        return Edge(source, target, method, acts, ress, _unique(self.evidence), _unique(self.conditions),
                    _unique(self.keys), **kw)


def _unique(xs: list[str]) -> tuple[str, ...]:
    """The items in order, each once."""
    return tuple(xs) if len(xs) < 2 else tuple(dict.fromkeys(xs))


def merge(a: Edge, b: Edge) -> Edge:
    """Two steps through a hub node drawn as one: a --method--> b."""
    u = lambda xs: tuple(dict.fromkeys(xs))  # noqa: E731
    # an action the hub's out-edge names on the target itself replaces the hub-wide pattern of the in-edge
    named = set(b.actions)
    pairs = u([x for x in zip(a.actions, a.resources) if x[0] not in named] + list(zip(b.actions, b.resources)))
    return Edge(a.source, b.target, a.method, tuple(x for x, _ in pairs), tuple(r for _, r in pairs),
                u(a.evidence + b.evidence), u(a.conditions + b.conditions), u(a.condition_keys + b.condition_keys),
                a.potential or b.potential, a.assumes or b.assumes, a.rewrite or b.rewrite, a.tool or b.tool)

"""Rules are data: policies/rules/*.yaml (plus user rule packs), validated against rule.schema.json."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..errors import InputError
from ..loaders.common import read_yaml
from ..yaml_safe import load_bundled
from ..paths_data import policies_dir, schema_path


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str
    family: str
    rationale: str
    remediation: str
    references: tuple[str, ...]
    match: dict = field(hash=False, compare=False)
    peers: dict = field(default_factory=dict, hash=False, compare=False)
    tags: tuple[str, ...] = ()
    source: str = ""
    supersedes: tuple[str, ...] = ()   # rule ids whose finding on the same principal and key this one replaces


@lru_cache(maxsize=1)
def _schema() -> dict:
    return json.loads(schema_path("rule.schema.json").read_text())


def parse_rule(data, source: str) -> Rule:
    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        e = errors[0]
        raise InputError(e.message, source=source, place="/" + "/".join(str(p) for p in e.absolute_path))
    from .matchers import MATCHERS
    if data["match"]["matcher"] not in MATCHERS:
        raise InputError(f"unknown matcher {data['match']['matcher']!r} (known: {', '.join(sorted(MATCHERS))})",
                         source=source, place="/match/matcher")
    return Rule(id=data["id"], title=data["title"], severity=data["severity"], family=data["family"],
                rationale=" ".join(data["rationale"].split()), remediation=" ".join(data["remediation"].split()),
                references=tuple(data["references"]), match=data["match"], peers=data.get("peers") or {},
                tags=tuple(data.get("tags") or ()), source=source,
                supersedes=tuple(data.get("supersedes") or ()))


def load_rule_dir(folder: Path, bundled: bool = False) -> list[Rule]:
    rules = []
    for path in sorted(folder.glob("*.yaml")):
        data = load_bundled(path) if bundled else read_yaml(str(path))
        rules.append(parse_rule(data, str(path)))
    return rules


@lru_cache(maxsize=1)
def builtin_rules() -> tuple[Rule, ...]:
    return tuple(load_rule_dir(policies_dir() / "rules", bundled=True))


def all_rules(extra_dirs: tuple[str, ...] = ()) -> list[Rule]:
    rules = list(builtin_rules())
    for d in extra_dirs:
        p = Path(d)
        if not p.is_dir():
            raise InputError("rule pack folder not found", source=d)
        rules.extend(load_rule_dir(p))
    seen: dict[str, str] = {}
    for r in rules:
        if r.id in seen:
            raise InputError(f"rule id {r.id} is defined twice (also in {seen[r.id]})", source=r.source)
        seen[r.id] = r.source
    return sorted(rules, key=lambda r: r.id)

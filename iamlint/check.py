"""`iamlint check`: IAM defined in infrastructure-as-code, judged by the same pipeline as `scan`.

    files and folders -> classify by content -> the IaC loaders (+ the deployed account with --context)
    -> the one model -> pipeline.scan (graph, rules) -> locations (file:line:col of the statement or
    resource) -> inline suppressions, exclusions, baseline -> what the change adds (with --context)

The Report is the one `scan` returns, with `report.check` (a CheckInfo) describing the inputs, the
changes, and how many findings were pre-existing, suppressed inline or hidden by the baseline.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import re
from dataclasses import dataclass, field
from typing import Iterable

from . import __version__
from .errors import InputError, UsageError
from .findings import SEVERITY_RANK, Finding
from .iac import load as load_iac
from .iac.discover import Candidate, candidates, display, looks_meant, repo_root
from .iac.index import DEFAULT_ACCOUNT, Index, Options, Origin
from .iac.locate import Locator
from .iac.policyfile import load_policy_file, looks_like_policy
from .iac.positions import load_json, load_text, looks_like_json, read_input
from .iac.waivers import same_resource, tag_suppressions, tf_comment_suppressions, tf_files_near
from .loaders import load_data
from .loaders.common import read_json
from .loaders.gaad import looks_like_gaad
from .loaders.snapshot import looks_like_snapshot
from .model.account import Model
from .pipeline import Report, scan

BASELINE_FORMAT = "iamlint-baseline"


@dataclass(frozen=True)
class Waiver:
    """Why a finding is not reported as failing: an inline suppression or a baseline entry."""

    kind: str                            # inline | baseline
    reason: str
    rule: str = "*"
    file: str | None = None
    resource: str = ""
    line: int | None = None
    expires: _dt.date | None = None
    fingerprint: str | None = None

    @property
    def source(self) -> str:
        return self.file or ""

    @property
    def index(self) -> int:
        return self.line or 0

    def to_json(self) -> dict:
        return {"rule": self.rule, "principal": None, "fingerprint": self.fingerprint, "file": self.file,
                "reason": self.reason, "expires": self.expires.isoformat() if self.expires else None,
                "kind": self.kind}


@dataclass(frozen=True)
class Change:
    """With this change, `source` newly reaches `target` by `path`."""

    source: str
    target: str
    path: tuple
    admin: str | None = None            # the target is admin-equivalent ("admin" | "iam-write")

    def to_json(self, name) -> dict:
        from .graph.paths import render_chain
        return {"source": self.source, "source_name": name(self.source), "target": self.target,
                "target_name": name(self.target), "admin": self.admin,
                "chain": render_chain(list(self.path), name),
                "path": [{"source": e.source, "target": e.target, "method": e.method, "potential": e.potential,
                          "conditions": list(e.conditions)} for e in self.path]}

    def sentence(self, name) -> str:
        from .graph.paths import render_chain
        adm = f" ({'admin-equivalent' if self.admin == 'admin' else 'full IAM write'})" if self.admin else ""
        who = "any AWS principal (*)" if self.source == "*" else name(self.source)
        return (f"with this change, {who} newly reaches {name(self.target)}{adm} "
                f"({render_chain(list(self.path), name)})")


def summarize(changes: list[Change], name, examples: int = 3) -> list[str]:
    """One sentence per source: each new target when there are few, else a count and the first few
    (admin-equivalent targets first, shortest paths first)."""
    by: dict[str, list[Change]] = {}
    for c in changes:
        by.setdefault(c.source, []).append(c)
    order = sorted(by, key=lambda s: (not any(c.admin for c in by[s]), s))
    out = []
    for src in order:
        items = sorted(by[src], key=lambda c: (c.admin is None, len(c.path), c.target))
        if len(items) <= examples:
            out.extend(c.sentence(name) for c in items)
            continue
        n_admin = sum(1 for c in items if c.admin)
        who = "any AWS principal (*)" if src == "*" else name(src)
        eg = "; ".join(c.sentence(name).split(" newly reaches ", 1)[1] for c in items[:examples])
        out.append(f"with this change, {who} newly reaches {len(items)} principals"
                   + (f" ({n_admin} admin-equivalent)" if n_admin else "") + f", e.g. {eg}")
    return out


@dataclass
class CheckInfo:
    base_dir: str
    inputs: list[tuple[str, str]] = field(default_factory=list)     # (source, kind)
    skipped: list[str] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    account: str = DEFAULT_ACCOUNT
    changes: list[Change] = field(default_factory=list)
    preexisting: int = 0
    inline_suppressed: int = 0
    baselined: int = 0
    inline_suppressions: bool = True
    baseline: str | None = None
    unused: list = field(default_factory=list)        # inline suppressions that matched no finding
    resolved: list = field(default_factory=list)      # deployed findings the change makes disappear

    def to_json(self, name) -> dict:
        return {"base_dir": ".", "account": self.account,
                "inputs": [{"file": s, "kind": k} for s, k in self.inputs], "skipped": list(self.skipped),
                "context": list(self.context), "preexisting": self.preexisting,
                "inline_suppressed": self.inline_suppressed, "baselined": self.baselined,
                "inline_suppressions": self.inline_suppressions, "baseline": self.baseline,
                "changes": [c.to_json(name) for c in self.changes],
                "resolved": [{"rule_id": f.rule_id, "principal": f.principal, "message": f.message}
                             for f in self.resolved],
                "unused_suppressions": [w.to_json() | {"line": w.line} for w in self.unused]}


@dataclass
class CheckOptions:
    account: str | None = None
    region: str | None = None
    partition: str = "aws"
    stack_name: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    context: list[str] = field(default_factory=list)
    base_dir: str | None = None
    inline_suppressions: bool = True
    baseline: str | None = None
    only: Iterable[str] | None = None
    skip: Iterable[str] | None = None
    rule_dirs: tuple[str, ...] = ()
    config: dict | None = None
    exclusions: list = field(default_factory=list)
    today: _dt.date | None = None
    ignore_unknown: bool = False        # files named on the command line that are not IAM input are skipped


# ------------------------------------------------------------------ loading

@dataclass
class _Parsed:
    cand: Candidate
    data: object
    positions: dict
    kind: str


def _parse(c: Candidate, ignore_unknown: bool = False) -> _Parsed | None:
    if c.unreadable:
        return None
    text = read_input(c.path, c.source)
    positions = None
    try:
        if looks_like_json(text) and not c.source.lower().endswith((".yaml", ".yml")):
            # classify first: positions are only worth computing for templates, plans and policies
            # (not for a package-lock.json or a large authorization-details file)
            try:
                data = json.loads(text)
            except (ValueError, RecursionError):
                data, positions = load_text(text, c.source)        # the precise error, with its line
        else:
            data, positions = load_text(text, c.source)
    except InputError:
        if c.explicit or looks_meant(text):
            raise
        return None
    from .iac import detect
    if detect(data) is not None:
        kind = "iac"
    elif looks_like_snapshot(data) or looks_like_gaad(data):
        kind = "account"
    elif looks_like_policy(data):
        kind = "policy"
    else:
        if c.explicit and not ignore_unknown:
            if not text.strip() or data is None:
                raise InputError("the file is empty: not a CloudFormation/SAM/CDK template, Terraform plan, "
                                 "policy document, authorization-details file or iamlint snapshot", source=c.source)
            if positions is None and looks_like_json(text):
                load_json(text, c.source)           # a duplicate key (the last one hid the template) is the error
            raise InputError("not a CloudFormation/SAM/CDK template, Terraform plan, policy document, "
                             "authorization-details file or iamlint snapshot", source=c.source)
        return None
    if positions is None and kind != "account":
        data, positions = load_json(text, c.source)
    return _Parsed(c, data, positions or {}, kind)


def _context_model(paths: list[str], base: str, model: Model | None = None) -> Model:
    model = model if model is not None else Model()
    for p in paths:
        load_data(read_json(p), display(p, base), model)
    return model


def load_inputs(paths: list[str], opts: CheckOptions, base: str) -> tuple[Model, Index, CheckInfo]:
    if not paths:
        raise UsageError("check needs at least one file or folder")
    if not re.fullmatch(r"aws(-[a-z]+)*", opts.partition or ""):
        # every ARN the code makes starts with it: a typo would silently match nothing
        raise UsageError(f"--partition must be an AWS partition (aws, aws-cn, aws-us-gov, ...), not {opts.partition!r}")
    info = CheckInfo(base_dir=base, inline_suppressions=opts.inline_suppressions, baseline=opts.baseline)
    model = _context_model(opts.context, base)
    info.context = [display(p, base) for p in opts.context]
    account = opts.account
    if account is None and model.accounts:
        ids = sorted(model.accounts)
        if len(ids) > 1:
            raise UsageError(f"--context holds {len(ids)} accounts ({', '.join(ids)}); say which one the code "
                             "deploys to with --account")
        account = ids[0]
    info.account = account or DEFAULT_ACCOUNT
    index = Index()
    parsed = []
    for c in candidates(paths, base):
        got = _parse(c, opts.ignore_unknown)
        if got is None:
            info.skipped.append(c.source)
        else:
            parsed.append(got)
    # accounts first (their principals are what the templates may attach to), then IaC and policy files
    for p in parsed:
        if p.kind == "account":
            load_data(p.data, p.cand.source, model)
            info.inputs.append((p.cand.source, "account"))
    for p in parsed:
        if p.kind == "account":
            continue
        env = p.cand.env
        o = Options(account=env.get("account") or info.account, region=env.get("region") or opts.region,
                    partition=opts.partition, stack_name=env.get("stack_name") or opts.stack_name,
                    parameters=dict(opts.parameters))
        if p.kind == "policy":
            kind = load_policy_file(p.data, p.positions, p.cand.source, model, o, index)
            info.inputs.append((p.cand.source, f"{kind}-policy"))
            continue
        kind = load_iac(p.data, p.positions, p.cand.source, model, o, index) or "unknown"
        if kind == "cloudformation" and env:
            kind = "cdk"
        info.inputs.append((p.cand.source, kind))
        if kind == "terraform":
            for tf in tf_files_near(p.cand.path):
                tf_comment_suppressions(tf, p.cand.source, index, display(tf, base))
    tag_suppressions(model, index)
    return model, index, info


def _resource_conditions(findings: list[Finding], origin_at: dict, index: Index) -> list[Finding]:
    """A finding about a principal (or from a resource) that exists only under an undecided CloudFormation
    condition says so among its conditions: it is reported (nothing is silently allowed) and the reader
    learns it may not apply."""
    out = []
    for i, f in enumerate(findings):
        extra = []
        for o in (index.principals.get(f.principal or ""), origin_at.get(i)):
            if o is not None and o.condition:
                c = f"{o.resource} exists only if condition {o.condition} is true (decided at deploy time)"
                if c not in extra and c not in f.conditions:
                    extra.append(c)
        out.append(dataclasses.replace(f, conditions=tuple(f.conditions) + tuple(extra)) if extra else f)
    return out


# ------------------------------------------------------------------ suppression, baseline, diff

def _inline_waiver(f: Finding, origins: list[Origin], index: Index, today: _dt.date, used: set):
    """-> (active waiver or None, expired waivers that would have matched)."""
    expired = []
    for o in origins:
        for (file, res), entries in index.suppressions.items():
            if file != o.file or not (res == "" or res == o.resource or same_resource(res, o.resource)):
                continue
            for s in entries:
                if s.rule != "*" and not f.rule_id.upper().startswith(s.rule.upper()):
                    continue
                w = Waiver("inline", s.reason, s.rule, s.file, s.resource, s.line, s.expires, f.fingerprint)
                if s.active(today):
                    used.add(id(s))
                    return w, expired
                expired.append(w)
    return None, expired


def read_baseline(path: str) -> set[str]:
    data = read_json(path)
    if not isinstance(data, dict) or data.get("format") != BASELINE_FORMAT:
        raise InputError(f"not an iamlint baseline (expected \"format\": \"{BASELINE_FORMAT}\")", source=path,
                         place="/format")
    items = data.get("findings")
    if not isinstance(items, list):
        raise InputError("findings must be a list", source=path, place="/findings")
    out = set()
    for i, it in enumerate(items):
        fp = it.get("fingerprint") if isinstance(it, dict) else None
        if not isinstance(fp, str):
            raise InputError("each entry needs a fingerprint (a string)", source=path, place=f"/findings/{i}")
        out.add(fp)
    return out


def baseline_document(report: Report) -> dict:
    """Every current finding (suppressed ones included), keyed on its fingerprint: file, rule, principal
    and statement, never the line, so line moves keep matching and a new instance elsewhere does not."""
    seen: dict[str, dict] = {}
    for f in list(report.findings) + [f for f, _ in report.suppressed]:
        seen.setdefault(f.fingerprint, {"fingerprint": f.fingerprint, "rule_id": f.rule_id,
                                        "file": f.location.file if f.location else None,
                                        "principal": f.principal})
    items = sorted(seen.values(), key=lambda x: (x["file"] or "", x["rule_id"], x["principal"] or "",
                                                 x["fingerprint"]))
    return {"format": BASELINE_FORMAT, "schema_version": 1, "generator": f"iamlint {__version__}",
            "findings": items}


def write_baseline(report: Report, path: str) -> None:
    from .output import write_atomic
    write_atomic(path, json.dumps(baseline_document(report), indent=1) + "\n")


def _identity(f: Finding) -> tuple:
    return (f.rule_id, f.principal, tuple(str(k) for k in f.key), f.message)


def _changes(merged, deployed, index: Index) -> list[Change]:
    """Pairs (source, target) the merged graph connects and the deployed graph does not."""
    from .graph.build import is_hub
    from .graph.paths import path_to, reach

    g = merged.g
    touched = [n for n in index.touched if n in g]
    sources: set[str] = set()
    import networkx as nx
    for t in touched:
        sources |= nx.ancestors(g, t)
        sources.add(t)
    out = []
    for s in sorted(sources):
        if is_hub(s):
            continue
        if s in index.touched and deployed.model.principal(s) is None:
            continue          # a principal the change creates: its own findings say what it can do
        before = reach(deployed, s) if s in deployed.g else {s: None}
        after = reach(merged, s)
        for tgt in after:
            if tgt == s or tgt in before or is_hub(tgt):
                continue
            path = path_to(after, tgt)
            if path:
                out.append(Change(s, tgt, tuple(path), merged.admin.get(tgt) if merged.admin.get(tgt) in
                                  ("admin", "iam-write") else None))
    out.sort(key=lambda c: (c.admin is None, c.source, len(c.path), c.target))
    return out


# ------------------------------------------------------------------ the command

def run_check(paths: list[str], opts: CheckOptions | None = None, progress=None) -> Report:
    opts = opts or CheckOptions()
    if opts.base_dir and not os.path.isdir(opts.base_dir):
        raise UsageError(f"--base-dir {opts.base_dir}: no such folder")
    base = os.path.abspath(opts.base_dir) if opts.base_dir else repo_root()
    today = opts.today or _dt.date.today()
    model, index, info = load_inputs(list(paths), opts, base)
    report = scan(model, only=opts.only, skip=opts.skip, rule_dirs=opts.rule_dirs, progress=progress,
                  config=opts.config, exclusions=[])
    findings, origin_at = Locator(model, index).locate(report.findings)
    findings = _resource_conditions(findings, origin_at, index)

    # inline suppressions: on the resource the finding points at, or on the resource defining its principal
    kept: list[Finding] = []
    suppressed: list = []
    expired: dict = {}
    used: set[int] = set()
    for i, f in enumerate(findings):
        if opts.inline_suppressions:
            origins = [o for o in (origin_at.get(i), index.principals.get(f.principal or "")) if o is not None]
            w, exp = _inline_waiver(f, origins, index, today, used)
            for e in exp:
                expired[(e.file, e.line, e.rule)] = e
            if w is not None:
                suppressed.append((f, w))
                continue
        kept.append(f)
    info.inline_suppressed = len(suppressed)
    if opts.inline_suppressions:
        # active entries that matched nothing: stale, or written for a rule that is not run
        ran = [r.id.upper() for r in report.rules]
        info.unused = [Waiver("inline", s.reason, s.rule, s.file, s.resource, s.line, s.expires)
                       for entries in index.suppressions.values() for s in entries
                       if s.active(today) and id(s) not in used
                       and (s.rule == "*" or any(r.startswith(s.rule.upper()) for r in ran))]
        info.unused.sort(key=lambda w: (w.file or "", w.line or 0, w.rule))
    # exclusions file: the one decision point of `scan`, now that findings have their files
    from .suppress import apply
    kept, by_file, expired_file = apply(kept, opts.exclusions, today)
    suppressed += by_file
    # baseline
    if opts.baseline:
        known = read_baseline(opts.baseline)
        rest = []
        for f in kept:
            if f.fingerprint in known:
                suppressed.append((f, Waiver("baseline", f"in baseline {display(opts.baseline, base)}",
                                             f.rule_id, f.location.file if f.location else None,
                                             fingerprint=f.fingerprint)))
                info.baselined += 1
            else:
                rest.append(f)
        kept = rest
    # pre-existing: what the deployed account alone already shows
    if opts.context:
        deployed_model = _context_model(opts.context, base)
        before = scan(deployed_model, only=opts.only, skip=opts.skip, rule_dirs=opts.rule_dirs,
                      config=opts.config, exclusions=[])
        old = {_identity(f) for f in before.findings}
        kept = [dataclasses.replace(f, preexisting=True) if _identity(f) in old else f for f in kept]
        info.preexisting = sum(1 for f in kept if f.preexisting)
        now = {_identity(f) for f in findings}
        info.resolved = [f for f in before.findings if _identity(f) not in now and f.principal in index.touched]
        info.changes = _changes(report.graph, before.graph, index)
    kept.sort(key=Finding.sort_key)
    report.findings = kept
    report.suppressed = suppressed
    report.expired_exclusions = list(expired_file) + [expired[k] for k in sorted(expired, key=str)]
    report.check = info
    return report


def failing(report: Report, fail_on: str | None, include_preexisting: bool = False) -> list[Finding]:
    if fail_on is None:
        return []
    limit = SEVERITY_RANK[fail_on]
    return [f for f in report.findings
            if SEVERITY_RANK[f.severity] <= limit and (include_preexisting or not f.preexisting)]

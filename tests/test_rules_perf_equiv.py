"""The rules' fast paths give the findings the straightforward versions gave.

AGT005 ranks a shared tool hub's targets once per hub and merges them per principal; AGT027 reads a role's
assumers from per-hub caller lists. Their earlier, direct versions (every step drawn, every pair merged)
are kept here as references and run beside the rules on accounts that exercise hubs, direct tool edges,
a principal that is itself a tool of the hub it invokes, conditional steps and generated accounts.
"""

import json
import sys

import pytest

from conftest import EXAMPLE, ROOT

sys.path.insert(0, str(ROOT / "bench"))

from generate import generate_account  # noqa: E402

from iamlint.graph.build import build_graph, is_hub  # noqa: E402
from iamlint.graph.edges import merge  # noqa: E402
from iamlint.loaders import load_data, load_paths  # noqa: E402
from iamlint.model.account import Kind  # noqa: E402
from iamlint.rules import agents as A  # noqa: E402
from iamlint.rules.load import all_rules  # noqa: E402
from iamlint.rules.matchers import MATCHERS, RuleContext  # noqa: E402

ACCT = "111111111111"


# ---------------------------------------------------------------- the references

def ref_tool_privileged(rule, ctx):
    """AGT005 as it was: every step out of every reachable principal, hubs expanded."""
    r, reached = A._reached(ctx)
    for p in reached:
        steps = []
        for _, _, data in ctx.graph.g.out_edges(p.arn, data=True):
            e = data["edge"]
            if not e.tool:
                continue
            if is_hub(e.target):
                steps += [A._Step(e, d2["edge"]) for _, _, d2 in ctx.graph.g.out_edges(e.target, data=True)]
            else:
                steps.append(A._Step(None, e))
        hits = []
        for st in sorted(steps, key=lambda st: (st.target, st.method)):
            t = ctx.model.principal(st.target)
            if t is None or t.arn == p.arn:
                continue
            if A._level(ctx, t.arn) in A.ADMIN:
                hits.append((0, st, "an administrator"))
                continue
            power = A._tool_power(ctx, t)
            if power:
                hits.append((1, st, f"may {A._short(power, 3)}"))
        if not hits:
            continue
        hits.sort(key=lambda x: (x[0], x[1].uncertain, x[1].target))
        rank, best, what = hits[0]
        best = best.edge()
        sev = rule.severity if rank == 0 else A.lower(rule.severity)
        tools = list(dict.fromkeys(f"{ctx.name(e.target)} ({e.method}: {w})" for _, e, w in hits))
        yield A._emit(rule, ctx, r, p, f"may invoke tools that run as privileged roles, with inputs it controls: "
                      f"{A._short(tools, 3)}", sev, evidence=best.evidence, extra=[best], key=("tool",),
                      potential=best.potential)


def _ref_assumers(ctx, role):
    out = []
    for src, _, data in ctx.graph.g.in_edges(role, data=True):
        e = data["edge"]
        if e.method != "sts-assume-role":
            continue
        if is_hub(src):
            for s2, _, d2 in ctx.graph.g.in_edges(src, data=True):
                q = ctx.model.principal(s2)
                if q is not None and q.kind is not Kind.GROUP:
                    out.append((s2, merge(d2["edge"], e)))
        else:
            q = ctx.model.principal(src)
            if q is not None and q.kind is not Kind.GROUP:
                out.append((src, e))
    return sorted(dict(out).items())


def ref_no_source_identity(rule, ctx):
    """AGT027 as it was: every (caller, role) pair through a hub merged into one edge."""
    cfg = A.agent_settings(ctx)
    sources = A.agent_sources(ctx)
    r, reached = A._reached(ctx)
    for p in reached:
        if p.kind is not Kind.ROLE:
            continue
        callers = [(c, e) for c, e in _ref_assumers(ctx, p.arn) if c != p.arn]
        humans = [(c, e) for c, e in callers
                  if A._human_or_ci(ctx, ctx.model.principal(c), sources.get(c), cfg) in
                  ("IAM user", "human role", "declared operator")]
        if not humans and len(callers) < 2:
            continue
        path = r.path(p.arn)
        prev = path[-1].source if path else None
        pick = humans or callers
        c, e = next(((c, e) for c, e in pick if c == prev), pick[0])
        d = A._check(ctx, c, "sts:AssumeRole", p.arn)
        if not d.possible:
            continue
        keys = {pc.condition.key.lower() for pc in d.conditions if pc.statement.effect == "Allow"}
        if any(A.wildcard.match(k, key, ignore_case=True) for k in A.ATTRIBUTION_KEYS for key in keys):
            continue
        who = (f"is assumed by humans ({A._short([ctx.name(c) for c, _ in humans], 3)})" if humans
               else f"is shared by {len(callers)} principals ({A._short([ctx.name(c) for c, _ in callers], 3)})")
        yield A._emit(rule, ctx, r, p, f"{who}, and its trust does not require sts:SourceIdentity or session tags: "
                      f"CloudTrail cannot tell which person or agent acted through it", rule.severity,
                      evidence=A._labels(ctx.model.principal(c), d) or (f"role/{p.name} trust policy",),
                      conditions=A._pending(d), key=("source-identity",))


def _ref_out_steps(ctx, arn, keep):
    for _, _, data in ctx.graph.g.out_edges(arn, data=True):
        e = data["edge"]
        if not keep(e):
            continue
        if is_hub(e.target):
            lasts = [next((x for x in members if x.target != arn), None) for members in A._hub_classes(ctx, e.target)]
            for last in lasts:
                if last is not None:
                    yield A._Step(e, last)
        else:
            yield A._Step(None, e)


def ref_step_rule(ctx, categories, tool):
    """_step_rule (AGT003, AGT004) as it was: every principal's steps through hub classes scored anew."""
    r, reached = A._reached(ctx)
    for p in reached:
        if A._level(ctx, p.arn) in A.ADMIN:
            continue
        steps = [st for st in _ref_out_steps(ctx, p.arn, lambda e: e.tool == tool and A._category(e) in categories)
                 if st.target != p.arn and ctx.model.principal(st.target) is not None]
        if not steps:
            continue
        scored = []
        for st in sorted(steps, key=lambda st: (st.target, st.method)):
            lvl = A._level(ctx, st.target)
            gain = A._stronger(ctx, p, st.target) if lvl not in A.ADMIN else ["*"]
            if gain:
                scored.append((lvl in A.ADMIN, st, gain))
        if scored:
            yield p, r, scored


REFERENCES = {"AGT005": ref_tool_privileged, "AGT027": ref_no_source_identity}


# ---------------------------------------------------------------- accounts

from test_agents import allow, doc  # noqa: E402  (the same small policy builders)


def trust(principal, action="sts:AssumeRole"):
    return doc({"Effect": "Allow", "Principal": principal, "Action": action})


def role(name, trust_doc, policy=None, managed=()):
    return {"Path": "/", "RoleName": name, "RoleId": "AROA" + name.upper()[:16], "Arn": f"arn:aws:iam::{ACCT}:role/{name}",
            "AssumeRolePolicyDocument": trust_doc,
            "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": policy}] if policy else [],
            "AttachedManagedPolicies": [{"PolicyName": m.rsplit("/", 1)[1], "PolicyArn": m} for m in managed],
            "InstanceProfileList": [], "Tags": []}


def user(name, policy=None):
    return {"Path": "/", "UserName": name, "UserId": "AIDA" + name.upper()[:16], "Arn": f"arn:aws:iam::{ACCT}:user/{name}",
            "GroupList": [], "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": policy}] if policy else [],
            "AttachedManagedPolicies": [], "Tags": []}


ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
ADMIN_POLICY = {"PolicyName": "AdministratorAccess", "Arn": ADMIN, "Path": "/", "DefaultVersionId": "v1",
                "PolicyVersionList": [{"Document": doc(allow("*")), "VersionId": "v1", "IsDefaultVersion": True}]}
LAMBDA = trust({"Service": "lambda.amazonaws.com"})
STATES = trust({"Service": "states.amazonaws.com"})
ROOT_TRUST = trust({"AWS": f"arn:aws:iam::{ACCT}:root"})
OIDC = doc({"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:org/app:*"}}})


def fn(name, role_name):
    return {"arn": f"arn:aws:lambda:us-east-1:{ACCT}:function:{name}", "name": name,
            "role": f"arn:aws:iam::{ACCT}:role/{role_name}"}


def tools_account(functions: bool):
    """Agents invoking tools through hubs (every function / state machine: the input lists none), through
    listed functions (direct edges, with `functions`), under a condition, and a tool role that is itself an
    agent invoking every function."""
    inv_fns = [fn("admin-tool", "fn-admin"), fn("iam-tool", "fn-iam"), fn("weak-tool", "fn-weak"),
               fn("destroy-tool", "fn-destroy")]
    roles = [
        role("agent-broad", OIDC, doc(allow(["lambda:InvokeFunction", "states:StartExecution"]),
                                      allow("sts:AssumeRole", f"arn:aws:iam::{ACCT}:role/shared-*"))),
        role("agent-listed", OIDC, doc(allow("lambda:InvokeFunction", [f["arn"] for f in inv_fns[1:]]))),
        role("agent-cond", OIDC, doc(allow("lambda:InvokeFunction", "*",
                                           cond={"StringEquals": {"aws:RequestedRegion": "us-east-1"}}))),
        role("agent-both", OIDC, doc(allow("lambda:InvokeFunction", "*"),
                                     allow("states:StartExecution", "*",
                                           cond={"Bool": {"aws:ViaAWSService": "true"}}))),
        role("agent-fn", LAMBDA, doc(allow(["lambda:InvokeFunction", "iam:PutRolePolicy"]))),
        role("fn-admin", LAMBDA, managed=[ADMIN]),
        role("fn-iam", LAMBDA, doc(allow("iam:AttachRolePolicy"))),
        role("fn-weak", LAMBDA, doc(allow("s3:GetObject"))),
        role("fn-destroy", LAMBDA, doc(allow(["s3:DeleteBucket", "dynamodb:DeleteTable"]))),
        role("fn-destroy2", LAMBDA, doc(allow(["s3:DeleteBucket", "dynamodb:DeleteTable"]))),
        role("sm-admin", STATES, managed=[ADMIN]),
        role("sm-weak", STATES, doc(allow("logs:PutLogEvents"))),
        role("shared-a", ROOT_TRUST, doc(allow("s3:DeleteBucket"))),
        role("shared-b", trust({"AWS": [f"arn:aws:iam::{ACCT}:role/agent-broad", f"arn:aws:iam::{ACCT}:user/dev-erin"]})),
    ]
    users = [user("dev-erin", doc(allow("sts:AssumeRole", f"arn:aws:iam::{ACCT}:role/shared-*"))),
             user("ops-frank", doc(allow("sts:AssumeRole")))]
    data = {"UserDetailList": users, "GroupDetailList": [], "RoleDetailList": roles, "Policies": [ADMIN_POLICY],
            "Inventory": {"lambda_functions": inv_fns} if functions else {}}
    return load_data(data, "tools.json")


def _models():
    yield "tools-hubs", tools_account(False)
    yield "tools-listed", tools_account(True)
    yield "example", load_paths([str(EXAMPLE)])
    for seed, dense in ((1, 0.3), (2, 0.0), (3, 0.5)):
        yield f"generated-{seed}", load_data(generate_account(300, seed=seed, dense=dense), "gen.json")


def _dump(findings):
    return [json.dumps({**f.to_json(), "key": [str(k) for k in f.key]}, sort_keys=True) for f in findings]


@pytest.mark.parametrize("name,model", list(_models()), ids=lambda x: x if isinstance(x, str) else "")
def test_fast_rules_match_their_references(name, model):
    ctx = RuleContext(build_graph(model), {})
    rules = {r.id: r for r in all_rules(())}
    for rid, ref in REFERENCES.items():
        rule = rules[rid]
        fast = _dump(MATCHERS[rule.match["matcher"]](rule, ctx))
        slow = _dump(ref(rule, ctx))
        assert fast == slow, (name, rid)


@pytest.mark.parametrize("name,model", list(_models()), ids=lambda x: x if isinstance(x, str) else "")
def test_step_rule_matches_its_reference(name, model):
    ctx = RuleContext(build_graph(model), {})
    for categories in (("new-passrole",), ("existing-passrole",), ("new-passrole", "existing-passrole")):
        fast = [(p.arn, [(a, st.first, st.last, list(g)) for a, st, g in sc])
                for p, _, sc in A._step_rule(None, ctx, categories, False)]
        slow = [(p.arn, [(a, st.first, st.last, list(g)) for a, st, g in sc])
                for p, _, sc in ref_step_rule(ctx, categories, False)]
        assert fast == slow, (name, categories)


def _agt005(m):
    ctx = RuleContext(build_graph(m), {})
    rule = {r.id: r for r in all_rules(())}["AGT005"]
    return ctx, {f.principal.rsplit("/", 1)[1]: f for f in MATCHERS[rule.match["matcher"]](rule, ctx)}


def test_the_tools_accounts_exercise_the_merge():
    """The hand-made accounts have what the AGT005 merge must get right: several hubs, or hubs and direct
    edges, for one principal; a principal that is a target of the hub it invokes; more than three tools."""
    ctx, by = _agt005(tools_account(False))
    steps = [d["edge"] for _, _, d in ctx.graph.g.edges(data=True) if d["edge"].tool and not is_hub(d["edge"].source)]
    assert steps and all(is_hub(e.target) for e in steps)
    assert {"agent-broad", "agent-cond", "agent-both", "agent-fn"} <= set(by)
    assert "more" in by["agent-broad"].message and "states-start-execution" in by["agent-broad"].message
    assert "agent-fn (" not in by["agent-fn"].message            # never its own tool
    assert any("agent-fn (" in f.message for f in by.values())   # but a tool of the others
    assert by["agent-cond"].conditions and by["agent-cond"].potential
    ctx, by = _agt005(tools_account(True))
    kinds = {(d["edge"].source.rsplit("/", 1)[1], is_hub(d["edge"].target))
             for _, _, d in ctx.graph.g.edges(data=True) if d["edge"].tool and not is_hub(d["edge"].source)}
    assert {("agent-broad", True), ("agent-broad", False)} <= kinds     # a hub and direct edges
    assert "states-start-execution" in by["agent-broad"].message and "fn-admin (lambda" in by["agent-broad"].message

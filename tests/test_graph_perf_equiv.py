"""The graph builder's and evaluator's shortcuts give the answers of the plain computation they replace.

Each shortcut (cached pattern relations, one regular expression per pattern tuple, actors decided by class
of allowed actions, the admin prefilter, capped principals decided by class, the shared default context,
formatted evidence kept on a decision, the paused cyclic collector) is checked here against the plain
definition, on random patterns and on generated accounts and organizations.
"""

import gc
import random
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from generate import generate_account, write_org  # noqa: E402

from iamlint.engine import wildcard  # noqa: E402
from iamlint.engine.authorize import Authorizer  # noqa: E402
from iamlint.graph.build import (ADMIN_PROBES, Builder, _admin_document, _has_identity_deny,  # noqa: E402
                                 admin_level, build_graph)
from iamlint.graph.edges import EdgeBuilder  # noqa: E402
from iamlint.graph.methods import load_methods  # noqa: E402
from iamlint.loaders import load_data, load_paths  # noqa: E402
from iamlint.model.account import Kind  # noqa: E402

ALPHABET = "ab:/*?"


def _word(rng, n):
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, n)))


def test_match_any_is_any_match():
    rng = random.Random(7)
    for _ in range(3000):
        pats = tuple(_word(rng, 5) for _ in range(rng.randint(0, 3)))
        value = "".join(rng.choice("ab:/") for _ in range(rng.randint(0, 6)))
        assert wildcard.match_any(pats, value) == any(wildcard.match(p, value) for p in pats), (pats, value)


def test_cached_pattern_relations_are_the_computed_ones():
    rng = random.Random(11)
    for _ in range(3000):
        a, b = _word(rng, 6), _word(rng, 6)
        ci = rng.random() < 0.3
        for fn in (wildcard.intersects, wildcard.covers, wildcard.arn_intersects):
            assert fn(a, b, ci) == fn.__wrapped__(a, b, ci), (fn.__name__, a, b, ci)
            assert fn(a, b, ci) == fn(a, b, ignore_case=ci)   # same answer however it is called
    arn = "arn:aws:lambda:*:111122223333:function:*"
    assert wildcard.arn_intersects("arn:aws:lambda:us-east-1:111122223333:function:app-*", arn)
    assert wildcard.covers("arn:aws:lambda:*:111122223333:*", arn)
    assert not wildcard.covers("arn:aws:lambda:us-east-1:111122223333:*", arn)


def _builder(n=300, seed=1, dense=0.0):
    model = load_data(generate_account(n, seed=seed, dense=dense), "gen.json")
    return model, Builder(model)


def test_able_is_every_actor_allowed_one_action_of_each_group():
    _, b = _builder(300, seed=2, dense=0.2)
    groups_list = [[s.actions for s in m.actions] for m in load_methods()] + [[("iam:PassRole",), ("ec2:RunInstances",)]]
    for groups in groups_list:
        plain = [p for p in b.actors if all(any(b.pre.may(p, a) for a in g) for g in groups)]
        assert b.able(*groups) == plain
    # after the actor list changes (admins dropped), the classes follow it
    b.actors = b.actors[::2]
    for groups in groups_list[:5]:
        assert b.able(*groups) == [p for p in b.actors if all(any(b.pre.may(p, a) for a in g) for g in groups)]


def test_admin_levels_are_admin_level_of_every_principal():
    model, _ = _builder(300, seed=1)
    graph = build_graph(model)
    auth = Authorizer(model)
    plain = {p.arn: lvl for p in model.principals() if (lvl := admin_level(auth, p))}
    assert graph.admin == plain
    assert plain   # the account has admins, so the comparison says something


def _plain_capped(model) -> dict[str, str]:
    """Builder._capped without its classes: every candidate probed on its own."""
    auth = Authorizer(model)
    admin = {p.arn: lvl for p in model.principals() if (lvl := admin_level(auth, p))}
    out = {}
    for p in model.principals():
        if p.kind is Kind.GROUP or admin.get(p.arn) in ("admin", "iam-write"):
            continue
        ps = auth.policy_set(p)
        why = [w for w, on in (("its permissions boundary", bool(p.permissions_boundary)),
                               ("an SCP", bool(ps.scps)), ("an identity Deny", _has_identity_deny(auth, p)))
               if on]
        if why and admin_level(auth, p, extra=_admin_document()) not in ("admin", "iam-write"):
            out[p.arn] = " or ".join(why)
    return out


def test_capped_by_class_is_capped_one_by_one_in_an_organization(tmp_path):
    model = load_paths(write_org(3, 150, seed=3, folder=str(tmp_path)))
    assert build_graph(model).capped == _plain_capped(model)


def _scp_org(tmp_path, scp_statement):
    acct, mgmt = "222233334444", "111122223333"
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
                                                     "Action": "sts:AssumeRole"}]}
    roles = [{"RoleName": n, "Arn": f"arn:aws:iam::{acct}:role/{n}", "Path": "/", "AssumeRolePolicyDocument": trust,
              "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                  {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}],
              "AttachedManagedPolicies": [], "Tags": [{"Key": "team", "Value": n.split("-")[0]}]}
             for n in ("admin-ops", "admin-break-glass", "app-web", "app-batch", "data-etl")]
    data = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles, "Policies": []}
    org = {"format": "iamlint-snapshot", "schema_version": 1, "accounts": [], "policies": [],
           "organization": {"id": "o-test", "management_account": mgmt, "scps": {acct: [
               {"level": "Root", "policies": [
                   {"name": "FullAWSAccess", "arn": "arn:aws:organizations::1:policy/full", "document": admin},
                   {"name": "Guard", "arn": "arn:aws:organizations::1:policy/guard",
                    "document": {"Version": "2012-10-17", "Statement": [scp_statement]}}]}]}}}
    import json
    (tmp_path / "acct.json").write_text(json.dumps(data))
    (tmp_path / "org.json").write_text(json.dumps(org))
    from iamlint.loaders import load_paths as lp
    return lp([str(tmp_path / "acct.json"), str(tmp_path / "org.json")]), acct


def test_capped_classes_follow_the_caller_conditions_of_an_scp(tmp_path):
    """An SCP denying IAM writes except to role/admin-* (aws:PrincipalArn) caps the other roles only; by
    tag (aws:PrincipalTag) the same: principals share a class only when those conditions answer alike."""
    for cond in ({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin-*"}},
                 {"StringNotEquals": {"aws:PrincipalTag/team": "admin"}}):
        model, acct = _scp_org(tmp_path, {"Effect": "Deny", "Action": ["iam:*", "s3:*"], "Resource": "*",
                                          "Condition": cond})
        capped = build_graph(model).capped
        assert capped == _plain_capped(model)
        assert sorted(a.rsplit("/", 1)[1] for a in capped) == ["app-batch", "app-web", "data-etl"]


def test_build_graph_leaves_the_collector_as_it_found_it():
    model, _ = _builder(60)
    assert gc.isenabled()
    build_graph(model)
    assert gc.isenabled()
    gc.disable()
    try:
        build_graph(model)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_requests_leave_the_shared_default_context_alone():
    model, _ = _builder(60)
    p = next(q for q in model.principals() if q.kind is Kind.ROLE)
    auth = Authorizer(model)
    before = dict(auth.default_context(p, p.arn).values), auth.default_context(p, p.arn).complete
    auth.check(p.arn, "iam:PassRole", "*", {"iam:PassedToService": "ec2.amazonaws.com"})
    auth.check(p.arn, "s3:GetObject", "*", complete=True)
    auth.check(p.arn, "s3:GetObject", "*")
    ctx = auth.default_context(p, p.arn)
    assert (dict(ctx.values), ctx.complete) == before
    assert "iam:passedtoservice" not in ctx.values and ctx.complete is False


def test_edges_record_a_decisions_evidence_in_order_once():
    model, b = _builder(120)
    graph = b.build()
    seen = 0
    for p in model.principals():
        if p.kind is Kind.GROUP:
            continue
        for a in ADMIN_PROBES[:6]:
            d = b.auth.check(p.arn, a, "*", resource_mode="some")
            labels, described, keys = d.evidence_parts
            assert labels == tuple(r.label() for r in d.allowed_by)
            assert described == tuple(c.describe() for c in d.conditions)
            assert keys == tuple(c.condition.key for c in d.conditions)
            seen += bool(described)
    assert graph.g.number_of_edges() and seen   # some decisions carried conditions
    d = b.auth.check(next(a for a in graph.admin if ":group/" not in a), "iam:PassRole", "*")
    eb = EdgeBuilder()
    eb.add("iam:PassRole", "*", d)
    eb.add("iam:PassRole", "*", d)
    eb.add("ec2:RunInstances", "*", d)
    e = eb.edge("a", "b", "m")
    assert e.actions == ("iam:PassRole", "ec2:RunInstances") and e.resources == ("*", "*")
    assert e.evidence == tuple(dict.fromkeys(r.label() for r in d.allowed_by))
    one = EdgeBuilder()
    one.add("iam:PassRole", "*", d)
    assert one.edge("a", "b", "m").actions == ("iam:PassRole",)


def test_pruned_ancestor_walks_find_the_sinks_of_full_walks(monkeypatch):
    """admin_sinks stops its backward walks at the starts already behind a confirmed sink; the sinks and
    their paths are those of walking every ancestor set in full (accounts where far rewriters get confirmed)."""
    from iamlint.graph import paths
    from iamlint.graph.paths import admin_sinks

    searches = []
    real = paths.paths_to_admin
    monkeypatch.setattr(paths, "paths_to_admin", lambda g, s, limit=3: searches.append(s) or real(g, s, limit))
    def key(sinks):
        return {k: None if v is None else [(e.source, e.target, e.method) for e in (v if isinstance(v, list) else [v])]
                for k, v in sinks.items()}

    for n, seed, dense in ((1000, 1, 0.0), (700, 3, 0.0), (600, 5, 0.2), (900, 8, 0.0)):
        graph = build_graph(load_data(generate_account(n, seed=seed, dense=dense), "gen.json"), None)
        pruned, full = admin_sinks(graph), admin_sinks(graph, prune=False)
        assert key(pruned) == key(full), (n, seed)
    assert len(searches) >= 8   # the far-rewriter search took part: starts were confirmed by forward searches


def _expanded(graph, method_id):
    """(actor, user) -> (actions, resources, evidence, conditions, potential) of a method's steps, the
    steps through its hubs drawn as one (what paths and findings read)."""
    from iamlint.graph.build import is_hub
    from iamlint.graph.edges import merge
    out = {}
    for u, v, k, data in graph.g.edges(keys=True, data=True):
        e = data["edge"]
        if k != method_id or is_hub(u):
            continue
        for e2 in ([merge(e, x) for x in graph.edges_from(v) if x.method == method_id] if is_hub(v) else [e]):
            if e2.source != e2.target:
                out[(e2.source, e2.target)] = (e2.actions, e2.resources, e2.evidence, e2.conditions, e2.potential)
    return out


@pytest.mark.parametrize("dense", [0.0, 0.3])
def test_user_credential_classes_are_the_pairwise_answers(dense):
    """Methods whose every action names the target user (iam-replace-access-key: two actions) decide each
    class of users once; drawn through their hubs, the steps are those of checking every actor and user."""
    from iamlint.graph.build import _user_precondition
    _, b = _builder(500, seed=4, dense=dense)
    b.levels()
    graph = b.edges()
    users = [p for p in b.model.principals() if p.kind is Kind.USER]
    checked = 0
    for m in load_methods():
        if m.matcher != "user_credentials":
            continue
        want = {}
        for actor in b.actors:
            for u in users:
                if u.arn == actor.arn or u.account != actor.account:
                    continue
                eb = EdgeBuilder()
                if all(b.check_spec(actor, s, {"target": u.arn}, eb) for s in m.actions):
                    ok, potential, _ = _user_precondition(b.model, u, m.precondition)
                    if ok:
                        e = eb.edge(actor.arn, u.arn, m.id, potential=potential)
                        want[(actor.arn, u.arn)] = (e.actions, e.resources, e.evidence, e.conditions, e.potential)
        assert _expanded(graph, m.id) == want, m.id
        checked += len(want)
    assert checked > 50

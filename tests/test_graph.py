"""The permission graph: edges, cross-account linking, hubs, exports, `paths` output."""

import json
import subprocess
import sys

import networkx as nx
import pytest

from iamlint.graph.build import build_graph
from iamlint.graph.export import EXPORTERS
from iamlint.graph.paths import paths_to_admin
from iamlint.loaders import load_data, load_paths

from conftest import EXAMPLE

A, B = "111111111111", "222222222222"


def doc(*st):
    return {"Version": "2012-10-17", "Statement": list(st)}


def role(acct, name, trust, *stmts, managed=()):
    return {"RoleName": name, "Arn": f"arn:aws:iam::{acct}:role/{name}", "Path": "/",
            "AssumeRolePolicyDocument": doc({"Effect": "Allow", "Principal": trust, "Action": "sts:AssumeRole"}),
            "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": doc(*stmts)}] if stmts else [],
            "AttachedManagedPolicies": [{"PolicyName": m.rsplit("/", 1)[-1], "PolicyArn": m} for m in managed]}


ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
ADMIN_POLICY = {"PolicyName": "AdministratorAccess", "Arn": ADMIN, "DefaultVersionId": "v1",
                "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True,
                                       "Document": doc({"Effect": "Allow", "Action": "*", "Resource": "*"})}]}


def gaad(*roles):
    return {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": list(roles), "Policies": [ADMIN_POLICY]}


def two_accounts(identity_allows: bool):
    a_stmt = ({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{B}:role/prod-admin"}
              if identity_allows else {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"})
    m = load_data(gaad(role(A, "dev", {"Service": "ec2.amazonaws.com"}, a_stmt)), "a.json")
    load_data(gaad(role(B, "prod-admin", {"AWS": f"arn:aws:iam::{A}:role/dev"}, managed=[ADMIN])), "b.json", m)
    return m


def test_cross_account_trust_links_accounts():
    g = build_graph(two_accounts(True))
    assert g.g.has_edge(f"arn:aws:iam::{A}:role/dev", f"arn:aws:iam::{B}:role/prod-admin")
    path = paths_to_admin(g, f"arn:aws:iam::{A}:role/dev")[0]
    assert [e.method for e in path] == ["sts-assume-role"]


def test_cross_account_needs_identity_side_even_when_trust_names_arn():
    # R5: both sides must allow, even when the trust names the caller's ARN
    g = build_graph(two_accounts(False))
    assert not g.g.has_edge(f"arn:aws:iam::{A}:role/dev", f"arn:aws:iam::{B}:role/prod-admin")


def test_same_account_trust_naming_arn_needs_no_identity_grant():
    m = load_data(gaad(role(A, "start", {"Service": "ec2.amazonaws.com"}),
                       role(A, "target", {"AWS": f"arn:aws:iam::{A}:role/start"}, managed=[ADMIN])), "a.json")
    assert build_graph(m).g.has_edge(f"arn:aws:iam::{A}:role/start", f"arn:aws:iam::{A}:role/target")


def test_deny_trust_statement_is_no_edge():
    # R25-12: a Deny in a trust policy never becomes a trust
    t = role(A, "target", {"AWS": f"arn:aws:iam::{A}:role/start"}, managed=[ADMIN])
    t["AssumeRolePolicyDocument"]["Statement"][0]["Effect"] = "Deny"
    m = load_data(gaad(role(A, "start", {"Service": "ec2.amazonaws.com"},
                            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}), t), "a.json")
    assert not build_graph(m).g.has_edge(f"arn:aws:iam::{A}:role/start", f"arn:aws:iam::{A}:role/target")


def test_broad_grants_share_one_hub_and_paths_collapse():
    roles = [role(A, f"t{i}", {"AWS": f"arn:aws:iam::{A}:root"}) for i in range(30)]
    roles += [role(A, f"s{i}", {"Service": "ec2.amazonaws.com"},
                   {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}) for i in range(30)]
    roles.append(role(A, "admin", {"AWS": f"arn:aws:iam::{A}:root"}, managed=[ADMIN]))
    g = build_graph(load_data(gaad(*roles), "a.json"))
    # 30 starters x 31 targets would be 930 pair edges; the hub keeps it linear
    assume = [d["edge"] for _, _, d in g.g.edges(data=True) if d["edge"].method == "sts-assume-role"]
    assert len(assume) <= 31 + 31   # 31 callers (the admin role too) to the hub, the hub to 31 roles
    path = paths_to_admin(g, f"arn:aws:iam::{A}:role/s0")[0]
    assert [(e.source, e.target) for e in path] == [(f"arn:aws:iam::{A}:role/s0", f"arn:aws:iam::{A}:role/admin")]


@pytest.mark.parametrize("fmt", sorted(EXPORTERS))
def test_exports(fmt):
    g = build_graph(load_paths([str(EXAMPLE)]))
    out = EXPORTERS[fmt](g, None)
    assert "deploy-role" in out
    if fmt == "json":
        data = json.loads(out)
        assert {"nodes", "edges"} <= set(data)
    if fmt == "graphml":
        import io
        h = nx.read_graphml(io.BytesIO(out.encode()))
        assert h.number_of_edges() == g.g.number_of_edges()
    focus = EXPORTERS[fmt](g, "arn:aws:iam::123456789012:role/deploy-role")
    assert len(focus) < len(out)


def test_paths_cli_json_shape():
    r = subprocess.run([sys.executable, "-m", "iamlint", "paths", "-i", str(EXAMPLE), "--from", "support-agent",
                        "--format", "json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["reachable"] is True
    step = d["paths"][0][0]
    assert {"source", "target", "method", "potential", "conditions", "evidence"} <= set(step)
    # the example's inventory shows a function running as lambda-admin: replacing its code is as short
    assert [s["method"] for s in d["paths"][0]][0] == "sts-assume-role"
    assert d["paths"][0][1]["method"] in ("lambda-create-invoke", "lambda-update-function-code")


def test_self_escalation_is_single_step_to_start():
    g = build_graph(load_paths([str(EXAMPLE)]))
    start = "arn:aws:iam::123456789012:role/github-deploy"
    path = paths_to_admin(g, start)[0]
    assert len(path) == 1 and path[0].source == start and path[0].target == start
    assert path[0].method == "iam-create-policy-version"


@pytest.mark.parametrize("issuer", ["accounts.google.com", "graph.facebook.com", "www.amazon.com"])
def test_web_identity_issuer_named_by_domain_is_an_entry(issuer):
    # a trust may name a public web identity issuer by its domain, with no IAM provider resource
    t = role(A, "web", {"Federated": issuer}, managed=[ADMIN])
    t["AssumeRolePolicyDocument"]["Statement"][0]["Action"] = "sts:AssumeRoleWithWebIdentity"
    t["AssumeRolePolicyDocument"]["Statement"][0]["Condition"] = {"StringEquals": {f"{issuer}:aud": "app-1"}}
    g = build_graph(load_data(gaad(t), "a.json"))
    assert g.g.has_edge(issuer, f"arn:aws:iam::{A}:role/web")
    assert g.g.nodes[issuer]["kind"] == "provider"
    e = next(iter(g.edges_from(issuer)))
    assert e.method == "sts-assume-role-with-web-identity" and e.conditions


def test_web_identity_issuer_trust_for_another_action_is_no_entry():
    # near miss: the trust names the issuer but allows only sts:AssumeRole, which web identities cannot call
    t = role(A, "web", {"Federated": "accounts.google.com"}, managed=[ADMIN])
    g = build_graph(load_data(gaad(t), "a.json"))
    assert not g.g.has_edge("accounts.google.com", f"arn:aws:iam::{A}:role/web")


# ------------------------------------------------------------------ a trust naming a role session (R3)

def _session_trust(hop_stmts=(), boundary=None, session=f"arn:aws:sts::{A}:assumed-role/hop/deploy"):
    hop = role(A, "hop", {"AWS": f"arn:aws:iam::{A}:user/u"}, *hop_stmts)
    hop["Path"] = "/ci/"
    hop["Arn"] = f"arn:aws:iam::{A}:role/ci/hop"
    if boundary:
        hop["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
    data = gaad(hop, role(A, "target", {"AWS": session}, managed=[ADMIN]))
    data["UserDetailList"] = [{"UserName": "u", "Arn": f"arn:aws:iam::{A}:user/u", "Path": "/",
                               "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": doc(
                                   {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})}]}]
    return build_graph(load_data(data, "a.json"))


def test_a_trust_naming_a_role_session_is_a_step_that_assumes_the_name():
    g = _session_trust()
    hop, target = f"arn:aws:iam::{A}:role/ci/hop", f"arn:aws:iam::{A}:role/target"
    e = g.g.edges[hop, target, "sts-assume-role"]["edge"]
    # no identity grant needed: the trust names the session itself (R3)
    assert e.potential and "named deploy" in e.assumes and not e.conditional
    path = paths_to_admin(g, f"arn:aws:iam::{A}:user/u")[0]
    assert [s.target for s in path] == [hop, target]


def test_a_session_trust_is_no_step_against_a_deny_or_for_an_unknown_role():
    deny = {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"}
    g = _session_trust([deny])
    assert not g.g.has_edge(f"arn:aws:iam::{A}:role/ci/hop", f"arn:aws:iam::{A}:role/target")
    g = _session_trust(session=f"arn:aws:sts::{A}:assumed-role/ghost/deploy")
    assert not any(e.method == "sts-assume-role" for e in g.edges_into(f"arn:aws:iam::{A}:role/target"))


def test_a_session_named_in_a_trust_passes_the_boundary_implicit_deny():
    from iamlint.engine.authorize import Authorizer
    narrow = f"arn:aws:iam::{A}:policy/narrow"
    hop = role(A, "hop", {"Service": "ec2.amazonaws.com"})
    hop["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": narrow}
    data = gaad(role(A, "target", {"AWS": f"arn:aws:sts::{A}:assumed-role/hop/deploy"}), hop)
    data["Policies"].append({"PolicyName": "narrow", "Arn": narrow, "DefaultVersionId": "v1", "PolicyVersionList": [
        {"VersionId": "v1", "IsDefaultVersion": True,
         "Document": doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})}]})
    m = load_data(data, "a.json")
    assert m.principal(f"arn:aws:iam::{A}:role/hop").permissions_boundary == narrow
    auth = Authorizer(m)
    hop, target = f"arn:aws:iam::{A}:role/hop", f"arn:aws:iam::{A}:role/target"
    assert auth.check(hop, "sts:AssumeRole", target, session=f"arn:aws:sts::{A}:assumed-role/hop/deploy").allowed
    assert not auth.check(hop, "sts:AssumeRole", target).possible
    assert not auth.check(hop, "sts:AssumeRole", target, session=f"arn:aws:sts::{A}:assumed-role/hop/other").possible

"""Rewrite edges (Put*/Attach*Policy, CreatePolicyVersion) reach every principal the grant can name,
through shared hub nodes when a grant covers many, and count only once the target is reached."""

from iamlint.graph.build import build_graph, is_hub
from iamlint.graph.paths import admin_sinks, paths_to_admin, render_chain
from iamlint.loaders import load_data

A = "111111111111"


def doc(*st):
    return {"Version": "2012-10-17", "Statement": list(st)}


def role(name, trust, *stmts, managed=()):
    return {"RoleName": name, "Arn": f"arn:aws:iam::{A}:role/{name}", "Path": "/",
            "AssumeRolePolicyDocument": doc({"Effect": "Allow", "Principal": trust, "Action": "sts:AssumeRole"}),
            "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": doc(*stmts)}] if stmts else [],
            "AttachedManagedPolicies": [{"PolicyName": m.rsplit("/", 1)[-1], "PolicyArn": m} for m in managed]}


def allow(action, resource):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def model(*roles):
    return load_data({"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": list(roles), "Policies": []},
                     "a.json")


ROOT = {"AWS": f"arn:aws:iam::{A}:root"}
SVC = {"Service": "glue.amazonaws.com"}


def test_pattern_grant_shared_by_many_actors_is_linear():
    # 40 actors may rewrite every app-* role; 40 app roles: one hub edge per actor, not 40 x 40
    actors = [role(f"ci-{i}", SVC, allow("iam:PutRolePolicy", f"arn:aws:iam::{A}:role/app-*")) for i in range(40)]
    apps = [role(f"app-{i}", ROOT) for i in range(40)]
    g = build_graph(model(*actors, *apps))
    rewrites = [d["edge"] for _, _, d in g.g.edges(data=True) if d["edge"].rewrite]
    assert len(rewrites) <= 40
    assert all(is_hub(e.target) for e in rewrites)
    # nobody reaches an app role, so nobody is an admin sink
    assert not admin_sinks(g)


def test_hub_rewrite_resolves_to_the_reached_role():
    ci = role("ci", SVC, allow("iam:PutRolePolicy", f"arn:aws:iam::{A}:role/app-*"),
              allow("sts:AssumeRole", f"arn:aws:iam::{A}:role/app-7"))
    apps = [role(f"app-{i}", ROOT) for i in range(10)]
    g = build_graph(model(ci, *apps))
    start = f"arn:aws:iam::{A}:role/ci"
    path = paths_to_admin(g, start)[0]
    assert [(e.method, e.target.rsplit("/", 1)[-1]) for e in path] == [
        ("sts-assume-role", "app-7"), ("iam-put-role-policy", "app-7")]
    assert "hub:" not in render_chain(path)
    # the rule's backward walk agrees, and draws the same steps
    sink = admin_sinks(g)[start]
    assert [e.method for e in sink] == ["sts-assume-role", "iam-put-role-policy"]


def test_rewrite_of_a_role_reached_two_hops_away():
    # ci -> hop (assume) -> app (hop may assume app); ci may rewrite app: admin via the chain
    ci = role("ci", SVC, allow("iam:PutRolePolicy", f"arn:aws:iam::{A}:role/app"),
              allow("sts:AssumeRole", f"arn:aws:iam::{A}:role/hop"))
    hop = role("hop", {"AWS": f"arn:aws:iam::{A}:role/ci"}, allow("sts:AssumeRole", f"arn:aws:iam::{A}:role/app"))
    app = role("app", {"AWS": f"arn:aws:iam::{A}:role/hop"})
    g = build_graph(model(ci, hop, app))
    start = f"arn:aws:iam::{A}:role/ci"
    path = paths_to_admin(g, start)[0]
    assert [e.method for e in path] == ["sts-assume-role", "sts-assume-role", "iam-put-role-policy"]
    assert [e.method for e in admin_sinks(g)[start]] == ["sts-assume-role", "sts-assume-role", "iam-put-role-policy"]


def test_service_linked_roles_are_not_rewrite_targets():
    # R20: a service-linked role's permissions cannot be edited, whatever the grant says
    ci = role("ci", SVC, allow("iam:PutRolePolicy", f"arn:aws:iam::{A}:role/aws-service-role/*"),
              allow("sts:AssumeRole", "*"))
    slr = role("AWSServiceRoleForX", ROOT)
    slr["Path"] = "/aws-service-role/x.amazonaws.com/"
    slr["Arn"] = f"arn:aws:iam::{A}:role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX"
    g = build_graph(model(ci, slr))
    start = f"arn:aws:iam::{A}:role/ci"
    assert g.g.has_edge(start, "hub:assume-any-role-trusting-the-account@" + A) or g.g.has_edge(start, slr["Arn"])
    assert not paths_to_admin(g, start)
    slr["Path"] = "/"   # the same grant and role, editable: now a way to admin
    slr["Arn"] = f"arn:aws:iam::{A}:role/aws-service-role/AWSServiceRoleForX"
    assert paths_to_admin(build_graph(model(ci, slr)), start)


def test_hub_rewrite_skips_a_capped_role_for_an_uncapped_one():
    # ci may rewrite every app-* role and assume two: app-a is capped by its boundary, app-b is not
    ci = role("ci", SVC, allow("iam:PutRolePolicy", f"arn:aws:iam::{A}:role/app-*"),
              allow("sts:AssumeRole", f"arn:aws:iam::{A}:role/app-*"))
    capped = role("app-a", ROOT)
    capped["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy",
                                     "PermissionsBoundaryArn": f"arn:aws:iam::{A}:policy/s3-only"}
    s3_only = {"PolicyName": "s3-only", "Arn": f"arn:aws:iam::{A}:policy/s3-only", "DefaultVersionId": "v1",
               "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True,
                                      "Document": doc(allow("s3:*", "*"))}]}
    m = load_data({"UserDetailList": [], "GroupDetailList": [], "Policies": [s3_only],
                   "RoleDetailList": [ci, capped, role("app-b", ROOT)]}, "a.json")
    g = build_graph(m)
    assert f"arn:aws:iam::{A}:role/app-a" in g.capped
    path = paths_to_admin(g, f"arn:aws:iam::{A}:role/ci")[0]
    assert path[-1].target == f"arn:aws:iam::{A}:role/app-b"

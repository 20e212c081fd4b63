"""The benchmark generator, and a guard for performance work: a generated account must keep giving the
same graph (edges with hub nodes expanded back into the pairs they stand for) and the same findings.

The expected output is a golden file; after an intended change of rules or graph, regenerate it with
`IAMLINT_REGEN_GOLDEN=1 python -m pytest -q tests/test_bench.py` and read the diff.
"""

import hashlib
import json
import os
import sys

from conftest import FIXTURES, ROOT

sys.path.insert(0, str(ROOT / "bench"))

from generate import generate_account, generate_cases, generate_org_guardrails, org_accounts, write_org  # noqa: E402

from iamlint.graph.build import is_hub  # noqa: E402
from iamlint.loaders import load_data, load_paths  # noqa: E402
from iamlint.model.account import Kind  # noqa: E402
from iamlint.pipeline import scan  # noqa: E402
from iamlint.simulate import run_case  # noqa: E402

GOLDEN = FIXTURES / "golden" / "bench-seed1-300.txt"
REGEN = os.environ.get("IAMLINT_REGEN_GOLDEN") == "1"


def test_generator_is_deterministic_by_seed():
    a = json.dumps(generate_account(200, seed=3))
    assert a == json.dumps(generate_account(200, seed=3))
    assert a != json.dumps(generate_account(200, seed=4))


def test_generated_account_has_the_promised_mix():
    data = generate_account(1500, seed=1)
    model = load_data(data, "gen.json")
    roles = [p for p in model.principals() if p.kind is Kind.ROLE]
    assert len(roles) == 1500
    trusts = json.dumps([r["AssumeRolePolicyDocument"] for r in data["RoleDetailList"]])
    for needle in ("lambda.amazonaws.com", "oidc-provider/token.actions.githubusercontent.com",
                   "saml-provider", "sts:ExternalId", ":root"):
        assert needle in trusts
    assert any(p.permissions_boundary for p in roles)
    assert any(len(mp.versions) > 1 for mp in model.policies.values())
    chains = [r for r in roles if "-chain" in r.name]
    depths = {int(r.name.rsplit("hop", 1)[1]) for r in chains}
    assert {1, 4} <= depths            # hops 0..4: chains of depth 2 to 5
    assert any(p.kind is Kind.USER and p.groups for p in model.principals())


def test_generated_org_links_accounts_and_applies_scps(tmp_path):
    paths = write_org(3, 120, seed=1, folder=str(tmp_path))
    model = load_paths(paths)
    accounts = org_accounts(3)
    assert set(accounts) <= set(model.accounts)
    assert model.organization is not None and set(model.organization.scps) == set(accounts[1:])
    report = scan(model)
    cross = [(u, v) for u, v in report.graph.g.edges() if u.split(":")[4:5] != v.split(":")[4:5]
             and u.startswith("arn:aws:iam::") and v.startswith("arn:aws:iam::")
             and u.split(":")[4] in accounts and v.split(":")[4] in accounts]
    assert cross, "no cross-account edge between the generated accounts"
    assert generate_org_guardrails(accounts)["organization"]["management_account"] == accounts[0]


def test_generated_simulate_cases_all_decide():
    out = [run_case(json.loads(json.dumps(c))) for c in generate_cases(300, seed=2)]
    assert all(o["error"] is None for o in out)
    assert {o["decision"] for o in out} == {"Allowed", "ImplicitlyDenied", "ExplicitlyDenied"}


def _expanded_edges(g) -> list[str]:
    """Every edge as `source method target [potential] [conditional]`, with a hub's in- and out-edges
    expanded back into the pairs it stands for (so a hub representation and pairwise edges compare equal)."""
    out = set()
    for u, v, data in g.edges(data=True):
        e = data["edge"]
        if is_hub(u):
            continue
        targets = [(v, e)] if not is_hub(v) else [(w, d2["edge"]) for _, w, d2 in g.out_edges(v, data=True)]
        for t, e2 in targets:
            if t == u and not e.rewrite:
                continue   # acting as oneself is no step (a hub may lead back to its source)
            flags = ("?" if e.potential or e2.potential else "") + ("c" if e.conditions or e2.conditions else "")
            out.add(f"{u} {e.method} {t} {flags}".rstrip())
    return sorted(out)


def _golden_text(report) -> str:
    edges = _expanded_edges(report.graph.g)
    lines = [f"edges {len(edges)} sha256 {hashlib.sha256(chr(10).join(edges).encode()).hexdigest()}"]
    lines += [f"{f.rule_id} {f.severity} {f.principal} :: {f.message}" for f in report.findings]
    return "\n".join(lines) + "\n"


def test_generated_account_findings_and_edges_are_stable():
    model = load_data(generate_account(300, seed=1), "bench-seed1-300.json")
    text = _golden_text(scan(model))
    if REGEN or not GOLDEN.exists():
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_dense_passrole_on_star_stays_linear_in_edges():
    """Many principals with iam:PassRole on * (plain, conditioned, with a carve-out): the graph represents
    "may pass any role (of a group) to service S" once, so edges grow with principals, not their square."""
    def edges(n):
        return scan(load_data(generate_account(n, seed=5, dense=0.3), "dense.json")).graph.g.number_of_edges()
    small, large = edges(200), edges(800)
    assert large < 6 * small        # x4 principals: pairwise edges would be about x16


# ---------------------------------------------------------------- hub groups decide like pairs

A = "123456789012"


def _role(name, trust, inline=()):
    return {"RoleName": name, "Arn": f"arn:aws:iam::{A}:role/{name}", "Path": "/",
            "AssumeRolePolicyDocument": trust,
            "RolePolicyList": [{"PolicyName": f"p{i}", "PolicyDocument": d} for i, d in enumerate(inline)]}


def _user(name, *statements):
    return {"UserName": name, "Arn": f"arn:aws:iam::{A}:user/{name}", "Path": "/",
            "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17",
                                                                      "Statement": list(statements)}}]}


def _doc(*st):
    return {"Version": "2012-10-17", "Statement": list(st)}


LAMBDA_TRUST = _doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})
ADMIN = _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
CREATE = {"Effect": "Allow", "Action": ["lambda:CreateFunction", "lambda:InvokeFunction"], "Resource": "*"}


def _reach(data, start):
    from iamlint.graph.paths import reach
    report = scan(load_data(data, "t.json"))
    seen = reach(report.graph, f"arn:aws:iam::{A}:user/{start}")
    return {n.rsplit("/", 1)[-1] for n in seen if not is_hub(n)}, report


def test_passrole_carve_out_is_respected_through_the_hub():
    roles = [_role(f"admin-{i}", LAMBDA_TRUST, [ADMIN]) for i in range(3)] + \
            [_role(f"app-{i}", LAMBDA_TRUST) for i in range(5)]
    carved = [_user(f"carved-{i}", CREATE, {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
                    {"Effect": "Deny", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{A}:role/admin-*"})
              for i in range(3)]
    plain = _user("plain", CREATE, {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"})
    data = {"RoleDetailList": roles, "UserDetailList": carved + [plain], "GroupDetailList": [], "Policies": []}
    seen, report = _reach(data, "carved-0")
    assert {f"app-{i}" for i in range(5)} <= seen and not any(n.startswith("admin-") for n in seen)
    seen, _ = _reach(data, "plain")
    assert "admin-0" in seen
    esc = {f.principal.rsplit("/", 1)[-1] for f in report.findings if f.rule_id == "ESC001"}
    assert "plain" in esc and not any(n.startswith("carved") for n in esc)


def test_conditional_passrole_on_star_keeps_its_condition():
    roles = [_role("admin-0", LAMBDA_TRUST, [ADMIN])]
    users = [_user(f"u{i}", CREATE, {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
                                     "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}})
             for i in range(3)]
    data = {"RoleDetailList": roles, "UserDetailList": users, "GroupDetailList": [], "Policies": []}
    _, report = _reach(data, "u0")
    f = [f for f in report.findings if f.rule_id == "ESC001" and f.principal.endswith("user/u0")]
    assert f and any("aws:RequestedRegion" in c for c in f[0].conditions)


def test_assume_pattern_hub_reaches_only_its_pattern_and_keeps_trust_conditions():
    mfa = _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "sts:AssumeRole",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}})
    plain = _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "sts:AssumeRole"})
    tagged = _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "sts:AssumeRole",
                   "Condition": {"StringEquals": {"aws:PrincipalTag/team": "other"}}})
    roles = [_role("team-a", mfa, [ADMIN]), _role("team-b", plain), _role("team-c", tagged),
             _role("other-d", plain)]
    users = [_user(f"dev{i}", {"Effect": "Allow", "Action": "sts:AssumeRole",
                               "Resource": f"arn:aws:iam::{A}:role/team-*"}) for i in range(3)]
    data = {"RoleDetailList": roles, "UserDetailList": users, "GroupDetailList": [], "Policies": []}
    _, report = _reach(data, "dev1")
    steps = {line.split()[2].rsplit("/", 1)[-1]: line for line in _expanded_edges(report.graph.g)
             if line.startswith(f"arn:aws:iam::{A}:user/dev1 sts-assume-role ")}
    assert set(steps) == {"team-a", "team-b", "team-c"}   # not other-d: outside the pattern
    # the MFA condition is the same for every caller (through the hub); the tag condition reads the caller
    # (checked for this caller alone): both stay conditional, the plain trust does not
    assert steps["team-a"].endswith(" c") and steps["team-c"].endswith(" c") and not steps["team-b"].endswith(" c")
    f = [f for f in report.findings if f.rule_id == "ESC001" and f.principal.endswith("user/dev1")]
    assert f and any("aws:MultiFactorAuthPresent" in c for c in f[0].conditions)


def test_a_step_through_a_hub_counts_as_one_step():
    """dev -> (pattern hub) -> team-admin is one step; dev -> mid -> end-admin is two: the shorter is reported."""
    acct = _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "sts:AssumeRole"})
    by_mid = _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:role/mid"}, "Action": "sts:AssumeRole"})
    roles = [_role("team-admin", acct, [ADMIN]), _role("end-admin", by_mid, [ADMIN]),
             _role("mid", acct, [_doc({"Effect": "Allow", "Action": "sts:AssumeRole",
                                       "Resource": f"arn:aws:iam::{A}:role/end-admin"})])]
    users = [_user(f"dev{i}", {"Effect": "Allow", "Action": "sts:AssumeRole",
                               "Resource": [f"arn:aws:iam::{A}:role/team-*", f"arn:aws:iam::{A}:role/mid"]})
             for i in range(2)]
    data = {"RoleDetailList": roles, "UserDetailList": users, "GroupDetailList": [], "Policies": []}
    report = scan(load_data(data, "t.json"))
    f = [f for f in report.findings if f.rule_id == "ESC001" and f.principal.endswith("user/dev0")]
    assert f and "in 1 step(s)" in f[0].message and f[0].path[-1].target.endswith("role/team-admin")


def test_roles_behind_an_assume_hub_are_rewrite_targets():
    """Rewriting a role one can assume is escalation, whether the assume step is a direct edge or a hub."""
    acct = _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "sts:AssumeRole"})
    roles = [_role(f"team-{i}", acct) for i in range(3)]
    users = [_user(f"dev{i}", {"Effect": "Allow", "Action": ["sts:AssumeRole", "iam:PutRolePolicy"],
                               "Resource": f"arn:aws:iam::{A}:role/team-*"}) for i in range(2)]
    data = {"RoleDetailList": roles, "UserDetailList": users, "GroupDetailList": [], "Policies": []}
    report = scan(load_data(data, "t.json"))
    assert any(n.startswith("hub:") for n in report.graph.g)          # the assume step is a hub
    f = [f for f in report.findings if f.rule_id == "ESC001" and f.principal.endswith("user/dev0")]
    assert f and f[0].path[-1].method == "iam-put-role-policy"

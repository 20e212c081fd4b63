"""Focused tests for the classic IAM hygiene rules (IAM1xx identity policies, IAM2xx trust policies)."""

import json

import pytest

from iamlint.loaders import load_paths
from iamlint.pipeline import scan
from iamlint.rules.hygiene import lower, ref_label
from iamlint.rules.load import all_rules

ACCT = "111111111111"
V = "2012-10-17"
EC2_TRUST = {"Version": V, "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                          "Action": "sts:AssumeRole"}]}
GH = f"arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com"


def doc(*statements):
    return {"Version": V, "Statement": list(statements)}


def allow(action, resource="*", **kw):
    return dict({"Effect": "Allow", "Action": action, "Resource": resource}, **kw)


def role(name, trust=EC2_TRUST, inline=(), managed=(), path="/", **extra):
    return dict({"Path": path, "RoleName": name, "Arn": f"arn:aws:iam::{ACCT}:role{path}{name}",
                 "AssumeRolePolicyDocument": trust,
                 "RolePolicyList": [{"PolicyName": n, "PolicyDocument": d} for n, d in inline],
                 "AttachedManagedPolicies": [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in managed],
                 "InstanceProfileList": []}, **extra)


def trust(principal, action="sts:AssumeRole", condition=None, effect="Allow"):
    st = {"Effect": effect, "Principal": principal, "Action": action}
    if condition:
        st["Condition"] = condition
    return st


def user(name, inline=(), managed=(), groups=()):
    return {"Path": "/", "UserName": name, "Arn": f"arn:aws:iam::{ACCT}:user/{name}",
            "UserPolicyList": [{"PolicyName": n, "PolicyDocument": d} for n, d in inline],
            "GroupList": list(groups),
            "AttachedManagedPolicies": [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in managed]}


def group(name, inline=()):
    return {"Path": "/", "GroupName": name, "Arn": f"arn:aws:iam::{ACCT}:group/{name}",
            "GroupPolicyList": [{"PolicyName": n, "PolicyDocument": d} for n, d in inline],
            "AttachedManagedPolicies": []}


def managed(name, d, aws=False):
    arn = f"arn:aws:iam::{'aws' if aws else ACCT}:policy/{name}"
    return {"PolicyName": name, "Arn": arn, "Path": "/", "DefaultVersionId": "v1",
            "PolicyVersionList": [{"Document": d, "VersionId": "v1", "IsDefaultVersion": True}]}


def run(tmp_path, rule_id, roles=(), users=(), groups=(), policies=(), config=None):
    data = {"UserDetailList": list(users), "GroupDetailList": list(groups), "RoleDetailList": list(roles),
            "Policies": list(policies)}
    path = tmp_path / "account.json"
    path.write_text(json.dumps(data))
    report = scan(load_paths([str(path)]), only=[rule_id], config=config or {})
    return [f for f in report.findings if f.rule_id == rule_id]


def one_role(tmp_path, rule_id, *statements, **kw):
    return run(tmp_path, rule_id, roles=[role("app", inline=[("app", doc(*statements))], **kw)])


# ------------------------------------------------------------------ catalog

def test_rule_catalog_ids_families_and_peers():
    rules = {r.id: r for r in all_rules() if r.id.startswith("IAM")}
    for rid in ("IAM101", "IAM102", "IAM103", "IAM104", "IAM105", "IAM106", "IAM107", "IAM108",
                "IAM201", "IAM202", "IAM203", "IAM204", "IAM205", "IAM206"):
        assert rid in rules, rid
    for r in rules.values():
        assert r.family == "hygiene"
        assert r.source.endswith(f"{r.id}.yaml")
        assert all(ref.startswith("https://") for ref in r.references)
    assert rules["IAM101"].peers["checkov"].startswith("CKV_AWS_1")
    assert rules["IAM201"].peers["cloudsplaining"] == "AssumableByAnyPrincipal"
    assert rules["IAM202"].peers["cloudsplaining"] == "AssumableByAnyPrincipalWithConditions"
    assert "PASS_ROLE_WITH_STAR_IN_RESOURCE" in rules["IAM104"].peers["access-analyzer"]


def test_lower_severity_saturates():
    assert lower("critical") == "high"
    assert lower("info") == "info"
    assert lower("low", -1) == "medium"
    assert lower("critical", -1) == "critical"


# ------------------------------------------------------------------ IAM101 / IAM109

def test_admin_through_two_policies_and_not_through_a_boundary(tmp_path):
    pols = [("iam", doc(allow("iam:*"))), ("rest", doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))]
    hits = run(tmp_path, "IAM101", roles=[role("ops", inline=pols)])
    assert len(hits) == 1 and hits[0].severity == "critical"
    assert set(hits[0].evidence) == {"role/ops inline iam /Statement/0", "role/ops inline rest /Statement/0"}
    bnd = managed("b", doc(allow("s3:*")))
    hits = run(tmp_path, "IAM101", policies=[bnd], roles=[role("ops", inline=pols, PermissionsBoundary={
        "PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": bnd["Arn"]})])
    assert hits == []


def test_admin_denied_by_explicit_deny_is_not_admin(tmp_path):
    assert one_role(tmp_path, "IAM101", allow("*"), {"Effect": "Deny", "Action": "iam:*", "Resource": "*"}) == []


def test_admin_under_mfa_condition_is_one_level_lower(tmp_path):
    hits = one_role(tmp_path, "IAM101", allow("*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
    assert len(hits) == 1 and hits[0].severity == "high"
    assert any("aws:MultiFactorAuthPresent" in c for c in hits[0].conditions)


def test_admin_via_group_names_the_group_policy(tmp_path):
    hits = run(tmp_path, "IAM101", users=[user("bob", groups=["admins"])],
               groups=[group("admins", inline=[("all", doc(allow("*")))])])
    assert [h.principal for h in hits] == [f"arn:aws:iam::{ACCT}:user/bob"]
    assert hits[0].evidence == ("group/admins inline all /Statement/0",)


def test_service_linked_role_is_not_reported_as_admin(tmp_path):
    slr = role("AWSServiceRoleForX", inline=[("p", doc(allow("*")))], path="/aws-service-role/x.amazonaws.com/")
    assert run(tmp_path, "IAM101", roles=[slr]) == []


def test_full_iam_write_is_iam109_not_iam101(tmp_path):
    st = allow(["iam:*", "sts:AssumeRole"])
    assert one_role(tmp_path, "IAM101", st) == []
    hits = one_role(tmp_path, "IAM109", st)
    assert len(hits) == 1 and hits[0].severity == "critical"


# ------------------------------------------------------------------ IAM102 / IAM103

def test_allow_not_action_flagged_deny_not_action_not(tmp_path):
    hits = one_role(tmp_path, "IAM102", {"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"})
    assert len(hits) == 1 and hits[0].severity == "high"
    assert "inline policy app /Statement/0" in hits[0].message and "except iam:*" in hits[0].message
    assert hits[0].evidence == ("role/app inline app /Statement/0",)
    assert one_role(tmp_path, "IAM102", allow("s3:GetObject", "arn:aws:s3:::b/*"),
                    {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}) == []


def test_not_action_on_named_resource_and_under_conditions_is_lower(tmp_path):
    hits = one_role(tmp_path, "IAM102", {"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b/*"})
    assert hits[0].severity == "medium"
    hits = one_role(tmp_path, "IAM102", {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*",
                                         "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}})
    assert hits[0].severity == "medium" and hits[0].conditions


def test_two_statements_give_two_findings_with_distinct_fingerprints(tmp_path):
    na = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    hits = one_role(tmp_path, "IAM102", na, dict(na, NotAction="kms:*"))
    assert len(hits) == 2
    assert len({h.fingerprint for h in hits}) == 2
    assert {h.key[1] for h in hits} == {"/Statement/0", "/Statement/1"}


def test_aws_managed_not_action_policy_is_reported(tmp_path):
    power = managed("PowerUserAccess", doc({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"],
                                             "Resource": "*"}), aws=True)
    hits = run(tmp_path, "IAM102", policies=[power], roles=[role("dev", managed=[power["Arn"]])])
    assert len(hits) == 1 and "(AWS managed)" in hits[0].message
    assert hits[0].evidence == (f"managed policy {power['Arn']} /Statement/0",)


def test_allow_not_resource(tmp_path):
    hits = one_role(tmp_path, "IAM103", {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::prod*"})
    assert len(hits) == 1 and hits[0].severity == "medium"
    hits = one_role(tmp_path, "IAM103", {"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::p"})
    assert hits[0].severity == "high"
    assert one_role(tmp_path, "IAM103", {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::ok"}) == []


# ------------------------------------------------------------------ IAM104

def test_pass_role_star_and_role_wildcard(tmp_path):
    for res in ("*", f"arn:aws:iam::{ACCT}:role/*", "arn:aws:iam::*:role/*"):
        hits = one_role(tmp_path, "IAM104", allow("iam:PassRole", res))
        assert len(hits) == 1 and hits[0].severity == "high", res
        assert hits[0].evidence == ("role/app inline app /Statement/0",)


def test_pass_role_with_passed_to_service_is_lower_but_reported(tmp_path):
    hits = one_role(tmp_path, "IAM104", allow("iam:PassRole", Condition={
        "StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}))
    assert len(hits) == 1 and hits[0].severity == "medium"
    assert any("iam:PassedToService" in c for c in hits[0].conditions)


def test_pass_role_scoped_or_denied_is_not_reported(tmp_path):
    assert one_role(tmp_path, "IAM104", allow("iam:PassRole", f"arn:aws:iam::{ACCT}:role/app/*")) == []
    assert one_role(tmp_path, "IAM104", allow("iam:PassRole"),
                    {"Effect": "Deny", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{ACCT}:role/admin"}) == []


# ------------------------------------------------------------------ IAM105

@pytest.mark.parametrize("action,severity", [("iam:*", "high"), ("IAM:*", "high"), ("Kms:*", "high"),
                                             ("s3:*", "high"), ("SQS:*", "medium")])
def test_service_wildcard_case_insensitive(tmp_path, action, severity):
    hits = one_role(tmp_path, "IAM105", allow(action))
    assert len(hits) == 1 and hits[0].severity == severity


def test_service_wildcard_scoped_or_partial_is_not_reported(tmp_path):
    assert one_role(tmp_path, "IAM105", allow("s3:*", ["arn:aws:s3:::b", "arn:aws:s3:::b/*"])) == []
    assert one_role(tmp_path, "IAM105", allow("s3:Get*")) == []
    assert one_role(tmp_path, "IAM105", allow("*")) == []   # IAM101's subject


# ------------------------------------------------------------------ IAM106

WILDCARD_ONLY_WRITES = ["kms:CreateKey", "iam:CreateAccountAlias", "s3:CreateJob", "xray:PutTraceSegments",
                        "lambda:CreateEventSourceMapping", "logs:PutResourcePolicy"]


def test_wildcard_only_actions_on_star_are_not_flagged(tmp_path):
    from iamlint.engine import actions as catalog
    assert all(catalog.is_wildcard_only(a) for a in WILDCARD_ONLY_WRITES)   # the data these tests rely on
    st = allow(WILDCARD_ONLY_WRITES + ["ec2:DescribeInstances", "ec2:Describe*", "s3:ListAllMyBuckets",
                                       "sts:GetCallerIdentity", "iam:ListRoles", "XRAY:puttracesegments"])
    assert one_role(tmp_path, "IAM106", st) == []


def test_scopable_writes_on_star_are_flagged_action_aware(tmp_path):
    hits = one_role(tmp_path, "IAM106", allow(["EC2:runinstances", "ec2:DescribeInstances", "kms:CreateKey"]))
    assert len(hits) == 1 and hits[0].severity == "medium"
    assert "ec2:RunInstances" in hits[0].message and "DescribeInstances" not in hits[0].message
    assert "2 wildcard-only action(s) are fine" in hits[0].message


def test_permissions_management_on_star_is_higher(tmp_path):
    hits = one_role(tmp_path, "IAM106", allow("iam:PutRolePolicy"))
    assert hits[0].severity == "high"


def test_read_actions_and_aws_managed_policies_are_not_flagged(tmp_path):
    assert one_role(tmp_path, "IAM106", allow(["s3:GetObject", "dynamodb:Query"])) == []
    aws = managed("AmazonEC2FullAccess", doc(allow("ec2:RunInstances")), aws=True)
    assert run(tmp_path, "IAM106", policies=[aws], roles=[role("r", managed=[aws["Arn"]])]) == []


def test_scopable_write_on_specific_resource_is_not_flagged(tmp_path):
    assert one_role(tmp_path, "IAM106", allow("s3:PutObject", "arn:aws:s3:::b/*")) == []


# ------------------------------------------------------------------ IAM107

def test_unknown_actions(tmp_path):
    hits = one_role(tmp_path, "IAM107", allow(["s3:GetObjekt", "S3:getobject", "s3:Get*", "nosuchsvc:Do"]),
                    {"Effect": "Deny", "Action": "iam:DeleteRol", "Resource": "*"})
    by_ptr = {h.key[1]: h for h in hits}
    assert set(by_ptr) == {"/Statement/0", "/Statement/1"}
    assert "s3:GetObjekt" in by_ptr["/Statement/0"].message and "nosuchsvc:Do" in by_ptr["/Statement/0"].message
    assert "S3:getobject" not in by_ptr["/Statement/0"].message
    assert by_ptr["/Statement/0"].severity == "low" and by_ptr["/Statement/1"].severity == "medium"


def test_single_statement_object_pointer(tmp_path):
    d = {"Version": V, "Statement": {"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "*"}}
    hits = run(tmp_path, "IAM107", roles=[role("app", inline=[("p", d)])])
    assert hits[0].key == ("inline:p", "/Statement", "Action")


# ------------------------------------------------------------------ IAM108

def test_user_with_direct_policies(tmp_path):
    pol = managed("read", doc(allow("s3:GetObject", "arn:aws:s3:::b/*")))
    hits = run(tmp_path, "IAM108", policies=[pol], users=[user("alice", managed=[pol["Arn"]]),
                                                          user("bob", groups=["g"])], groups=[group("g")])
    assert [h.principal.rsplit("/", 1)[1] for h in hits] == ["alice"]


# ------------------------------------------------------------------ IAM110 / IAM111

def test_stale_role_needs_dates_and_uses_configured_now(tmp_path):
    used = role("r", CreateDate="2024-01-01T00:00:00Z",
                RoleLastUsed={"LastUsedDate": "2026-04-01T00:00:00Z", "Region": "eu-west-1"})
    assert run(tmp_path, "IAM110", roles=[used], config={"now": "2026-05-01T00:00:00Z"}) == []
    hits = run(tmp_path, "IAM110", roles=[used], config={"now": "2026-12-01T00:00:00Z"})
    assert len(hits) == 1 and "244 days before the configured time" in hits[0].message
    assert run(tmp_path, "IAM110", roles=[role("iac")], config={"now": "2030-01-01"}) == []


def test_long_sessions_only_matter_for_privileged_roles(tmp_path):
    admin = role("a", inline=[("p", doc(allow("*")))], MaxSessionDuration=43200)
    plain = role("b", inline=[("p", doc(allow("s3:GetObject", "arn:aws:s3:::x/*")))], MaxSessionDuration=43200)
    hits = run(tmp_path, "IAM111", roles=[admin, plain])
    assert [h.principal.rsplit("/", 1)[1] for h in hits] == ["a"]


# ------------------------------------------------------------------ IAM201 / IAM202

@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::222233334444:root", "*"]}])
def test_principal_star_both_forms(tmp_path, principal):
    hits = run(tmp_path, "IAM201", roles=[role("pub", doc(trust(principal)))])
    assert len(hits) == 1 and hits[0].severity == "critical"
    assert hits[0].evidence == ("role/pub trust policy /Statement/0",)
    assert run(tmp_path, "IAM202", roles=[role("pub", doc(trust(principal)))]) == []


@pytest.mark.parametrize("condition", [
    {"Bool": {"aws:SecureTransport": "true"}},
    {"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-abc"}},     # outsiders outside any org pass
    {"StringNotEquals": {"aws:PrincipalAccount": "666666666666"}},  # excludes one, admits the rest
    {"StringLike": {"aws:PrincipalArn": "*"}},
])
def test_conditions_that_do_not_limit_who_stay_critical(tmp_path, condition):
    hits = run(tmp_path, "IAM201", roles=[role("pub", doc(trust({"AWS": "*"}, condition=condition)))])
    assert len(hits) == 1


@pytest.mark.parametrize("condition", [
    {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}},
    {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCT}:role/ci-*"}},
    {"StringEquals": {"sts:ExternalId": "secret"}},
])
def test_limiting_conditions_move_to_iam202(tmp_path, condition):
    roles = [role("pub", doc(trust("*", condition=condition)))]
    assert run(tmp_path, "IAM201", roles=roles) == []
    hits = run(tmp_path, "IAM202", roles=roles)
    assert len(hits) == 1 and hits[0].severity == "medium" and hits[0].conditions


def test_deny_carve_out_and_blanket_deny(tmp_path):
    carve = trust("*", condition={"StringNotEquals": {"aws:PrincipalOrgID": "o-abc"}}, effect="Deny")
    roles = [role("pub", doc(trust("*"), carve))]
    assert run(tmp_path, "IAM201", roles=roles) == []
    hits = run(tmp_path, "IAM202", roles=roles)
    assert len(hits) == 1 and "role/pub trust policy /Statement/1" in hits[0].evidence
    blanket = [role("pub", doc(trust("*"), trust("*", effect="Deny")))]
    assert run(tmp_path, "IAM201", roles=blanket) == [] and run(tmp_path, "IAM202", roles=blanket) == []


def test_web_identity_only_star_statement_is_not_assume_role(tmp_path):
    roles = [role("pub", doc(trust({"AWS": "*"}, action="sts:TagSession")))]
    assert run(tmp_path, "IAM201", roles=roles) == []


# ------------------------------------------------------------------ IAM203 / IAM206

def test_external_id_and_known_accounts(tmp_path):
    ext = [role("v", doc(trust({"AWS": "arn:aws:iam::999988887777:role/scanner"})))]
    assert len(run(tmp_path, "IAM203", roles=ext)) == 1
    assert run(tmp_path, "IAM203", roles=ext, config={"known_accounts": ["999988887777"]}) == []
    same = [role("v", doc(trust({"AWS": f"arn:aws:iam::{ACCT}:role/ci"})))]
    assert run(tmp_path, "IAM203", roles=same) == []
    withid = [role("v", doc(trust({"AWS": "999988887777"}, condition={"StringEquals": {"sts:ExternalId": "x"}})))]
    assert run(tmp_path, "IAM203", roles=withid) == []
    ifexists = [role("v", doc(trust({"AWS": "999988887777"},
                                     condition={"StringEqualsIfExists": {"sts:ExternalId": "x"}})))]
    assert len(run(tmp_path, "IAM203", roles=ifexists)) == 1


def test_other_account_root_trust(tmp_path):
    for p in ("222233334444", "arn:aws:iam::222233334444:root"):
        hits = run(tmp_path, "IAM206", roles=[role("x", doc(trust({"AWS": p})))])
        assert len(hits) == 1 and hits[0].key == ("trust", "/Statement/0", "222233334444")
    assert run(tmp_path, "IAM206", roles=[role("x", doc(trust({"AWS": f"arn:aws:iam::{ACCT}:root"})))]) == []
    narrowed = role("x", doc(trust({"AWS": "222233334444"}, condition={
        "ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::222233334444:role/reporting"}})))
    assert run(tmp_path, "IAM206", roles=[narrowed]) == []


# ------------------------------------------------------------------ IAM204

def test_confused_deputy_service_trust(tmp_path):
    svc = lambda s, c=None: role("s", doc(trust({"Service": s}, condition=c)))
    assert len(run(tmp_path, "IAM204", roles=[svc("config.amazonaws.com")])) == 1
    assert run(tmp_path, "IAM204", roles=[svc("lambda.amazonaws.com")]) == []
    assert run(tmp_path, "IAM204", roles=[svc("ec2.amazonaws.com")]) == []
    assert run(tmp_path, "IAM204", roles=[svc("config.amazonaws.com", {
        "ArnLike": {"aws:SourceArn": f"arn:aws:config:*:{ACCT}:*"}})]) == []


# ------------------------------------------------------------------ IAM205 / IAM207

def test_oidc_audience_and_subject(tmp_path):
    aud = {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
    sub = {"token.actions.githubusercontent.com:sub": "repo:acme/app:ref:refs/heads/main"}
    wi = "sts:AssumeRoleWithWebIdentity"
    only_sub = [role("g", doc(trust({"Federated": GH}, wi, {"StringEquals": sub})))]
    assert len(run(tmp_path, "IAM205", roles=only_sub)) == 1
    assert run(tmp_path, "IAM207", roles=only_sub) == []
    only_aud = [role("g", doc(trust({"Federated": GH}, wi, {"StringEquals": aud})))]
    assert run(tmp_path, "IAM205", roles=only_aud) == []
    hits = run(tmp_path, "IAM207", roles=only_aud)
    assert len(hits) == 1 and hits[0].severity == "critical"
    star = [role("g", doc(trust({"Federated": GH}, wi, {"StringEquals": aud,
                                                        "StringLike": {"token.actions.githubusercontent.com:sub": "*"}})))]
    assert len(run(tmp_path, "IAM207", roles=star)) == 1


def test_private_issuer_without_subject_is_high(tmp_path):
    eks = f"arn:aws:iam::{ACCT}:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"
    r = [role("irsa", doc(trust({"Federated": eks}, "sts:AssumeRoleWithWebIdentity", {
        "StringEquals": {"oidc.eks.eu-west-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com"}})))]
    hits = run(tmp_path, "IAM207", roles=r)
    assert len(hits) == 1 and hits[0].severity == "high"


# ------------------------------------------------------------------ determinism

def test_scan_is_deterministic(example_path):
    a = scan(load_paths([example_path]), only=["IAM"], config={"now": "2026-06-01"})
    b = scan(load_paths([example_path]), only=["IAM"], config={"now": "2026-06-01"})
    assert [f.to_json() for f in a.findings] == [f.to_json() for f in b.findings]


def test_ref_label_shapes():
    from iamlint.engine.evaluate import StatementRef
    from iamlint.model.account import Kind, Principal
    p = Principal(f"arn:aws:iam::{ACCT}:user/u", "u", Kind.USER, ACCT)
    assert ref_label(p, StatementRef("identity", "u/p", "/Statement/0", None, "Allow")) == \
        "user/u inline p /Statement/0"
    assert ref_label(p, StatementRef("identity", "g1/p (via group g1)", "/Statement/2", "S", "Allow")) == \
        "group/g1 inline p /Statement/2 (S)"
    assert ref_label(p, StatementRef("identity", "M (via group g1)", "/Statement/1", None, "Allow",
                                     arn=f"arn:aws:iam::{ACCT}:policy/M")) == \
        f"managed policy arn:aws:iam::{ACCT}:policy/M /Statement/1 (via group g1)"


def test_stale_role_without_configured_time_uses_latest_input_date(tmp_path):
    recent = role("recent", CreateDate="2026-05-01T00:00:00Z",
                  RoleLastUsed={"LastUsedDate": "2026-06-01T00:00:00Z", "Region": "eu-west-1"})
    idle = role("idle", CreateDate="2025-01-01T00:00:00Z",
                RoleLastUsed={"LastUsedDate": "2026-01-02T00:00:00Z", "Region": "eu-west-1"})
    hits = run(tmp_path, "IAM110", roles=[recent, idle])
    assert [h.principal.rsplit("/", 1)[1] for h in hits] == ["idle"]
    assert "150 days before the latest date in the input" in hits[0].message


def test_a_finding_message_is_one_line_whatever_the_action_holds(tmp_path):
    # an action written as a YAML block scalar keeps its newline: the message escapes it
    found = one_role(tmp_path, "IAM107", allow(["s3:GetObject\n", "s3:GetObjekt"]))
    assert found and all("\n" not in f.message for f in found)
    assert any("\\n" in f.message for f in found)

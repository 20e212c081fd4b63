"""Accounts an outside review wrote against the docs, where iamlint was wrong: each test states the doc
passage, and the near miss beside it where there is one (fixtures/review/)."""

import copy
import json

from conftest import FIXTURES

from iamlint.loaders import load_data
from iamlint.pipeline import scan

REVIEW = FIXTURES / "review"
AGENT = "arn:aws:iam::111111111111:role/rt-exec"
DEPLOYER = "arn:aws:iam::111111111111:role/deployer"


def _doc(name):
    with open(REVIEW / name) as fh:
        return json.load(fh)


def _findings(doc):
    return {(f.rule_id, f.principal): f for f in scan(load_data(copy.deepcopy(doc), "review.json")).findings}


def _trust(doc, role):
    return next(r for r in doc["RoleDetailList"] if r["RoleName"] == role)["AssumeRolePolicyDocument"]


def test_trust_admitting_star_lets_same_account_principals_in_without_identity_grant():
    """R8: for principals of the role's own account "no other permissions are required"; the agent
    (no policies at all) reaches the admin role that trusts "*" pinned to its ARN."""
    doc = _doc("c11d_trust_star_principalarn_no_identity.json")
    found = _findings(doc)
    assert ("AGT001", DEPLOYER) in found and found[("AGT001", DEPLOYER)].severity == "critical"
    esc = found[("ESC001", AGENT)]
    assert [(e.source, e.target) for e in esc.path] == [(AGENT, DEPLOYER)]
    # near miss: aws:PrincipalArn names another role; the agent is not let in
    _trust(doc, "deployer")["Statement"][0]["Condition"]["ArnEquals"]["aws:PrincipalArn"] = \
        "arn:aws:iam::111111111111:role/someone-else"
    found = _findings(doc)
    assert ("AGT001", DEPLOYER) not in found and ("ESC001", AGENT) not in found


def test_trust_admitting_star_without_conditions():
    doc = _doc("c11_trust_star_principal.json")
    found = _findings(doc)
    assert ("ESC001", AGENT) in found
    # near miss: the agent's own explicit Deny of sts:AssumeRole still applies (R8: "unless there is an
    # explicit deny")
    agent = next(r for r in doc["RoleDetailList"] if r["RoleName"] == "rt-exec")
    agent["RolePolicyList"].append({"PolicyName": "no-assume", "PolicyDocument": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"}]}})
    assert ("ESC001", AGENT) not in _findings(doc)


def test_a_deny_on_another_services_resource_leaves_full_iam_write():
    """R25: a Deny on a different resource leaves the Allow intact. AdministratorAccess with a Deny of
    every action on one CloudTrail trail still writes IAM everywhere: admin in one step."""
    found = _findings(_doc("d10e_admin_plus_deny_star_on_trail.json"))
    assert found[("IAM109", AGENT)].severity == "critical"
    assert ("AGT001", AGENT) in found
    assert ("ESC001", AGENT) not in found          # already admin-equivalent: nothing to escalate to


def test_a_deny_on_every_role_does_remove_full_iam_write():
    """Near miss of the above: the Deny names IAM roles, the resources the IAM probes act on."""
    doc = _doc("d10e_admin_plus_deny_star_on_trail.json")
    agent = next(r for r in doc["RoleDetailList"] if r["RoleName"] == "rt-exec")
    for pol in agent["RolePolicyList"]:
        for st in pol["PolicyDocument"]["Statement"]:
            if st["Effect"] == "Deny":
                st["Resource"] = "arn:aws:iam::111111111111:role/*"
    found = _findings(doc)
    assert ("IAM109", AGENT) not in found and ("IAM101", AGENT) not in found


def test_a_deny_on_one_bucket_leaves_admin_in_one_step():
    found = _findings(_doc("d10_deny_other_resource.json"))
    assert ("IAM109", AGENT) in found and ("AGT001", AGENT) in found


def test_a_conditional_destructive_grant_is_one_level_lower_not_two():
    """AGT006's rationale: reported one level lower with the conditions named."""
    found = _findings(_doc("d07_destructive_conditional_sourceip.json"))
    f = found[("AGT006", AGENT)]
    assert f.severity == "medium"                  # the rule's high, one level lower
    assert any("aws:SourceIp" in c for c in f.conditions)


def test_a_source_condition_that_matches_anything_is_named_not_called_missing():
    """A trust with StringLike aws:SourceAccount "*" binds nothing (AGT016), and the finding says what is
    written instead of claiming there is no source condition."""
    found = _findings(_doc("s14_agentcore_sourceaccount_wild.json"))
    msg = found[("AGT016", AGENT)].message
    assert "StringLike aws:SourceAccount [*]" in msg and "match any value" in msg and " without " not in msg


def test_resource_policy_open_to_anyone_under_an_undecided_condition_is_one_level_lower():
    """IAM208: a bucket policy that lets "*" in from some source IPs: conditional, named, medium."""
    doc = _doc_rules("IAM208", "fail.json")
    st = doc["Inventory"]["resource_policies"][0]["policy"]["Statement"][0]
    st["Condition"] = {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
    found = [f for f in scan(load_data(doc, "b.json"), only=["IAM208"]).findings]
    assert [f.severity for f in found] == ["medium"]
    assert any("aws:SourceIp" in c for c in found[0].conditions)


def _doc_rules(rule, name):
    with open(FIXTURES / "rules" / rule / name) as fh:
        return json.load(fh)

"""Evaluator behaviour beyond the simulate corpus: conditional answers, explanations, the model path."""

import json
import subprocess
import sys

import pytest

from iamlint.engine import actions
from iamlint.engine.authorize import Authorizer
from iamlint.engine.context import Context
from iamlint.engine.evaluate import NamedPolicy, PolicySet, Request, evaluate
from iamlint.loaders import load_paths
from iamlint.model.policy import parse_policy

from conftest import EXAMPLE

U = "arn:aws:iam::111111111111:user/u"


def doc(*st, version="2012-10-17"):
    return parse_policy({"Version": version, "Statement": list(st)})


def ident(*st):
    return [NamedPolicy("identity", "p", doc(*st))]


def ev(identity, action="s3:GetObject", resource="arn:aws:s3:::b/k", ctx=None, complete=False, **kw):
    return evaluate(PolicySet(identity=identity, **kw),
                    Request(action, resource, U, Context(ctx or {}, complete=complete)))


def test_unknown_condition_is_conditional_and_named():
    d = ev(ident({"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                  "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}))
    assert d.decision == "Conditional"
    assert d.condition_keys == ("aws:SourceIp",)
    # with the context given, it decides
    assert ev(ident({"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                     "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}), ctx={"aws:SourceIp": "10.1.1.1"}
              ).decision == "Allowed"


def test_conditional_deny_is_conditional_not_final():
    # R25-13: a conditional Deny is not an absolute deny
    d = ev(ident({"Effect": "Allow", "Action": "*", "Resource": "*"},
                 {"Effect": "Deny", "Action": "*", "Resource": "*",
                  "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}))
    assert d.decision == "Conditional" and "aws:MultiFactorAuthPresent" in d.condition_keys


def test_deny_on_other_resource_leaves_allow():
    # R25-15
    d = ev(ident({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                 {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other/*"}), complete=True)
    assert d.decision == "Allowed"


def test_explanation_names_statements_and_blocker():
    d = ev(ident({"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}), complete=True)
    assert d.allowed_by[0].sid == "Read" and d.allowed_by[0].pointer == "/Statement/0"
    bound = [NamedPolicy("boundary", "b", doc({"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}))]
    d = ev(ident({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}), complete=True, boundaries=bound)
    assert d.decision == "ImplicitlyDenied" and d.blocked_by == ("boundary",)
    d = ev(ident({"Effect": "Deny", "Sid": "No", "Action": "s3:*", "Resource": "*"}), complete=True)
    assert d.decision == "ExplicitlyDenied" and d.denied_by[0].sid == "No"


def test_unknown_action_is_reported():
    d = ev(ident({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}), action="s3:GetObjectt", complete=True)
    assert any("unknown action" in w for w in d.warnings)


def test_wildcard_actions_expand_against_catalog():
    # R25-14: iam:Pass* names iam:PassRole; bedrock-agentcore actions exist (absent from policyuniverse)
    assert "iam:PassRole" in actions.expand("iam:Pass*")
    assert actions.expand("bedrock-agentcore:InvokeAgentRuntime*")
    assert actions.unknown_actions(["iam:PassRol"]) == ["iam:PassRol"]


def test_unresolved_resource_variable_is_conditional():
    d = ev(ident({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:PrincipalTag/team}/*"}))
    assert d.decision == "Conditional"


def test_model_mfa_trust_is_conditional():
    # R25-4: MFA-conditioned trust is conditional on aws:MultiFactorAuthPresent
    auth = Authorizer(load_paths([str(EXAMPLE)]))
    d = auth.check("arn:aws:iam::123456789012:user/dev-alice", "sts:AssumeRole",
                   "arn:aws:iam::123456789012:role/break-glass")
    assert d.decision == "Conditional" and d.condition_keys == ("aws:MultiFactorAuthPresent",)


def test_model_service_trust_with_source_account_is_conditional():
    # R25-3: the edge exists, conditional on the source the attacker creates
    auth = Authorizer(load_paths([str(EXAMPLE)]))
    d = auth.check("lambda.amazonaws.com", "sts:AssumeRole", "arn:aws:iam::123456789012:role/reporting")
    assert d.decision == "Conditional" and "aws:SourceAccount" in d.condition_keys


def test_root_trust_needs_identity_allow_in_model():
    # R4 / R25-11 / R25-18: account-root trust delegates to identity policies
    auth = Authorizer(load_paths([str(EXAMPLE)]))
    assert auth.check("arn:aws:iam::123456789012:role/support-agent", "sts:AssumeRole",
                      "arn:aws:iam::123456789012:role/deploy-role").allowed
    assert not auth.check("arn:aws:iam::123456789012:role/reporting", "sts:AssumeRole",
                          "arn:aws:iam::123456789012:role/deploy-role").possible


def test_can_cli_text_and_json():
    base = [sys.executable, "-m", "iamlint", "can", "dev-alice", "sts:AssumeRole",
            "arn:aws:iam::123456789012:role/break-glass", "--input", str(EXAMPLE)]
    r = subprocess.run(base + ["--format", "json"], capture_output=True, text=True)
    assert r.returncode == 0
    out = json.loads(r.stdout)
    assert out["decision"] == "Conditional" and out["conditions"][0]["key"] == "aws:MultiFactorAuthPresent"
    r = subprocess.run(base + ["--context", "aws:MultiFactorAuthPresent=true"], capture_output=True, text=True)
    assert r.stdout.startswith("Allowed")


def test_simulate_cli_reports_mismatch(tmp_path):
    cases = tmp_path / "c.jsonl"
    good = {"id": "ok", "identity_policies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow",
            "Action": "s3:*", "Resource": "*"}}], "request": {"action": "s3:GetObject", "resource": "*",
            "principal": U}, "expected": {"decision": "Allowed"}}
    bad = dict(good, id="bad", expected={"decision": "ExplicitlyDenied"})
    broken = {"id": "broken", "identity_policies": [{"Statement": {"Effect": "Nope"}}], "request": good["request"]}
    cases.write_text("\n".join(json.dumps(c) for c in (good, bad, broken)) + "\n")
    r = subprocess.run([sys.executable, "-m", "iamlint", "simulate", "--cases", str(cases)], capture_output=True,
                       text=True)
    assert r.returncode == 1
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["decision"] for x in lines] == ["Allowed", "Allowed", None]
    assert lines[1]["match"] is False and "/identity_policies/0/Statement/Effect" in lines[2]["error"]
    cases.write_text("{oops\n")
    r = subprocess.run([sys.executable, "-m", "iamlint", "simulate", "--cases", str(cases)], capture_output=True,
                       text=True)
    assert r.returncode == 2 and "line 1" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("grant, space, expected", [
    # a * in the region field of either pattern cannot stand for "region:account:..." of a real ARN
    ("arn:aws:bedrock-agentcore:*:222222222222:runtime/*", "arn:aws:bedrock-agentcore:*:111111111111:runtime/*", False),
    ("arn:aws:bedrock-agentcore:*:111111111111:runtime/*", "arn:aws:bedrock-agentcore:*:111111111111:runtime/*", True),
    ("arn:aws:lambda:*:*:function:*", "arn:aws:lambda:*:111111111111:function:*", True),
    ("arn:aws:lambda:us-east-1:111111111111:function:app-*", "arn:aws:lambda:*:111111111111:function:*", True),
    ("arn:aws:lambda:us-east-1:111111111111:function:app-*", "arn:aws:lambda:eu-west-1:111111111111:function:*", False),
    # the resource part may hold colons; a grant that is not a whole ARN is compared as a string
    ("arn:aws:lambda:*:111111111111:function:app:*", "arn:aws:lambda:*:111111111111:function:*", True),
    ("arn:aws:*", "arn:aws:lambda:*:111111111111:function:*", True),
    ("*", "arn:aws:lambda:*:111111111111:function:*", True),
    ("arn:aws:s3:::bucket/*", "arn:aws:lambda:*:111111111111:function:*", False),
])
def test_arn_intersects_is_field_by_field(grant, space, expected):
    from iamlint.engine import wildcard
    assert wildcard.arn_intersects(grant, space) is expected
    assert wildcard.arn_intersects(space, grant) is expected


def test_simulate_cases_share_parsed_documents_and_a_bad_one_is_reported_each_time(tmp_path):
    from iamlint.simulate import run_case
    doc = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}
    req = {"action": "s3:GetObject", "resource": "*", "principal": U}
    first = run_case({"id": "a", "identity_policies": [doc], "request": req})
    # the same text parsed once: a second case reads the kept parse, with the same answer and evidence
    again = run_case({"id": "b", "identity_policies": [json.loads(json.dumps(doc))], "request": req})
    assert first["explanation"] == again["explanation"] and first["decision"] == "Allowed"
    # the same statements in another key order are another text: parsed on their own, same decision
    other = {"Statement": doc["Statement"], "Version": "2012-10-17"}
    assert run_case({"id": "c", "identity_policies": [other], "request": req})["decision"] == "Allowed"
    bad = {"Version": "2012-10-17", "Statement": {"Effect": "Nope", "Action": "s3:*", "Resource": "*"}}
    for i in range(2):
        r = run_case({"id": f"bad{i}", "identity_policies": [doc, bad], "request": req})
        assert r["decision"] is None and "/identity_policies/1/Statement/Effect" in r["error"]


def test_simulate_stops_quietly_when_its_reader_goes_away(tmp_path):
    cases = tmp_path / "c.jsonl"
    case = {"identity_policies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*",
            "Resource": "*"}}], "request": {"action": "s3:GetObject", "resource": "*", "principal": U}}
    cases.write_text("\n".join(json.dumps(dict(case, id=f"c{i}")) for i in range(30000)) + "\n")
    p = subprocess.Popen([sys.executable, "-m", "iamlint", "simulate", "--cases", str(cases)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert json.loads(p.stdout.readline())["id"] == "c0"
    p.stdout.close()                       # as `| head -1` does
    err = p.stderr.read().decode()
    assert p.wait() == 141 and err == ""

"""The Terraform plan loader (`terraform show -json plan.out`): model, references, positions, suppressions,
bad input; and the agent plan fixture through the whole pipeline."""

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from iamlint.errors import InputError
from iamlint.iac.index import Index, Options
from iamlint.iac.positions import load_file, load_json
from iamlint.iac.terraform import load_terraform_plan, looks_like_terraform_plan
from iamlint.model.account import Model
from iamlint.pipeline import scan

TF = FIXTURES / "iac" / "terraform"
ACCT = "123456789012"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


# ------------------------------------------------------------------ helpers

def load_path(path, opts=None):
    data, pos = load_file(str(path))
    model, index = Model(), Index()
    load_terraform_plan(data, pos, str(path), model, opts or Options(), index)
    return model, index


def load(plan, opts=None, name="plan.json"):
    text = json.dumps(plan, indent=2)
    data, pos = load_json(text, name)
    model, index = Model(), Index()
    load_terraform_plan(data, pos, name, model, opts or Options(), index)
    return model, index, text


def rc(address, rtype, after, unknown=None, mode="managed", index=None, module=None, actions=("create",)):
    name = address.rsplit(".", 1)[-1].split("[", 1)[0]
    out = {"address": address, "mode": mode, "type": rtype, "name": name,
           "change": {"actions": list(actions), "before": None, "after": after, "after_unknown": unknown or {}}}
    if index is not None:
        out["index"] = index
    if module:
        out["module_address"] = module
    return out


def cfg(address, rtype, **expressions):
    mode = "data" if address.startswith("data.") else "managed"
    return {"address": address, "mode": mode, "type": rtype, "name": address.rsplit(".", 1)[-1],
            "expressions": expressions}


def ref(*refs):
    return {"references": list(refs)}


def plan(*changes, config=(), module_calls=None, prior=(), **extra):
    out = {"format_version": "1.2", "terraform_version": "1.9.5", "resource_changes": list(changes),
           "configuration": {"root_module": {"resources": list(config), "module_calls": module_calls or {}}}}
    if prior:
        out["prior_state"] = {"values": {"root_module": {"resources": list(prior)}}}
    out.update(extra)
    return out


def role(address, name, trust=LAMBDA_TRUST, unknown=None, **after):
    return rc(address, "aws_iam_role", dict({"name": name, "path": "/", "assume_role_policy": trust}, **after),
              dict({"arn": True, "id": True, "unique_id": True, "inline_policy": True,
                    "managed_policy_arns": True}, **(unknown or {})))


def arn(kind, name):
    return f"arn:aws:iam::000000000000:{kind}/{name}"


def line_of(text, line):
    return text.splitlines()[line - 1]


def finding_map(report):
    return {(f.rule_id, f.principal): f for f in report.findings}


# ------------------------------------------------------------------ detection

def test_looks_like_terraform_plan():
    data, _ = load_file(str(TF / "agent-plan.json"))
    assert looks_like_terraform_plan(data)
    assert looks_like_terraform_plan({"format_version": "1.0", "values": {"root_module": {}}})   # a state
    assert not looks_like_terraform_plan({"AWSTemplateFormatVersion": "2010-09-09", "Resources": {}})
    assert not looks_like_terraform_plan({"Version": "2012-10-17", "Statement": []})
    assert not looks_like_terraform_plan([{"resource_changes": []}])


# ------------------------------------------------------------------ the agent plan fixture

@pytest.fixture(scope="module")
def agent():
    path = TF / "agent-plan.json"
    model, index = load_path(path)
    return model, index, scan(model), path.read_text(), str(path)


DEPLOY = f"arn:aws:iam::{ACCT}:role/github-deploy"


def runtime_arn(model):
    hits = [p.arn for p in model.principals() if p.arn.startswith(f"arn:aws:iam::{ACCT}:role/agentcore-runtime-")]
    assert len(hits) == 1
    return hits[0]


def test_agent_plan_model(agent):
    model, index, _, _, src = agent
    assert index.notes == [f"{src}: account {ACCT} taken from data.aws_caller_identity.current"]
    deploy = model.principal(DEPLOY)
    assert sorted(ip.name for ip in deploy.inline_policies) == ["artifacts", "deploy"]
    # the federated principal is the ARN of the provider the plan creates (known only after apply)
    [st] = deploy.trust_policy.statements
    assert st.principals == {"Federated": (f"arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com",)}
    # name_prefix: the runtime role's name keeps its known prefix, the rest stays unknown
    rt = model.principal(runtime_arn(model))
    assert "known-after-apply:module.agent.aws_iam_role.runtime.name" in rt.arn
    assert rt.managed_policies == [ADMIN]            # attached by an attachment whose role is known after apply
    assert rt.max_session_duration == 43200
    # for_each: each attachment found its own worker role through aws_iam_role.workers[each.key].id
    for k in ("ingest", "report"):
        assert model.principal(f"arn:aws:iam::{ACCT}:role/worker-{k}").managed_policies == [
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
    # count: both users in the group, whose policy ARN was resolved from aws_iam_policy.ci.arn
    group = model.principal(f"arn:aws:iam::{ACCT}:group/ci")
    assert sorted(group.members) == [f"arn:aws:iam::{ACCT}:user/ci-bot-0", f"arn:aws:iam::{ACCT}:user/ci-bot-1"]
    assert group.managed_policies == [f"arn:aws:iam::{ACCT}:policy/ci-ecr-push"]
    assert model.policies[f"arn:aws:iam::{ACCT}:policy/ci-ecr-push"].document is not None
    errors = model.accounts[ACCT].collection_errors
    assert [e["error_code"] for e in errors] == ["UnknownPolicy"]
    assert "aws_s3_bucket_policy.artifacts" in errors[0]["message"]
    [bp] = model.accounts[ACCT].inventory["resource_policies"]
    assert bp["type"] == "aws_s3_bucket_policy" and bp["logical_id"] == "aws_s3_bucket_policy.artifacts"


def test_agent_plan_findings(agent):
    model, _, report, _, _ = agent
    rt = runtime_arn(model)
    got = {(f.rule_id, f.principal) for f in report.findings}
    assert {("AGT011", DEPLOY), ("IAM104", DEPLOY), ("ESC001", DEPLOY), ("IAM101", rt), ("IAM111", rt)} <= got
    fm = finding_map(report)
    assert fm[("IAM101", rt)].conditions == ()          # AdministratorAccess is certain, not conditional
    assert fm[("IAM104", DEPLOY)].conditions == ()
    # the deploy role passes the admin runtime role (attached in the module) to an AgentCore code interpreter
    [edge] = fm[("ESC001", DEPLOY)].path
    assert (edge.source, edge.target, edge.method) == (DEPLOY, rt, "bedrock-agentcore-code-interpreter")
    # a value known only after apply makes the dependent decision Conditional, naming the value
    cond = [f for f in report.findings if f.rule_id == "IAM106"
            and any("known-after-apply:aws_s3_bucket.artifacts.arn" in c for c in f.conditions)]
    assert len(cond) == 1 and "artifacts" in cond[0].evidence[0]


def test_agent_plan_positions(agent):
    model, index, _, text, src = agent
    # principals: the Terraform address, the pointer of the resource change, its line
    rt = runtime_arn(model)
    o = index.principals[rt]
    assert (o.file, o.resource, o.kind) == (src, "module.agent.aws_iam_role.runtime", "terraform")
    assert o.pointer.startswith("/resource_changes/")
    assert line_of(text, o.line).strip() == '"address": "module.agent.aws_iam_role.runtime",'
    assert o.column == line_of(text, o.line).index('"address"') + 1
    # a statement from a JSON string points at the attribute that holds it
    deploy = model.principal(DEPLOY)
    inline = {ip.name: ip.document for ip in deploy.inline_policies}
    loc, origin = index.statement(inline["deploy"], "/Statement/0")
    assert origin.resource == "aws_iam_role_policy.deploy"
    assert loc.pointer.endswith("/change/after/policy/Statement/0")
    assert line_of(text, loc.line).lstrip().startswith('"policy": "{')
    # a trust policy built from aws_iam_policy_document blocks points at the statement block
    loc, origin = index.statement(deploy.trust_policy, "/Statement/0")
    assert origin.resource == "data.aws_iam_policy_document.github_trust"
    assert loc.pointer.endswith("/change/after/json/Statement/0")
    assert line_of(text, loc.line).strip() == "{" and '"statement": [' in line_of(text, loc.line - 1)
    assert '"actions": [' in line_of(text, loc.line + 1)


def test_agent_plan_suppression(agent):
    _, index, _, text, src = agent
    [s] = index.suppressions[(src, "aws_iam_role.github_deploy")]
    assert (s.rule, s.expires) == ("IAM106", dt.date(2027, 6, 30))
    assert s.reason == "artifact uploads write objects with generated names"
    assert '"iamlint:skip"' in line_of(text, s.line)


def test_fixed_agent_plan_passes():
    model, index = load_path(TF / "agent-plan-fixed.json")
    report = scan(model)
    assert report.findings == []
    assert index.suppressions == {}
    rt = runtime_arn(model)
    [parn] = model.principal(rt).managed_policies
    assert "known-after-apply:module.agent.aws_iam_policy.runtime.name" in parn
    assert model.policies[parn].document.statements[0].actions == ("bedrock:InvokeModel",
                                                                   "bedrock:InvokeModelWithResponseStream")
    # the agent and CI principals carry the boundary the plan creates (its ARN is known at plan time)
    boundary = "arn:aws:iam::123456789012:policy/agent-boundary"
    assert boundary in model.policies
    capped = {p.name for p in model.principals() if p.permissions_boundary == boundary}
    assert {"github-deploy", "ci-bot-0", "ci-bot-1"} <= capped and model.principal(rt).permissions_boundary == boundary


def test_fixtures_are_generated():
    """The committed fixtures are what generate.py writes (edit the generator, not the JSON)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("tfgen", TF / "generate.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    for fixed, name in ((False, "agent-plan.json"), (True, "agent-plan-fixed.json")):
        assert json.loads((TF / name).read_text()) == json.loads(json.dumps(gen.build(fixed)))


# ------------------------------------------------------------------ resources

def test_role_attributes_and_inline_blocks():
    p = plan(role("aws_iam_role.r", "r", max_session_duration=7200, permissions_boundary=arn("policy", "pb"),
                  tags={"team": "x"}, inline_policy=[{"name": "logs", "policy": json.dumps(
                      {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:*",
                                                               "Resource": "*"}]})}],
                  managed_policy_arns=[ADMIN], unknown={"inline_policy": False, "managed_policy_arns": False}),
             rc("aws_iam_policy.pb", "aws_iam_policy", {"name": "pb", "path": "/", "policy": json.dumps(
                 {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})},
                {"arn": True}))
    model, index, _ = load(p)
    r = model.principal(arn("role", "r"))
    assert (r.max_session_duration, r.permissions_boundary, r.tags) == (7200, arn("policy", "pb"), {"team": "x"})
    assert [ip.name for ip in r.inline_policies] == ["logs"] and r.managed_policies == [ADMIN]
    assert arn("policy", "pb") in model.policies
    assert index.files == [("plan.json", "terraform")]


def test_computed_inline_and_managed_lists_are_not_guessed():
    """inline_policy / managed_policy_arns unknown because the configuration does not write them: nothing."""
    p = plan(role("aws_iam_role.r", "r"), config=[cfg("aws_iam_role.r", "aws_iam_role", name={"constant_value": "r"})])
    model, _, _ = load(p)
    r = model.principal(arn("role", "r"))
    assert (r.inline_policies, r.managed_policies) == ([], [])
    # written but known only after apply: a marker, judged Conditional
    p = plan(role("aws_iam_role.r", "r"), config=[cfg("aws_iam_role.r", "aws_iam_role",
                                                      managed_policy_arns=ref("var.arns"))])
    model, _, _ = load(p)
    [m] = model.principal(arn("role", "r")).managed_policies
    assert "known-after-apply:aws_iam_role.r.managed_policy_arns" in m


def test_users_groups_memberships_and_policies():
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                              "Resource": "*"}]})
    p = plan(rc("aws_iam_user.u", "aws_iam_user", {"name": "u", "path": "/", "permissions_boundary": None}),
             rc("aws_iam_user.v", "aws_iam_user", {"name": "v", "path": "/"}),
             rc("aws_iam_group.g", "aws_iam_group", {"name": "g", "path": "/"}),
             rc("aws_iam_group.h", "aws_iam_group", {"name": "h", "path": "/"}),
             rc("aws_iam_group_membership.m", "aws_iam_group_membership", {"name": "m", "group": "g", "users": ["u"]}),
             rc("aws_iam_user_group_membership.n", "aws_iam_user_group_membership",
                {"user": "v", "groups": ["g", "h"]}),
             rc("aws_iam_user_policy.up", "aws_iam_user_policy", {"name": "up", "user": "u", "policy": doc}),
             rc("aws_iam_group_policy.gp", "aws_iam_group_policy", {"name": "gp", "group": "h", "policy": doc}),
             rc("aws_iam_user_policy_attachment.ua", "aws_iam_user_policy_attachment",
                {"user": "u", "policy_arn": ADMIN}),
             rc("aws_iam_policy_attachment.all", "aws_iam_policy_attachment",
                {"name": "all", "users": ["v"], "groups": ["g"], "roles": ["r"],
                 "policy_arn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}),
             role("aws_iam_role.r", "r"),
             rc("aws_iam_instance_profile.ip", "aws_iam_instance_profile", {"name": "ip", "path": "/", "role": "r"},
                {"arn": True}))
    model, _, _ = load(p)
    u, v = model.principal(arn("user", "u")), model.principal(arn("user", "v"))
    g, h = model.principal(arn("group", "g")), model.principal(arn("group", "h"))
    assert sorted(g.members) == [u.arn, v.arn] and h.members == [v.arn]
    assert [ip.name for ip in u.inline_policies] == ["up"] and [ip.name for ip in h.inline_policies] == ["gp"]
    assert u.managed_policies == [ADMIN]
    s3ro = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    assert v.managed_policies == [s3ro] and g.managed_policies == [s3ro]
    assert model.principal(arn("role", "r")).managed_policies == [s3ro]
    assert model.principal(arn("role", "r")).instance_profiles == ["arn:aws:iam::000000000000:instance-profile/ip"]
    report = scan(model)
    assert ("IAM101", u.arn) in {(f.rule_id, f.principal) for f in report.findings}


def test_exclusive_policy_attachments():
    p = plan(role("aws_iam_role.r", "r"),
             rc("aws_iam_policy.p", "aws_iam_policy", {"name": "p", "policy": json.dumps(
                 {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})},
                {"arn": True}),
             rc("aws_iam_role_policy_attachments_exclusive.x", "aws_iam_role_policy_attachments_exclusive",
                {"role_name": "r", "policy_arns": [ADMIN, None]}, {"policy_arns": [False, True]}),
             config=[cfg("aws_iam_role_policy_attachments_exclusive.x", "aws_iam_role_policy_attachments_exclusive",
                         policy_arns=ref("aws_iam_policy.p.arn", "aws_iam_policy.p"))])
    model, _, _ = load(p)
    assert model.principal(arn("role", "r")).managed_policies == [ADMIN, arn("policy", "p")]


def test_credentials_of_users_the_plan_creates():
    p = plan(rc("aws_iam_user.new", "aws_iam_user", {"name": "new", "path": "/"}),
             rc("aws_iam_user.bare", "aws_iam_user", {"name": "bare", "path": "/"}),
             rc("aws_iam_user.old", "aws_iam_user", {"name": "old", "path": "/"}, actions=("no-op",)),
             rc("aws_iam_access_key.k", "aws_iam_access_key", {"user": "new", "status": "Active"}, {"id": True}),
             rc("aws_iam_user_login_profile.l", "aws_iam_user_login_profile", {}, {"user": True}),
             rc("aws_iam_access_key.o", "aws_iam_access_key", {"user": "old"}),
             config=[cfg("aws_iam_user_login_profile.l", "aws_iam_user_login_profile",
                         user=ref("aws_iam_user.new.name", "aws_iam_user.new"))])
    model, _, _ = load(p)
    users = model.accounts["000000000000"].inventory["users"]
    assert users == {arn("user", "new"): {"access_keys": [{"id_suffix": "", "status": "Active"}],
                                          "login_profile": True, "mfa_devices": 0},
                     arn("user", "bare"): {"access_keys": [], "login_profile": False, "mfa_devices": 0}}


def test_missing_principal_is_a_gap():
    p = plan(rc("aws_iam_role_policy_attachment.a", "aws_iam_role_policy_attachment",
                {"role": "elsewhere", "policy_arn": ADMIN}))
    model, _, _ = load(p)
    [e] = model.accounts["000000000000"].collection_errors
    assert e["error_code"] == "MissingPrincipal" and "role elsewhere" in e["message"]


def test_deleted_resources_are_left_out_and_prior_state_counts():
    p = plan(rc("aws_iam_role.old", "aws_iam_role", None, actions=("delete",)),
             prior=[{"address": "aws_iam_role.old", "mode": "managed", "type": "aws_iam_role", "name": "old",
                     "values": {"name": "old", "path": "/", "assume_role_policy": LAMBDA_TRUST}},
                    {"address": "aws_iam_role.kept", "mode": "managed", "type": "aws_iam_role", "name": "kept",
                     "values": {"name": "kept", "path": "/", "assume_role_policy": LAMBDA_TRUST,
                                "arn": "arn:aws:iam::000000000000:role/kept"}}])
    model, index, _ = load(p)
    assert model.principal(arn("role", "old")) is None
    assert index.principals[arn("role", "kept")].pointer == "/prior_state/values/root_module/resources/1"


def test_deposed_objects_and_incomplete_plans():
    old = role("aws_iam_role.r", "r")
    old["deposed"] = "00000001"
    old["change"]["actions"] = ["delete"]
    model, _, _ = load(plan(role("aws_iam_role.r", "r"), old, errored=True))
    assert model.principal(arn("role", "r")) is not None
    assert [e["error_code"] for e in model.accounts["000000000000"].collection_errors] == ["IncompletePlan"]


def test_region_from_provider_configuration():
    p = plan(role("aws_iam_role.r", "r"),
             rc("aws_lambda_function.f", "aws_lambda_function", {"function_name": "f"}, {"role": True, "arn": True}),
             config=[cfg("aws_lambda_function.f", "aws_lambda_function",
                         role=ref("aws_iam_role.r.arn", "aws_iam_role.r"))])
    p["configuration"]["provider_config"] = {"aws": {"name": "aws", "expressions": {
        "region": {"constant_value": "eu-west-1"}}}}
    text = json.dumps(p)
    data, pos = load_json(text, "plan.json")
    model, index = Model(), Index()
    model.account("000000000000").inventory["lambda_functions"] = []       # as a --context snapshot gives it
    load_terraform_plan(data, pos, "plan.json", model, Options(), index)
    [fn] = model.accounts["000000000000"].inventory["lambda_functions"]
    assert (fn["role"], fn["region"], fn["name"]) == (arn("role", "r"), "eu-west-1", "f")
    assert fn["arn"] == "arn:aws:lambda:eu-west-1:000000000000:function:f"


def test_state_json_is_read():
    state = {"format_version": "1.0", "terraform_version": "1.9.5", "values": {"root_module": {"resources": [
        {"address": "aws_iam_role.r", "mode": "managed", "type": "aws_iam_role", "name": "r",
         "values": {"name": "r", "path": "/", "assume_role_policy": LAMBDA_TRUST,
                    "arn": f"arn:aws:iam::{ACCT}:role/r"}}]}}}
    model, index, _ = load(state)
    assert model.principal(f"arn:aws:iam::{ACCT}:role/r") is not None          # account from the known ARN
    assert index.notes == [f"plan.json: account {ACCT} taken from aws_iam_role.r"]
    # an account given on the command line wins
    model, index, _ = load(state, Options(account="111111111111"))
    assert model.principal("arn:aws:iam::111111111111:role/r") is not None


# ------------------------------------------------------------------ policy documents

def test_policy_document_known_json_is_used():
    js = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:PassRole",
                                                             "Resource": "*"}]})
    p = plan(role("aws_iam_role.r", "r"),
             rc("aws_iam_role_policy.p", "aws_iam_role_policy", {"name": "p"}, {"policy": True, "role": True}),
             prior=[{"address": "data.aws_iam_policy_document.d", "mode": "data", "type": "aws_iam_policy_document",
                     "name": "d", "values": {"json": js, "statement": []}}],
             config=[cfg("aws_iam_role_policy.p", "aws_iam_role_policy",
                         role=ref("aws_iam_role.r.name", "aws_iam_role.r"),
                         policy=ref("data.aws_iam_policy_document.d.json", "data.aws_iam_policy_document.d"))])
    model, _, _ = load(p)
    [ip] = model.principal(arn("role", "r")).inline_policies
    assert ip.document.statements[0].actions == ("iam:PassRole",)
    assert ("IAM104", arn("role", "r")) in {(f.rule_id, f.principal) for f in scan(model).findings}


def deferred_doc(address, statements, unknown_statements, **after):
    base = {"source_policy_documents": None, "override_policy_documents": None, "statement": statements}
    base.update(after)
    return rc(address, "aws_iam_policy_document", base,
              {"json": True, "minified_json": True, "id": True, "statement": unknown_statements},
              mode="data", actions=("read",))


def block(**kw):
    out = {"sid": None, "effect": None, "actions": None, "not_actions": None, "resources": None,
           "not_resources": None, "principals": [], "not_principals": [], "condition": []}
    out.update(kw)
    return out


def test_policy_document_built_from_blocks_with_source_and_override():
    source = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Keep", "Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": "*"},
        {"Sid": "Replaced", "Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]})
    override = json.dumps({"Statement": [{"Sid": "Own", "Effect": "Deny", "Principal": "*",
                                          "Action": "s3:DeleteObject", "Resource": "*"}]})
    doc = deferred_doc("data.aws_iam_policy_document.t", [
        block(sid="Replaced", actions=["s3:GetObject"], resources=[None],
              principals=[{"type": "AWS", "identifiers": ["arn:aws:iam::111111111111:root"]}]),
        block(sid="Own", actions=["s3:PutObject"], resources=["*"], principals=[{"type": "*", "identifiers": ["*"]}]),
        block(sid="Guard", effect="Deny", not_actions=["s3:GetObject"], not_resources=["arn:aws:s3:::x/*"],
              not_principals=[{"type": "AWS", "identifiers": ["arn:aws:iam::111111111111:root"]}],
              condition=[{"test": "StringNotEquals", "variable": "aws:PrincipalOrgID", "values": ["o-1"]}])],
        [{"resources": [True]}, {}, {}], source_policy_documents=[source], override_policy_documents=[override])
    p = plan(doc,
             rc("aws_s3_bucket_policy.p", "aws_s3_bucket_policy", {"bucket": "bkt"}, {"policy": True}),
             rc("aws_s3_bucket.b", "aws_s3_bucket", {"bucket_prefix": "b-"}, {"arn": True}),
             config=[cfg("aws_s3_bucket_policy.p", "aws_s3_bucket_policy",
                         policy=ref("data.aws_iam_policy_document.t.json", "data.aws_iam_policy_document.t")),
                     cfg("data.aws_iam_policy_document.t", "aws_iam_policy_document",
                         statement=[{"resources": ref("aws_s3_bucket.b.arn", "aws_s3_bucket.b")}, {}, {}])])
    model, index, text = load(p)
    [entry] = model.accounts["000000000000"].inventory["resource_policies"]
    orig = entry["policy"]["Statement"]
    sids = [s.get("Sid") for s in orig]
    # source first (Replaced by the block of the same Sid), own blocks, the override replaces Own
    assert sids[:2] == ["Keep", "Replaced"] and "Own" in sids and "Guard" in sids
    keep = next(s for s in orig if s.get("Sid") == "Keep")
    assert keep["Principal"] == "*"
    own = next(s for s in orig if s.get("Sid") == "Own")
    assert own["Effect"] == "Deny" and own["Action"] == "s3:DeleteObject"
    replaced = [s for s in orig if s.get("Sid") == "Replaced"]
    assert replaced and all(s["Action"] == ["s3:GetObject"] for s in replaced)
    assert replaced[0]["Principal"] == {"AWS": ["arn:aws:iam::111111111111:root"]}
    # the bucket ARN is known only after apply: the statement is widened under a marker condition
    assert any("iamlint:unresolved:known-after-apply:aws_s3_bucket.b.arn" in json.dumps(s.get("Condition", {}))
               for s in replaced)
    guard = next(s for s in orig if s.get("Sid") == "Guard")
    assert guard["NotPrincipal"] == {"AWS": ["arn:aws:iam::111111111111:root"]} and "Principal" not in guard
    assert guard["Condition"] == {"StringNotEquals": {"aws:PrincipalOrgID": ["o-1"]}}
    assert guard["NotAction"] == ["s3:GetObject"] and guard["NotResource"] == ["arn:aws:s3:::x/*"]
    # statement locations: the data source, on the line of the block that writes the statement
    docs = [d for d, o, _, _ in index.documents.values() if o.resource == "data.aws_iam_policy_document.t"]
    [d] = docs
    loc, origin = index.statement(d, "/Statement/1")          # the block that replaced the source's statement
    assert loc.pointer == "/resource_changes/0/change/after/json/Statement/1"
    assert line_of(text, loc.line).strip() == "{" and '"sid": "Replaced"' in line_of(text, loc.line + 1)
    loc, _ = index.statement(d, "/Statement/2")               # replaced by the override document
    assert line_of(text, loc.line).strip() == '"override_policy_documents": ['
    loc, _ = index.statement(d, "/Statement/0")               # from the source document
    assert line_of(text, loc.line).strip() == '"source_policy_documents": ['
    assert origin.resource == "data.aws_iam_policy_document.t"


def test_policy_document_deprecated_source_json():
    src = json.dumps({"Statement": [{"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    doc = deferred_doc("data.aws_iam_policy_document.t", [block(sid="B", actions=["s3:PutObject"], resources=[None])],
                       [{"resources": [True]}], source_json=src, override_json=None)
    p = plan(doc, role("aws_iam_role.r", "r"),
             rc("aws_iam_role_policy.p", "aws_iam_role_policy", {"name": "p", "role": "r"}, {"policy": True}),
             config=[cfg("aws_iam_role_policy.p", "aws_iam_role_policy",
                         policy=ref("data.aws_iam_policy_document.t.json"))])
    model, _, _ = load(p)
    [ip] = model.principal(arn("role", "r")).inline_policies
    assert [s.get("Sid") for s in ip.document.original["Statement"]][:2] == ["A", "B"]


def test_policy_document_principal_star_everyone():
    doc = deferred_doc("data.aws_iam_policy_document.t", [
        block(actions=["sts:AssumeRole"], principals=[{"type": "*", "identifiers": ["*"]}])], [{}])
    p = plan(doc, role("aws_iam_role.r", "r", unknown={"assume_role_policy": True}),
             config=[cfg("aws_iam_role.r", "aws_iam_role",
                         assume_role_policy=ref("data.aws_iam_policy_document.t.json"))])
    del p["resource_changes"][1]["change"]["after"]["assume_role_policy"]
    model, _, _ = load(p)
    assert model.principal(arn("role", "r")).trust_policy.statements[0].principals == {"*": ("*",)}
    assert ("IAM201", arn("role", "r")) in {(f.rule_id, f.principal) for f in scan(model).findings}


def test_trust_policy_with_statements_known_after_apply():
    """A trust document whose statement list is unknown: anyone may assume the role, Conditional."""
    doc = rc("data.aws_iam_policy_document.t", "aws_iam_policy_document", {},
             {"json": True, "statement": True}, mode="data", actions=("read",))
    r = role("aws_iam_role.r", "r", unknown={"assume_role_policy": True})
    del r["change"]["after"]["assume_role_policy"]
    model, _, _ = load(plan(doc, r, config=[
        cfg("aws_iam_role.r", "aws_iam_role", assume_role_policy=ref("data.aws_iam_policy_document.t.json")),
        cfg("data.aws_iam_policy_document.t", "aws_iam_policy_document", statement=ref("local.statements"))]))
    [st] = model.principal(arn("role", "r")).trust_policy.statements
    assert st.principals == {"*": ("*",)}
    assert [c.key for c in st.conditions] == ["iamlint:unresolved:known-after-apply:data.aws_iam_policy_document.t"
                                              ".statement"]


def test_unknown_policy_makes_decisions_conditional():
    """A policy jsonencode()d with a value known only after apply is unknown as a whole: Conditional."""
    p = plan(role("aws_iam_role.r", "r"),
             rc("aws_iam_role_policy.p", "aws_iam_role_policy", {"name": "p", "role": "r"}, {"policy": True}),
             config=[cfg("aws_iam_role_policy.p", "aws_iam_role_policy",
                         policy=ref("aws_sqs_queue.q.arn", "aws_sqs_queue.q"))])
    model, _, _ = load(p)
    report = scan(model)
    f = finding_map(report)[("IAM101", arn("role", "r"))]
    assert any("known-after-apply:aws_iam_role_policy.p.policy" in c for c in f.conditions)
    assert [e["error_code"] for e in model.accounts["000000000000"].collection_errors] == ["UnknownPolicy"]


# ------------------------------------------------------------------ references

def attach(address, role_ref, policy_arn=ADMIN, module=None, index=None, refs=None):
    return rc(address, "aws_iam_role_policy_attachment", {"policy_arn": policy_arn}, {"role": True, "id": True},
              module=module, index=index)


def test_template_with_several_references_is_not_guessed():
    p = plan(role("aws_iam_role.x", "x"), attach("aws_iam_role_policy_attachment.a", None),
             config=[cfg("aws_iam_role_policy_attachment.a", "aws_iam_role_policy_attachment",
                         role=ref("local.prefix", "aws_iam_role.x.name", "aws_iam_role.x"))])
    model, _, _ = load(p)
    assert model.principal(arn("role", "x")).managed_policies == []
    [e] = model.accounts["000000000000"].collection_errors
    assert e["error_code"] == "MissingPrincipal" and "known-after-apply" in e["message"]


def test_reference_with_explicit_index_and_count_index():
    roles = [role(f"aws_iam_role.x[{i}]", f"x{i}", unknown={"name": True}, name_prefix=f"x{i}-") for i in range(2)]
    for i, r in enumerate(roles):
        r["index"] = i
        del r["change"]["after"]["name"]
    p = plan(*roles, attach("aws_iam_role_policy_attachment.one", None),
             *[dict(attach(f"aws_iam_role_policy_attachment.each[{i}]", None, policy_arn=
                           "arn:aws:iam::aws:policy/IAMFullAccess"), index=i) for i in range(2)],
             config=[cfg("aws_iam_role_policy_attachment.one", "aws_iam_role_policy_attachment",
                         role=ref("aws_iam_role.x[1].name", "aws_iam_role.x[1]", "aws_iam_role.x")),
                     cfg("aws_iam_role_policy_attachment.each", "aws_iam_role_policy_attachment",
                         role=ref("aws_iam_role.x", "count.index"))])
    model, _, _ = load(p)
    by_prefix = {p.name.split("$", 1)[0]: p for p in model.principals()}
    assert by_prefix["x0-"].managed_policies == ["arn:aws:iam::aws:policy/IAMFullAccess"]
    assert sorted(by_prefix["x1-"].managed_policies) == sorted(["arn:aws:iam::aws:policy/IAMFullAccess", ADMIN])
    assert model.accounts["000000000000"].collection_errors == []


def test_references_through_module_inputs_and_outputs():
    child_role = role("module.m.aws_iam_role.inner", None, unknown={"name": True}, name_prefix="inner-")
    child_role["module_address"] = "module.m"
    root_role = role("aws_iam_role.outer", None, unknown={"name": True}, name_prefix="outer-")
    p = plan(root_role, child_role,
             attach("module.m.aws_iam_role_policy_attachment.in", None, module="module.m"),
             attach("aws_iam_role_policy_attachment.out", None, policy_arn="arn:aws:iam::aws:policy/IAMFullAccess"),
             config=[cfg("aws_iam_role_policy_attachment.out", "aws_iam_role_policy_attachment",
                         role=ref("module.m.role_name", "module.m"))],
             module_calls={"m": {"source": "./m", "expressions": {
                 "outer_name": ref("aws_iam_role.outer.name", "aws_iam_role.outer")},
                 "module": {"resources": [
                     cfg("aws_iam_role_policy_attachment.in", "aws_iam_role_policy_attachment",
                         role=ref("var.outer_name"))],
                     "outputs": {"role_name": {"expression": ref("aws_iam_role.inner.name", "aws_iam_role.inner")}}}}})
    model, _, _ = load(p)
    by_prefix = {p.name.split("$", 1)[0]: p for p in model.principals()}
    assert by_prefix["outer-"].managed_policies == [ADMIN]                 # module input -> root role
    assert by_prefix["inner-"].managed_policies == ["arn:aws:iam::aws:policy/IAMFullAccess"]   # module output
    assert model.accounts["000000000000"].collection_errors == []


# ------------------------------------------------------------------ resource policies

def test_resource_policies_go_to_the_inventory():
    pol = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                              "Action": "s3:GetObject", "Resource": "*"}]})
    p = plan(rc("aws_s3_bucket_policy.b", "aws_s3_bucket_policy", {"bucket": "bkt", "policy": pol}),
             rc("aws_kms_key.k", "aws_kms_key", {"description": "k"}, {"arn": True, "policy": True, "key_id": True}),
             rc("aws_kms_key.k2", "aws_kms_key", {"policy": pol.replace("s3:GetObject", "kms:Decrypt")},
                {"arn": True}),
             rc("aws_sqs_queue_policy.q", "aws_sqs_queue_policy", {"queue_url": "https://sqs/q", "policy": pol}),
             rc("aws_sns_topic_policy.t", "aws_sns_topic_policy", {"arn": "arn:aws:sns:eu-west-1:1:t", "policy": pol}),
             rc("aws_secretsmanager_secret_policy.s", "aws_secretsmanager_secret_policy",
                {"secret_arn": "arn:aws:secretsmanager:eu-west-1:1:secret:s", "policy": pol}),
             rc("aws_lambda_permission.l", "aws_lambda_permission",
                {"function_name": "fn", "action": "lambda:InvokeFunction", "principal": "s3.amazonaws.com",
                 "source_arn": None, "source_account": "123456789012"}),
             config=[cfg("aws_kms_key.k", "aws_kms_key", description={"constant_value": "k"})])
    model, index, text = load(p)
    entries = {e["logical_id"]: e for e in model.accounts["000000000000"].inventory["resource_policies"]}
    assert set(entries) == {"aws_s3_bucket_policy.b", "aws_kms_key.k2", "aws_sqs_queue_policy.q",
                            "aws_sns_topic_policy.t", "aws_secretsmanager_secret_policy.s", "aws_lambda_permission.l"}
    assert entries["aws_s3_bucket_policy.b"]["resource"] == "arn:aws:s3:::bkt"
    assert "known-after-apply:aws_kms_key.k2.arn" in entries["aws_kms_key.k2"]["resource"]
    lp = entries["aws_lambda_permission.l"]
    assert (lp["FunctionName"], lp["Principal"], lp["SourceAccount"]) == ("fn", "s3.amazonaws.com", "123456789012")
    assert "SourceArn" not in lp
    assert '"address": "aws_lambda_permission.l"' in line_of(text, lp["line"])


# ------------------------------------------------------------------ suppressions

def tagged(value):
    return plan(role("aws_iam_role.r", "r", tags={"iamlint:skip": value}))


def test_skip_tag_variants():
    _, index, _ = load(tagged("IAM101+ESC001/IAM104 break-glass role, reviewed by security"))
    got = index.suppressions[("plan.json", "aws_iam_role.r")]
    assert [s.rule for s in got] == ["IAM101", "ESC001", "IAM104"]
    assert {s.reason for s in got} == {"break-glass role, reviewed by security"} and got[0].expires is None
    _, index, _ = load(tagged("IAM101,IAM104 until=2027-01-31 temporary admin for the migration"))
    got = index.suppressions[("plan.json", "aws_iam_role.r")]
    assert [(s.rule, s.expires, s.reason) for s in got] == [
        ("IAM101", dt.date(2027, 1, 31), "temporary admin for the migration"),
        ("IAM104", dt.date(2027, 1, 31), "temporary admin for the migration")]


def test_skip_tags_of_data_sources_are_not_this_code():
    p = plan(rc("data.aws_iam_role.deployed", "aws_iam_role", {"name": "d", "tags": {"iamlint:skip": "IAM101"}},
                mode="data", actions=("read",)))
    _, index, _ = load(p)
    assert index.suppressions == {}


@pytest.mark.parametrize("value, message", [
    ("IAM101", "skips IAM101 without a reason"),
    ("IAM101 until=2027-01-01", "without a reason"),
    ("IAM101 until=tomorrow because", "until= must be a date"),
    ("", "needs rule ids and a reason"),
    ("!!! because", "must start with rule ids"),
])
def test_skip_tag_errors(value, message):
    with pytest.raises(InputError) as exc:
        load(tagged(value))
    line = exc.value.line()
    assert message in line
    assert line.startswith("plan.json: /resource_changes/0/change/after/tags/iamlint:skip (line ")


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("data, place, message", [
    ([], "/", "must be a JSON object"),
    ({"format_version": "2.0", "resource_changes": []}, "/format_version", "not supported"),
    ({"resource_changes": {}}, "/resource_changes", "must be a list"),
    ({"resource_changes": [5]}, "/resource_changes/0", "must be an object"),
    ({"resource_changes": [{"type": "aws_iam_role", "name": "r", "change": {}}]}, "/resource_changes/0/address",
     "address must be a string"),
    ({"resource_changes": [{"address": "a.b", "mode": "x", "type": "a", "name": "b", "change": {}}]},
     "/resource_changes/0/mode", "mode must be"),
    ({"resource_changes": [{"address": "a.b", "type": "a", "name": "b"}]}, "/resource_changes/0/change",
     "change must be an object"),
    ({"resource_changes": [{"address": "a.b", "type": "a", "name": "b", "change": {"actions": "create",
                                                                                     "after": {}}}]},
     "/resource_changes/0/change/actions", "must be a list"),
    ({"resource_changes": [{"address": "aws_iam_role.r", "type": "aws_iam_role", "name": "r",
                            "change": {"actions": ["create"], "after": {"name": "r", "assume_role_policy": 5}}}]},
     "/resource_changes/0/change/after/assume_role_policy", "must be a JSON string"),
    ({"resource_changes": [{"address": "aws_iam_role.r", "type": "aws_iam_role", "name": "r",
                            "change": {"actions": ["create"], "after": {"name": "r",
                                                                        "assume_role_policy": "{nope"}}}]},
     "/resource_changes/0/change/after/assume_role_policy", "not valid JSON"),
    ({"resource_changes": [{"address": "aws_iam_role.r", "type": "aws_iam_role", "name": "r",
                            "change": {"actions": ["create"], "after": {"name": "r"}}}]},
     "/resource_changes/0/change/after", "has no assume_role_policy"),
    ({"resource_changes": [{"address": "aws_iam_role.r", "type": "aws_iam_role", "name": "r",
                            "change": {"actions": ["create"], "after": {"name": ["r"]}}}]},
     "/resource_changes/0/change/after/name", "name of aws_iam_role.r must be a string"),
    ({"resource_changes": [{"address": "aws_iam_user.u", "type": "aws_iam_user", "name": "u",
                            "change": {"actions": ["create"], "after": {"name": "u", "path": "x"}}}]},
     "/resource_changes/0/change/after/path", "must begin and end with /"),
    ({"resource_changes": [{"address": "aws_iam_user_group_membership.m", "type": "aws_iam_user_group_membership",
                            "name": "m", "change": {"actions": ["create"], "after": {"user": "u", "groups": "g"}}},
                           {"address": "aws_iam_user.u", "type": "aws_iam_user", "name": "u",
                            "change": {"actions": ["create"], "after": {"name": "u"}}}]},
     "/resource_changes/0/change/after/groups", "must be a list of strings"),
    ({"resource_changes": [], "configuration": {"root_module": {"resources": [{"expressions": {}}]}}},
     "/configuration/root_module/resources/0/address", "address must be a string"),
    ({"resource_changes": [], "prior_state": {"values": {"root_module": {"child_modules": [{"resources": 1}]}}}},
     "/prior_state/values/root_module/child_modules/0/resources", "must be a list"),
])
def test_bad_plans_are_one_input_error(data, place, message):
    with pytest.raises(InputError) as exc:
        load(data)
    err = exc.value
    assert err.source == "plan.json" and message in err.message
    assert err.place.split(" (line ")[0] == place


def test_bad_policy_inside_plan_names_the_attribute():
    bad = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "s3:*", "Resource": "*"}]})
    with pytest.raises(InputError) as exc:
        load(plan(role("aws_iam_role.r", "r"),
                  rc("aws_iam_role_policy.p", "aws_iam_role_policy", {"name": "p", "role": "r", "policy": bad})))
    assert exc.value.source == "plan.json"
    assert "/resource_changes/1/change/after/policy" in exc.value.line()


# ------------------------------------------------------------------ property: any JSON -> a model or one InputError

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(
    ["", "r", "aws_iam_role.r", "aws_iam_role.r.name", "arn:aws:iam::aws:policy/AdministratorAccess", "*",
     "module.m", "var.x", "count.index", '{"Statement": []}', LAMBDA_TRUST, "iamlint:skip", "IAM101 why",
     "data.aws_iam_policy_document.d.json", "1.2", "/", "Allow"]))
anyjson = st.recursive(scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=3),
    st.dictionaries(st.sampled_from(["address", "type", "name", "mode", "index", "change", "after", "actions",
                                     "after_unknown", "values", "resources", "references", "expressions",
                                     "policy", "role", "assume_role_policy", "statement", "tags", "json", "arn",
                                     "policy_arn", "users", "groups", "module_calls", "module", "outputs",
                                     "constant_value", "principals", "identifiers", "condition", "x"]),
                    kids, max_size=5)), max_leaves=30)
TYPES = st.sampled_from(["aws_iam_role", "aws_iam_policy", "aws_iam_user", "aws_iam_group", "aws_iam_role_policy",
                         "aws_iam_role_policy_attachment", "aws_iam_policy_attachment", "aws_iam_policy_document",
                         "aws_iam_group_membership", "aws_iam_instance_profile", "aws_s3_bucket_policy",
                         "aws_kms_key", "aws_lambda_permission", "aws_caller_identity"])


IDENTITY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
GOOD = {
    "name": st.sampled_from(["r", "u", "g", "d"]), "role": st.sampled_from(["r", "x"]), "user": st.just("u"),
    "group": st.just("g"), "users": st.lists(st.sampled_from(["u", "v", None]), max_size=2),
    "groups": st.lists(st.sampled_from(["g", None]), max_size=2), "path": st.sampled_from(["/", "/a/"]),
    "policy": st.sampled_from([IDENTITY, LAMBDA_TRUST, "{}", ""]), "assume_role_policy": st.sampled_from(
        [LAMBDA_TRUST, IDENTITY]), "policy_arn": st.sampled_from([ADMIN, "arn:aws:iam::000000000000:policy/p"]),
    "json": st.sampled_from([IDENTITY, LAMBDA_TRUST]), "bucket": st.just("b"),
    "managed_policy_arns": st.lists(st.sampled_from([ADMIN, None]), max_size=2),
    "inline_policy": st.lists(st.fixed_dictionaries({"name": st.just("i"), "policy": st.sampled_from(
        [IDENTITY, None])}), max_size=2),
    "tags": st.dictionaries(st.sampled_from(["iamlint:skip", "team"]), st.sampled_from(
        ["IAM101 reason", "IAM101", "x until=2020-01-01 y"]), max_size=2),
    "statement": st.lists(st.fixed_dictionaries({}, optional={
        "actions": st.lists(st.sampled_from(["s3:*", None]), max_size=2), "effect": st.sampled_from(["Allow", "Deny"]),
        "resources": st.lists(st.sampled_from(["*", None]), max_size=2),
        "principals": st.lists(st.fixed_dictionaries({"type": st.sampled_from(["AWS", "*"]),
                                                      "identifiers": st.lists(st.just("*"), max_size=1)}), max_size=2),
        "condition": st.lists(st.fixed_dictionaries({"test": st.just("StringEquals"), "variable": st.just("aws:x"),
                                                     "values": st.lists(st.just("v"), max_size=1)}), max_size=1)}),
        max_size=2),
}


@st.composite
def plans(draw):
    changes = []
    for i in range(draw(st.integers(0, 4))):
        t = draw(TYPES)
        if t == "aws_iam_role" and draw(st.booleans()):
            changes.append(role("aws_iam_role.r", "r"))
            continue
        n = draw(st.sampled_from(["r", "d", "x"]))
        mode = "data" if t in ("aws_iam_policy_document", "aws_caller_identity") else "managed"
        addr = ("data." if mode == "data" else "") + f"{t}.{n}"
        changes.append({"address": addr, "mode": mode, "type": t, "name": n,
                        "change": {"actions": ["create"], "after": {
                            k: draw(st.one_of(GOOD[k], GOOD[k], GOOD[k], GOOD[k], anyjson)) for k in draw(st.lists(
                                st.sampled_from(sorted(GOOD)), unique=True, max_size=5))},
                            "after_unknown": draw(st.one_of(st.just({}), st.dictionaries(
                                st.sampled_from(sorted(GOOD)), st.one_of(st.just(True), st.just(True), anyjson),
                                max_size=3), anyjson))}})
    out = {"format_version": "1.2", "resource_changes": changes}
    if draw(st.booleans()):
        out["configuration"] = {"root_module": draw(st.one_of(anyjson, st.fixed_dictionaries({"resources": st.lists(
            st.fixed_dictionaries({"address": st.sampled_from(["aws_iam_role.r", "aws_iam_role_policy.x",
                                                               "data.aws_iam_policy_document.d"]),
                                   "expressions": st.dictionaries(st.sampled_from(sorted(GOOD)), st.one_of(
                                       st.fixed_dictionaries({"references": st.lists(st.sampled_from(
                                           ["aws_iam_role.r.name", "aws_iam_role.r", "var.x", "module.m.o",
                                            "data.aws_iam_policy_document.d.json", "aws_iam_policy.r.arn",
                                            "aws_iam_role.r[0].arn", "each.key", "local.l"]), max_size=3)}),
                                       anyjson), max_size=3)}), max_size=3)})))}
    if draw(st.booleans()):
        out["prior_state"] = {"values": {"root_module": draw(st.one_of(anyjson, st.just({"resources": [
            {"address": "data.aws_iam_policy_document.d", "mode": "data", "type": "aws_iam_policy_document",
             "name": "d", "values": {"json": IDENTITY}}]})))}}
    return out


@SETTINGS
@given(st.one_of(anyjson, plans()))
def test_any_json_gives_a_model_or_one_input_error(data):
    try:
        load(data)
    except InputError as exc:
        assert exc.line().startswith("plan.json")

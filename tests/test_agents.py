"""Agent sources, configuration of the defaults, the agent-reachable set and its paths, tool edges."""

import json
import subprocess
import sys

import pytest

from iamlint.agents.actionsets import every_resource, unknown_entries
from iamlint.agents.reach import agent_reach
from iamlint.agents.sources import agent_sources, settings
from iamlint.config import load_config
from iamlint.errors import InputError
from iamlint.graph.build import build_graph
from iamlint.graph.paths import paths_to_admin
from iamlint.loaders import load_data
from iamlint.pipeline import scan
from iamlint.rules.matchers import RuleContext

from conftest import EXAMPLE, ROOT

A = "111111111111"
ADMIN = f"arn:aws:iam::aws:policy/AdministratorAccess"


def doc(*stmts):
    return {"Version": "2012-10-17", "Statement": list(stmts)}


def allow(actions, resources="*", cond=None):
    st = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if cond:
        st["Condition"] = cond
    return st


def trust(principal, action="sts:AssumeRole", cond=None, effect="Allow"):
    st = {"Effect": effect, "Principal": principal, "Action": action}
    if cond:
        st["Condition"] = cond
    return st


ROOT_TRUST = doc(trust({"AWS": f"arn:aws:iam::{A}:root"}))


def role(name, trust_doc, policy=None, managed=(), tags=None):
    return {"Path": "/", "RoleName": name, "RoleId": "AROA" + name.upper()[:16], "Arn": f"arn:aws:iam::{A}:role/{name}",
            "AssumeRolePolicyDocument": trust_doc,
            "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": policy}] if policy else [],
            "AttachedManagedPolicies": [{"PolicyName": m.rsplit("/", 1)[1], "PolicyArn": m} for m in managed],
            "InstanceProfileList": [], "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}


def user(name, policy=None, tags=None):
    return {"Path": "/", "UserName": name, "UserId": "AIDA" + name.upper()[:16], "Arn": f"arn:aws:iam::{A}:user/{name}",
            "GroupList": [], "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": policy}] if policy else [],
            "AttachedManagedPolicies": [], "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}


ADMIN_POLICY = {"PolicyName": "AdministratorAccess", "Arn": ADMIN, "Path": "/", "DefaultVersionId": "v1",
                "PolicyVersionList": [{"Document": doc(allow("*")), "VersionId": "v1", "IsDefaultVersion": True}]}


def model(roles=(), users=(), inventory=None):
    data = {"UserDetailList": list(users), "GroupDetailList": [], "RoleDetailList": list(roles),
            "Policies": [ADMIN_POLICY]}
    if inventory is not None:
        data["Inventory"] = inventory
    return load_data(data, "test.json")


def ctx_of(m, config=None):
    return RuleContext(build_graph(m), config or {})


def oidc(host):
    return {"Federated": f"arn:aws:iam::{A}:oidc-provider/{host}"}


# ---------------------------------------------------------------- sources

SOURCES = model(roles=[
    role("rt", doc(trust({"Service": "bedrock-agentcore.amazonaws.com"}, cond={"StringEquals": {"aws:SourceAccount": A}}))),
    role("kb-role", doc(trust({"Service": "bedrock.amazonaws.com"},
                              cond={"ArnLike": {"aws:SourceArn": f"arn:aws:bedrock:us-east-1:{A}:knowledge-base/*"}}))),
    role("bedrock-x", doc(trust({"Service": "bedrock.amazonaws.com"},
                                cond={"ArnLike": {"aws:SourceArn": f"arn:aws:bedrock:us-east-1:{A}:agent/*"}}))),
    role("AmazonBedrockExecutionRoleForAgents_abc", doc(trust({"Service": "bedrock.amazonaws.com"}))),
    role("devops", doc(trust({"Service": "aidevops.amazonaws.com"}))),
    role("deploy", doc(trust(oidc("token.actions.githubusercontent.com"), "sts:AssumeRoleWithWebIdentity",
                             {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:acme/app:ref:refs/heads/main"}}))),
    role("ghe", doc(trust(oidc("token.actions.githubusercontent.com/acme-corp"), "sts:AssumeRoleWithWebIdentity"))),
    role("circle", doc(trust(oidc("oidc.circleci.com/org/1234-abcd"), "sts:AssumeRoleWithWebIdentity"))),
    role("copilot", doc(trust(oidc("token.actions.githubusercontent.com"), "sts:AssumeRoleWithWebIdentity",
                              {"StringEquals": {"token.actions.githubusercontent.com:sub": "repo:acme/app:environment:copilot"}}))),
    role("mcp-tools", doc(trust({"Service": "lambda.amazonaws.com"}))),
    role("orders-fn", doc(trust({"Service": "lambda.amazonaws.com"}))),
    role("CloudWatchAgentServerRole", doc(trust({"Service": "ec2.amazonaws.com"}))),
    role("tagged", ROOT_TRUST, tags={"Purpose": "ai-agent"}),
    role("closed", doc(trust({"Service": "bedrock-agentcore.amazonaws.com"}),
                       trust({"Service": "bedrock-agentcore.amazonaws.com"}, effect="Deny"))),
], users=[user("dev-carol"), user("release-bot")])


def _kinds(m, config=None):
    return {s.name: s.kind for s in agent_sources(ctx_of(m, config)).values()}


def test_sources_by_trust_name_and_tag():
    kinds = _kinds(SOURCES)
    assert kinds["rt"] == "agent-service"
    assert kinds["bedrock-x"] == "agent-service"                     # narrowed by SourceArn agent/*
    assert kinds["AmazonBedrockExecutionRoleForAgents_abc"] == "agent-service"   # narrowed by name
    assert "kb-role" not in kinds                                     # bedrock, but a knowledge base
    assert kinds["devops"] == "agent-service"
    assert kinds["deploy"] == "ci-oidc"
    assert kinds["ghe"] == "ci-oidc" and kinds["circle"] == "ci-oidc"  # enterprise / per-org issuers
    assert kinds["copilot"] == "ci-agent"
    assert kinds["mcp-tools"] == "compute"                            # opt-in compute + name
    assert "orders-fn" not in kinds                                   # plain Lambda: not an agent
    assert "CloudWatchAgentServerRole" not in kinds                   # excluded name
    assert kinds["tagged"] == "tag"
    assert kinds["release-bot"] == "name"
    assert "closed" not in kinds                                      # the trust denies the service
    assert "dev-carol" not in kinds                                   # operators are off by default


def test_source_reasons_name_the_trust_statement():
    srcs = {s.name: s for s in agent_sources(ctx_of(SOURCES)).values()}
    assert srcs["rt"].reasons[0] == "trusted by bedrock-agentcore.amazonaws.com (trust /Statement/0)"
    assert any("environment:copilot" in r for r in srcs["copilot"].reasons)
    assert srcs["rt"].conditions and "aws:SourceAccount" in srcs["rt"].conditions[0]


def test_config_extends_narrows_and_replaces():
    cfg = {"agent_identities": {
        "extend": {"operators": ["dev-carol"], "name_patterns": ["orders-*"]},
        "remove": {"name_patterns": ["*-bot"], "tags": ["Purpose"]},
        "replace": {"service_principals": ["bedrock-agentcore.amazonaws.com"]}}}
    kinds = _kinds(SOURCES, cfg)
    assert kinds["dev-carol"] == "operator"
    assert kinds["orders-fn"] == "compute"
    assert "release-bot" not in kinds and "tagged" not in kinds
    assert "devops" not in kinds and kinds["rt"] == "agent-service"
    s = settings(cfg)
    assert "*agent*" in s["name_patterns"] and "orders-*" in s["name_patterns"]
    assert settings({})["operators"] == []          # the defaults are not changed in place


def test_operator_by_permission_set_and_group():
    sso = role("AWSReservedSSO_Developer_0123abcd", ROOT_TRUST)
    sso["Path"] = "/aws-reserved/sso.amazonaws.com/"
    m = model(roles=[sso])
    assert _kinds(m, {"agent_identities": {"extend": {"operators": ["Developer"]}}}) == {
        "AWSReservedSSO_Developer_0123abcd": "operator"}
    assert _kinds(m) == {}                           # AWS-reserved roles are humans: no name heuristics


# ---------------------------------------------------------------- config schema errors

def test_config_schema_error_is_one_line_with_pointer(tmp_path):
    bad = tmp_path / "cfg.yaml"
    bad.write_text("agent_identities:\n  extend:\n    operators: operator-a\n")
    with pytest.raises(InputError) as e:
        load_config(str(bad))
    assert e.value.line() == f"{bad}: /agent_identities/extend/operators: 'operator-a' is not of type 'array'"
    r = subprocess.run([sys.executable, "-m", "iamlint", "scan", "-i", str(EXAMPLE), "--config", str(bad)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "/agent_identities/extend/operators" in r.stderr
    assert "Traceback" not in r.stderr


def test_config_unknown_key_and_pyproject_pointer(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.iamlint]\nstale_role_dayz = 30\n')
    with pytest.raises(InputError) as e:
        load_config()
    assert e.value.source == "pyproject.toml" and e.value.place == "/tool/iamlint"
    assert "stale_role_dayz" in e.value.message
    (tmp_path / ".iamlint.yaml").write_text("agent_identities:\n  remove:\n    tags: [Purpose]\n")
    assert load_config() == {"agent_identities": {"remove": {"tags": ["Purpose"]}}}


def test_bundled_defaults_are_valid_and_actions_exist():
    settings({})                                     # validated against the config schema on load
    assert unknown_entries() == []
    assert every_resource("dynamodb:DeleteTable", A) == f"arn:aws:dynamodb:*:{A}:table/*"
    assert every_resource("organizations:LeaveOrganization", A) == "*"   # accepts only "*"


# ---------------------------------------------------------------- the reachable set

AGENT = doc(trust({"Service": "bedrock-agentcore.amazonaws.com"}))


def test_closure_paths_from_nearest_source():
    m = model(roles=[
        role("agent", AGENT, doc(allow("sts:AssumeRole", f"arn:aws:iam::{A}:role/hop"))),
        role("hop", ROOT_TRUST, doc(allow("sts:AssumeRole", f"arn:aws:iam::{A}:role/target"))),
        role("target", ROOT_TRUST, doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))),
        role("unrelated", ROOT_TRUST),
    ])
    ctx = ctx_of(m)
    r = agent_reach(ctx)
    assert r is agent_reach(ctx)                     # once per scan
    arn = lambda n: f"arn:aws:iam::{A}:role/{n}"    # noqa: E731
    assert set(r.principals(m)) == {arn("agent"), arn("hop"), arn("target")}
    assert r.path(arn("agent")) == []
    assert [(e.source, e.target) for e in r.path(arn("target"))] == [(arn("agent"), arn("hop")), (arn("hop"), arn("target"))]
    assert r.source_of(arn("target")).name == "agent"


def test_conditional_edges_stay_marked_and_certain_paths_win():
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    m = model(roles=[
        role("agent", AGENT, doc(allow("sts:AssumeRole", [f"arn:aws:iam::{A}:role/ops", f"arn:aws:iam::{A}:role/side"]))),
        role("ops", doc(trust({"AWS": f"arn:aws:iam::{A}:root"}, cond=mfa)), managed=[ADMIN]),
        role("side", ROOT_TRUST, doc(allow("sts:AssumeRole", f"arn:aws:iam::{A}:role/ops2"))),
        role("ops2", ROOT_TRUST, managed=[ADMIN]),
    ])
    r = agent_reach(ctx_of(m))
    (step,) = r.path(f"arn:aws:iam::{A}:role/ops")
    assert step.conditional and "aws:MultiFactorAuthPresent" in step.conditions[0]
    report = scan(m, only=["AGT001"])
    by = {f.principal.rsplit("/", 1)[1]: f for f in report.findings}
    assert by["ops2"].severity == "critical" and not by["ops2"].conditions
    assert by["ops"].severity == "high"              # kept, one lower, the condition named
    assert any("MultiFactorAuthPresent" in c for c in by["ops"].conditions)
    assert by["ops"].source == f"arn:aws:iam::{A}:role/agent"


def test_certain_path_preferred_over_shorter_conditional_one():
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    m = model(roles=[
        role("agent", AGENT, doc(allow("sts:AssumeRole", "*"))),
        role("t", doc(trust({"AWS": f"arn:aws:iam::{A}:role/agent"}, cond=mfa),
                      trust({"AWS": f"arn:aws:iam::{A}:role/mid"})), doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))),
        role("mid", doc(trust({"AWS": f"arn:aws:iam::{A}:role/agent"}))),
    ])
    r = agent_reach(ctx_of(m))
    path = r.path(f"arn:aws:iam::{A}:role/t")
    assert [e.target.rsplit("/", 1)[1] for e in path] == ["mid", "t"] and not any(e.conditional for e in path)


# ---------------------------------------------------------------- tool edges

def _tool_model(inventory, resource):
    return model(roles=[
        role("agent", AGENT, doc(allow("lambda:InvokeFunction", resource))),
        role("fn-admin", doc(trust({"Service": "lambda.amazonaws.com"})), managed=[ADMIN]),
    ], inventory=inventory)


FN = f"arn:aws:lambda:us-east-1:{A}:function:admin-tool"
INV = {"lambda_functions": [{"arn": FN, "name": "admin-tool", "role": f"arn:aws:iam::{A}:role/fn-admin"}]}


def test_tool_edge_from_inventory_is_certain_and_not_an_escalation():
    m = _tool_model(INV, FN)
    g = build_graph(m)
    agent = f"arn:aws:iam::{A}:role/agent"
    (e,) = [d["edge"] for _, _, d in g.g.out_edges(agent, data=True)]
    assert e.tool and not e.potential and e.method == "lambda-invoke-function"
    assert e.to_json()["tool"] is True
    assert paths_to_admin(g, agent) == []            # invoking a tool is not becoming its role
    assert not scan(m, only=["ESC001"]).findings
    (f,) = scan(m, only=["AGT005"]).findings
    assert f.severity == "high" and f.path[-1].target.endswith("role/fn-admin")


def test_tool_edge_near_miss_and_potential_without_inventory():
    assert not scan(_tool_model(INV, f"arn:aws:lambda:us-east-1:{A}:function:other"), only=["AGT005"]).findings
    (f,) = scan(_tool_model(None, "*"), only=["AGT005"]).findings
    assert f.potential and f.severity == "medium" and "lambda_functions inventory" in f.path[-1].assumes


# ---------------------------------------------------------------- output

def test_text_groups_by_agent_source_and_json_carries_it():
    import jsonschema

    from iamlint.loaders import load_paths
    from iamlint.reporters import REPORTERS

    report = scan(load_paths([str(EXAMPLE)]))
    text = REPORTERS["text"](report)
    heads = [l for l in text.splitlines() if l.startswith("agent source: ")]
    assert {h.split()[2] for h in heads} >= {"agentcore-runtime", "github-deploy", "dev-alice", "copilot-agent"}
    assert text.index("agent source: ") < text.index("not about agent reach")
    doc_ = json.loads(REPORTERS["json"](report))
    schema = json.loads((ROOT / "iamlint" / "schemas" / "findings.schema.json").read_text())
    jsonschema.validate(doc_, schema)
    agt = [f for f in doc_["findings"] if f["rule_id"].startswith("AGT")]
    assert agt and all(f["agent_source"]["principal"] == f["source"] for f in agt)
    for f in agt:
        if f["path"]:
            assert f["path"][0]["source"] == f["source"]      # every path starts at its agent source
        else:
            assert f["principal"] == f["source"]              # a source itself has an empty path


def test_broad_tool_grant_goes_through_one_hub():
    m = model(roles=[
        role("agent", AGENT, doc(allow("lambda:InvokeFunction", "*"))),
        role("fn-a", doc(trust({"Service": "lambda.amazonaws.com"})), managed=[ADMIN]),
        role("fn-b", doc(trust({"Service": "lambda.amazonaws.com"}))),
    ])
    ctx = ctx_of(m)
    agent = f"arn:aws:iam::{A}:role/agent"
    (e,) = [d["edge"] for _, _, d in ctx.graph.g.out_edges(agent, data=True)]
    assert e.target.startswith("hub:") and e.tool and e.potential
    r = agent_reach(ctx)
    (step,) = r.path(f"arn:aws:iam::{A}:role/fn-a")          # hub steps are drawn as one
    assert step.source == agent and step.target.endswith("role/fn-a") and step.tool


def test_deny_on_part_of_the_resources_does_not_hide_an_unscoped_grant():
    prod = f"arn:aws:dynamodb:*:{A}:table/prod-*"
    m = model(roles=[role("agent", AGENT, doc(allow("dynamodb:DeleteTable"),
                                              {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": prod}))])
    (f,) = scan(m, only=["AGT006"]).findings
    assert f.severity == "medium" and "except those an explicit Deny protects" in f.message
    assert any("Deny" in e or "/Statement/1" in e for e in f.evidence)
    # a scoped Allow with a Deny beside it is scoped, not carved out
    m2 = model(roles=[role("agent", AGENT, doc(allow("dynamodb:DeleteTable", f"arn:aws:dynamodb:*:{A}:table/dev-*"),
                                               {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": prod}))])
    assert not scan(m2, only=["AGT006"]).findings


def test_agent_user_key_age_from_inventory():
    u = user("ci-deployer")
    keys = [{"id_suffix": "ABCD", "status": "Active", "create_date": "2025-01-01T00:00:00Z"}]
    m = model(users=[u], inventory={"users": {u["Arn"]: {"access_keys": keys, "login_profile": False}}})
    (f,) = scan(m, only=["AGT021"], config={"now": "2026-01-01T00:00:00Z"}).findings
    assert f.severity == "high" and "365 days old" in f.message
    (f,) = scan(m, only=["AGT021"], config={"now": "2025-02-01T00:00:00Z"}).findings
    assert f.severity == "medium"
    (f,) = scan(model(users=[u]), only=["AGT021"]).findings          # no credential inventory
    assert f.severity == "low" and "unknown" in f.message


def test_production_accounts_raise_destructive_findings():
    m = model(roles=[role("agent", AGENT, doc(allow("dynamodb:DeleteTable")))])
    (f,) = scan(m, only=["AGT006"]).findings
    assert f.severity == "high"
    (f,) = scan(m, only=["AGT006"], config={"agent_rules": {"production_accounts": [A]}}).findings
    assert f.severity == "critical" and "production account" in f.message


# ---------------------------------------------------------------- AGT010 / 015 / 023 / 027 / 031 / 032

def test_no_deny_guardrail_names_only_uncovered_sets_and_conditional_allows_are_lower():
    grants = allow(["ec2:TerminateInstances", "logs:DeleteLogGroup"])
    deny_mcp = {"Effect": "Deny", "Action": "ec2:TerminateInstances", "Resource": "*",
                "Condition": {"Bool": {"aws:ViaAWSMCPService": "true"}}}
    (f,) = scan(model(roles=[role("agent", AGENT, doc(grants, deny_mcp))]), only=["AGT010"]).findings
    assert f.severity == "medium" and "uncovered sets: defense-evasion" in f.message
    assert "ec2:TerminateInstances" not in f.message
    deny_all = dict(deny_mcp, Action=["ec2:TerminateInstances", "logs:DeleteLogGroup"])
    assert not scan(model(roles=[role("agent", AGENT, doc(grants, deny_all))]), only=["AGT010"]).findings
    mfa = allow(["logs:DeleteLogGroup"], cond={"Bool": {"aws:MultiFactorAuthPresent": "true"}})
    (f,) = scan(model(roles=[role("agent", AGENT, doc(mfa))]), only=["AGT010"]).findings
    assert f.severity == "low" and any("aws:MultiFactorAuthPresent" in c for c in f.conditions)


def test_agentcore_full_rights_on_humans_not_admins_and_bedrock_full_on_agent_roles():
    full = allow("bedrock-agentcore:*")
    (f,) = scan(model(users=[user("dev-dan", doc(full))]), only=["AGT023"]).findings
    assert f.severity == "medium" and f.source is None and "InvokeAgentRuntimeCommand" in f.message
    # an administrator is AGT001's business; a CI role is reported too
    assert not scan(model(users=[user("dev-dan", doc(allow("*")))]), only=["AGT023"]).findings
    ci = role("deploy", doc(trust(oidc("token.actions.githubusercontent.com"), "sts:AssumeRoleWithWebIdentity",
                                  {"StringEquals": {"token.actions.githubusercontent.com:sub": "repo:acme/app:ref:refs/heads/main"}})),
              doc(full))
    (f,) = scan(model(roles=[ci]), only=["AGT023"]).findings
    assert "CI role" in f.message
    # an agent execution role: bedrock:* is the issue, not bedrock-agentcore:* (AGT024 covers that)
    assert [x.key for x in scan(model(roles=[role("agent", AGENT, doc(allow("bedrock:*")))]),
                                only=["AGT023"]).findings] == [("bedrock-full",)]
    assert not scan(model(roles=[role("agent", AGENT, doc(allow("bedrock:InvokeModel*")))]), only=["AGT023"]).findings


def test_source_identity_rule_accepts_session_tags_and_flags_shared_roles():
    op = user("dev-erin", doc(allow("sts:AssumeRole", f"arn:aws:iam::{A}:role/agent-tools")))
    tagged = doc(trust({"AWS": op["Arn"]}, ["sts:AssumeRole", "sts:TagSession"],
                       {"StringEquals": {"aws:RequestTag/agent": "true"}}))
    assert not scan(model(roles=[role("agent-tools", tagged)], users=[op]), only=["AGT027"]).findings
    a1 = role("ci-one", ROOT_TRUST, doc(allow("sts:AssumeRole", f"arn:aws:iam::{A}:role/agent-tools")))
    a2 = role("ci-two", ROOT_TRUST, doc(allow("sts:AssumeRole", f"arn:aws:iam::{A}:role/agent-tools")))
    shared = role("agent-tools", doc(trust({"AWS": [a1["Arn"], a2["Arn"]]})))
    fs = scan(model(roles=[a1, a2, shared]), only=["AGT027"]).findings
    assert [f.principal for f in fs] == [shared["Arn"]] and "shared by 2 principals" in fs[0].message


def test_devops_agent_elevated_role_is_info_unless_it_may_write_iam_or_destroy():
    devops = doc(trust({"Service": "aidevops.amazonaws.com"}, cond={"StringEquals": {"aws:SourceAccount": A}}))
    (f,) = scan(model(roles=[role("devops-elevated", devops, doc(allow("ec2:RebootInstances")))]),
                only=["AGT031"]).findings
    assert f.severity == "info" and "ec2:RebootInstances" in f.message
    (f,) = scan(model(roles=[role("devops-elevated", devops, doc(allow("iam:PutRolePolicy")))]),
                only=["AGT031"]).findings
    assert f.severity == "medium"


def test_ci_agent_overbroad_reads_only_is_lower_and_plain_ci_is_not_flagged():
    copilot = doc(trust(oidc("token.actions.githubusercontent.com"), "sts:AssumeRoleWithWebIdentity",
                        {"StringEquals": {"token.actions.githubusercontent.com:sub": "repo:acme/app:environment:copilot"}}))
    (f,) = scan(model(roles=[role("ai-job", copilot, doc(allow(["bedrock:InvokeModel", "s3:GetObject"])))]),
                only=["AGT015"]).findings
    assert f.severity == "medium" and "s3:GetObject" in f.message
    plain = doc(trust(oidc("token.actions.githubusercontent.com"), "sts:AssumeRoleWithWebIdentity",
                      {"StringEquals": {"token.actions.githubusercontent.com:sub": "repo:acme/app:ref:refs/heads/main"}}))
    assert not scan(model(roles=[role("deploy", plain, doc(allow("s3:PutObject")))]), only=["AGT015"]).findings


def test_implied_scope_report_is_opt_in_and_conditional_writes_are_scope_2():
    cfg = {"agent_rules": {"scope_report": True}}
    mfa = allow("s3:PutObject", f"arn:aws:s3:::b/*", cond={"Bool": {"aws:MultiFactorAuthPresent": "true"}})
    m = model(roles=[role("agent", AGENT, doc(mfa))])
    assert not scan(m, only=["AGT032"]).findings
    (f,) = scan(m, only=["AGT032"], config=cfg).findings
    assert f.severity == "info" and "Scope 2" in f.message and "aws:MultiFactorAuthPresent" in f.message
    (f,) = scan(model(roles=[role("agent", AGENT, doc(allow("s3:PutObject")))]), only=["AGT032"], config=cfg).findings
    assert "Scope 3" in f.message

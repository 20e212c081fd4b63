"""`iamlint audit` against moto: an organization with OUs, SCPs and RCPs, cross-account trust, history
across runs, delivery, notifications, and a run killed midway."""

import http.server
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto")

import botocore.exceptions  # noqa: E402
from moto import mock_aws  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from iamlint.audit import collect as C  # noqa: E402
from iamlint.audit import notify  # noqa: E402
from iamlint.audit.run import Plan, audit  # noqa: E402
from iamlint.audit.store import SCHEMA, Store  # noqa: E402
from iamlint.cli import app  # noqa: E402

from conftest import EXAMPLE, ROOT  # noqa: E402

REGION = "us-east-1"
MGMT = "123456789012"
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
ATTACH = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:AttachUserPolicy", "Resource": "*"}]}
SCP_NO_IAM_WRITE = {"Version": "2012-10-17", "Statement": [
    {"Sid": "NoIamWrite", "Effect": "Deny", "Action": ["iam:Attach*", "iam:Put*", "iam:CreatePolicyVersion"],
     "Resource": "*"}]}
RCP_ORG_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "OrgOnly", "Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole", "Resource": "*",
     "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-aaaaaaaaaa"},
                   "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}}]}


@pytest.fixture
def aws(monkeypatch, tmp_path):
    from conftest import set_aws_test_env
    set_aws_test_env(monkeypatch, REGION)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    for k in ("IAMLINT_WEBHOOK_SECRET", "IAMLINT_WEBHOOK_AUTHORIZATION"):
        monkeypatch.delenv(k, raising=False)
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


def _in(account: str):
    c = boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
                                        RoleSessionName="setup")["Credentials"]
    return boto3.session.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                                 aws_session_token=c["SessionToken"], region_name=REGION)


def _user(iam, name, policy=None):
    iam.create_user(UserName=name)
    if policy:
        iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))


@pytest.fixture
def org(aws):
    """mgmt + dev (root) + shared (OU shared) + prod (OU prod: SCP denies IAM writes, an RCP)."""
    o = aws.client("organizations")
    o.create_organization(FeatureSet="ALL")
    root = o.list_roots()["Roots"][0]["Id"]
    o.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    o.enable_policy_type(RootId=root, PolicyType="RESOURCE_CONTROL_POLICY")
    ids = {}
    for name in ("dev", "shared", "prod"):
        ids[name] = o.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]["AccountId"]
    ous = {n: o.create_organizational_unit(ParentId=root, Name=n)["OrganizationalUnit"]["Id"] for n in ("shared", "prod")}
    for n in ("shared", "prod"):
        o.move_account(AccountId=ids[n], SourceParentId=root, DestinationParentId=ous[n])
    scp = o.create_policy(Name="no-iam-write", Description="", Type="SERVICE_CONTROL_POLICY",
                          Content=json.dumps(SCP_NO_IAM_WRITE))["Policy"]["PolicySummary"]["Id"]
    o.attach_policy(PolicyId=scp, TargetId=ous["prod"])
    rcp = o.create_policy(Name="org-only", Description="", Type="RESOURCE_CONTROL_POLICY",
                          Content=json.dumps(RCP_ORG_ONLY))["Policy"]["PolicySummary"]["Id"]
    o.attach_policy(PolicyId=rcp, TargetId=ous["prod"])

    dev, shared, prod = (_in(ids[n]).client("iam") for n in ("dev", "shared", "prod"))
    _user(dev, "agent-bot", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{ids['shared']}:role/deployer"}]})
    _user(dev, "dev-ops", ATTACH)
    shared.create_role(RoleName="deployer", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"AWS": f"arn:aws:iam::{ids['dev']}:user/agent-bot"}}]}))
    shared.put_role_policy(RoleName="deployer", PolicyName="admin", PolicyDocument=json.dumps(ADMIN))
    _user(prod, "prod-ops", ATTACH)
    return {"ids": ids, "ous": ous, "root": root, "iam": {"dev": dev, "shared": shared, "prod": prod}}


def _real(errors):
    """Errors other than moto backends missing from this install (cloudformation, glue need extras)."""
    return [e for e in errors if e.get("error_code") != "ModuleNotFoundError"]


def _plan(session, **kw):
    targets, doc, skipped, errors = C.organization_targets(session, "iamlint-audit", **kw)
    return Plan("organization", targets, doc, skipped, errors)


def _esc(doc, key, name):
    return [f for f in doc[key] if f["rule_id"] == "ESC001" and f["principal"].endswith(f":user/{name}")]


def _bare(findings):
    """Findings without the run's bookkeeping (when they were opened)."""
    return [{k: v for k, v in f.items() if k != "audit"} for f in findings]


def _deny_assume(session, account):
    def hook(params, **_):
        if f"::{account}:" in params.get("RoleArn", ""):
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "not authorized to perform sts:AssumeRole"}}, "AssumeRole")
    session.events.register("before-parameter-build.sts.AssumeRole", hook)


# ----------------------------------------------------------------------------------- organization


def test_organization_document_levels_and_targets(org, aws):
    ids = org["ids"]
    targets, doc, skipped, errors = C.organization_targets(aws, "iamlint-audit", external_id="ext-1")
    assert errors == [] and skipped == []
    assert sorted(t.account_id for t in targets) == sorted([MGMT, *ids.values()])
    t = next(t for t in targets if t.account_id == ids["prod"])
    assert t.ref == f"arn:aws:iam::{ids['prod']}:role/iamlint-audit" and t.external_id == "ext-1"
    assert doc["policy_types"] == ["RESOURCE_CONTROL_POLICY", "SERVICE_CONTROL_POLICY"]
    from iamlint.audit.org import organization
    o = organization(doc)
    prod_scps = o.scps[ids["prod"]]
    assert [lvl for lvl, _ in prod_scps] == ["root", f"ou prod ({org['ous']['prod']})", f"account {ids['prod']}"]
    assert [p.name for p in prod_scps[1][1]] == ["FullAWSAccess", "no-iam-write"]
    assert [p.name for p in o.scps[ids["dev"]][1][1]] == ["FullAWSAccess"]          # dev sits under the root
    assert [p.name for p in o.rcps[ids["prod"]][1][1]] == ["RCPFullAWSAccess", "org-only"]
    assert o.management_account == MGMT
    assert MGMT not in o.scps and MGMT not in o.rcps        # guardrails never apply to the management account


def test_unreadable_guardrails_are_reported_and_not_applied(org, aws):
    """An OU whose policies cannot be read: its accounts get no SCP table (never a guessed deny), and it is said."""
    prod_ou = org["ous"]["prod"]

    def hook(params, **_):
        if params.get("TargetId") == prod_ou and params.get("Filter") == "SERVICE_CONTROL_POLICY":
            raise botocore.exceptions.ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}},
                                                  "ListPoliciesForTarget")
    aws.events.register("before-parameter-build.organizations.ListPoliciesForTarget", hook)
    _t, doc, _s, errors = C.organization_targets(aws, "audit")
    assert [(e["operation"], e["error_code"], e["stage"]) for e in errors] == [
        ("ListPoliciesForTarget", "AccessDenied", "organization")]
    from iamlint.audit.org import organization
    o = organization(doc)
    assert org["ids"]["prod"] not in o.scps and org["ids"]["prod"] in o.rcps and org["ids"]["dev"] in o.scps


def test_policy_type_not_enabled_means_no_guardrails(aws):
    o = aws.client("organizations")
    o.create_organization(FeatureSet="ALL")
    _t, doc, _s, _e = C.organization_targets(aws, "audit")
    from iamlint.audit.org import organization
    assert doc["policy_types"] == [] and organization(doc).scps == {}


def _record_calls(monkeypatch) -> set:
    from iamlint.loaders import live
    seen = set()
    for name in ("call", "paginate"):
        orig = getattr(live._Collector, name)

        def rec(self, service, region, operation, *a, _orig=orig, **k):
            seen.add((service, operation))
            return _orig(self, service, region, operation, *a, **k)
        monkeypatch.setattr(live._Collector, name, rec)
    return seen


def test_full_audit_two_runs_new_resolved_open_unverified(org, aws, tmp_path, monkeypatch):
    ids, iam = org["ids"], org["iam"]
    store = Store(str(tmp_path / "a.db"))
    calls = _record_calls(monkeypatch)
    out1 = audit(_plan(aws), store, base_session=aws, workers=3)
    # every call a real audit makes is one the policy test knows (the static list is complete)
    assert len(calls) > 15 and calls <= _static_calls()
    d1 = out1.document
    # units: dev's agent-bot can assume shared's deployer, so they are analysed together; the others alone
    assert sorted(map(sorted, out1.units)) == sorted([[MGMT], sorted([ids["dev"], ids["shared"]]), [ids["prod"]]])
    assert out1.report is None and [x["via"] for x in out1.links] == [f"arn:aws:iam::{ids['shared']}:role/deployer"]
    # the same findings as one model, one scan (with the organization's guardrails)
    whole = audit(_plan(aws), Store(str(tmp_path / "w.db")), base_session=aws, workers=3, whole_org_graph=True)
    model = whole.report.model
    assert sorted(model.accounts) == sorted([MGMT, *ids.values()])
    assert model.organization is not None and ids["prod"] in model.organization.rcps
    assert _bare(whole.document["new"]) == _bare(d1["new"]) and whole.document["errors"] == d1["errors"]
    assert d1["run"] == 1 and d1["baseline_run"] is None
    assert {a["account"]: a["status"] for a in d1["accounts"]} == {i: "read" for i in [MGMT, *ids.values()]}
    assert all(a["digest"].startswith("sha256:") for a in d1["accounts"])
    assert d1["open"] == d1["resolved"] == [] and _real(d1["errors"]) == []
    # the SCP on the prod OU blocks prod-ops' self-escalation; the same grant in dev escalates
    assert _esc(d1, "new", "dev-ops") and not _esc(d1, "new", "prod-ops")
    # cross-account: dev's agent-bot reaches shared's admin role: one graph for the organization
    bot = _esc(d1, "new", "agent-bot")
    assert bot and bot[0]["path"][-1]["target"] == f"arn:aws:iam::{ids['shared']}:role/deployer"
    assert bot[0]["audit"]["account"] == ids["dev"]
    prod_findings = [f for f in d1["new"] if f["audit"]["account"] == ids["prod"]]
    assert prod_findings

    # change: dev-ops loses its grant, shared gains an escalating user, prod cannot be read this time
    iam["dev"].delete_user_policy(UserName="dev-ops", PolicyName="dev-ops-policy")
    _user(iam["shared"], "new-ops", ATTACH)
    _deny_assume(aws, ids["prod"])
    d2 = audit(_plan(aws), store, base_session=aws, workers=2).document
    assert d2["run"] == 2 and d2["baseline_run"] == 1
    assert [f["principal"].rsplit("/", 1)[1] for f in d2["new"] if f["rule_id"] == "ESC001"] == ["new-ops"]
    resolved = _esc(d2, "resolved", "dev-ops")
    assert resolved and resolved[0]["audit"]["reason"] == "fixed"
    assert _esc(d2, "open", "agent-bot")[0]["audit"]["age_days"] == 0
    # prod was not read: its findings are neither resolved nor open-and-verified, they are unverified
    assert {f["fingerprint"] for f in d2["unverified"]} == {f["fingerprint"] for f in prod_findings}
    assert all(f["audit"]["reason"] == "account not read" for f in d2["unverified"])
    assert not [f for f in d2["resolved"] if f["audit"]["account"] == ids["prod"]]
    assert [(e["account"], e["error_code"]) for e in _real(d2["errors"])] == [(ids["prod"], "AccessDenied")]
    assert {a["account"]: a["status"] for a in d2["accounts"]}[ids["prod"]] == "failed"

    # the store: lifecycle per fingerprint
    fp = resolved[0]["fingerprint"]
    row = store.db.execute("SELECT first_run, last_run, resolved_run FROM findings WHERE fingerprint = ?",
                           (fp,)).fetchone()
    assert row == (1, 1, 2)
    # --since 1 from a third run: same comparison as run 2 (prod readable again: its findings come back open)
    d3 = audit(_plan(aws.__class__(region_name=REGION)), store, since=1, workers=2).document
    assert d3["baseline_run"] == 1 and _esc(d3, "resolved", "dev-ops") and _esc(d3, "new", "new-ops")
    assert not d3["unverified"] and {f["fingerprint"] for f in prod_findings} <= {f["fingerprint"] for f in d3["open"]}
    assert store.document(2) == d2                      # `show` re-renders exactly what the run printed
    store.close()


def test_organization_not_readable_is_a_usage_error(aws):
    from iamlint.errors import UsageError
    with pytest.raises(UsageError, match="cannot read the AWS Organization"):
        C.organization_targets(aws, "audit")


# ----------------------------------------------------------------------------------- CLI, delivery, notification


class _Hook(http.server.BaseHTTPRequestHandler):
    status = 200
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), json.loads(body)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *a):
        pass


@pytest.fixture
def hook_server():
    class H(_Hook):
        received = []
    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv, H
    srv.shutdown()
    srv.server_close()


def test_cli_org_run_delivers_and_notifies(org, aws, tmp_path, hook_server, monkeypatch):
    srv, handler = hook_server
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="audit-reports")
    sns, sqs = aws.client("sns"), aws.client("sqs")
    topic = sns.create_topic(Name="iamlint")["TopicArn"]
    q = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
    monkeypatch.setenv("IAMLINT_WEBHOOK_SECRET", "s3cret")
    db = str(tmp_path / "h.db")
    res = CliRunner().invoke(app, [
        "audit", "--org", "--db", db, "--format", "json", "--output-dir", str(tmp_path / "out"),
        "--s3-uri", "s3://audit-reports/iamlint/", "--sns-topic", topic, "--notify-min-severity", "critical",
        "--webhook", f"http://127.0.0.1:{srv.server_port}/hook", "--fail-on", "critical", "--log-format", "json"])
    assert res.exit_code == 1, res.output                         # new critical findings and --fail-on critical
    doc = json.loads(res.stdout)
    assert doc["schema_version"] == 1 and _real(doc["errors"]) == []
    crit = [f["fingerprint"] for f in doc["new"] if f["severity"] == "critical"]
    assert crit
    assert sorted(os.listdir(tmp_path / "out")) == ["audit-run-000001.html", "audit-run-000001.json",
                                                    "audit-run-000001.md"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="audit-reports")["Contents"]]
    assert sorted(keys) == ["iamlint/audit-run-000001.html", "iamlint/audit-run-000001.json",
                            "iamlint/audit-run-000001.md"]
    stored = json.loads(s3.get_object(Bucket="audit-reports", Key="iamlint/audit-run-000001.json")["Body"].read())
    assert stored["run"] == 1 and len(stored["new"]) == len(doc["new"])
    msgs = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10)["Messages"]
    envelope = json.loads(msgs[0]["Body"])
    body = json.loads(envelope["Message"])
    assert envelope["Subject"].startswith("iamlint audit run 1: ")
    assert [f["fingerprint"] for f in body["findings"]] == crit and body["min_severity"] == "critical"
    (headers, posted), = handler.received
    assert [f["fingerprint"] for f in posted["findings"]] == crit
    import hashlib
    import hmac
    raw = json.dumps(posted).encode()
    assert headers["X-Iamlint-Signature"] == "sha256=" + hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    logs = [json.loads(line) for line in res.stderr.splitlines()]
    assert {"run_started", "account_read", "run_recorded", "delivered", "notified"} <= {x.get("event") for x in logs}

    # the second run, without prod: nothing new, so nothing is sent; prod's findings are not looked at
    prod = org["ids"]["prod"]
    res = CliRunner().invoke(app, ["audit", "--org", "--db", db, "--format", "json", "--webhook",
                                   f"http://127.0.0.1:{srv.server_port}/hook", "--fail-on", "critical",
                                   "--exclude-accounts", prod])
    assert res.exit_code == 0 and len(handler.received) == 1
    doc2 = json.loads(res.stdout)
    assert doc2["summary"]["new"] == 0 and doc2["resolved"] == [] and prod not in [a["account"] for a in doc2["accounts"]]
    assert {f["audit"]["account"] for f in doc2["unverified"]} == {prod}


def test_profiles_and_role_arns(aws, tmp_path, monkeypatch):
    cfg = tmp_path / "config"
    cfg.write_text("[profile audit-a]\nregion = us-east-1\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(cfg))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    aws.client("iam").create_user(UserName="someone")
    r = CliRunner()
    res = r.invoke(app, ["audit", "--profile", "audit-a", "--db", str(tmp_path / "p.db"), "-f", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["source"] == "profiles" and [a["account"] for a in doc["accounts"]] == [MGMT]
    res = r.invoke(app, ["audit", "--profile", "audit-a,nope", "--db", str(tmp_path / "p.db")])
    assert res.exit_code == 2 and "not found: nope" in res.output
    other = "210987654321"
    _in(other).client("iam").create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))
    res = r.invoke(app, ["audit", "--role-arn", f"arn:aws:iam::{other}:role/iamlint-audit", "--db",
                         str(tmp_path / "r.db"), "-f", "json", "--fail-on", "critical"])
    assert res.exit_code == 1, res.output                       # IAM201: a role anyone may assume
    doc = json.loads(res.stdout)
    assert [a["account"] for a in doc["accounts"]] == [other]
    assert [f["rule_id"] for f in doc["new"] if f["principal"] == f"arn:aws:iam::{other}:role/app"][0] == "IAM201"


def test_notification_failures_are_reported_not_fatal(aws, tmp_path, hook_server):
    srv, handler = hook_server
    handler.status = 500
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.json").write_text(EXAMPLE.read_text())
    db = str(tmp_path / "h.db")
    orig = notify.to_webhook
    notify.to_webhook = lambda *a, **k: orig(*a, **dict(k, backoff=0.01))
    try:
        res = CliRunner().invoke(app, [
            "audit", "--input", str(d), "--db", db, "--format", "json", "--notify-min-severity", "low",
            "--webhook", f"http://127.0.0.1:{srv.server_port}/secret-token-path",
            "--sns-topic", f"arn:aws:sns:{REGION}:{MGMT}:no-such-topic", "--s3-uri", "s3://no-such-bucket/x"])
    finally:
        notify.to_webhook = orig
    assert res.exit_code == 0, res.output
    errs = json.loads(res.stdout)["errors"]
    assert {(e["stage"], e["error_code"]) for e in errs} == {("notify", "HTTP 500"), ("notify", "NotFound"),
                                                             ("deliver", "NoSuchBucket")}
    assert len(handler.received) == 3                                   # retried on 5xx
    assert "secret-token-path" not in res.stdout                        # webhook URLs are not echoed
    assert Store(db).document(1)["errors"] == errs                      # part of the stored run


def test_webhook_must_be_https_or_loopback(tmp_path):
    for url in ("http://example.com/hook", "ftp://127.0.0.1/x", "http://10.0.0.1/x"):
        res = CliRunner().invoke(app, ["audit", "--input", str(tmp_path), "--webhook", url, "--db",
                                       str(tmp_path / "x.db")])
        assert res.exit_code == 2 and "https://" in res.output
    assert notify.check_webhook("https://hooks.example.com/x") and notify.check_webhook("http://localhost:8080/")


def test_usage_errors(tmp_path):
    r = CliRunner()
    assert r.invoke(app, ["audit"]).exit_code == 2
    res = r.invoke(app, ["audit", "--org", "--input", str(tmp_path)])
    assert res.exit_code == 2 and "exactly one" in res.output
    res = r.invoke(app, ["audit", "--role-arn", "arn:aws:iam::12:user/x", "--db", str(tmp_path / "a.db")])
    assert res.exit_code == 2 and "not an IAM role ARN" in res.output
    res = r.invoke(app, ["audit", "--input", str(tmp_path), "--db", str(tmp_path / "a.db")])
    assert res.exit_code == 2 and "no .json file" in res.output
    res = r.invoke(app, ["audit", "show", "7", "--db", str(tmp_path / "a.db")])
    assert res.exit_code == 2 and "no run 7" in res.output
    assert "Traceback" not in res.output


# ----------------------------------------------------------------------------------- --input DIR


def _org_file(accounts, scp_on=None, deny=None):
    nodes = [{"id": "r-root", "kind": "root", "name": "Root", "parent": None,
              "policies": {"SERVICE_CONTROL_POLICY": ["p-full"]}}]
    pols = [{"id": "p-full", "type": "SERVICE_CONTROL_POLICY", "name": "FullAWSAccess", "document": ADMIN}]
    if deny:
        pols.append({"id": "p-deny", "type": "SERVICE_CONTROL_POLICY", "name": "deny", "document": deny})
    for a in accounts:
        nodes.append({"id": a, "kind": "account", "parent": "r-root",
                      "policies": {"SERVICE_CONTROL_POLICY": ["p-full"] + (["p-deny"] if a == scp_on else [])}})
    return {"format": "iamlint-organization", "schema_version": 1, "id": "o-example", "management_account": None,
            "policy_types": ["SERVICE_CONTROL_POLICY"], "policies": pols, "nodes": nodes}


def test_input_dir_with_organization_file_and_a_bad_file(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.json").write_text(EXAMPLE.read_text())
    (d / "broken.json").write_text("{not json")
    deny_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    (d / "org.json").write_text(json.dumps(_org_file(["123456789012"], "123456789012", deny_all)))
    res = CliRunner().invoke(app, ["audit", "--input", str(d), "--db", str(tmp_path / "a.db"), "-f", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    # an SCP denying everything: no escalation, no admin reach (structural hygiene findings remain)
    assert not [f for f in doc["new"] if f["rule_id"] in ("ESC001", "IAM101", "IAM109")]
    (err,) = [e for e in doc["errors"] if e.get("stage") == "collect" and e.get("error_code") == "InputError"]
    assert "broken.json" in err["message"] and "line 1" in err["message"]
    assert {a["status"] for a in doc["accounts"]} == {"read", "failed"}
    # the same account without the SCP: escalations are found
    (d / "org.json").write_text(json.dumps(_org_file(["123456789012"])))
    res = CliRunner().invoke(app, ["audit", "--input", str(d), "--db", str(tmp_path / "b.db"), "-f", "json"])
    assert [f for f in json.loads(res.stdout)["new"] if f["rule_id"] == "ESC001"]


def test_bad_organization_file_names_the_place(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.json").write_text(EXAMPLE.read_text())
    bad = _org_file(["123456789012"])
    bad["nodes"][1]["parent"] = "ou-missing"
    (d / "org.json").write_text(json.dumps(bad))
    res = CliRunner().invoke(app, ["audit", "--input", str(d), "--db", str(tmp_path / "a.db"), "-f", "json"])
    assert res.exit_code == 0
    (err,) = [e for e in json.loads(res.stdout)["errors"] if e.get("error_code") == "InputError"]
    assert "org.json: /nodes/1/parent" in err["message"]


def test_organization_schema_accepts_what_the_collector_writes(org, aws):
    jsonschema = pytest.importorskip("jsonschema")
    _t, doc, _s, _e = C.organization_targets(aws, "audit")
    schema = json.loads((ROOT / "iamlint" / "schemas" / "organization.schema.json").read_text())
    jsonschema.validate(doc, schema)
    jsonschema.validate(_org_file(["111111111111"]), schema)


def test_audit_json_matches_its_schema(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    from referencing import Registry, Resource
    schemas = {n: json.loads((ROOT / "iamlint" / "schemas" / n).read_text())
               for n in ("audit.schema.json", "findings.schema.json")}
    reg = Registry().with_resources([(s["$id"], Resource.from_contents(s)) for s in schemas.values()])
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.json").write_text(EXAMPLE.read_text())
    r = CliRunner()
    r.invoke(app, ["audit", "--input", str(d), "--db", str(tmp_path / "a.db")])
    (d / "a.json").write_text(json.dumps({"UserDetailList": [], "RoleDetailList": [], "GroupDetailList": [],
                                          "Policies": [], "AccountId": "123456789012"}))
    res = r.invoke(app, ["audit", "--input", str(d), "--db", str(tmp_path / "a.db"), "-f", "json"])
    doc = json.loads(res.stdout)
    assert doc["resolved"] and not doc["new"]
    jsonschema.Draft202012Validator(schemas["audit.schema.json"], registry=reg).validate(doc)
    for fmt in ("text", "markdown", "html"):
        out = r.invoke(app, ["audit", "show", "latest", "--db", str(tmp_path / "a.db"), "-f", fmt])
        assert out.exit_code == 0 and "resolved" in out.stdout.lower()
        if fmt == "html":                                     # self-contained: no script, nothing loaded
            assert "Content-Security-Policy" in out.stdout and "<script" not in out.stdout.lower()
    hist = json.loads(r.invoke(app, ["audit", "history", "--db", str(tmp_path / "a.db"), "-f", "json"]).stdout)
    assert [x["run"] for x in hist["runs"]] == [2, 1]
    # retention: old runs go, the lifecycle of each finding stays, the next run compares with the last
    res = r.invoke(app, ["audit", "prune", "--keep", "1", "--db", str(tmp_path / "a.db")])
    assert res.exit_code == 0 and "removed 1 run(s)" in res.stdout
    s = Store(str(tmp_path / "a.db"))
    assert [x["run"] for x in s.runs()] == [2] and s.db.execute("SELECT count(*) FROM findings").fetchone()[0]
    assert s.document(2) == doc
    res = r.invoke(app, ["audit", "show", "1", "--db", str(tmp_path / "a.db")])
    assert res.exit_code == 2 and "no run 1" in res.output


# ----------------------------------------------------------------------------------- the store


def _dump(db):
    c = sqlite3.connect(db)
    out = {t: c.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
           for t in ("runs", "account_snapshots", "findings", "bodies", "run_findings")}
    out["version"] = c.execute("PRAGMA user_version").fetchone()[0]
    out["integrity"] = c.execute("PRAGMA integrity_check").fetchone()[0]
    c.close()
    return out


def test_a_run_killed_midway_leaves_the_store_as_it_was(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.json").write_text(EXAMPLE.read_text())
    db = str(tmp_path / "a.db")
    assert CliRunner().invoke(app, ["audit", "--input", str(d), "--db", db]).exit_code == 0
    before = _dump(db)
    (d / "a.json").write_text(json.dumps({"UserDetailList": [], "RoleDetailList": [], "GroupDetailList": [],
                                          "Policies": [], "AccountId": "123456789012"}))
    marker = tmp_path / "paused"
    env = dict(os.environ, IAMLINT_TEST_PAUSE_IN_STORE=str(marker), PYTHONPATH=str(ROOT))
    p = subprocess.Popen([sys.executable, "-m", "iamlint", "audit", "--input", str(d), "--db", db, "-q"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(300):
            if marker.exists() or p.poll() is not None:
                break
            time.sleep(0.05)
        assert marker.exists(), p.stderr.read() if p.poll() is not None else "no pause"
        # mid-transaction: the run row and half the findings are written but not committed
        p.send_signal(signal.SIGKILL)
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == -signal.SIGKILL
    assert _dump(db) == before and before["integrity"] == "ok"
    # the next run proceeds normally and is run 2
    res = CliRunner().invoke(app, ["audit", "--input", str(d), "--db", db, "-f", "json"])
    doc = json.loads(res.stdout)
    assert doc["run"] == 2 and len(doc["resolved"]) == len(before["findings"])


def test_schema_version_and_migration(tmp_path):
    db = str(tmp_path / "a.db")
    s = Store(db, migrate=False)
    assert s.version() == 0 and s.migrate() == (0, SCHEMA)
    assert s.migrate() == (SCHEMA, SCHEMA)
    s.close()
    res = CliRunner().invoke(app, ["audit", "migrate", "--db", db])
    assert res.exit_code == 0 and f"schema version {SCHEMA} (current)" in res.stdout
    c = sqlite3.connect(db)
    c.execute(f"PRAGMA user_version = {SCHEMA + 1}")
    c.commit()
    c.close()
    res = CliRunner().invoke(app, ["audit", "history", "--db", db])
    assert res.exit_code == 2 and "newer than this iamlint" in res.output
    (tmp_path / "junk.db").write_text("this is not sqlite" * 100)
    res = CliRunner().invoke(app, ["audit", "history", "--db", str(tmp_path / "junk.db")])
    assert res.exit_code == 2 and "not a usable iamlint audit store" in res.output


def test_default_store_location(monkeypatch, tmp_path):
    from iamlint.audit.store import default_path
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_path() == str(tmp_path / "iamlint" / "audit.db")
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == str(tmp_path / "home" / ".local" / "share" / "iamlint" / "audit.db")
    s = Store()
    assert oct(os.stat(s.path).st_mode & 0o777) == "0o600"
    s.close()


# ----------------------------------------------------------------------------------- Dask


def test_dask_executor_on_a_local_cluster(org, aws, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cl:
        doc = audit(_plan(aws), Store(str(tmp_path / "d.db")), executor="dask", scheduler=cl.scheduler_address).document
    assert {a["status"] for a in doc["accounts"]} == {"read"} and len(doc["accounts"]) == 4
    assert _esc(doc, "new", "dev-ops") and _esc(doc, "new", "agent-bot") and not _esc(doc, "new", "prod-ops")


def test_dask_without_scheduler_is_a_usage_error(tmp_path):
    res = CliRunner().invoke(app, ["audit", "--input", str(tmp_path), "--executor", "dask"])
    assert res.exit_code == 2 and "--scheduler" in res.output


# ----------------------------------------------------------------------------------- the audit role policy

DOCS = ROOT / "docs"
CALLS = __import__("re").compile(r'\.(?:call|paginate)\(\s*"([a-z0-9-]+)",\s*[^,]+,\s*"([A-Za-z]+)"')


def _static_calls():
    """Every (service, operation) the collectors can call: each goes through call()/paginate()."""
    out = set()
    for f in ("iamlint/loaders/live.py", "iamlint/audit/collect.py"):
        out |= set(CALLS.findall((ROOT / f).read_text()))
    return out


def _iam_calls():
    """_static_calls with IAM prefixes: a boto3 client name is not always one (stepfunctions: states);
    the client's signing name is."""
    import boto3
    s = boto3.session.Session(region_name="us-east-1")
    return {(s.client(svc).meta.service_model.signing_name, op) for svc, op in _static_calls()}


def _allowed(policy: dict, action: str, resource: str = "*", resource_policy: dict | None = None) -> str:
    from iamlint.simulate import run_case
    account = resource.split(":")[4] if resource.startswith("arn:") and resource.split(":")[4] else "111111111111"
    return run_case({"id": action, "identity_policies": [{"name": "p", "policy": policy}],
                     "resource_policy": resource_policy,
                     "request": {"action": action, "resource": resource,
                                 "principal": "arn:aws:iam::111111111111:role/iamlint-audit",
                                 "resource_account": account}})["decision"]


def test_audit_role_policy_covers_every_call_and_is_read_only():
    from iamlint.engine import actions
    role = json.loads((DOCS / "audit-role-policy.json").read_text())
    runner = json.loads((DOCS / "audit-runner-policy.json").read_text())
    calls = _iam_calls()
    assert len(calls) > 20 and ("organizations", "ListPoliciesForTarget") in calls
    org_only = {op for svc, op in calls if svc == "organizations"} - {"DescribeOrganization"}
    for svc, op in sorted(calls):
        action = f"{svc}:{op}"
        d = actions.detail(action)
        assert d is not None, f"{action} is not an IAM action"
        assert d["accessLevel"] in ("Read", "List"), action
        holder = runner if (svc == "organizations" and op in org_only) else role
        assert _allowed(holder, action) == "Allowed", action
    # minimal: the role policy grants nothing the collector does not call, and nothing that writes
    granted = {a for st in role["Statement"] for a in st["Action"]}
    assert granted == {f"{s}:{o}" for s, o in calls if not (s == "organizations" and o in org_only)}
    assert all(actions.detail(a)["accessLevel"] in ("Read", "List") for a in granted)
    # the runner's writes: assuming the audit role, and the two optional deliveries, nothing else
    writes = {a for st in runner["Statement"] for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
              if actions.detail(a)["accessLevel"] not in ("Read", "List")}
    assert writes == {"sts:AssumeRole", "s3:PutObject", "sns:Publish"}
    # the target role's trust lets the runner in (R2: a role without a trust policy admits nobody)
    trusts_runner = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                     "Principal": {"AWS": "arn:aws:iam::111111111111:role/iamlint-audit"}}]}
    assert _allowed(runner, "sts:AssumeRole", "arn:aws:iam::222222222222:role/iamlint-audit", trusts_runner) == "Allowed"
    assert _allowed(runner, "sts:AssumeRole", "arn:aws:iam::222222222222:role/admin", trusts_runner) == "ImplicitlyDenied"
    trust = json.loads((DOCS / "audit-role-trust.json").read_text())
    assert trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"]


def test_account_results_cross_process_boundaries():
    """What a Dask worker sends back (the account's own model) survives pickling."""
    import pickle
    res = C.collect_one(C.Target("file", str(EXAMPLE)))
    back = pickle.loads(pickle.dumps(res))
    assert back.ok and back.accounts == ["123456789012"] and back.digest == res.digest
    assert sorted(back.model.accounts["123456789012"].principals) == sorted(res.model.accounts["123456789012"].principals)

"""Faults in live collection, injected into moto (mock_aws) through botocore's event hooks (issue 8).

Throttling is injected at `before-send` (the HTTP layer, below botocore's retry loop), so the
collector's own retry config (adaptive mode, CLIENT_CONFIG) is what retries it; AccessDenied and
whole-account failures at `before-call` (no retry, as AWS does for a 4xx that is not throttling).
Retry backoff and the adaptive rate limiter are patched to not wait: no test sleeps.
"""

import json

import pytest

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

import botocore.awsrequest  # noqa: E402
import botocore.exceptions  # noqa: E402
import botocore.retries.adaptive  # noqa: E402
import botocore.retries.standard  # noqa: E402
from moto import mock_aws  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from iamlint.cli import app  # noqa: E402
from iamlint.loaders import load_data  # noqa: E402
from iamlint.loaders.live import CLIENT_CONFIG, collect  # noqa: E402
from conftest import TEST_REGIONS  # noqa: E402

ACCOUNT = "123456789012"
REGION = "us-east-1"
MAX_ATTEMPTS = CLIENT_CONFIG.retries["max_attempts"] + 1      # botocore: retries after the first try

TRUST_LAMBDA = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
UPDATE_CODE = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "lambda:UpdateFunctionCode", "Resource": "*"}]}
# moto's optional backends that may be missing here: their ModuleNotFoundError is not a fault under test
NOISE = {"ModuleNotFoundError"}


@pytest.fixture
def aws(monkeypatch):
    from conftest import boto3_session, set_aws_test_env
    set_aws_test_env(monkeypatch, REGION)
    # retries without waiting: no backoff delay, no adaptive token bucket
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, ctx: 0)
    monkeypatch.setattr(botocore.retries.adaptive.ClientRateLimiter, "on_sending_request",
                        lambda self, request, **kw: None)
    with mock_aws():
        yield boto3_session(REGION)


def _errors(out):
    return [e for e in out["CollectionErrors"] if e["error_code"] not in NOISE]


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **kw):
        yield self.body


def _throttle(code: str, times: int, calls: list, *, protocol: str = "query", region: str | None = REGION):
    """A before-send handler: the first `times` sends of the operation (to `region`'s endpoint, for a
    regional service) answer HTTP throttling `code`."""
    def handler(request, **kw):
        host = request.url.split("/")[2]
        if region and host.count(".") > 2 and f".{region}." not in host:
            return None                                   # another region: not throttled, not counted
        calls.append(request.url)
        if len(calls) > times:
            return None                                   # moto answers
        if protocol == "json":                            # rest-json (lambda): code in a header
            status, headers = 429, {"x-amzn-ErrorType": code, "Content-Type": "application/json"}
            body = json.dumps({"message": "Rate exceeded"}).encode()
        elif protocol == "ec2":
            status, headers = 503, {}
            body = (f"<Response><Errors><Error><Code>{code}</Code><Message>Rate exceeded</Message></Error>"
                    f"</Errors><RequestID>x</RequestID></Response>").encode()
        else:                                             # query (iam, sts)
            status, headers = 400, {}
            body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>Rate exceeded"
                    f"</Message></Error><RequestId>x</RequestId></ErrorResponse>").encode()
        return botocore.awsrequest.AWSResponse(request.url, status, headers, _Raw(body))
    return handler


def _deny(code="AccessDenied", status=403, message="User is not authorized to perform this action"):
    def handler(model, **kw):
        http = botocore.awsrequest.AWSResponse("https://example.invalid/", status, {}, None)
        return http, {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return handler


def _deny_in(region, *args):
    """_deny, in one region only (a before-call handler sees the client's region in its context)."""
    deny = _deny(*args)

    def handler(model, context, **kw):
        return deny(model) if context.get("client_region") == region else None
    return handler


def _function(session, name, role, region=REGION):
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("f.py", "def h(e, c):\n    return 1\n")
    return session.client("lambda", region_name=region).create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="f.h", Code={"ZipFile": buf.getvalue()}
    )["FunctionArn"]


# --------------------------------------------------------------------------------------------- throttling


@pytest.mark.parametrize("service,op,code,protocol", [
    ("iam", "GetAccountAuthorizationDetails", "Throttling", "query"),
    ("lambda", "ListFunctions", "TooManyRequestsException", "json"),
    ("ec2", "DescribeInstances", "RequestLimitExceeded", "ec2"),
    ("sts", "GetCallerIdentity", "ThrottlingException", "query"),
])
def test_throttling_burst_is_retried_and_data_is_complete(aws, service, op, code, protocol):
    iam = aws.client("iam")
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))["Role"]["Arn"]
    fn = _function(aws, "worker", role)
    inst = aws.client("ec2").run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
    calls: list = []
    burst = MAX_ATTEMPTS - 3
    aws.events.register_first(f"before-send.{service}.{op}", _throttle(code, burst, calls, protocol=protocol))

    out = collect(aws)

    assert len(calls) == burst + 1                      # retried exactly until the first success
    assert _errors(out) == []
    assert out["AccountId"] == ACCOUNT
    assert [r["RoleName"] for r in out["RoleDetailList"]] == ["fn"]
    assert [f["arn"] for f in out["Inventory"]["lambda_functions"]] == [fn]
    assert [i["id"] for i in out["Inventory"]["ec2_instances"]] == [inst["InstanceId"]]


def test_throttling_longer_than_the_retries_is_recorded_and_the_rest_goes_on(aws):
    iam = aws.client("iam")
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))["Role"]["Arn"]
    _function(aws, "worker", role)
    calls: list = []
    aws.events.register_first("before-send.lambda.ListFunctions",
                              _throttle("TooManyRequestsException", 10_000, calls, protocol="json"))

    out = collect(aws)

    assert len(calls) == MAX_ATTEMPTS                   # gave up after the configured attempts
    assert [(e["service"], e["operation"], e["region"], e["error_code"]) for e in _errors(out)] == [
        ("lambda", "ListFunctions", REGION, "TooManyRequestsException")]
    assert "lambda_functions" not in out["Inventory"]   # unknown, not "none"
    assert [r["RoleName"] for r in out["RoleDetailList"]] == ["fn"]
    assert "ec2_instances" in out["Inventory"] and "instance_profiles" in out["Inventory"]


def test_throttled_page_in_the_middle_of_a_pagination(aws):
    """Page 2 of 3 is throttled twice: retried, and no page is lost or doubled."""
    ec2 = aws.client("ec2")
    ids = [ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
           for _ in range(12)]                          # 12 reservations: moto pages reservations
    aws.events.register("provide-client-params.ec2.DescribeInstances",
                        lambda params, **kw: params.__setitem__("MaxResults", 5))
    sends: list = []

    def throttle_page_two(request, **kw):
        if f".{REGION}." not in request.url:
            return None                                   # the other regions' (empty) reads
        body = request.body or b""
        sends.append(body)
        if b"NextToken" in (body if isinstance(body, bytes) else body.encode()) and len(sends) in (2, 3):
            return _throttle("RequestLimitExceeded", 1, [], protocol="ec2")(request)
        return None

    aws.events.register_first("before-send.ec2.DescribeInstances", throttle_page_two)
    out = collect(aws)
    assert len(sends) == 5                              # 3 pages + 2 retries of page 2
    assert sorted(i["id"] for i in out["Inventory"]["ec2_instances"]) == sorted(ids)
    assert _errors(out) == []


# --------------------------------------------------------------------------------------------- pagination


def test_pagination_over_thousands_of_roles(aws):
    """2,500 roles (created in moto's backend directly, to keep the test fast) come back whole."""
    from moto.iam.models import iam_backends
    backend = iam_backends[ACCOUNT]["aws"]
    for i in range(2500):
        backend.create_role(role_name=f"r{i:04d}", assume_role_policy_document=json.dumps(TRUST_LAMBDA),
                            path="/", permissions_boundary=None, description="", tags=[],
                            max_session_duration=None)
    out = collect(aws)
    names = [r["RoleName"] for r in out["RoleDetailList"]]
    assert len(names) == len(set(names)) == 2500
    assert _errors(out) == []


# --------------------------------------------------------------------------------------------- denial


def test_access_denied_on_a_whole_service_in_every_region(aws):
    iam = aws.client("iam")
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))["Role"]["Arn"]
    _function(aws, "worker", role, "eu-west-1")
    regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]
    for op in ("ListNotebookInstances", "DescribeNotebookInstance"):
        aws.events.register(f"before-call.sagemaker.{op}", _deny("AccessDeniedException", 400))
    out = collect(aws, regions=regions)
    assert sorted((e["service"], e["operation"], e["region"]) for e in _errors(out)) == [
        ("sagemaker", "ListNotebookInstances", r) for r in sorted(regions)]
    inv = out["Inventory"]
    assert "sagemaker_notebooks" not in inv
    assert [f["region"] for f in inv["lambda_functions"]] == ["eu-west-1"]
    assert "ec2_instances" in inv and "ecs_task_definitions" in inv


def test_account_level_failure_still_gives_a_clear_report(aws, monkeypatch):
    """sts and GAAD both fail (credentials that only half work): the scan ends with exit 0 and lists
    every call it could not make; no finding pretends the account was read."""
    aws.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))
    aws.events.register("before-call.sts.GetCallerIdentity", _deny("ExpiredToken", 400, "token expired"))
    aws.events.register("before-call.iam", _deny())      # every IAM call
    monkeypatch.setattr("iamlint.session.make_session", lambda profile, region: aws)
    runner = CliRunner()
    res = runner.invoke(app, ["scan", "--region", REGION, "--format", "json", "--quiet"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    ops = {(e["service"], e["operation"], e["error_code"]) for e in report["errors"]}
    assert {("sts", "GetCallerIdentity", "ExpiredToken"),
            ("iam", "GetAccountAuthorizationDetails", "AccessDenied"),
            ("iam", "ListUsers", "AccessDenied")} <= ops
    assert report["findings"] == []

    res = runner.invoke(app, ["scan", "--region", REGION, "--no-color", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    not_read = [ln for ln in res.stdout.splitlines() if ln.startswith("not read:")]
    assert any("sts GetCallerIdentity: ExpiredToken" in ln for ln in not_read)
    assert any("iam GetAccountAuthorizationDetails: AccessDenied" in ln for ln in not_read)


# ------------------------------------------------- "no finding is presented as complete when its inputs were not"


def _escalation_account(aws):
    """`dev` may replace any Lambda function's code; the only function runs as `admin-fn` (admin)."""
    iam = aws.client("iam")
    admin = iam.create_role(RoleName="admin-fn", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))["Role"]["Arn"]
    iam.put_role_policy(RoleName="admin-fn", PolicyName="admin", PolicyDocument=json.dumps(ADMIN))
    idle = iam.create_role(RoleName="idle-fn", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))["Role"]["Arn"]
    iam.put_role_policy(RoleName="idle-fn", PolicyName="admin", PolicyDocument=json.dumps(ADMIN))
    dev = iam.create_user(UserName="dev")["User"]["Arn"]
    iam.put_user_policy(UserName="dev", PolicyName="code", PolicyDocument=json.dumps(UPDATE_CODE))
    _function(aws, "worker", admin)
    return dev, admin, idle


def _lambda_steps(report, dev):
    """(target role, potential) of every step in dev's findings that uses lambda-update-function-code."""
    steps = set()
    for f in report["findings"]:
        if f.get("principal") != dev:
            continue
        for step in f["path"]:
            if step["method"] == "lambda-update-function-code":
                steps.add((step["target"], step["potential"]))
    return steps


def test_denied_inventory_makes_dependent_steps_potential_end_to_end(aws, monkeypatch):
    dev, admin, idle = _escalation_account(aws)
    monkeypatch.setattr("iamlint.session.make_session", lambda profile, region: aws)
    runner = CliRunner()

    full = json.loads(runner.invoke(app, ["scan", "--format", "json", "--quiet"]).stdout)   # every region
    assert [e for e in full["errors"] if e["error_code"] not in NOISE] == []
    steps = _lambda_steps(full, dev)
    assert steps == {(admin, False)}                     # read: one certain step, to the function's role

    aws.events.register("before-call.lambda.ListFunctions", _deny_in(REGION, "AccessDeniedException"))
    res = runner.invoke(app, ["scan", "--format", "json", "--quiet"])
    assert res.exit_code == 0, res.output
    partial = json.loads(res.stdout)
    assert [(e["service"], e["operation"], e["region"], e["error_code"]) for e in partial["errors"]
            if e["error_code"] not in NOISE] == [("lambda", "ListFunctions", REGION, "AccessDeniedException")]
    steps = _lambda_steps(partial, dev)
    # not read: the step is still found (no false negative) and no longer certain
    assert steps and all(potential for _, potential in steps)
    assert all(f["potential"] for f in partial["findings"] if f["principal"] == dev and _lambda_steps(
        {"findings": [f]}, dev))

    text = runner.invoke(app, ["scan", "--no-color", "--quiet"]).stdout
    assert any(ln.startswith("not read:") and "lambda ListFunctions: AccessDeniedException" in ln
               for ln in text.splitlines())
    assert f"lambda_functions inventory is incomplete, regions not read: {REGION} (AccessDeniedException)" in text


def test_denied_inventory_gives_potential_edges_to_every_role_the_service_runs(aws):
    """collect + load + graph: with ListFunctions read, one certain edge to the function's role; denied,
    a potential edge to every role Lambda may run (idle-fn too), none certain, none dropped."""
    from iamlint.pipeline import scan
    dev, admin, idle = _escalation_account(aws)

    def lambda_edges():
        from iamlint.graph.build import is_hub
        report = scan(load_data(json.loads(json.dumps(collect(aws))), "aws:test"))
        g = report.graph
        out = set()
        for e in g.edges_from(dev):
            if e.method != "lambda-update-function-code":
                continue
            # a hub stands for the same step to every role behind it
            for step in (g.edges_from(e.target) if is_hub(e.target) else [e]):
                out.add((step.target, e.potential or step.potential))
        return out

    assert lambda_edges() == {(admin, False)}
    aws.events.register("before-call.lambda.ListFunctions", _deny("AccessDeniedException"))
    assert lambda_edges() == {(admin, True), (idle, True)}


def test_denied_inventory_is_absent_not_empty_through_snapshot_round_trip(aws, tmp_path):
    """collect -> snapshot file -> load: an inventory that failed stays 'unknown' (absent), never []."""
    from iamlint.loaders import load_paths
    from iamlint.loaders.snapshot import to_snapshot
    _escalation_account(aws)
    aws.events.register("before-call.lambda.ListFunctions", _deny("AccessDeniedException"))
    model = load_data(json.loads(json.dumps(collect(aws))), "aws:test")
    p = tmp_path / "snap.json"
    p.write_text(json.dumps(to_snapshot(model)))
    again = load_paths([str(p)])
    inv = again.accounts[ACCOUNT].inventory
    assert "lambda_functions" not in inv and "ec2_instances" in inv
    assert any(e["operation"] == "ListFunctions" for e in again.accounts[ACCOUNT].collection_errors)


# ------------------------------------------------- regions: a region not read is never taken as "none there"


def _eu_function_account(aws):
    """`dev` may replace any Lambda function's code; the only function runs in eu-west-1 as `admin-fn`."""
    iam = aws.client("iam")
    admin = iam.create_role(RoleName="admin-fn", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))["Role"]["Arn"]
    iam.put_role_policy(RoleName="admin-fn", PolicyName="admin", PolicyDocument=json.dumps(ADMIN))
    dev = iam.create_user(UserName="dev")["User"]["Arn"]
    iam.put_user_policy(UserName="dev", PolicyName="code", PolicyDocument=json.dumps(UPDATE_CODE))
    fn = _function(aws, "worker", admin, region="eu-west-1")
    return dev, admin, fn


def _update_code_edges(data, dev):
    """(target role, potential, assumes) of dev's lambda-update-function-code steps, a hub expanded."""
    from iamlint.graph.build import is_hub
    from iamlint.pipeline import scan
    g = scan(load_data(json.loads(json.dumps(data)), "aws:test")).graph
    out = set()
    for e in g.edges_from(dev):
        if e.method == "lambda-update-function-code":
            for step in (g.edges_from(e.target) if is_hub(e.target) else [e]):
                out.add((step.target, e.potential or step.potential, e.assumes))
    return out


def test_resources_in_regions_not_read_are_not_taken_as_absent(aws):
    """A Lambda function in eu-west-1 runs as an admin role; the session's home region is us-east-1.
    Every enabled region is read by default: the step dev -> admin-fn is found, and certain."""
    dev, admin, fn = _eu_function_account(aws)
    out = collect(aws)
    inv = out["Inventory"]
    assert [f["arn"] for f in inv["lambda_functions"]] == [fn]
    assert inv["regions"]["enabled"] == sorted(TEST_REGIONS) and inv["regions"]["requested"] is None
    assert inv["regions"]["kinds"]["lambda_functions"] == {
        "read": sorted(TEST_REGIONS), "not_offered": [], "not_read": {}}
    assert _update_code_edges(out, dev) == {(admin, False, None)}


def test_no_function_in_any_enabled_region_means_no_step(aws):
    """The near miss: every enabled region read, no function anywhere: the step is not there at all."""
    dev, admin, fn = _eu_function_account(aws)
    aws.client("lambda", region_name="eu-west-1").delete_function(FunctionName="worker")
    out = collect(aws)
    assert out["Inventory"]["lambda_functions"] == []
    assert _update_code_edges(out, dev) == set()


def test_a_region_that_fails_keeps_the_steps_that_need_it_potential(aws):
    """eu-west-1 denies lambda:ListFunctions: its function may exist, so dev -> admin-fn stays (potential,
    saying which region was not read), the region is in the errors, and the kinds read everywhere stay
    complete. A function found in a region that was read still gives a certain step."""
    dev, admin, fn = _eu_function_account(aws)
    iam = aws.client("iam")
    ops = iam.create_role(RoleName="ops-fn", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))["Role"]["Arn"]
    us_fn = _function(aws, "cron", ops, region=REGION)
    aws.events.register("before-call.lambda.ListFunctions", _deny_in("eu-west-1", "AccessDeniedException"))
    out = collect(aws)
    assert [(e["service"], e["operation"], e["region"], e["error_code"]) for e in _errors(out)] == [
        ("lambda", "ListFunctions", "eu-west-1", "AccessDeniedException")]
    inv = out["Inventory"]
    assert "lambda_functions" not in inv and [f["arn"] for f in inv["partial"]["lambda_functions"]] == [us_fn]
    assert inv["regions"]["kinds"]["lambda_functions"]["not_read"] == {"eu-west-1": "AccessDeniedException"}
    assert "ec2_instances" in inv and "lambda_functions" not in inv["partial"].get("ec2_instances", [])
    edges = _update_code_edges(out, dev)
    assert (ops, False, None) in edges                   # found in us-east-1: certain
    assert {t for t, potential, _ in edges if potential} >= {admin}
    assert not any(t == admin and not potential for t, potential, _ in edges)
    (why,) = {a for _, potential, a in edges if potential}
    assert "eu-west-1 (AccessDeniedException)" in why


def test_a_whole_region_unreachable_is_listed_and_its_kinds_stay_incomplete(aws):
    """An opted-out or unreachable region: every call there fails. Each kind lists it as not read."""
    dev, admin, fn = _eu_function_account(aws)
    aws.events.register("before-call", _deny_in("eu-west-1", "UnrecognizedClientException", 403,
                                                "The security token included in the request is invalid"))
    out = collect(aws)
    failed = {(e["service"], e["region"]) for e in _errors(out)}
    assert {r for _, r in failed} == {"eu-west-1"}
    assert {"lambda", "ec2", "stepfunctions", "bedrock-agentcore-control"} <= {s for s, _ in failed}
    inv = out["Inventory"]
    for kind, entry in inv["regions"]["kinds"].items():
        if "ModuleNotFoundError" in entry["not_read"].values():
            continue                                     # a moto backend that cannot load here
        assert entry["not_read"] == {"eu-west-1": "UnrecognizedClientException"}, kind
        assert kind not in inv and kind in inv["partial"]
    assert inv["partial"]["lambda_functions"] == []
    assert {(t, p) for t, p, _ in _update_code_edges(out, dev)} == {(admin, True)}


def test_region_restriction_counts_other_regions_as_not_read(aws, monkeypatch):
    """`scan --region us-east-1`: eu-west-1 is enabled but not requested, so its function is unknown, not
    absent: the step stays potential and says why; no error is listed for a region not requested."""
    dev, admin, fn = _eu_function_account(aws)
    out = collect(aws, regions=[REGION])
    inv = out["Inventory"]
    assert inv["regions"]["requested"] == [REGION]
    assert inv["regions"]["kinds"]["lambda_functions"] == {
        "read": [REGION], "not_offered": [],
        "not_read": {r: "not requested (--region)" for r in sorted(TEST_REGIONS) if r != REGION}}
    assert inv["partial"]["lambda_functions"] == []
    edges = _update_code_edges(out, dev)
    assert {(t, p) for t, p, _ in edges} == {(admin, True)}
    assert _errors(out) == []

    monkeypatch.setattr("iamlint.session.make_session", lambda profile, region: aws)
    text = CliRunner().invoke(app, ["scan", "--region", REGION, "--no-color", "--quiet"]).stdout
    assert "lambda_functions inventory is incomplete, regions not read: eu-west-1 (not requested (--region))" in text
    assert not any(ln.startswith("not read:") for ln in text.splitlines() if "ModuleNotFound" not in ln)


def test_regions_not_listable_read_the_home_region_and_say_so(aws):
    """ec2:DescribeRegions denied and account:ListRegions failing too: both are listed, the home region
    is read, and every regional kind is incomplete ("*": the enabled regions are unknown)."""
    dev, admin, fn = _eu_function_account(aws)
    aws.events.register("before-call.ec2.DescribeRegions", _deny("UnauthorizedOperation"))
    aws.events.register("before-call.account.ListRegions", _deny("AccessDeniedException"))
    out = collect(aws)
    assert [(e["service"], e["operation"], e["error_code"]) for e in _errors(out)] == [
        ("ec2", "DescribeRegions", "UnauthorizedOperation"), ("account", "ListRegions", "AccessDeniedException")]
    inv = out["Inventory"]
    assert inv["regions"]["enabled"] is None
    assert inv["regions"]["kinds"]["lambda_functions"]["read"] == [REGION]
    assert set(inv["regions"]["kinds"]["lambda_functions"]["not_read"]) == {"*"}
    assert {(t, p) for t, p, _ in _update_code_edges(out, dev)} == {(admin, True)}


def test_regions_from_account_list_regions_when_describe_regions_is_denied(aws):
    """The fallback answers (account:ListRegions): no error is listed, since nothing was missed."""
    _eu_function_account(aws)
    aws.events.register("before-call.ec2.DescribeRegions", _deny("UnauthorizedOperation"))

    def list_regions(model, **kw):                      # moto has no account:ListRegions: answer as AWS does
        http = botocore.awsrequest.AWSResponse("https://account.us-east-1.amazonaws.com/", 200, {}, None)
        return http, {"Regions": [{"RegionName": r, "RegionOptStatus": "ENABLED_BY_DEFAULT"}
                                  for r in ("eu-west-1", REGION)]}

    aws.events.register("before-call.account.ListRegions", list_regions)
    out = collect(aws)
    assert _errors(out) == []
    inv = out["Inventory"]
    assert inv["regions"]["enabled"] == ["eu-west-1", REGION]
    assert [f["region"] for f in inv["lambda_functions"]] == ["eu-west-1"]


def test_regional_snapshot_fields_round_trip(aws, tmp_path):
    """collect -> snapshot -> load: `regions` and `partial` survive, and the graph reads them the same."""
    from iamlint.loaders import load_paths
    from iamlint.loaders.snapshot import to_snapshot
    dev, admin, fn = _eu_function_account(aws)
    data = collect(aws, regions=["eu-west-1"])
    snap = to_snapshot(load_data(json.loads(json.dumps(data)), "aws:test"))
    jsonschema = pytest.importorskip("jsonschema")
    from iamlint.paths_data import schema_path
    schema = json.loads(schema_path("snapshot.schema.json").read_text())
    jsonschema.validate(snap, schema)
    p = tmp_path / "snap.json"
    p.write_text(json.dumps(snap))
    inv = load_paths([str(p)]).accounts[ACCOUNT].inventory
    assert inv["regions"] == data["Inventory"]["regions"] and inv["partial"] == data["Inventory"]["partial"]
    assert [f["arn"] for f in inv["partial"]["lambda_functions"]] == [fn]


def _no_such_endpoint(region, calls=None):
    """A before-call handler: in `region`, the endpoint's DNS name does not exist (as for a service AWS does
    not offer there): botocore's EndpointConnectionError caused by "no such name"."""
    import socket

    def handler(model, context, **kw):
        if context.get("client_region") == region:
            if calls is not None:
                calls.append(model.name)
            raise botocore.exceptions.EndpointConnectionError(
                endpoint_url=f"https://{model.service_model.endpoint_prefix}.{region}.amazonaws.com/",
                error=socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    return handler


def test_a_service_not_offered_in_a_region_is_not_a_gap(aws):
    """AgentCore's endpoint does not exist in eu-west-1 while the region's other services answer: the
    region is `not_offered` for agentcore_runtimes, no error is listed, and the kind is complete."""
    calls: list = []
    aws.events.register("before-call.bedrock-agentcore-control", _no_such_endpoint("eu-west-1", calls))
    out = collect(aws)
    assert calls == ["ListAgentRuntimes"]                          # tried: no region list decides it
    assert _errors(out) == []
    inv = out["Inventory"]
    assert inv["agentcore_runtimes"] == []
    assert inv["regions"]["kinds"]["agentcore_runtimes"] == {"read": [REGION], "not_offered": ["eu-west-1"],
                                                             "not_read": {}}


def test_no_name_resolving_anywhere_in_a_region_is_a_gap_not_an_absence(aws):
    """Every endpoint of eu-west-1 fails to resolve (a broken resolver, not AWS): nothing there was reached,
    so nothing is settled as not offered; every kind lists eu-west-1 as not read."""
    aws.events.register("before-call", _no_such_endpoint("eu-west-1"))
    out = collect(aws)
    errs = _errors(out)
    assert errs and {(e["region"], e["error_code"]) for e in errs} == {("eu-west-1", "EndpointNotFound")}
    for kind, entry in out["Inventory"]["regions"]["kinds"].items():
        assert entry["not_offered"] == [], kind
        if "ModuleNotFoundError" not in entry["not_read"].values():
            assert entry["not_read"] == {"eu-west-1": "EndpointNotFound"}, kind


def test_gap_names_the_regions_not_read_briefly():
    """The `assumes` text of a step that a partial inventory keeps potential: reasons grouped, long
    region lists counted, the unknown region list said as such; older inputs keep the old wording."""
    from iamlint.loaders.inventory import gap, is_complete, known_items
    not_requested = {r: "not requested (--region)" for r in ("ap-south-1", "ap-east-1", "sa-east-1", "eu-north-1")}
    inv = {"partial": {"state_machines": [{"arn": "a"}]},
           "regions": {"kinds": {"state_machines": {"read": [REGION], "not_offered": [],
                                                    "not_read": {**not_requested, "eu-west-1": "AccessDenied"}}}}}
    assert gap(inv, "state_machines") == ("the state_machines inventory is incomplete, regions not read: "
                                          "4 regions (not requested (--region)); eu-west-1 (AccessDenied)")
    assert known_items(inv, "state_machines") == [{"arn": "a"}] and not is_complete(inv, "state_machines")
    unknown = {"regions": {"kinds": {"state_machines": {"read": [REGION], "not_read": {"*": "regions unknown"}}}}}
    assert gap(unknown, "state_machines").endswith("regions not read: regions unknown")
    assert gap({}, "state_machines") == "the input has no state_machines inventory"
    assert known_items({"state_machines": []}, "state_machines") == [] and is_complete({"state_machines": []},
                                                                                        "state_machines")

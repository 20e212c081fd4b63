"""The live collector (iamlint/loaders/live.py) against moto's in-process AWS (moto 5, mock_aws)."""

import io
import json
import zipfile

import pytest

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

import botocore.awsrequest  # noqa: E402
import botocore.exceptions  # noqa: E402
from moto import mock_aws  # noqa: E402

from iamlint.loaders import live  # noqa: E402
from iamlint.loaders.live import collect  # noqa: E402
from conftest import TEST_REGIONS  # noqa: E402



def _moto_backend(module: str) -> bool:
    """Some moto backends need moto's extras (glue: pyparsing; cloudformation: openapi-spec-validator...)."""
    try:
        __import__(f"moto.{module}")
        return True
    except ImportError:
        return False


HAS_GLUE = _moto_backend("glue")
HAS_CFN = _moto_backend("cloudformation")
NO_BACKEND = {s for s, ok in (("glue", HAS_GLUE), ("cloudformation", HAS_CFN)) if not ok}

ACCOUNT = "123456789012"            # moto's default account
REGION = "us-east-1"

TRUST_EC2 = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
TRUST_LAMBDA = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
TRUST_SERVICES = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": [
        "sagemaker.amazonaws.com", "glue.amazonaws.com", "ecs-tasks.amazonaws.com",
        "cloudformation.amazonaws.com"]}}]}
POLICY_V1 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
POLICY_V2 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
INLINE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]}
BOUNDARY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@pytest.fixture
def aws(monkeypatch):
    from conftest import boto3_session, set_aws_test_env
    set_aws_test_env(monkeypatch, REGION)
    with mock_aws():
        yield boto3_session(REGION)


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("lambda_function.py", "def handler(event, context):\n    return 1\n")
    return buf.getvalue()


@pytest.fixture
def account(aws):
    """A small account: users, groups, roles, a two-version policy, and resources that run as roles."""
    s = aws
    iam = s.client("iam")
    facts = {}

    pol = iam.create_policy(PolicyName="app-data", PolicyDocument=json.dumps(POLICY_V1))["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=pol, PolicyDocument=json.dumps(POLICY_V2), SetAsDefault=True)
    boundary = iam.create_policy(PolicyName="boundary", PolicyDocument=json.dumps(BOUNDARY))["Policy"]["Arn"]
    facts.update(policy=pol, boundary=boundary)

    iam.create_group(GroupName="devs")
    iam.attach_group_policy(GroupName="devs", PolicyArn=pol)
    iam.put_group_policy(GroupName="devs", PolicyName="devs-inline", PolicyDocument=json.dumps(INLINE))

    alice = iam.create_user(UserName="alice")["User"]["Arn"]
    iam.add_user_to_group(GroupName="devs", UserName="alice")
    iam.put_user_policy(UserName="alice", PolicyName="alice-inline", PolicyDocument=json.dumps(INLINE))
    iam.attach_user_policy(UserName="alice", PolicyArn=pol)
    iam.create_login_profile(UserName="alice", Password="Sup3r-secret-pw!")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    key2 = iam.create_access_key(UserName="alice")["AccessKey"]
    iam.update_access_key(UserName="alice", AccessKeyId=key2["AccessKeyId"], Status="Inactive")
    bob = iam.create_user(UserName="bob", PermissionsBoundary=boundary)["User"]["Arn"]
    iam.create_virtual_mfa_device(VirtualMFADeviceName="bob-mfa")
    facts.update(alice=alice, bob=bob, keys=[key, key2])

    web = iam.create_role(RoleName="web", AssumeRolePolicyDocument=json.dumps(TRUST_EC2),
                          PermissionsBoundary=boundary, Tags=[{"Key": "team", "Value": "web"}])["Role"]["Arn"]
    iam.attach_role_policy(RoleName="web", PolicyArn=pol)
    prof = iam.create_instance_profile(InstanceProfileName="web-profile")["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName="web-profile", RoleName="web")
    fn_role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))["Role"]["Arn"]
    iam.put_role_policy(RoleName="fn", PolicyName="fn-inline", PolicyDocument=json.dumps(INLINE))
    svc = iam.create_role(RoleName="svc", AssumeRolePolicyDocument=json.dumps(TRUST_SERVICES))["Role"]["Arn"]
    facts.update(web=web, profile=prof, fn_role=fn_role, svc=svc)

    oidc = iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
    saml = iam.create_saml_provider(Name="corp", SAMLMetadataDocument="<x/>" * 300)["SAMLProviderArn"]
    iam.create_account_alias(AccountAlias="acme-prod")
    facts.update(oidc=oidc, saml=saml)

    fn = s.client("lambda").create_function(
        FunctionName="worker", Runtime="python3.12", Role=fn_role, Handler="lambda_function.handler",
        Code={"ZipFile": _zip()}, Environment={"Variables": {"DB_PASSWORD": "hunter2-lambda-env"}})
    facts["function"] = fn["FunctionArn"]

    ec2 = s.client("ec2")
    inst = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                             IamInstanceProfile={"Name": "web-profile"})["Instances"][0]
    facts["instance"] = inst["InstanceId"]

    nb = s.client("sagemaker").create_notebook_instance(
        NotebookInstanceName="nb", InstanceType="ml.t3.medium", RoleArn=svc)
    facts["notebook"] = nb["NotebookInstanceArn"]
    if HAS_GLUE:
        s.client("glue").create_dev_endpoint(EndpointName="dev", RoleArn=svc)
    td = s.client("ecs").register_task_definition(
        family="job", taskRoleArn=svc, executionRoleArn=fn_role,
        containerDefinitions=[{"name": "c", "image": "busybox", "memory": 128}])["taskDefinition"]
    facts["task"] = td["taskDefinitionArn"]
    if HAS_CFN:
        stack = s.client("cloudformation").create_stack(
            StackName="infra", RoleARN=svc,
            TemplateBody=json.dumps({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}))
        facts["stack"] = stack["StackId"]
    return s, facts


def _errors(out):
    """CollectionErrors, without the ones moto itself causes when one of its backends cannot load."""
    return [e for e in out["CollectionErrors"]
            if not (e["service"] in NO_BACKEND and e["error_code"] == "ModuleNotFoundError")]


def _by_name(items, key, name):
    return next(i for i in items if i[key] == name)


# ---------------------------------------------------------------------------------------------


def test_shape_and_content(account):
    session, f = account
    seen = []
    out = collect(session, progress=seen.append)

    assert list(out)[:4] == ["UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"]
    assert out["AccountId"] == ACCOUNT
    assert _errors(out) == []
    json.dumps(out)                                          # JSON-ready (dates are ISO strings)

    users = {u["UserName"]: u for u in out["UserDetailList"]}
    assert set(users) == {"alice", "bob"}
    alice = users["alice"]
    assert alice["GroupList"] == ["devs"]
    assert [p["PolicyName"] for p in alice["UserPolicyList"]] == ["alice-inline"]
    assert alice["UserPolicyList"][0]["PolicyDocument"]["Statement"][0]["Action"] == "iam:PassRole"
    assert [p["PolicyArn"] for p in alice["AttachedManagedPolicies"]] == [f["policy"]]
    # (moto does not keep user permissions boundaries; role boundaries are checked below)

    group = _by_name(out["GroupDetailList"], "GroupName", "devs")
    assert [p["PolicyName"] for p in group["GroupPolicyList"]] == ["devs-inline"]
    assert [p["PolicyArn"] for p in group["AttachedManagedPolicies"]] == [f["policy"]]

    roles = {r["RoleName"]: r for r in out["RoleDetailList"]}
    web = roles["web"]
    assert web["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert web["PermissionsBoundary"]["PermissionsBoundaryArn"] == f["boundary"]
    assert {"Key": "team", "Value": "web"} in web["Tags"]
    assert [p["Arn"] for p in web["InstanceProfileList"]] == [f["profile"]]
    assert [p["PolicyName"] for p in roles["fn"]["RolePolicyList"]] == ["fn-inline"]

    pol = _by_name(out["Policies"], "Arn", f["policy"])
    assert pol["DefaultVersionId"] == "v2"
    versions = {v["VersionId"]: v for v in pol["PolicyVersionList"]}
    assert set(versions) == {"v1", "v2"}
    assert versions["v2"]["IsDefaultVersion"] and not versions["v1"]["IsDefaultVersion"]
    assert versions["v1"]["Document"]["Statement"][0]["Action"] == "s3:GetObject"
    assert isinstance(versions["v1"]["CreateDate"], str)

    inv = out["Inventory"]
    assert inv["instance_profiles"] == [{"arn": f["profile"], "name": "web-profile", "roles": [f["web"]]}]
    assert inv["lambda_functions"] == [{"arn": f["function"], "name": "worker", "role": f["fn_role"],
                                        "region": REGION}]
    assert inv["ec2_instances"] == [{
        "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{f['instance']}", "id": f["instance"],
        "region": REGION, "instance_profile_arn": f["profile"], "state": "running"}]
    if HAS_CFN:
        assert inv["cloudformation_stacks"] == [{"arn": f["stack"], "name": "infra", "region": REGION,
                                                 "role_arn": f["svc"]}]
    assert inv["sagemaker_notebooks"] == [{"arn": f["notebook"], "name": "nb", "region": REGION,
                                           "role_arn": f["svc"], "status": "InService"}]
    if HAS_GLUE:
        assert inv["glue_dev_endpoints"] == [{"arn": f"arn:aws:glue:{REGION}:{ACCOUNT}:devEndpoint/dev",
                                              "name": "dev", "region": REGION, "role_arn": f["svc"]}]
    assert inv["ecs_task_definitions"] == [{"arn": f["task"], "region": REGION, "task_role_arn": f["svc"],
                                            "execution_role_arn": f["fn_role"]}]
    # codebuild's service roles are only readable through BatchGetProjects (off by default):
    # the key is left out ("unknown") rather than emitted empty ("none")
    assert "codebuild_projects" not in inv

    k1, k2 = f["keys"]
    assert inv["users"][f["alice"]] == {
        "access_keys": sorted([{"id_suffix": k1["AccessKeyId"][-4:], "status": "Active"},
                               {"id_suffix": k2["AccessKeyId"][-4:], "status": "Inactive"}],
                              key=lambda k: k["status"]),
        "login_profile": True, "mfa_devices": 0}
    assert inv["users"][f["bob"]] == {"access_keys": [], "login_profile": False, "mfa_devices": 0}
    assert inv["oidc_providers"] == [{"arn": f["oidc"], "url": "token.actions.githubusercontent.com",
                                      "client_ids": ["sts.amazonaws.com"]}]
    assert inv["saml_providers"] == [{"arn": f["saml"]}]
    assert inv["account_aliases"] == ["acme-prod"]
    assert inv["organization"] is None

    assert "iam: authorization details" in seen
    assert f"lambda {REGION}: functions" in seen
    assert f"ec2 {REGION}: instances" in seen


def test_organization(aws):
    org = aws.client("organizations").create_organization(FeatureSet="ALL")["Organization"]
    inv = collect(aws)["Inventory"]
    assert inv["organization"] == {"id": org["Id"], "master_account_id": org["MasterAccountId"]}


def test_250_roles_all_come_back(aws):
    iam = aws.client("iam")
    for i in range(250):
        iam.create_role(RoleName=f"r{i:03d}", AssumeRolePolicyDocument=json.dumps(TRUST_EC2))
    out = collect(aws)
    assert sorted(r["RoleName"] for r in out["RoleDetailList"]) == [f"r{i:03d}" for i in range(250)]
    assert _errors(out) == []


def test_pages_are_merged(aws):
    """moto pages DescribeInstances by MaxResults: force 5 a page and check all 12 come back."""
    ec2 = aws.client("ec2")
    ids = [ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
           for _ in range(12)]
    calls = []

    def small_pages(params, context, **kw):
        params["MaxResults"] = 5
        if context.get("client_region") == REGION:       # (the other enabled regions have no instance)
            calls.append(dict(params))

    aws.events.register("provide-client-params.ec2.DescribeInstances", small_pages)
    out = collect(aws)
    assert len(calls) == 3 and "NextToken" in calls[1]
    assert sorted(i["id"] for i in out["Inventory"]["ec2_instances"]) == sorted(ids)
    assert _errors(out) == []


def _deny(code="AccessDenied", status=403, message="User is not authorized to perform this action"):
    def handler(model, **kw):
        http = botocore.awsrequest.AWSResponse("https://example.invalid/", status, {}, None)
        return http, {"Error": {"Code": code, "Message": message},
                      "ResponseMetadata": {"HTTPStatusCode": status}}
    return handler


def test_access_denied_is_reported_and_collection_goes_on(account):
    session, f = account
    session.events.register("before-call.lambda.ListFunctions", _deny("AccessDeniedException"))
    out = collect(session)
    assert _errors(out) == [{
        "service": "lambda", "operation": "ListFunctions", "region": r,
        "error_code": "AccessDeniedException", "message": "User is not authorized to perform this action"}
        for r in sorted(TEST_REGIONS)]                # every enabled region, in order
    inv = out["Inventory"]
    assert "lambda_functions" not in inv              # unknown, not "no functions"
    assert inv["partial"]["lambda_functions"] == []
    assert inv["regions"]["kinds"]["lambda_functions"]["not_read"] == {
        r: "AccessDeniedException" for r in TEST_REGIONS}
    assert len(inv["ec2_instances"]) == 1 and len(inv["ecs_task_definitions"]) == 1
    assert {r["RoleName"] for r in out["RoleDetailList"]} == {"web", "fn", "svc"}
    assert out["AccountId"] == ACCOUNT


def test_gaad_denied_falls_back_where_it_can(account):
    session, f = account
    session.events.register("before-call.iam.GetAccountAuthorizationDetails", _deny())
    session.events.register("before-call.iam.ListInstanceProfiles", _deny())
    out = collect(session)
    assert [(e["operation"], e["region"], e["error_code"]) for e in _errors(out)] == [
        ("GetAccountAuthorizationDetails", None, "AccessDenied"), ("ListInstanceProfiles", None, "AccessDenied")]
    assert all(out[k] == [] for k in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"))
    assert out["AccountId"] == ACCOUNT
    assert set(out["Inventory"]["users"]) == {f["alice"], f["bob"]}   # through ListUsers
    assert "instance_profiles" not in out["Inventory"]


def test_account_id_from_arns_when_sts_fails(account):
    session, f = account
    session.events.register("before-call.sts.GetCallerIdentity", _deny())
    out = collect(session)
    assert out["AccountId"] == ACCOUNT
    assert [e["operation"] for e in _errors(out)] == ["GetCallerIdentity"]
    if HAS_GLUE:
        assert out["Inventory"]["glue_dev_endpoints"][0]["arn"] == f"arn:aws:glue:{REGION}:{ACCOUNT}:devEndpoint/dev"


def test_per_user_failure_leaves_only_that_user_out(account):
    session, f = account

    def deny_alice(params, **kw):                       # params: the API parameters of this call
        if params.get("UserName") == "alice":
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListMFADevices")

    session.events.register("before-parameter-build.iam.ListMFADevices", deny_alice)
    out = collect(session)
    assert set(out["Inventory"]["users"]) == {f["bob"]}
    assert [(e["operation"], e["error_code"]) for e in _errors(out)] == [("ListMFADevices", "AccessDenied")]


def test_transport_errors_and_regions(aws):
    """Endpoint/timeout errors are recorded per region; other regions and services go on."""
    iam = aws.client("iam")
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))["Role"]["Arn"]
    fn = aws.client("lambda", region_name="eu-west-1").create_function(
        FunctionName="eu", Runtime="python3.12", Role=role, Handler="lambda_function.handler",
        Code={"ZipFile": _zip()})["FunctionArn"]

    def unreachable(context, **kw):
        if context.get("client_region") == "ap-southeast-2":
            raise botocore.exceptions.EndpointConnectionError(endpoint_url="https://ec2.ap-southeast-2.amazonaws.com/")

    def timeout(**kw):
        raise botocore.exceptions.ReadTimeoutError(endpoint_url="https://sagemaker.eu-west-1.amazonaws.com/")

    aws.events.register("before-call.ec2.DescribeInstances", unreachable)
    aws.events.register("before-call.sagemaker.ListNotebookInstances", timeout)
    seen = []
    out = collect(aws, regions=["eu-west-1", "ap-southeast-2"], progress=seen.append)
    errs = sorted((e["service"], e["operation"], e["region"], e["error_code"]) for e in _errors(out))
    assert errs == [("ec2", "DescribeInstances", "ap-southeast-2", "EndpointConnectionError"),
                    ("sagemaker", "ListNotebookInstances", "ap-southeast-2", "ReadTimeoutError"),
                    ("sagemaker", "ListNotebookInstances", "eu-west-1", "ReadTimeoutError")]
    inv = out["Inventory"]
    # us-east-1 is enabled but was not requested: every regional kind is partial, none "complete"
    assert inv["partial"]["lambda_functions"] == [{"arn": fn, "name": "eu", "role": role, "region": "eu-west-1"}]
    assert not any(k in inv for k in ("lambda_functions", "ec2_instances", "sagemaker_notebooks"))
    kinds = inv["regions"]["kinds"]
    assert kinds["lambda_functions"] == {"read": ["ap-southeast-2", "eu-west-1"], "not_offered": [],
                                         "not_read": {"us-east-1": "not requested (--region)"}}
    assert kinds["ec2_instances"]["not_read"] == {"ap-southeast-2": "EndpointConnectionError",
                                                  "us-east-1": "not requested (--region)"}
    assert inv["regions"]["requested"] == ["eu-west-1", "ap-southeast-2"]
    assert inv["regions"]["enabled"] == sorted(TEST_REGIONS)
    assert "lambda eu-west-1: functions" in seen and "lambda ap-southeast-2: functions" in seen
    assert not any(m.startswith(("lambda us-east-1", "ec2 us-east-1")) for m in seen)


def test_no_secrets_in_output(account):
    session, f = account
    leaked_key = f["keys"][0]["AccessKeyId"]

    def noisy(**kw):                                    # an error message that carries a key id
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "InvalidClientTokenId",
                       "Message": f"The security token for {leaked_key} is invalid; "
                                  "X-Amz-Security-Token=FwoGZXIvYXdzEXAMPLETOKEN"}}, "GetDevEndpoints")

    session.events.register("before-call.glue.GetDevEndpoints", noisy)
    text = json.dumps(collect(session))
    for k in f["keys"]:
        assert k["SecretAccessKey"] not in text
        assert k["AccessKeyId"] not in text
        assert k["AccessKeyId"][-4:] in text
    for secret in ("Sup3r-secret-pw!", "hunter2-lambda-env", "FwoGZXIvYXdzEXAMPLETOKEN", "testing"):
        assert secret not in text


def test_only_read_operations_are_called(account):
    session, _ = account
    ops = []
    session.events.register("before-call", lambda model, **kw: ops.append(
        (model.service_model.service_id.hyphenize(), model.name)))
    collect(session)
    assert ops
    bad = [o for o in ops if not o[1].startswith(("Get", "List", "Describe"))]
    assert bad == []
    names = {o[1] for o in ops}
    assert {"GetCallerIdentity", "GetAccountAuthorizationDetails", "ListFunctions", "DescribeInstances",
            "DescribeStacks", "ListNotebookInstances", "DescribeNotebookInstance", "GetDevEndpoints",
            "ListTaskDefinitions", "DescribeTaskDefinition", "ListAccessKeys", "GetLoginProfile",
            "ListMFADevices", "ListOpenIDConnectProviders", "GetOpenIDConnectProvider", "ListSAMLProviders",
            "ListAccountAliases", "ListInstanceProfiles", "DescribeOrganization", "DescribeRegions",
            "DescribeLaunchTemplates", "DescribeLaunchConfigurations", "ListStateMachines",
            "ListAgentRuntimes"} <= names


def test_write_operations_are_refused():
    with pytest.raises(ValueError):
        live._Collector._check("CreateUser")
    with pytest.raises(ValueError):
        live._Collector._check("BatchGetProjects")


def test_codebuild_with_batch_get_enabled(aws, monkeypatch):
    monkeypatch.setattr(live, "ALLOW_BATCH_GET", True)
    role = aws.client("iam").create_role(RoleName="cb", AssumeRolePolicyDocument=json.dumps(TRUST_EC2))["Role"]["Arn"]
    aws.client("codebuild").create_project(
        name="build", source={"type": "S3", "location": "bucket/src.zip"}, artifacts={"type": "NO_ARTIFACTS"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL"}, serviceRole=role)
    out = collect(aws)
    assert out["Inventory"]["codebuild_projects"] == [{
        "arn": f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/build", "name": "build", "region": REGION,
        "service_role": role}]
    assert _errors(out) == []


def test_client_config():
    cfg = live.CLIENT_CONFIG
    # botocore turns retries={"max_attempts": 10} (retries after the first try) into 11 attempts in all
    assert cfg.retries["mode"] == "adaptive"
    assert cfg.retries.get("max_attempts", cfg.retries.get("total_max_attempts", 0) - 1) == 10
    assert cfg.connect_timeout and cfg.read_timeout


def test_output_loads_into_the_model(account):
    """What collect() returns is what the authorization-details loader reads (no conversion step)."""
    load_data = pytest.importorskip("iamlint.loaders").load_data
    session, f = account
    model = load_data(json.loads(json.dumps(collect(session))), "aws:test")
    assert set(model.accounts) == {ACCOUNT}
    assert model.find("web").trust_policy is not None
    assert model.accounts[ACCOUNT].inventory["lambda_functions"][0]["role"] == f["fn_role"]
    assert model.accounts[ACCOUNT].alias == "acme-prod"


def test_suite_guard_sees_iamlint_calls(account):
    """The session-wide guard in conftest records iamlint's calls (so it cannot pass by seeing nothing)."""
    from conftest import AWS_CALLS_BY_IAMLINT
    session, _ = account
    before = len(AWS_CALLS_BY_IAMLINT)
    collect(session)
    seen = AWS_CALLS_BY_IAMLINT[before:]
    assert ("iam", "GetAccountAuthorizationDetails") in seen
    assert all(op.startswith(("Get", "List", "Describe", "BatchGet")) for _, op in seen)


def test_suite_guard_fails_a_write_from_iamlint_code(aws):
    """A write made from a file under iamlint/ fails the test that triggers it."""
    from conftest import ROOT
    code = compile("def write(client):\n    client.create_user(UserName='x')\n",
                   str(ROOT / "iamlint" / "loaders" / "_pretend.py"), "exec")
    scope: dict = {}
    exec(code, scope)
    with pytest.raises(pytest.fail.Exception, match="non-read-only AWS API: iam:CreateUser"):
        scope["write"](aws.client("iam"))
    aws.client("iam").create_user(UserName="y")   # the test's own setup calls are not iamlint's


# ------------------------------------------ launch templates, launch configurations, state machines, AgentCore

TRUST_COMPUTE = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": [
        "ec2.amazonaws.com", "states.amazonaws.com", "bedrock-agentcore.amazonaws.com"]}}]}
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
# what `dev` may do: rewrite launch templates, state machines, and run commands in AgentCore runtimes
DEV = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
    "ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate", "states:UpdateStateMachine",
    "states:StartExecution", "bedrock-agentcore:InvokeAgentRuntimeCommand"]}]}
RUNTIME_ARTIFACT = {"containerConfiguration": {"containerUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/agent:1"}}
NEW_METHODS = ("ec2-launch-template-version", "states-update-state-machine", "states-start-execution",
               "bedrock-agentcore-invoke-runtime-command")


def _compute_account(aws, *, resources=True):
    """`dev` (DEV) and `admin` (admin, trusts EC2 / Step Functions / AgentCore, instance profile under a
    path). With `resources`: a launch template (profile by name), a state machine in eu-west-1 and an
    AgentCore runtime, all running as admin."""
    iam = aws.client("iam")
    admin = iam.create_role(RoleName="admin", AssumeRolePolicyDocument=json.dumps(TRUST_COMPUTE))["Role"]["Arn"]
    iam.put_role_policy(RoleName="admin", PolicyName="admin", PolicyDocument=json.dumps(ADMIN))
    prof = iam.create_instance_profile(InstanceProfileName="admin-profile", Path="/apps/")["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName="admin-profile", RoleName="admin")
    dev = iam.create_user(UserName="dev")["User"]["Arn"]
    iam.put_user_policy(UserName="dev", PolicyName="dev", PolicyDocument=json.dumps(DEV))
    f = {"admin": admin, "profile": prof, "dev": dev}
    if resources:
        lt = aws.client("ec2").create_launch_template(
            LaunchTemplateName="web", LaunchTemplateData={"IamInstanceProfile": {"Name": "admin-profile"},
                                                          "UserData": "c2VjcmV0LXVzZXItZGF0YQ=="})
        f["template"] = lt["LaunchTemplate"]["LaunchTemplateId"]
        f["machine"] = aws.client("stepfunctions", region_name="eu-west-1").create_state_machine(
            name="nightly", roleArn=admin, definition=json.dumps(
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "hunter2-sfn-definition",
                                                  "End": True}}}))["stateMachineArn"]
        rt = aws.client("bedrock-agentcore-control").create_agent_runtime(
            agentRuntimeName="support_agent", agentRuntimeArtifact=RUNTIME_ARTIFACT, roleArn=admin,
            networkConfiguration={"networkMode": "PUBLIC"},
            environmentVariables={"API_TOKEN": "hunter2-agent-env"})
        f["runtime"] = rt["agentRuntimeArn"]
    return f


def _steps(data, dev):
    """{(method, target, potential)} of dev's edges by the methods that need these inventories."""
    from iamlint.graph.build import is_hub
    from iamlint.pipeline import scan
    g = scan(pytest.importorskip("iamlint.loaders").load_data(json.loads(json.dumps(data)), "aws:test")).graph
    out = set()
    for e in g.edges_from(dev):
        if e.method in NEW_METHODS:
            for step in (g.edges_from(e.target) if is_hub(e.target) else [e]):
                out.add((e.method, step.target, e.potential or step.potential))
    return out


def test_new_inventories_are_read_in_every_region(aws):
    f = _compute_account(aws)
    ec2 = aws.client("ec2", region_name="eu-west-1")
    two = ec2.create_launch_template(LaunchTemplateName="two", LaunchTemplateData={})["LaunchTemplate"]
    ec2.create_launch_template_version(LaunchTemplateId=two["LaunchTemplateId"], LaunchTemplateData={
        "IamInstanceProfile": {"Arn": f["profile"]}})            # $Latest carries the profile, $Default not
    jwt = aws.client("bedrock-agentcore-control", region_name="eu-west-1").create_agent_runtime(
        agentRuntimeName="jwt_agent", agentRuntimeArtifact=RUNTIME_ARTIFACT, roleArn=f["admin"],
        networkConfiguration={"networkMode": "PUBLIC"}, authorizerConfiguration={"customJWTAuthorizer": {
            "discoveryUrl": "https://idp.example.com/.well-known/openid-configuration", "allowedClients": ["a"]}})
    aws.client("autoscaling", region_name="eu-west-1").create_launch_configuration(
        LaunchConfigurationName="old", ImageId="ami-12c6146b", InstanceType="t3.micro",
        IamInstanceProfile="admin-profile")

    out = collect(aws)
    assert _errors(out) == []
    inv = out["Inventory"]
    lt_arn = f"arn:aws:ec2:{REGION}:{ACCOUNT}:launch-template/{f['template']}"
    assert inv["ec2_launch_templates"] == [
        {"arn": f"arn:aws:ec2:eu-west-1:{ACCOUNT}:launch-template/{two['LaunchTemplateId']}",
         "id": two["LaunchTemplateId"], "name": "two", "region": "eu-west-1", "instance_profile_arn": f["profile"]},
        {"arn": lt_arn, "id": f["template"], "name": "web", "region": REGION,
         "instance_profile_arn": f["profile"]}]                   # by name: the ARN, path included
    (lc,) = inv["launch_configurations"]
    assert (lc["name"], lc["region"], lc["instance_profile_arn"]) == ("old", "eu-west-1", f["profile"])
    assert inv["state_machines"] == [{"arn": f["machine"], "name": "nightly", "region": "eu-west-1",
                                      "role_arn": f["admin"], "type": "STANDARD"}]
    assert sorted((r["name"], r["region"], r["role_arn"], r["inbound_auth"]) for r in inv["agentcore_runtimes"]) == [
        ("jwt_agent", "eu-west-1", f["admin"], "jwt"), ("support_agent", REGION, f["admin"], "iam")]
    assert jwt["agentRuntimeArn"] in {r["arn"] for r in inv["agentcore_runtimes"]}
    for kind in ("ec2_launch_templates", "launch_configurations", "state_machines", "agentcore_runtimes"):
        assert inv["regions"]["kinds"][kind]["read"] == sorted(TEST_REGIONS)
    text = json.dumps(out)                                          # nothing of what the resources hold
    assert not any(s in text for s in ("hunter2", "c2VjcmV0LXVzZXItZGF0YQ", "API_TOKEN"))


def test_new_inventories_make_steps_certain_or_rule_them_out(aws):
    """Resource there: the step to the role it runs as is certain. No such resource in any enabled region:
    no step at all (before, on live scans, every one of them was potential)."""
    f = _compute_account(aws)
    assert _steps(collect(aws), f["dev"]) == {(m, f["admin"], False) for m in NEW_METHODS}


def test_new_inventories_empty_everywhere_means_no_steps(aws):
    f = _compute_account(aws, resources=False)
    out = collect(aws)
    assert all(out["Inventory"][k] == [] for k in ("ec2_launch_templates", "state_machines", "agentcore_runtimes"))
    assert _steps(out, f["dev"]) == set()


def test_agentcore_not_readable_keeps_its_steps_potential(aws):
    """AgentCore answers an error in one region (moto plays a service not offered or not allowed there):
    the runtime read elsewhere gives its certain step, and the unread region keeps a potential one."""
    f = _compute_account(aws)
    aws.events.register("before-call.bedrock-agentcore-control.ListAgentRuntimes",
                        _deny_in("eu-west-1", "UnknownOperationException", 404, "not offered"))
    out = collect(aws)
    assert [(e["service"], e["operation"], e["region"]) for e in _errors(out)] == [
        ("bedrock-agentcore-control", "ListAgentRuntimes", "eu-west-1")]
    inv = out["Inventory"]
    assert "agentcore_runtimes" not in inv and [r["arn"] for r in inv["partial"]["agentcore_runtimes"]] == [f["runtime"]]
    steps = {(t, p) for m, t, p in _steps(out, f["dev"]) if m == "bedrock-agentcore-invoke-runtime-command"}
    assert steps == {(f["admin"], False), (f["admin"], True)}      # certain (found) and potential (unread region)


def test_a_boto3_without_the_agentcore_client_records_it_once(aws, monkeypatch):
    """An older boto3 has no bedrock-agentcore-control client: one error says so, the kind is not read in any
    region, and its steps stay potential."""
    f = _compute_account(aws)
    every = aws.get_available_services()
    monkeypatch.setattr(aws, "get_available_services",
                        lambda: [s for s in every if s != "bedrock-agentcore-control"])
    out = collect(aws)
    assert [(e["service"], e["error_code"]) for e in _errors(out)] == [("bedrock-agentcore-control",
                                                                      "UnknownServiceError")]
    inv = out["Inventory"]
    assert inv["regions"]["kinds"]["agentcore_runtimes"]["not_read"] == {
        r: "UnknownServiceError" for r in TEST_REGIONS}
    assert {(t, p) for m, t, p in _steps(out, f["dev"]) if m == "bedrock-agentcore-invoke-runtime-command"} == {
        (f["admin"], True)}
    assert (("states-update-state-machine", f["admin"], False)) in _steps(out, f["dev"])


def _deny_in(region, code, status, message):
    def handler(model, context, **kw):
        if context.get("client_region") == region:
            http = botocore.awsrequest.AWSResponse("https://example.invalid/", status, {}, None)
            return http, {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return None
    return handler

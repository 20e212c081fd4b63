"""Live collection against moto (mock_aws): read-only calls, pagination, AccessDenied reported, no secrets."""

import json

import boto3
import botocore.exceptions
import pytest
from moto import mock_aws

from iamlint.loaders import load_data
from iamlint.loaders.live import collect

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
    "Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


@pytest.fixture
def aws(monkeypatch):
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        yield boto3.session.Session(region_name="us-east-1")


def test_collect_paginates_and_loads(aws):
    iam = aws.client("iam")
    for i in range(120):
        iam.create_role(RoleName=f"r{i}", AssumeRolePolicyDocument=TRUST)
    iam.create_user(UserName="u")
    secret = iam.create_access_key(UserName="u")["AccessKey"]["SecretAccessKey"]
    calls = []
    aws.events.register("before-call.*.*", lambda model, **kw: calls.append(model.name))
    data = collect(aws)
    assert len(data["RoleDetailList"]) == 120
    assert secret not in json.dumps(data, default=str)
    assert calls and all(c.startswith(("Get", "List", "Describe")) for c in calls), calls
    model = load_data(json.loads(json.dumps(data, default=str)), "aws")
    assert model.find("r7").trust_policy is not None


def test_access_denied_is_reported_and_collection_goes_on(aws):
    aws.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)

    def deny(**kw):
        raise botocore.exceptions.ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListFunctions")
    aws.events.register("before-call.lambda.ListFunctions", deny)
    data = collect(aws)
    assert len(data["RoleDetailList"]) == 1
    assert any(e["operation"] == "ListFunctions" and e["error_code"] == "AccessDenied" for e in data["CollectionErrors"])

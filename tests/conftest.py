import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
EXAMPLE = FIXTURES / "example" / "account.json"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def example_path():
    return str(EXAMPLE)


# the regions moto's ec2:DescribeRegions reports as enabled: the live collector reads every enabled region,
# and moto's full list (38, China included) makes each collection ~15 s. Two keep multi-region tests real.
TEST_REGIONS = ("us-east-1", "eu-west-1")


def set_aws_test_env(monkeypatch, region: str, regions: tuple = TEST_REGIONS) -> None:
    """Fake credentials and a region for moto; nothing from the developer's own AWS setup leaks in.
    moto's account has `regions` enabled (ec2:DescribeRegions)."""
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_SECURITY_TOKEN": "testing", "AWS_SESSION_TOKEN": "testing",
                 "AWS_DEFAULT_REGION": region}.items():
        monkeypatch.setenv(k, v)
    for k in ("AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(k, raising=False)
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend
    every = RegionsAndZonesBackend.describe_regions
    monkeypatch.setattr(RegionsAndZonesBackend, "describe_regions",
                        lambda self, region_names=None: [r for r in every(self, region_names) if r.name in regions])


_BOTO_LOADER = []


def boto3_session(region: str):
    """A boto3 session for moto tests; sessions share one botocore data loader, so the service models
    (JSON, some of several MB) are parsed once per test run instead of once per test."""
    import boto3
    import botocore.session
    core = botocore.session.get_session()
    if _BOTO_LOADER:
        core.register_component("data_loader", _BOTO_LOADER[0])
    else:
        _BOTO_LOADER.append(core.get_component("data_loader"))
    return boto3.session.Session(botocore_session=core, region_name=region)


def write_json(tmp_path, name, data):
    p = tmp_path / name
    p.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(p)


# ---------------------------------------------------------------- read-only guard (whole suite)
# Every AWS API call that iamlint's own code makes, anywhere in the test suite, must be read-only.
# Calls made by the tests themselves (moto setup: CreateRole, PutRolePolicy ...) are not iamlint's and
# pass. Besides reads, iamlint may only: assume the audit role in each account (sts:AssumeRole, which
# changes nothing), and deliver what the user asks for to the user's own resources (an audit report to
# S3, a notification to SNS); each is allowed from its one module only.
READ_ONLY_PREFIXES = ("Get", "List", "Describe", "Generate", "Simulate", "BatchGet", "Lookup", "Search")
ALLOWED_NON_READ = {("iamlint/audit/collect.py", "AssumeRole"), ("iamlint/audit/deliver.py", "PutObject"),
                    ("iamlint/audit/notify.py", "Publish")}
_IAMLINT_DIR = str(ROOT / "iamlint") + os.sep
AWS_CALLS_BY_IAMLINT: list[tuple[str, str]] = []


def _iamlint_caller() -> str | None:
    """The iamlint source file nearest to the current AWS call, or None when the call is the test's."""
    frame = sys._getframe(2)
    while frame is not None:
        fn = os.path.abspath(frame.f_code.co_filename)
        if fn.startswith(_IAMLINT_DIR):
            return fn[len(str(ROOT)) + 1:].replace(os.sep, "/")
        frame = frame.f_back
    return None


@pytest.fixture(autouse=True, scope="session")
def _aws_read_only_guard():
    try:
        from botocore.client import BaseClient
    except ImportError:  # pragma: no cover - boto3 is a dependency
        yield
        return
    original = BaseClient._make_api_call

    def guarded(self, operation_name, api_params):
        caller = _iamlint_caller()
        if caller is not None:
            service = self.meta.service_model.service_name
            AWS_CALLS_BY_IAMLINT.append((service, operation_name))
            if not operation_name.startswith(READ_ONLY_PREFIXES) and (caller, operation_name) not in ALLOWED_NON_READ:
                pytest.fail(f"iamlint called a non-read-only AWS API: {service}:{operation_name} from {caller}")
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = guarded
    try:
        yield
    finally:
        BaseClient._make_api_call = original

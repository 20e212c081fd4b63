"""Live, read-only collection of one AWS account through boto3.

`collect(session)` returns a dict shaped like `aws iam get-account-authorization-details`
(`UserDetailList`, `GroupDetailList`, `RoleDetailList`, `Policies`, every page merged) plus:

* `AccountId`        - from `sts:GetCallerIdentity`, else parsed from a collected ARN;
* `Inventory`        - the resources that run as a role (instance profiles, Lambda functions, EC2
                       instances and launch templates, Auto Scaling launch configurations,
                       CloudFormation stacks, SageMaker notebooks, Glue dev endpoints, ECS task
                       definitions, Step Functions state machines, Bedrock AgentCore runtimes),
                       per-user credential facts, identity providers, aliases, the organization, and
                       `regions`: per regional kind, the regions read, not offered, not read;
* `CollectionErrors` - one entry per failed call; a failed call never stops the collection.

Rules this module keeps:

* read-only: only operations named Get*/List*/Describe* are ever called (checked before each call);
* no secrets: inventory items are built from an allow-list of fields; access key ids are cut to
  their last 4 characters; error messages are scrubbed of anything shaped like a key id;
* an `Inventory` key is present only when its data is complete. If any call feeding a key failed,
  the key is left out, so that a consumer reads "unknown" rather than "there are none". Per-user
  credential facts follow the same rule user by user.
* regions: by default every region the account has enabled is read (`regions.enabled_regions`), a few
  (region, kind) reads at a time. A regional kind is complete only when every enabled region was read
  (or botocore says the service is not offered there); otherwise what was found goes to
  `Inventory["partial"][kind]` and the regions not read, with the reason, to `Inventory["regions"]`
  (`regions=[...]` restricts the read: the other enabled regions are "not requested", not empty).
  The format and how it is consumed: loaders/inventory.py.

Besides boto3/botocore, only the sibling modules `regions` and `inventory` are imported.
"""

from __future__ import annotations

import datetime
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

import boto3
import botocore.config
import botocore.exceptions
from botocore import xform_name

from .inventory import PARTIAL, REGIONS
from .regions import ENABLED_OPT_STATUS, ENABLED_STATES, ENDPOINT_NOT_FOUND, Availability, Ledger, endpoint_missing

__all__ = ["collect", "CLIENT_CONFIG", "READ_ONLY_PREFIXES"]

READ_ONLY_PREFIXES = ("Get", "List", "Describe")

# codebuild has no Get*/List*/Describe* operation that returns a project's service role; only
# BatchGetProjects does. It is read-only but outside the prefix rule, so it is off by default.
# Without it the `codebuild_projects` inventory is left out (roles unknown), never emitted empty.
ALLOW_BATCH_GET = False

MAX_WORKERS = 8

CLIENT_CONFIG = botocore.config.Config(
    retries={"mode": "adaptive", "max_attempts": 10},
    connect_timeout=10,
    read_timeout=60,
    max_pool_connections=MAX_WORKERS * 2,
    user_agent_extra="iamlint-collector",
)
# services without botocore endpoint data (endpoint rules only) are read in every region; where one is
# not offered its endpoint does not resolve, so its connection errors are not retried for minutes
FEW_RETRIES_CONFIG = CLIENT_CONFIG.merge(botocore.config.Config(retries={"mode": "adaptive", "max_attempts": 2}))

# (service, inventory kind): each kind is read by the _Collector method of the same name, per region
REGIONAL = (
    ("lambda", "lambda_functions"),
    ("ec2", "ec2_instances"),
    ("ec2", "ec2_launch_templates"),
    ("autoscaling", "launch_configurations"),
    ("cloudformation", "cloudformation_stacks"),
    ("codebuild", "codebuild_projects"),
    ("sagemaker", "sagemaker_notebooks"),
    ("glue", "glue_dev_endpoints"),
    ("ecs", "ecs_task_definitions"),
    ("stepfunctions", "state_machines"),
    ("bedrock-agentcore-control", "agentcore_runtimes"),
)
SERVICE_OF = {kind: service for service, kind in REGIONAL}

DETAIL_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")

GLOBAL_SERVICES = frozenset({"iam", "sts", "organizations"})

# keys of a page that are pagination bookkeeping, not data
_PAGE_BOOKKEEPING = frozenset({"ResponseMetadata", "IsTruncated", "Marker", "NextMarker", "NextToken",
                               "nextToken", "nextMarker"})

_ACCOUNT_IN_ARN = re.compile(r"^arn:[a-z0-9-]+:[a-z0-9-]*:[a-z0-9-]*:(\d{12}):")
_PARTITION_IN_ARN = re.compile(r"^arn:([a-z0-9-]+):")
_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA|AGPA|ANPA|ANVA|APKA)[A-Z0-9]{12,}\b")
_SIGNED_PARAM = re.compile(r"(?i)(x-amz-(?:security-token|credential|signature)|signature|"
                           r"aws_?secret_?access_?key|aws_?session_?token)([=:]\s*)[^\s&,;\"']+")

Progress = Callable[[str], None]


def collect(session: boto3.session.Session, *, regions: list[str] | None = None,
            progress: Progress | None = None) -> dict:
    """Read the account behind `session` (read-only) into an authorization-details-shaped dict.

    `regions`: read only these (the account's other enabled regions are recorded as not read);
    None: every enabled region."""
    return _Collector(session, regions, progress).run()


# --------------------------------------------------------------------------------------------
# helpers


def _scrub(message: str) -> str:
    message = _KEY_ID.sub(lambda m: "****" + m.group(0)[-4:], message)
    message = _SIGNED_PARAM.sub(lambda m: m.group(1) + m.group(2) + "<redacted>", message)
    return message[:1000]


def _plain(value: Any) -> Any:
    """JSON-ready copy: datetimes as ISO 8601 strings (as the AWS CLI prints them)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _account_of(arn: Any) -> str | None:
    if isinstance(arn, str):
        m = _ACCOUNT_IN_ARN.match(arn)
        if m:
            return m.group(1)
    return None


def _partition_of(arn: Any) -> str | None:
    if isinstance(arn, str):
        m = _PARTITION_IN_ARN.match(arn)
        if m:
            return m.group(1)
    return None


def _merge_page(acc: dict, page: dict) -> None:
    for key, val in page.items():
        if key in _PAGE_BOOKKEEPING:
            continue
        if isinstance(val, list):
            acc.setdefault(key, []).extend(val)
        elif key not in acc:
            acc[key] = val


class _Failed:
    """Result of a failed call: the error code (already recorded unless it was expected or held back:
    then `pending` holds what `_Collector.record_failed` records)."""

    __slots__ = ("code", "pending")

    def __init__(self, code: str, pending: tuple | None = None):
        self.code = code
        self.pending = pending

    def __bool__(self) -> bool:
        return False


# --------------------------------------------------------------------------------------------


class _Collector:
    def __init__(self, session: boto3.session.Session, regions: list[str] | None,
                 progress: Progress | None):
        self.session = session
        self.home = session.region_name or (regions[0] if regions else None) or "us-east-1"
        self.requested = list(dict.fromkeys(regions)) if regions else None
        self.progress = progress
        self.errors: list[dict] = []
        self.account_id: str | None = None
        self.partition: str | None = None
        self.inventory: dict[str, Any] = {}
        self.incomplete: set[str] = set()
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._worker = threading.local()
        self.availability: Availability | None = None
        self.ledger: Ledger | None = None
        self.regional: dict[tuple[str, str], list] = {}     # (kind, region) -> items read
        self.profile_by_name: dict[str, str] = {}

    # -- plumbing ------------------------------------------------------------------------------

    def step(self, message: str) -> None:
        if self.progress is not None:
            with self._lock:
                self.progress(message)

    def client(self, service: str, region: str | None):
        key = (service, region or self.home)
        with self._lock:
            c = self._clients.get(key)
            if c is None:
                sparse = self.availability is not None and not self.availability.has_endpoint_data(service)
                c = self.session.client(service, region_name=key[1],
                                        config=FEW_RETRIES_CONFIG if sparse else CLIENT_CONFIG)
                self._clients[key] = c
            return c

    def record_failed(self, failed: Any) -> None:
        """Record a failure that was held back (`report=False`)."""
        if isinstance(failed, _Failed) and failed.pending is not None:
            self.record(*failed.pending)
            failed.pending = None

    def record(self, service: str, operation: str, region: str | None, exc: BaseException) -> str:
        if isinstance(exc, botocore.exceptions.ClientError):
            err = exc.response.get("Error") or {}
            code = str(err.get("Code") or "ClientError")
            message = str(err.get("Message") or exc)
        else:
            code = ENDPOINT_NOT_FOUND if endpoint_missing(exc) else type(exc).__name__
            message = str(exc) or code
        with self._lock:
            self.errors.append({"service": service, "operation": operation,
                                "region": None if service in GLOBAL_SERVICES else region,
                                "error_code": code, "message": _scrub(message)})
        return code

    @staticmethod
    def _check(operation: str) -> None:
        if operation.startswith(READ_ONLY_PREFIXES):
            return
        if ALLOW_BATCH_GET and operation.startswith("BatchGet"):
            return
        raise ValueError(f"iamlint live collection is read-only: refusing to call {operation}")

    @staticmethod
    def _code(exc: BaseException) -> str | None:
        if isinstance(exc, botocore.exceptions.ClientError):
            return (exc.response.get("Error") or {}).get("Code")
        return None

    def _held(self, service: str, operation: str, region: str | None, exc: BaseException) -> _Failed:
        code = self._code(exc) or (ENDPOINT_NOT_FOUND if endpoint_missing(exc) else type(exc).__name__)
        return _Failed(code, (service, operation, region, exc))

    def call(self, service: str, region: str | None, operation: str, *,
             expected: Iterable[str] = (), report: bool = True, **params) -> dict | _Failed:
        """One call. On failure: records it (unless its code is `expected`, or `report` is False: then
        the _Failed holds it for `record_failed`) and returns _Failed."""
        self._check(operation)
        try:
            resp = getattr(self.client(service, region), xform_name(operation))(**params)
        except Exception as exc:  # noqa: BLE001 - one failed call never stops the collection
            code = self._code(exc)
            if code is not None and code in expected:
                return _Failed(code)
            if not report:
                return self._held(service, operation, region, exc)
            return _Failed(self.record(service, operation, region, exc))
        resp.pop("ResponseMetadata", None)
        return resp

    def paginate(self, service: str, region: str | None, operation: str, *, report: bool = True,
                 **params) -> tuple[dict, Any]:
        """Every page merged (lists concatenated). Returns (data, True), or (partial data, _Failed)."""
        self._check(operation)
        merged: dict = {}
        try:
            client = self.client(service, region)
            method = xform_name(operation)
            if client.can_paginate(method):
                for page in client.get_paginator(method).paginate(**params):
                    _merge_page(merged, page)
            else:
                _merge_page(merged, getattr(client, method)(**params))
        except Exception as exc:  # noqa: BLE001
            if not report:
                return merged, self._held(service, operation, region, exc)
            return merged, _Failed(self.record(service, operation, region, exc))
        return merged, True

    def fan_out(self, fn: Callable[[Any], Any], items: list) -> list:
        """fn over items, a few at a time (clients are thread-safe). Inside a regional read (already on
        a worker of the regional pool) it runs in turn: the pool bounds the threads."""
        if len(items) <= 1 or getattr(self._worker, "busy", False):
            return [fn(x) for x in items]
        with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(items))) as pool:
            return list(pool.map(fn, items))

    def add(self, key: str, items: list, complete: bool = True) -> None:
        self.inventory.setdefault(key, []).extend(items)
        if not complete:
            self.incomplete.add(key)

    # -- the run -------------------------------------------------------------------------------

    def run(self) -> dict:
        result: dict[str, Any] = {k: [] for k in DETAIL_KEYS}

        self.step("sts: caller identity")
        ident = self.call("sts", None, "GetCallerIdentity")
        if ident:
            self.account_id = ident.get("Account") or _account_of(ident.get("Arn"))
            self.partition = _partition_of(ident.get("Arn"))

        self.step("iam: authorization details")
        gaad, gaad_ok = self.paginate("iam", None, "GetAccountAuthorizationDetails")
        for k in DETAIL_KEYS:
            result[k] = gaad.get(k, [])
        self._fix_identity(a.get("Arn") for k in DETAIL_KEYS for a in result[k] if isinstance(a, dict))

        self.instance_profiles(result["RoleDetailList"] if gaad_ok else None)
        self.users(result["UserDetailList"] if gaad_ok else None)
        self.identity_providers()
        self.aliases_and_organization()

        before = len(self.errors)
        targets = self.regional_inventory()
        # the regional reads ran concurrently: their failures in a stable order (region, service, call)
        self.errors[before:] = sorted(self.errors[before:], key=lambda e: (
            (targets.index(e["region"]), e["service"], e["operation"], e["error_code"])
            if e.get("region") in targets else (-1,)))

        self._fix_identity(i.get("arn") for v in list(self.inventory.values()) + list(self.regional.values())
                           if isinstance(v, list) for i in v if isinstance(i, dict))
        for (key, _), items in self.regional.items():
            if key in ("codebuild_projects", "glue_dev_endpoints"):
                for item in items:
                    item["arn"] = item["arn"].replace("{partition}", self.partition or "aws") \
                                             .replace("{account}", self.account_id or "")
        for key in self.incomplete:
            self.inventory.pop(key, None)
        self._assemble(targets)

        result["AccountId"] = self.account_id
        result["Inventory"] = self.inventory
        result["CollectionErrors"] = self.errors
        return _plain(result)

    # -- regions -------------------------------------------------------------------------------

    def regional_inventory(self) -> list[str]:
        """Read every regional kind in every target region, a few (kind, region) reads at a time.
        Returns the target regions, in order."""
        enabled = self.enabled_regions()
        if enabled is not None:
            enabled = [r for r in enabled if self._in_partition(r)]
        self.ledger = ledger = Ledger(enabled, self.requested)
        self.availability = avail = Availability(self.session, self.partition)
        targets = self.requested or enabled or [self.home]
        jobs = []
        for service, kind in REGIONAL:
            if kind == "codebuild_projects" and not ALLOW_BATCH_GET:
                continue                                  # service roles not readable: see ALLOW_BATCH_GET
            if not avail.has_client(service):
                with self._lock:
                    self.errors.append({"service": service, "operation": "*", "region": None,
                                        "error_code": "UnknownServiceError",
                                        "message": f"boto3 {boto3.__version__} has no {service} client: {kind} "
                                                   "not read (a newer boto3 reads it)"})
                for region in targets:
                    ledger.read(kind, region, "UnknownServiceError")
                continue
            jobs += [(kind, region) for region in targets]
        self.step(f"regional inventory: {len(targets)} region(s)"
                  + (f" of {len(enabled)} enabled" if enabled and self.requested else ""))
        jobs.sort(key=lambda j: targets.index(j[1]))      # region by region: the pool spreads over services

        def run(job: tuple[str, str]) -> None:
            kind, region = job
            self._worker.busy = True
            try:
                getattr(self, kind)(region)
            except Exception as exc:  # noqa: BLE001 - an unexpected answer spoils that read only
                self.put(kind, region, [], _Failed(self.record(SERVICE_OF[kind], kind, region, exc)))
            finally:
                self._worker.busy = False

        with ThreadPoolExecutor(max_workers=max(1, min(MAX_WORKERS, len(jobs)))) as pool:
            list(pool.map(run, jobs))
        settled = {(SERVICE_OF[kind], region) for kind, region in ledger.settle()}
        self.errors[:] = [e for e in self.errors if not (e["error_code"] == ENDPOINT_NOT_FOUND
                                                         and (e["service"], e["region"]) in settled)]
        return targets

    def enabled_regions(self) -> list[str] | None:
        """The account's enabled regions (sorted): `ec2:DescribeRegions` (without AllRegions: the regions that
        need no opt-in or are opted in), else `account:ListRegions`; None when neither answers (then both
        failures are recorded; when the second answers, the first is not: nothing was missed)."""
        self.step("ec2: enabled regions")
        got = self.call("ec2", None, "DescribeRegions", report=False)
        if got:
            return sorted({r["RegionName"] for r in got.get("Regions") or [] if r.get("RegionName")
                           and r.get("OptInStatus", "opt-in-not-required") in ENABLED_STATES})
        data, ok = self.paginate("account", None, "ListRegions", report=False,
                                 RegionOptStatusContains=list(ENABLED_OPT_STATUS))
        if ok:
            return sorted({r["RegionName"] for r in data.get("Regions") or [] if r.get("RegionName")})
        self.record_failed(got)
        self.record_failed(ok)
        return None

    def put(self, kind: str, region: str, items: list, *results: Any) -> None:
        """What one regional read found; `results` are the calls that fed it (truthy, or _Failed)."""
        failed = next((r for r in results if not r), None)
        with self._lock:
            self.regional[(kind, region)] = items
        self.ledger.read(kind, region, None if failed is None else getattr(failed, "code", "Failed"))

    def _assemble(self, targets: list[str]) -> None:
        """Regional items into the inventory: complete kinds under their key, the others under `partial`."""
        partial: dict[str, list] = {}
        for _, kind in REGIONAL:
            if kind not in self.ledger.kinds:
                continue
            items = [i for r in targets for i in self.regional.get((kind, r), [])]
            if self.ledger.complete(kind):
                self.inventory[kind] = items
            else:
                partial[kind] = items
        if partial:
            self.inventory[PARTIAL] = partial
        self.inventory[REGIONS] = self.ledger.record()

    def _profile_arn(self, ref: Any) -> str | None:
        """An instance profile named by ARN or by name (launch templates and configurations allow both)."""
        if isinstance(ref, dict):
            ref = ref.get("Arn") or ref.get("Name")
        if not isinstance(ref, str) or not ref:
            return None
        if ref.startswith("arn:"):
            return ref
        return self.profile_by_name.get(ref) or \
            f"arn:{self.partition or 'aws'}:iam::{self.account_id or ''}:instance-profile/{ref}"

    def _in_partition(self, region: str) -> bool:
        """A region of the account's partition (or one botocore does not know: kept)."""
        try:
            return self.session.get_partition_for_region(region) == (self.partition or "aws")
        except Exception:  # noqa: BLE001 - a region newer than botocore
            return True

    def _fix_identity(self, arns: Iterable[Any]) -> None:
        """Account id and partition from ARNs when sts:GetCallerIdentity did not give them."""
        if self.account_id and self.partition:
            return
        for arn in arns:
            acct = _account_of(arn)
            if acct:
                self.account_id = self.account_id or acct
                self.partition = self.partition or _partition_of(arn)
                break
        if not self.partition:
            try:
                self.partition = self.session.get_partition_for_region(self.home)
            except Exception:  # noqa: BLE001 - unknown region: the main partition
                self.partition = None

    def _arn(self, service: str, region: str, resource: str, account: str | None = None) -> str:
        return (f"arn:{self.partition or 'aws'}:{service}:{region}:"
                f"{account or self.account_id or ''}:{resource}")

    # -- IAM (global) --------------------------------------------------------------------------

    def instance_profiles(self, gaad_roles: list | None) -> None:
        self.step("iam: instance profiles")
        data, ok = self.paginate("iam", None, "ListInstanceProfiles")
        profiles = data.get("InstanceProfiles", [])
        if not ok and gaad_roles is not None:
            # fall back on the profiles the authorization details list under each role
            seen: dict[str, dict] = {}
            for role in gaad_roles:
                for p in role.get("InstanceProfileList") or []:
                    seen.setdefault(p.get("Arn"), p)
            profiles, ok = list(seen.values()), True
        self.profile_by_name = {p.get("InstanceProfileName"): p.get("Arn") for p in profiles
                                if p.get("InstanceProfileName") and p.get("Arn")}
        self.add("instance_profiles", [
            {"arn": p.get("Arn"), "name": p.get("InstanceProfileName"),
             "roles": [r.get("Arn") for r in p.get("Roles") or []]}
            for p in profiles], ok)

    def users(self, gaad_users: list | None) -> None:
        if gaad_users is None:
            data, ok = self.paginate("iam", None, "ListUsers")
            if not ok:
                return                                    # no user list: no credential inventory
            gaad_users = data.get("Users", [])
        users = [(u.get("UserName"), u.get("Arn")) for u in gaad_users if u.get("UserName")]
        self.step(f"iam: credentials of {len(users)} user(s)")

        def one(user: tuple[str, str]):
            name, arn = user
            keys, ok_keys = self.paginate("iam", None, "ListAccessKeys", UserName=name)
            login = self.call("iam", None, "GetLoginProfile", expected=("NoSuchEntity",), UserName=name)
            mfa, ok_mfa = self.paginate("iam", None, "ListMFADevices", UserName=name)
            if not (ok_keys and ok_mfa) or (isinstance(login, _Failed) and login.code != "NoSuchEntity"):
                return arn, None                          # incomplete: leave this user out
            return arn, {
                "access_keys": [{"id_suffix": str(k.get("AccessKeyId") or "")[-4:],
                                 "status": k.get("Status")}
                                for k in keys.get("AccessKeyMetadata", [])],
                "login_profile": not isinstance(login, _Failed),
                "mfa_devices": len(mfa.get("MFADevices", [])),
            }

        self.inventory["users"] = {arn: info for arn, info in self.fan_out(one, users) if info is not None}

    def identity_providers(self) -> None:
        self.step("iam: identity providers")
        listed = self.call("iam", None, "ListOpenIDConnectProviders")
        if listed:
            arns = [p.get("Arn") for p in listed.get("OpenIDConnectProviderList", []) if p.get("Arn")]

            def one(arn: str) -> dict:
                got = self.call("iam", None, "GetOpenIDConnectProvider", OpenIDConnectProviderArn=arn)
                if not got:
                    return {"arn": arn, "url": arn.split(":oidc-provider/", 1)[-1], "client_ids": None}
                return {"arn": arn, "url": got.get("Url"), "client_ids": list(got.get("ClientIDList") or [])}

            self.add("oidc_providers", self.fan_out(one, arns))
        saml = self.call("iam", None, "ListSAMLProviders")
        if saml:
            self.add("saml_providers", [{"arn": p.get("Arn")} for p in saml.get("SAMLProviderList", [])])

    def aliases_and_organization(self) -> None:
        self.step("iam: account aliases")
        data, ok = self.paginate("iam", None, "ListAccountAliases")
        if ok:
            self.inventory["account_aliases"] = list(data.get("AccountAliases", []))
        self.step("organizations: organization")
        org = self.call("organizations", None, "DescribeOrganization",
                        expected=("AWSOrganizationsNotInUseException",))
        if org:
            o = org.get("Organization") or {}
            self.inventory["organization"] = {"id": o.get("Id"), "master_account_id": o.get("MasterAccountId")}
        elif org.code == "AWSOrganizationsNotInUseException":
            self.inventory["organization"] = None

    # -- regional inventory: one method per kind (REGIONAL), each ends in put() ---------------------

    def lambda_functions(self, region: str) -> None:
        self.step(f"lambda {region}: functions")
        data, ok = self.paginate("lambda", region, "ListFunctions")
        self.put("lambda_functions", region, [
            {"arn": f.get("FunctionArn"), "name": f.get("FunctionName"), "role": f.get("Role"),
             "region": region}
            for f in data.get("Functions", [])], ok)

    def ec2_instances(self, region: str) -> None:
        self.step(f"ec2 {region}: instances")
        data, ok = self.paginate("ec2", region, "DescribeInstances")
        items = []
        for res in data.get("Reservations", []):
            for i in res.get("Instances") or []:
                state = (i.get("State") or {}).get("Name")
                if state == "terminated":
                    continue                              # gone: nothing can run as its role
                items.append({
                    "arn": self._arn("ec2", region, f"instance/{i.get('InstanceId')}", res.get("OwnerId")),
                    "id": i.get("InstanceId"), "region": region,
                    "instance_profile_arn": (i.get("IamInstanceProfile") or {}).get("Arn"),
                    "state": state})
        self.put("ec2_instances", region, items, ok)

    def ec2_launch_templates(self, region: str) -> None:
        """One item per instance profile a template launches with: its default and latest versions
        (an Auto Scaling group launches `$Default` or `$Latest`); a template without one is listed once."""
        self.step(f"ec2 {region}: launch templates")
        data, ok = self.paginate("ec2", region, "DescribeLaunchTemplates")

        def one(t: dict) -> list | _Failed:
            got, done = self.paginate("ec2", region, "DescribeLaunchTemplateVersions",
                                      LaunchTemplateId=t.get("LaunchTemplateId"), Versions=["$Default", "$Latest"])
            if not done:
                return done
            profiles = [self._profile_arn((v.get("LaunchTemplateData") or {}).get("IamInstanceProfile"))
                        for v in sorted(got.get("LaunchTemplateVersions", []),
                                        key=lambda v: not v.get("DefaultVersion"))]
            with_profile = [p for p in dict.fromkeys(profiles) if p]
            return [{"arn": self._arn("ec2", region, f"launch-template/{t.get('LaunchTemplateId')}"),
                     "id": t.get("LaunchTemplateId"), "name": t.get("LaunchTemplateName"), "region": region,
                     "instance_profile_arn": p} for p in (with_profile or [None])]

        found = self.fan_out(one, data.get("LaunchTemplates", []))
        self.put("ec2_launch_templates", region, [i for x in found if isinstance(x, list) for i in x],
                 ok, *[x for x in found if isinstance(x, _Failed)])

    def launch_configurations(self, region: str) -> None:
        self.step(f"autoscaling {region}: launch configurations")
        data, ok = self.paginate("autoscaling", region, "DescribeLaunchConfigurations")
        self.put("launch_configurations", region, [
            {"arn": c.get("LaunchConfigurationARN"), "name": c.get("LaunchConfigurationName"), "region": region,
             "instance_profile_arn": self._profile_arn(c.get("IamInstanceProfile"))}
            for c in data.get("LaunchConfigurations", [])], ok)

    def cloudformation_stacks(self, region: str) -> None:
        self.step(f"cloudformation {region}: stacks")
        data, ok = self.paginate("cloudformation", region, "DescribeStacks")
        self.put("cloudformation_stacks", region, [
            {"arn": s.get("StackId"), "name": s.get("StackName"), "region": region,
             "role_arn": s.get("RoleARN")}
            for s in data.get("Stacks", [])], ok)

    def codebuild_projects(self, region: str) -> None:
        self.step(f"codebuild {region}: projects")
        data, ok = self.paginate("codebuild", region, "ListProjects")
        names = list(data.get("projects", []))
        items, results = [], [ok]
        for start in range(0, len(names), 100):
            got = self.call("codebuild", region, "BatchGetProjects", names=names[start:start + 100])
            results.append(got)
            if not got:
                continue
            for p in got.get("projects", []):
                items.append({"arn": p.get("arn") or f"arn:{{partition}}:codebuild:{region}:{{account}}:"
                                                     f"project/{p.get('name')}",
                              "name": p.get("name"), "region": region, "service_role": p.get("serviceRole")})
        self.put("codebuild_projects", region, items, *results)

    def sagemaker_notebooks(self, region: str) -> None:
        self.step(f"sagemaker {region}: notebook instances")
        data, ok = self.paginate("sagemaker", region, "ListNotebookInstances")
        listed = data.get("NotebookInstances", [])

        def one(nb: dict) -> dict | _Failed:
            got = self.call("sagemaker", region, "DescribeNotebookInstance",
                            NotebookInstanceName=nb.get("NotebookInstanceName"))
            if not got:
                return got
            return {"arn": got.get("NotebookInstanceArn") or nb.get("NotebookInstanceArn"),
                    "name": got.get("NotebookInstanceName") or nb.get("NotebookInstanceName"),
                    "region": region, "role_arn": got.get("RoleArn"),
                    "status": got.get("NotebookInstanceStatus") or nb.get("NotebookInstanceStatus")}

        found = self.fan_out(one, listed)
        self.put("sagemaker_notebooks", region, [x for x in found if x], ok, *found)

    def glue_dev_endpoints(self, region: str) -> None:
        self.step(f"glue {region}: dev endpoints")
        data, ok = self.paginate("glue", region, "GetDevEndpoints")
        self.put("glue_dev_endpoints", region, [
            {"arn": f"arn:{{partition}}:glue:{region}:{{account}}:devEndpoint/{e.get('EndpointName')}",
             "name": e.get("EndpointName"), "region": region, "role_arn": e.get("RoleArn")}
            for e in data.get("DevEndpoints", [])], ok)

    def ecs_task_definitions(self, region: str) -> None:
        self.step(f"ecs {region}: task definitions")
        data, ok = self.paginate("ecs", region, "ListTaskDefinitions", status="ACTIVE")
        arns = list(data.get("taskDefinitionArns", []))

        def one(arn: str) -> dict | _Failed:
            got = self.call("ecs", region, "DescribeTaskDefinition", taskDefinition=arn)
            if not got:
                return got
            td = got.get("taskDefinition") or {}
            return {"arn": td.get("taskDefinitionArn") or arn, "region": region,
                    "task_role_arn": td.get("taskRoleArn"), "execution_role_arn": td.get("executionRoleArn")}

        found = self.fan_out(one, arns)
        self.put("ecs_task_definitions", region, [x for x in found if x], ok, *found)

    def state_machines(self, region: str) -> None:
        self.step(f"stepfunctions {region}: state machines")
        data, ok = self.paginate("stepfunctions", region, "ListStateMachines")

        def one(sm: dict) -> dict | _Failed:
            got = self.call("stepfunctions", region, "DescribeStateMachine", stateMachineArn=sm.get("stateMachineArn"))
            if not got:
                return got                                # (the definition is not kept: it may hold secrets)
            return {"arn": got.get("stateMachineArn") or sm.get("stateMachineArn"),
                    "name": got.get("name") or sm.get("name"), "region": region,
                    "role_arn": got.get("roleArn"), "type": got.get("type") or sm.get("type")}

        found = self.fan_out(one, data.get("stateMachines", []))
        self.put("state_machines", region, [x for x in found if x], ok, *found)

    def agentcore_runtimes(self, region: str) -> None:
        self.step(f"bedrock-agentcore {region}: agent runtimes")
        data, ok = self.paginate("bedrock-agentcore-control", region, "ListAgentRuntimes")

        def one(rt: dict) -> dict | _Failed:
            got = self.call("bedrock-agentcore-control", region, "GetAgentRuntime",
                            agentRuntimeId=rt.get("agentRuntimeId"))
            if not got:
                return got                                # (environment variables are not kept)
            auth = got.get("authorizerConfiguration") or {}
            return {"arn": got.get("agentRuntimeArn") or rt.get("agentRuntimeArn"),
                    "name": got.get("agentRuntimeName") or rt.get("agentRuntimeName"), "region": region,
                    "role_arn": got.get("roleArn"), "status": got.get("status") or rt.get("status"),
                    # inbound callers: SigV4 (IAM) unless a JWT authorizer is configured
                    "inbound_auth": "jwt" if auth.get("customJWTAuthorizer") else "iam"}

        found = self.fan_out(one, data.get("agentRuntimes", []))
        self.put("agentcore_runtimes", region, [x for x in found if x], ok, *found)

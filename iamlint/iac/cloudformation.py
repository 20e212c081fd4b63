"""A CloudFormation (or SAM, or CDK-synthesized) template -> the one model, with positions.

Intrinsics are resolved the way CloudFormation would resolve them, as far as the template alone allows:

* `Ref`/`Fn::GetAtt` to a resource of the template give the name or ARN the resource will have. An IAM
  role, user, group, managed policy or instance profile without an explicit name is named after its
  logical id (`arn:aws:iam::ACCOUNT:role/AgentRole`): a stand-in for the name CloudFormation generates.
  Other resources without an explicit name (buckets, keys, secrets...) stay symbolic.
* Parameters take the value given with `--parameter`, else their `Default`; without either (and always
  for `AWS::SSM::Parameter::Value<...>` types) they stay symbolic. `AWS::AccountId` is the account
  (symbolic `000000000000` unless `--account` or `--context` gives it), `AWS::Partition` is `aws` unless
  told otherwise, `AWS::Region` and `AWS::StackName` are symbolic unless `--region` / `--stack-name` give
  them. `Fn::ImportValue`, `Fn::GetAZs`, `Fn::Cidr`, `Fn::Transform` are symbolic.
* Conditions are evaluated three-valued; `Fn::If` on an undecided condition keeps both branches.

Symbolic values become markers (see `symbolic`): decisions that depend on them are Conditional.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from ..errors import InputError
from ..model.account import Kind, Model, Principal
from .build import Builder
from .index import Index, Options, Origin, Suppression
from .positions import Positions, esc, position
from .symbolic import NOVALUE, Alternatives, build_policy, collapse, has_marker, marker, variants

PSEUDO = ("AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::URLSuffix", "AWS::StackName", "AWS::StackId",
          "AWS::NotificationARNs", "AWS::NoValue")
IAM_PRINCIPALS = {"AWS::IAM::Role": Kind.ROLE, "AWS::IAM::User": Kind.USER, "AWS::IAM::Group": Kind.GROUP}
RESOURCE_POLICIES = {
    "AWS::S3::BucketPolicy": ("Bucket", "PolicyDocument"),
    "AWS::KMS::Key": (None, "KeyPolicy"),
    "AWS::SQS::QueuePolicy": ("Queues", "PolicyDocument"),
    "AWS::SNS::TopicPolicy": ("Topics", "PolicyDocument"),
    "AWS::SecretsManager::ResourcePolicy": ("SecretId", "ResourcePolicy"),
    "AWS::Lambda::LayerVersionPermission": ("LayerVersionArn", None),
}
# SAM resources that get a generated role <LogicalId>Role when they name no Role: the service it trusts
SAM_ROLES = {"AWS::Serverless::Function": "lambda.amazonaws.com",
             "AWS::Serverless::StateMachine": "states.amazonaws.com"}
# resources that grant IAM permissions in ways not modeled here: said as input gaps, never dropped silently
UNMODELED = {"AWS::Serverless::Connector": "a SAM connector adds policies to its source's role",
             "AWS::SSO::PermissionSet": "a permission set's policies apply to the accounts it is assigned to",
             "AWS::IAM::ServiceLinkedRole": "a service-linked role's permissions are defined by its service"}
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


def looks_like_cloudformation(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    res = data.get("Resources")
    if isinstance(res, dict) and any(isinstance(r, dict) and isinstance(r.get("Type"), str)
                                     and (r["Type"].startswith(("AWS::", "Custom::", "Alexa::")))
                                     for r in res.values()):
        return True
    if isinstance(res, dict) and any(isinstance(k, str) and k.startswith("Fn::ForEach::") for k in res):
        return True
    return "AWSTemplateFormatVersion" in data and "Resources" in data


class Template:
    def __init__(self, data: Any, positions: Positions, source: str, model: Model, opts: Options, index: Index):
        self.pos = positions
        self.src = source
        self.opts = opts
        self.index = index
        self.model = model
        if not isinstance(data, dict):
            raise self.fail("", "a CloudFormation template must be a mapping")
        self.t = data
        self.params = self._section("Parameters")
        self.mappings = self._section("Mappings")
        self._pending_gaps: list[tuple[str, str]] = []
        # Fn::ForEach (Transform AWS::LanguageExtensions) is expanded first, as CloudFormation does
        loops = not self.pos or any("/Fn::ForEach::" in p for p in self.pos)      # every key has a position
        self.cond_raw = self._foreach(self._section("Conditions"), "/Conditions") if loops else \
            self._section("Conditions")
        self.resources = self._foreach(self._section("Resources"), "/Resources") if loops else \
            self._section("Resources")
        if not self.resources:
            raise self.fail("", "a CloudFormation template needs a Resources section")
        for lid, res in self.resources.items():
            rp = f"/Resources/{esc(lid)}"
            if not isinstance(res, dict):
                raise self.fail(rp, f"resource {lid} must be a mapping")
            if not isinstance(res.get("Type"), str):
                raise self.fail(rp, f"resource {lid} needs a Type (a string)")
            if "Properties" in res and not isinstance(res["Properties"], dict) and res["Properties"] is not None:
                raise self.fail(f"{rp}/Properties", f"Properties of {lid} must be a mapping")
        glb = data.get("Globals") or {}
        if not isinstance(glb, dict):
            raise self.fail("/Globals", "Globals must be a mapping")
        self.fn_globals = glb.get("Function") or {}
        if not isinstance(self.fn_globals, dict):
            raise self.fail("/Globals/Function", "Globals.Function must be a mapping")
        # SAM functions without a Role get a generated role named <LogicalId>Role
        self.virtual: dict[str, str] = {}
        for lid, res in self.resources.items():
            if res["Type"] in SAM_ROLES and "Role" not in self.props_raw(lid):
                self.virtual[f"{lid}Role"] = lid
        self._attrs: dict[str, dict] = {}
        self._busy: set[str] = set()
        self._conds: dict[str, bool | None] = {}
        self.b = Builder(model, index, opts, source, "cloudformation")
        for code, message in self._pending_gaps:
            self.b.gap(code, message)

    # ---------------------------------------------------------------- helpers
    def _section(self, name: str) -> dict:
        v = self.t.get(name)
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise self.fail(f"/{name}", f"{name} must be a mapping")
        return v

    # ---------------------------------------------------------------- Fn::ForEach
    def _foreach(self, v: Any, ptr: str) -> Any:
        """`Fn::ForEach::Name: [Identifier, [values], {OutputKey: fragment}]` keys of every mapping below `v`,
        replaced by one copy of the fragment per value (`${Identifier}` / `&{Identifier}` in keys and in
        Fn::Sub, `Ref: Identifier`), loops nested in loops too. Each copy keeps the lines of the fragment
        it comes from."""
        return self._expand(v, ptr, ptr, {}, 0)

    def _expand(self, v: Any, ptr: str, src: str, env: dict, depth: int) -> Any:
        if depth > 200:
            raise self.fail(src, "the template is nested too deeply")
        if ptr != src and src in self.pos:
            self.pos.setdefault(ptr, self.pos[src])
        if isinstance(v, list):
            return [self._expand(x, f"{ptr}/{i}", f"{src}/{i}", env, depth + 1) for i, x in enumerate(v)]
        if not isinstance(v, dict):
            return v
        if env and len(v) == 1:
            k, x = next(iter(v.items()))
            if k == "Ref" and isinstance(x, str) and x in env:
                return env[x]
            if k == "Fn::Sub" and isinstance(x, str):
                return {k: _foreach_sub(x, env)}
            if k == "Fn::Sub" and isinstance(x, list) and x and isinstance(x[0], str):
                return {k: [_foreach_sub(x[0], env)] + [
                    self._expand(y, f"{ptr}/Fn::Sub/{i}", f"{src}/Fn::Sub/{i}", env, depth + 1)
                    for i, y in enumerate(x[1:], 1)]}
        out: dict = {}
        for k, x in v.items():
            key = _foreach_sub(k, env) if env and isinstance(k, str) else k
            self._entry(out, v, key, x, ptr, f"{src}/{esc(k)}", env, depth + 1)
        return out

    def _entry(self, out: dict, written: dict, key: Any, x: Any, ptr: str, xsrc: str, env: dict, depth: int) -> None:
        if not (isinstance(key, str) and key.startswith("Fn::ForEach::")):
            np = f"{ptr}/{esc(key)}"
            if key in out:
                raise self.fail(xsrc, f"Fn::ForEach makes the key {key!r} twice")
            out[key] = self._expand(x, np, xsrc, env, depth)
            return
        if not isinstance(x, list) or len(x) != 3 or not isinstance(x[0], str) or not isinstance(x[2], dict):
            raise self.fail(xsrc, f"{key} takes [Identifier, [values], {{OutputKey: OutputValue}}]")
        ident, coll, body = x
        coll = self._expand(coll, f"{xsrc}/1", f"{xsrc}/1", env, depth) if env else coll
        values = self._foreach_values(key, coll, f"{xsrc}/1")
        for val in values or []:
            env2 = {**env, ident: val}
            for ok, ov in body.items():
                okey = _foreach_sub(ok, env2) if isinstance(ok, str) else ok
                self._entry(out, written, okey, ov, ptr, f"{xsrc}/2/{esc(ok)}", env2, depth + 1)

    def _foreach_values(self, k: str, coll: Any, ptr: str) -> list[str] | None:
        if isinstance(coll, dict) and set(coll) == {"Ref"} and isinstance(coll["Ref"], str) \
                and coll["Ref"] in self.params:
            pname = coll["Ref"]
            coll = self.param(pname)
            if isinstance(coll, str) and has_marker(coll):
                self._pending_gaps.append(("UnknownForEach", f"line {self.line(ptr)[0]}: {k} loops over parameter "
                                           f"{pname}, known only at deploy time: what it makes is not modeled "
                                           "(give it with --parameter)"))
                return None
        if isinstance(coll, str):
            coll = [x.strip() for x in coll.split(",")] if coll else []
        if not isinstance(coll, list) or not all(isinstance(c, (str, int, float)) and not isinstance(c, bool)
                                                 for c in coll):
            if isinstance(coll, (dict, list)):
                self._pending_gaps.append(("UnknownForEach", f"line {self.line(ptr)[0]}: the collection of {k} "
                                           "is not a list of values the template alone decides: what it makes is "
                                           "not modeled"))
                return None
            raise self.fail(ptr, f"{k}: the collection must be a list of strings, not {_type(coll)}")
        return [str(c) for c in coll]

    def fail(self, ptr: str, message: str) -> InputError:
        pos = position(self.pos, ptr)
        return InputError(message, self.src, f"line {pos[0]}" if pos else (ptr or "/"))

    def line(self, ptr: str) -> tuple[int | None, int | None]:
        pos = position(self.pos, ptr)
        return (pos[0], pos[1]) if pos else (None, None)

    def props_raw(self, lid: str) -> dict:
        return self.resources[lid].get("Properties") or {}

    def rptr(self, lid: str) -> str:
        return f"/Resources/{esc(lid)}"

    def origin(self, lid: str, condition: str | None = None) -> Origin:
        ptr = self.rptr(lid)
        line, col = self.line(ptr)
        return Origin(self.src, lid, line, col, ptr, "cloudformation", condition)

    # ---------------------------------------------------------------- intrinsics
    def resolve(self, v: Any, ptr: str) -> Any:
        if isinstance(v, dict):
            if len(v) == 1:
                k = next(iter(v))
                if k == "Ref":
                    return self.ref(v[k], f"{ptr}/Ref")
                if isinstance(k, str) and k.startswith("Fn::"):
                    return self.fn(k, v[k], f"{ptr}/{esc(k)}")
            out = {}
            for k, x in v.items():
                r = self.resolve(x, f"{ptr}/{esc(k)}")
                if r is not NOVALUE:
                    out[k] = r
            return out
        if isinstance(v, list):
            out_l = []
            for i, x in enumerate(v):
                r = self.resolve(x, f"{ptr}/{i}")
                if r is not NOVALUE:
                    out_l.append(r)
            return out_l
        return v

    def text(self, v: Any, ptr: str, what: str) -> str:
        v = collapse(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        if isinstance(v, str):
            return v
        if v is NOVALUE:
            raise self.fail(ptr, f"{what}: AWS::NoValue is not a value here")
        raise self.fail(ptr, f"{what} takes text, not {_type(v)}")

    def ref(self, name: Any, ptr: str) -> Any:
        name = self.resolve(name, ptr)
        if not isinstance(name, str):
            raise self.fail(ptr, f"Ref takes the name of a parameter or resource, not {_type(name)}")
        o = self.opts
        if name.startswith("AWS::"):
            if name not in PSEUDO:
                raise self.fail(ptr, f"unknown pseudo parameter {name}")
            return {
                "AWS::AccountId": o.account,
                "AWS::Region": o.region or marker("Ref:AWS::Region"),
                "AWS::Partition": o.partition,
                "AWS::URLSuffix": "amazonaws.com.cn" if o.partition == "aws-cn" else "amazonaws.com",
                "AWS::StackName": o.stack_name or marker("Ref:AWS::StackName"),
                "AWS::StackId": marker("Ref:AWS::StackId"),
                "AWS::NotificationARNs": marker("Ref:AWS::NotificationARNs"),
                "AWS::NoValue": NOVALUE,
            }[name]
        if name in self.params:
            return self.param(name)
        if name in self.resources or name in self.virtual:
            return self.attr(name, "Ref", ptr)
        raise self.fail(ptr, f"Ref to {name!r}, which is neither a parameter nor a resource of the template")

    def param(self, name: str) -> Any:
        spec = self.params.get(name) or {}
        if not isinstance(spec, dict):
            raise self.fail(f"/Parameters/{esc(name)}", f"parameter {name} must be a mapping")
        ptype = str(spec.get("Type", "String"))
        if name in self.opts.parameters:
            value: Any = self.opts.parameters[name]
        elif "Default" in spec and not ptype.startswith("AWS::SSM::Parameter::Value"):
            value = spec["Default"]
        else:
            return marker(f"Ref:{name}")
        if isinstance(value, list):
            value = ",".join(str(x) for x in value)
        value = str(value) if not isinstance(value, str) else value
        if ptype.startswith("List<") or ptype == "CommaDelimitedList":
            return [x.strip() for x in value.split(",")] if value else []
        return value

    def fn(self, k: str, arg: Any, ptr: str) -> Any:
        if k == "Fn::GetAtt":
            if isinstance(arg, str):
                if "." not in arg:
                    raise self.fail(ptr, f"Fn::GetAtt {arg!r} must be LogicalId.Attribute")
                arg = arg.split(".", 1)
            if not isinstance(arg, list) or len(arg) != 2:
                raise self.fail(ptr, "Fn::GetAtt takes [LogicalId, Attribute]")
            lid = arg[0]
            attr = self.text(self.resolve(arg[1], f"{ptr}/1"), f"{ptr}/1", "Fn::GetAtt")
            if not isinstance(lid, str) or (lid not in self.resources and lid not in self.virtual):
                raise self.fail(ptr, f"Fn::GetAtt to {lid!r}, which is not a resource of the template")
            return self.attr(lid, attr, ptr)
        if k == "Fn::Sub":
            if isinstance(arg, list):
                if len(arg) != 2 or not isinstance(arg[1], dict):
                    raise self.fail(ptr, "Fn::Sub takes a string or [string, {variables}]")
                tmpl, vars_raw = arg
                variables = {n: self.resolve(x, f"{ptr}/1/{esc(n)}") for n, x in vars_raw.items()}
            else:
                tmpl, variables = arg, {}
            if not isinstance(tmpl, str):
                raise self.fail(ptr, f"Fn::Sub takes a string, not {_type(tmpl)}")
            return self.sub(tmpl, variables, ptr)
        if k == "Fn::Join":
            if not isinstance(arg, list) or len(arg) != 2:
                raise self.fail(ptr, "Fn::Join takes [delimiter, [values]]")
            delim = self.text(self.resolve(arg[0], f"{ptr}/0"), f"{ptr}/0", "Fn::Join")
            items = self.resolve(arg[1], f"{ptr}/1")
            items = collapse(items)
            if isinstance(items, str) and has_marker(items):
                return items
            if not isinstance(items, list):
                raise self.fail(f"{ptr}/1", f"Fn::Join takes a list of values, not {_type(items)}")
            return delim.join(self.text(x, f"{ptr}/1", "Fn::Join") for x in items)
        if k == "Fn::If":
            if not isinstance(arg, list) or len(arg) != 3 or not isinstance(arg[0], str):
                raise self.fail(ptr, "Fn::If takes [ConditionName, value if true, value if false]")
            c = self.condition(arg[0], f"{ptr}/0")
            if c is True:
                return self.resolve(arg[1], f"{ptr}/1")
            if c is False:
                return self.resolve(arg[2], f"{ptr}/2")
            a, b = self.resolve(arg[1], f"{ptr}/1"), self.resolve(arg[2], f"{ptr}/2")
            return a if a == b else Alternatives(arg[0], (a, b))
        if k == "Fn::Select":
            if not isinstance(arg, list) or len(arg) != 2:
                raise self.fail(ptr, "Fn::Select takes [index, [values]]")
            idx = collapse(self.resolve(arg[0], f"{ptr}/0"))
            items = collapse(self.resolve(arg[1], f"{ptr}/1"))
            if has_marker(idx) or (isinstance(items, str) and has_marker(items)):
                return marker("Select")
            try:
                i = int(idx)
            except (TypeError, ValueError):
                raise self.fail(f"{ptr}/0", f"Fn::Select index must be a number, not {idx!r}") from None
            if not isinstance(items, list):
                raise self.fail(f"{ptr}/1", f"Fn::Select takes a list, not {_type(items)}")
            if not 0 <= i < len(items):
                raise self.fail(ptr, f"Fn::Select index {i} is out of range (the list has {len(items)})")
            return items[i]
        if k == "Fn::Split":
            if not isinstance(arg, list) or len(arg) != 2:
                raise self.fail(ptr, "Fn::Split takes [delimiter, string]")
            delim = self.text(self.resolve(arg[0], f"{ptr}/0"), f"{ptr}/0", "Fn::Split")
            s = self.text(self.resolve(arg[1], f"{ptr}/1"), f"{ptr}/1", "Fn::Split")
            if has_marker(s):
                return s
            return s.split(delim)
        if k == "Fn::FindInMap":
            if not isinstance(arg, list) or len(arg) not in (3, 4):
                raise self.fail(ptr, "Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]")
            keys = [self.text(self.resolve(x, f"{ptr}/{i}"), f"{ptr}/{i}", "Fn::FindInMap")
                    for i, x in enumerate(arg[:3])]
            if any(has_marker(x) for x in keys):
                return marker("FindInMap:" + ".".join(keys))
            m = self.mappings.get(keys[0])
            if not isinstance(m, dict):
                raise self.fail(ptr, f"Fn::FindInMap: no mapping {keys[0]!r}")
            top = m.get(keys[1])
            if not isinstance(top, dict) or keys[2] not in top:
                if len(arg) == 4:
                    # AWS::LanguageExtensions: the fourth argument is {DefaultValue: value}
                    dflt = arg[3]
                    if not isinstance(dflt, dict) or set(dflt) != {"DefaultValue"}:
                        raise self.fail(f"{ptr}/3", "the fourth argument of Fn::FindInMap is {DefaultValue: value}")
                    return self.resolve(dflt["DefaultValue"], f"{ptr}/3/DefaultValue")
                raise self.fail(ptr, f"Fn::FindInMap: mapping {keys[0]} has no {keys[1]}.{keys[2]}")
            return self.resolve(top[keys[2]], f"/Mappings/{esc(keys[0])}/{esc(keys[1])}/{esc(keys[2])}")
        if k == "Fn::ImportValue":
            v = collapse(self.resolve(arg, ptr))
            return marker(f"ImportValue:{v if isinstance(v, str) and not has_marker(v) else '?'}")
        if k == "Fn::Base64":
            s = self.text(self.resolve(arg, ptr), ptr, "Fn::Base64")
            return marker("Base64") if has_marker(s) else base64.b64encode(s.encode()).decode()
        if k in ("Fn::Cidr", "Fn::GetAZs", "Fn::Transform"):
            self.resolve(arg, ptr)
            return marker(k[4:])
        if k == "Fn::ToJsonString":
            v = collapse(self.resolve(arg, ptr))
            return marker("ToJsonString") if has_marker(v) else json.dumps(v, separators=(",", ":"))
        if k == "Fn::Length":
            v = collapse(self.resolve(arg, ptr))
            return len(v) if isinstance(v, list) else marker("Length")
        if k in ("Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not"):
            raise self.fail(ptr, f"{k} belongs in the Conditions section (use Fn::If and a condition name here)")
        raise self.fail(ptr, f"unknown intrinsic function {k}")

    def sub(self, tmpl: str, variables: dict, ptr: str) -> str:
        def one(m: re.Match) -> str:
            inner = m.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"
            name = inner.strip()
            if name in variables:
                return self.text(variables[name], ptr, "Fn::Sub")
            if name in PSEUDO or name in self.params or name in self.resources or name in self.virtual:
                return self.text(self.ref(name, ptr), ptr, "Fn::Sub")
            if "." in name:
                lid, attr = name.split(".", 1)
                if lid in self.resources or lid in self.virtual:
                    return self.text(self.attr(lid, attr, ptr), ptr, "Fn::Sub")
            if ":" in name and not name.startswith("AWS::"):
                return "${" + inner + "}"          # an IAM policy variable written without the ! escape
            raise self.fail(ptr, f"Fn::Sub variable ${{{name}}} is neither a parameter, a resource nor a "
                                 "pseudo parameter")
        return _SUB_VAR.sub(one, tmpl)

    # ---------------------------------------------------------------- conditions
    def condition(self, name: str, ptr: str) -> bool | None:
        if name in self._conds:
            return self._conds[name]
        if name not in self.cond_raw:
            raise self.fail(ptr, f"unknown condition {name!r}")
        if f"cond:{name}" in self._busy:
            raise self.fail(f"/Conditions/{esc(name)}", f"condition {name} refers to itself")
        self._busy.add(f"cond:{name}")
        try:
            val = self.eval_cond(self.cond_raw[name], f"/Conditions/{esc(name)}")
        finally:
            self._busy.discard(f"cond:{name}")
        self._conds[name] = val
        return val

    def eval_cond(self, v: Any, ptr: str) -> bool | None:
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.lower() in ("true", "false"):
            return v.lower() == "true"
        if not isinstance(v, dict) or len(v) != 1:
            raise self.fail(ptr, "a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition")
        k, arg = next(iter(v.items()))
        p = f"{ptr}/{esc(k)}"
        if k == "Condition":
            if not isinstance(arg, str):
                raise self.fail(p, "Condition takes a condition name")
            return self.condition(arg, p)
        if k == "Fn::Equals":
            if not isinstance(arg, list) or len(arg) != 2:
                raise self.fail(p, "Fn::Equals takes [value, value]")
            a, b = (collapse(self.resolve(x, f"{p}/{i}")) for i, x in enumerate(arg))
            if has_marker(a) or has_marker(b):
                return None
            return _cmp_text(a) == _cmp_text(b)
        if k in ("Fn::And", "Fn::Or"):
            if not isinstance(arg, list) or not arg:
                raise self.fail(p, f"{k} takes a list of conditions")
            vals = [self.eval_cond(x, f"{p}/{i}") for i, x in enumerate(arg)]
            if k == "Fn::And":
                return False if False in vals else (None if None in vals else True)
            return True if True in vals else (None if None in vals else False)
        if k == "Fn::Not":
            if not isinstance(arg, list) or len(arg) != 1:
                raise self.fail(p, "Fn::Not takes [condition]")
            x = self.eval_cond(arg[0], f"{p}/0")
            return None if x is None else not x
        raise self.fail(p, f"{k} is not a condition function")

    # ---------------------------------------------------------------- names and ARNs
    def name_prop(self, lid: str, key: str, default: str | None) -> str | None:
        raw = self.props_raw(lid)
        if key not in raw:
            return default
        v = self.text(self.resolve(raw[key], f"{self.rptr(lid)}/Properties/{esc(key)}"),
                      f"{self.rptr(lid)}/Properties/{esc(key)}", key)
        return v

    def path_prop(self, lid: str, key: str = "Path") -> str:
        p = self.name_prop(lid, key, "/") or "/"
        if not has_marker(p) and not (p.startswith("/") and p.endswith("/")):
            raise self.fail(f"{self.rptr(lid)}/Properties/{key}", f"{key} must begin and end with /, not {p!r}")
        return p

    def attrs_of(self, lid: str) -> dict:
        self.attr(lid, "Ref", self.rptr(lid))
        return self._attrs.get(lid, {})

    def attr(self, lid: str, attr: str, ptr: str) -> Any:
        if lid in self._busy:
            return marker(f"GetAtt:{lid}.{attr}")
        if lid not in self._attrs:
            self._busy.add(lid)
            try:
                self._attrs[lid] = self._compute_attrs(lid)
            finally:
                self._busy.discard(lid)
        attrs = self._attrs[lid]
        if attr in attrs:
            return attrs[attr]
        return marker(f"GetAtt:{lid}.{attr}" if attr != "Ref" else f"Ref:{lid}")

    def _compute_attrs(self, lid: str) -> dict:
        o = self.opts
        part, acct = o.partition, o.account
        region = o.region or marker("Ref:AWS::Region")
        if lid in self.virtual:
            path = self.path_prop(self.virtual[lid], "RolePath") if "RolePath" in self.props_raw(self.virtual[lid]) \
                else "/"
            return {"Ref": lid, "Arn": f"arn:{part}:iam::{acct}:role{path}{lid}",
                    "RoleId": marker(f"GetAtt:{lid}.RoleId")}
        res = self.resources[lid]
        typ = res["Type"]
        if res.get("Condition") is not None and self.resource_condition(lid) is False:
            return {}
        if typ == "AWS::IAM::Role":
            name, path = self.name_prop(lid, "RoleName", lid), self.path_prop(lid)
            return {"Ref": name, "Arn": f"arn:{part}:iam::{acct}:role{path}{name}",
                    "RoleId": marker(f"GetAtt:{lid}.RoleId")}
        if typ == "AWS::IAM::User":
            name, path = self.name_prop(lid, "UserName", lid), self.path_prop(lid)
            return {"Ref": name, "Arn": f"arn:{part}:iam::{acct}:user{path}{name}"}
        if typ == "AWS::IAM::Group":
            name, path = self.name_prop(lid, "GroupName", lid), self.path_prop(lid)
            return {"Ref": name, "Arn": f"arn:{part}:iam::{acct}:group{path}{name}"}
        if typ == "AWS::IAM::ManagedPolicy":
            name, path = self.name_prop(lid, "ManagedPolicyName", lid), self.path_prop(lid)
            arn = f"arn:{part}:iam::{acct}:policy{path}{name}"
            return {"Ref": arn, "PolicyArn": arn}
        if typ == "AWS::IAM::InstanceProfile":
            name, path = self.name_prop(lid, "InstanceProfileName", lid), self.path_prop(lid)
            return {"Ref": name, "Arn": f"arn:{part}:iam::{acct}:instance-profile{path}{name}"}
        if typ == "AWS::IAM::OIDCProvider":
            url = self.name_prop(lid, "Url", None) or marker(f"GetAtt:{lid}.Url")
            host = re.sub(r"^https://", "", url)
            arn = f"arn:{part}:iam::{acct}:oidc-provider/{host}"
            return {"Ref": arn, "Arn": arn}
        if typ == "AWS::IAM::SAMLProvider":
            name = self.name_prop(lid, "Name", lid)
            arn = f"arn:{part}:iam::{acct}:saml-provider/{name}"
            return {"Ref": arn, "Arn": arn}
        if typ in ("AWS::Lambda::Function", "AWS::Serverless::Function"):
            name = self.name_prop(lid, "FunctionName", None) or marker(f"Ref:{lid}")
            return {"Ref": name, "Arn": f"arn:{part}:lambda:{region}:{acct}:function:{name}"}
        if typ == "AWS::S3::Bucket":
            name = self.name_prop(lid, "BucketName", None) or marker(f"Ref:{lid}")
            return {"Ref": name, "Arn": f"arn:{part}:s3:::{name}"}
        if typ == "AWS::SecretsManager::Secret":
            name = self.name_prop(lid, "Name", None) or marker(f"Ref:{lid}")
            arn = f"arn:{part}:secretsmanager:{region}:{acct}:secret:{name}-{marker(f'GetAtt:{lid}.Suffix')}"
            return {"Ref": arn, "Id": arn}
        if typ == "AWS::KMS::Key":
            kid = marker(f"Ref:{lid}")
            return {"Ref": kid, "KeyId": kid, "Arn": f"arn:{part}:kms:{region}:{acct}:key/{kid}"}
        if typ == "AWS::DynamoDB::Table":
            name = self.name_prop(lid, "TableName", None) or marker(f"Ref:{lid}")
            return {"Ref": name, "Arn": f"arn:{part}:dynamodb:{region}:{acct}:table/{name}"}
        if typ == "AWS::SQS::Queue":
            name = self.name_prop(lid, "QueueName", None) or marker(f"Ref:{lid}")
            return {"Ref": f"https://sqs.{region}.amazonaws.com/{acct}/{name}", "QueueName": name,
                    "Arn": f"arn:{part}:sqs:{region}:{acct}:{name}"}
        if typ == "AWS::SNS::Topic":
            name = self.name_prop(lid, "TopicName", None) or marker(f"Ref:{lid}")
            arn = f"arn:{part}:sns:{region}:{acct}:{name}"
            return {"Ref": arn, "TopicArn": arn, "TopicName": name}
        return {}

    def resource_condition(self, lid: str) -> bool | None:
        cname = self.resources[lid].get("Condition")
        if cname is None:
            return True
        if not isinstance(cname, str):
            raise self.fail(f"{self.rptr(lid)}/Condition", "a resource's Condition must be a condition name")
        return self.condition(cname, f"{self.rptr(lid)}/Condition")

    # ---------------------------------------------------------------- typed properties
    def prop(self, lid: str, key: str, default: Any = None) -> Any:
        raw = self.props_raw(lid)
        if key not in raw:
            return default
        v = self.resolve(raw[key], self.pptr(lid, key))
        return default if v is NOVALUE else v

    def pptr(self, lid: str, key: str) -> str:
        return f"{self.rptr(lid)}/Properties/{esc(key)}"

    def prop_list(self, lid: str, key: str) -> list:
        v = self.prop(lid, key, [])
        if isinstance(v, (str, Alternatives)) and (isinstance(v, Alternatives) or has_marker(v)):
            return [v]
        if not isinstance(v, list):
            raise self.fail(self.pptr(lid, key), f"{key} must be a list, not {_type(v)}")
        return v

    def prop_str(self, lid: str, key: str, default: str | None = None) -> str | None:
        v = self.prop(lid, key, None)
        if v is None:
            return default
        v = collapse(v)
        if not isinstance(v, str):
            raise self.fail(self.pptr(lid, key), f"{key} must be a string, not {_type(v)}")
        return v

    def prop_int(self, lid: str, key: str) -> int | None:
        v = collapse(self.prop(lid, key, None))
        if v is None or (isinstance(v, str) and has_marker(v)):
            return None
        if isinstance(v, str) and v.isdigit():
            return int(v)
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.fail(self.pptr(lid, key), f"{key} must be a whole number, not {_type(v)}")
        return v

    def names(self, lid: str, key: str) -> list[tuple[str, tuple[str, ...]]]:
        """A list of names (Roles, Users, Groups): [(name, tags)] with tags for undecided Fn::If."""
        return [(v, tags) for _i, v, tags in self.names_at(lid, key)]

    def names_at(self, lid: str, key: str) -> list[tuple[int, str, tuple[str, ...]]]:
        """`names`, each with the index of the list entry it comes from."""
        out = []
        for i, item in enumerate(self.prop_list(lid, key)):
            for v, tags in (variants(item) if isinstance(item, Alternatives) else [(item, ())]):
                if v is NOVALUE:
                    continue
                # `!If [C, [a, b], !Ref AWS::NoValue]` for the whole list: each branch's names, tagged
                for x in (v if isinstance(v, list) and isinstance(item, Alternatives) else [v]):
                    if not isinstance(x, str):
                        raise self.fail(f"{self.pptr(lid, key)}/{i}", f"{key} entries must be names, not {_type(x)}")
                    out.append((i, x, tags))
        return out

    def tags(self, lid: str) -> dict[str, str]:
        raw = self.prop(lid, "Tags", None)
        if raw is None:
            return {}
        if isinstance(raw, Alternatives):
            raw = collapse(raw)
        if isinstance(raw, str) and has_marker(raw):
            return {}           # known at deploy time only: no tag is certain (none suppresses anything)
        if isinstance(raw, dict):
            return {str(k): str(v) for k, v in collapse(raw).items()}
        if not isinstance(raw, list):
            raise self.fail(self.pptr(lid, "Tags"), f"Tags must be a list of Key/Value, not {_type(raw)}")
        out = {}
        for i, t in enumerate(raw):
            if isinstance(t, Alternatives):
                # a tag under an undecided Fn::If: kept only when every branch gives it
                t = collapse(t)
                if isinstance(t, str) and has_marker(t):
                    continue
            t = collapse(t)
            if not isinstance(t, dict) or "Key" not in t:
                raise self.fail(f"{self.pptr(lid, 'Tags')}/{i}", "each tag needs a Key and a Value")
            out[str(t["Key"])] = str(t.get("Value", ""))
        return out

    def policy(self, lid: str, raw: Any, ptr: str, kind: str, tags: tuple[str, ...] = ()):
        def resolve(v: Any, at: str) -> Any:
            return self._accounts_in(self.resolve(v, at), at)
        doc, stmts = build_policy(raw, kind, self.src, ptr, self.pos, resolve, tags)
        return doc, stmts

    # ---------------------------------------------------------------- account ids written as numbers
    def account_text(self, v: Any, ptr: str, what: str) -> Any:
        """An account id written as a number (`AWS: 123456789012` unquoted in YAML, or a JSON number) is the
        12-digit text, as CloudFormation passes it on. A number of any other length is no account id: the
        usual cause is YAML 1.1 (which CloudFormation reads) taking an unquoted id with a leading 0 as octal
        (`012345670123` is 1402433619), so the message shows the id that was probably written."""
        if isinstance(v, bool) or not isinstance(v, int):
            return v
        text = str(v)
        if len(text) == 12:
            return text
        octal = format(v, "o") if v > 0 else ""
        hint = (f"; was it written 0{octal.zfill(11)} without quotes? YAML 1.1, which CloudFormation reads, takes "
                "a number with a leading 0 as octal: quote the account id") if 0 < len(octal) <= 11 else \
            "; quote the account id"
        raise self.fail(ptr, f"{what}: the number {v} is not a 12-digit account id{hint}")

    def _accounts_in(self, v: Any, ptr: str) -> Any:
        """Account ids written as numbers, as text, in a resolved policy document or statement: Principal and
        NotPrincipal AWS entries and the values of condition keys that name an account (aws:SourceAccount,
        aws:ResourceAccount, s3:ResourceAccount ...)."""
        if isinstance(v, Alternatives):
            return Alternatives(v.condition, tuple(self._accounts_in(b, ptr) for b in v.branches))
        if isinstance(v, list):
            return [self._accounts_in(x, f"{ptr}/{i}") for i, x in enumerate(v)]
        if not isinstance(v, dict):
            return v
        if "Statement" in v:
            st = v["Statement"]
            return dict(v, Statement=self._accounts_in(st, f"{ptr}/Statement"))
        out = dict(v)
        for key in ("Principal", "NotPrincipal"):
            pr = out.get(key)
            if isinstance(pr, dict) and "AWS" in pr:
                aws, ap = pr["AWS"], f"{ptr}/{key}/AWS"
                aws = [self.account_text(x, f"{ap}/{i}", f"{key} AWS") for i, x in enumerate(aws)] \
                    if isinstance(aws, list) else self.account_text(aws, ap, f"{key} AWS")
                out[key] = dict(pr, AWS=aws)
        cond = out.get("Condition")
        if isinstance(cond, dict):
            newc = {}
            for op, block in cond.items():
                if isinstance(block, dict):
                    block = {k: (self._account_values(x, f"{ptr}/Condition/{esc(op)}/{esc(k)}", k)
                                 if isinstance(k, str) and k.lower().endswith("account") else x)
                             for k, x in block.items()}
                newc[op] = block
            out["Condition"] = newc
        return out

    def _account_values(self, x: Any, ptr: str, key: str) -> Any:
        if isinstance(x, list):
            return [self.account_text(y, f"{ptr}/{i}", key) for i, y in enumerate(x)]
        return self.account_text(x, ptr, key)

    # ---------------------------------------------------------------- loading
    def load(self) -> None:
        live: dict[str, str | None] = {}     # logical id -> undecided condition name (None: unconditional)
        self.suppressions("")
        for lid in self.resources:
            c = self.resource_condition(lid)
            if c is False:
                continue
            live[lid] = None if c is True else self.resources[lid]["Condition"]
            self.suppressions(lid)
        order = ["AWS::IAM::ManagedPolicy", "principals", "attachments", "other"]
        groups: dict[str, list[str]] = {k: [] for k in order}
        for lid in live:
            typ = self.resources[lid]["Type"]
            if typ == "AWS::IAM::ManagedPolicy":
                groups["AWS::IAM::ManagedPolicy"].append(lid)
            elif typ in IAM_PRINCIPALS or typ in SAM_ROLES:
                groups["principals"].append(lid)
            elif typ in ("AWS::IAM::Policy", "AWS::IAM::RolePolicy", "AWS::IAM::UserPolicy", "AWS::IAM::GroupPolicy",
                         "AWS::IAM::UserToGroupAddition", "AWS::IAM::InstanceProfile"):
                groups["attachments"].append(lid)
            else:
                groups["other"].append(lid)
        for lid in groups["AWS::IAM::ManagedPolicy"]:
            self.managed_policy(lid, live[lid])
        for lid in groups["principals"]:
            if self.resources[lid]["Type"] in SAM_ROLES:
                self.sam_function(lid, live[lid])
            else:
                self.principal(lid, live[lid])
        for lid in groups["principals"]:
            if self.resources[lid]["Type"] == "AWS::IAM::User":
                self.user_groups(lid, live[lid])
        for lid in groups["AWS::IAM::ManagedPolicy"]:
            self.managed_policy_attach(lid, live[lid])
        for lid in groups["attachments"]:
            self.attachment(lid, live[lid])
        for lid in groups["other"]:
            self.other(lid, live[lid])
        self.b.finish()

    def cond_tags(self, cond: str | None) -> tuple[str, ...]:
        return (f"If:{cond}",) if cond else ()

    # principals ------------------------------------------------------------
    def principal(self, lid: str, cond: str | None) -> None:
        typ = self.resources[lid]["Type"]
        kind = IAM_PRINCIPALS[typ]
        attrs = self.attrs_of(lid)
        arn, name = attrs["Arn"], attrs["Ref"]
        path = self.path_prop(lid)
        origin = self.origin(lid, cond)
        p = Principal(arn=arn, name=name, kind=kind, account=self.opts.account, path=path, tags=self.tags(lid))
        if kind is Kind.ROLE:
            raw = self.props_raw(lid)
            if "AssumeRolePolicyDocument" not in raw:
                raise self.fail(self.rptr(lid), f"AWS::IAM::Role {lid} needs an AssumeRolePolicyDocument")
            ptr = self.pptr(lid, "AssumeRolePolicyDocument")
            p.trust_policy, stmts = self.policy(lid, raw["AssumeRolePolicyDocument"], ptr, "trust")
            self.index.document(p.trust_policy, origin, ptr, stmts)
            p.max_session_duration = self.prop_int(lid, "MaxSessionDuration")
        if kind is not Kind.GROUP:
            b = self.prop_str(lid, "PermissionsBoundary")
            p.permissions_boundary = b
        self.b.add(p, origin)
        self.inline_policies(lid, p, origin)
        listed = isinstance(self.props_raw(lid).get("ManagedPolicyArns"), list)
        for i, arn_, tags in self.names_at(lid, "ManagedPolicyArns"):
            # a conditional attachment points at its entry, as an unconditional one does
            self.b.attach(p, arn_, tags, self.entry_origin(lid, f"{self.pptr(lid, 'ManagedPolicyArns')}/{i}", origin)
                          if tags and listed else origin)
        self._attachment_positions(lid, p.arn, origin)

    def entry_origin(self, lid: str, ptr: str, origin: Origin) -> Origin:
        line, col = self.line(ptr)
        return Origin(self.src, lid, line, col, ptr, "cloudformation", origin.condition)

    def _attachment_positions(self, lid: str, principal: str, origin: Origin) -> None:
        raw = self.props_raw(lid).get("ManagedPolicyArns")
        if not isinstance(raw, list):
            return
        for i, item in enumerate(raw):
            ptr = f"{self.pptr(lid, 'ManagedPolicyArns')}/{i}"
            v = collapse(self.resolve(item, ptr))
            if isinstance(v, str):
                line, col = self.line(ptr)
                self.index.attachment(principal, v, Origin(self.src, lid, line, col, ptr, "cloudformation",
                                                          origin.condition))

    def inline_policies(self, lid: str, p: Principal, origin: Origin, key: str = "Policies") -> None:
        raw = self.props_raw(lid).get(key)
        if raw is None:
            return
        base = self.pptr(lid, key)
        entries: list[tuple[str, Any, tuple[str, ...]]] = []       # (pointer, entry, condition tags)
        if isinstance(raw, dict) and len(raw) == 1 and next(iter(raw)) in ("Fn::If", "Ref"):
            # the whole list under Fn::If (or !Ref AWS::NoValue): each branch's entries, tagged
            v = self.resolve(raw, base)
            for lst, tags in (variants(v) if isinstance(v, Alternatives) else [(v, ())]):
                if lst is NOVALUE:
                    continue
                if not isinstance(lst, list):
                    raise self.fail(base, f"{key} must be a list of {{PolicyName, PolicyDocument}}")
                entries.extend((base, item, tags) for item in lst)
        elif not isinstance(raw, list):
            raise self.fail(base, f"{key} must be a list of {{PolicyName, PolicyDocument}}")
        else:
            for i, item in enumerate(raw):
                ip = f"{base}/{i}"
                if isinstance(item, dict) and len(item) == 1 and next(iter(item)) == "Fn::If":
                    v = self.resolve(item, ip)
                    entries.extend((ip, c, t) for c, t in (variants(v) if isinstance(v, Alternatives) else [(v, ())]))
                else:
                    entries.append((ip, item, ()))
        named: list[tuple[str, str, Any, tuple[str, ...]]] = []
        for ip, choice, tags in entries:
            if choice is NOVALUE:
                continue
            if not isinstance(choice, dict) or "PolicyDocument" not in choice or "PolicyName" not in choice:
                raise self.fail(ip, f"{key} entries need PolicyName and PolicyDocument")
            pname = self.text(self.resolve(choice["PolicyName"], f"{ip}/PolicyName"), f"{ip}/PolicyName",
                              "PolicyName")
            named.append((ip, pname, choice, tags))
        counts: dict[str, int] = {}
        for _ip, pname, _c, _t in named:
            counts[pname] = counts.get(pname, 0) + 1
        seen: dict[str, int] = {}
        for ip, pname, choice, tags in named:
            if counts[pname] > 1 and tags:
                # the branches of an undecided Fn::If may share a name: each is kept (one would replace the other)
                seen[pname] = seen.get(pname, 0) + 1
                pname = f"{pname} (depends on {', '.join(t.split(':', 1)[-1] for t in tags)}: case {seen[pname]})"
            dptr = f"{ip}/PolicyDocument"
            doc, stmts = self.policy(lid, choice["PolicyDocument"], dptr, "identity", tags)
            self.b.inline(p, pname, doc, origin, dptr, stmts)

    def user_groups(self, lid: str, cond: str | None) -> None:
        user = self.model.principal(self.attr(lid, "Arn", self.rptr(lid)))
        if user is None:
            return
        for gname, tags in self.names(lid, "Groups"):
            g = self.b.find(Kind.GROUP, gname)
            if g is None:
                self.b.gap("MissingGroup", f"line {self.line(self.rptr(lid))[0]}: user {user.name} is in group "
                                           f"{gname}, which is not in the input")
                continue
            self.b.member(user, g)

    def managed_policy(self, lid: str, cond: str | None) -> None:
        arn = self.attrs_of(lid)["PolicyArn"]
        raw = self.props_raw(lid)
        if "PolicyDocument" not in raw:
            raise self.fail(self.rptr(lid), f"AWS::IAM::ManagedPolicy {lid} needs a PolicyDocument")
        ptr = self.pptr(lid, "PolicyDocument")
        doc, stmts = self.policy(lid, raw["PolicyDocument"], ptr, "identity")
        name = self.name_prop(lid, "ManagedPolicyName", lid)
        self.b.define_policy(arn, name, self.path_prop(lid), doc, self.origin(lid, cond), ptr, stmts)

    def managed_policy_attach(self, lid: str, cond: str | None) -> None:
        arn = self._attrs[lid]["PolicyArn"]
        self.attach_by_names(lid, cond, lambda p, tags: self.b.attach(p, arn, tags, self.origin(lid, cond)))

    def attach_by_names(self, lid: str, cond: str | None, do) -> None:
        for key, kind in (("Roles", Kind.ROLE), ("Users", Kind.USER), ("Groups", Kind.GROUP)):
            for name, tags in self.names(lid, key):
                p = self.b.find(kind, name)
                if p is None:
                    self.b.gap("MissingPrincipal", f"line {self.line(self.rptr(lid))[0]}: {lid} attaches to "
                                                   f"{kind.value} {name}, which is not in the input (give the "
                                                   "deployed account with --context)")
                    continue
                do(p, tuple(dict.fromkeys(self.cond_tags(cond) + tags)))

    def attachment(self, lid: str, cond: str | None) -> None:
        typ = self.resources[lid]["Type"]
        origin = self.origin(lid, cond)
        raw = self.props_raw(lid)
        if typ == "AWS::IAM::Policy":
            if "PolicyDocument" not in raw or "PolicyName" not in raw:
                raise self.fail(self.rptr(lid), f"AWS::IAM::Policy {lid} needs PolicyName and PolicyDocument")
            pname = self.prop_str(lid, "PolicyName")
            ptr = self.pptr(lid, "PolicyDocument")

            def put(p: Principal, tags: tuple[str, ...]) -> None:
                doc, stmts = self.policy(lid, raw["PolicyDocument"], ptr, "identity", tags)
                self.b.inline(p, pname, doc, origin, ptr, stmts)
            self.attach_by_names(lid, cond, put)
            return
        if typ in ("AWS::IAM::RolePolicy", "AWS::IAM::UserPolicy", "AWS::IAM::GroupPolicy"):
            key, kind = {"AWS::IAM::RolePolicy": ("RoleName", Kind.ROLE), "AWS::IAM::UserPolicy": ("UserName", Kind.USER),
                         "AWS::IAM::GroupPolicy": ("GroupName", Kind.GROUP)}[typ]
            if "PolicyName" not in raw or key not in raw:
                raise self.fail(self.rptr(lid), f"{typ} {lid} needs PolicyName and {key}")
            name = self.prop_str(lid, key)
            pname = self.prop_str(lid, "PolicyName")
            for k, v in ((key, name), ("PolicyName", pname)):
                if v is None:
                    raise self.fail(self.pptr(lid, k), f"{typ} {lid}: {k} must be a string")
            p = self.b.find(kind, name)
            if p is None:
                self.b.gap("MissingPrincipal", f"line {self.line(self.rptr(lid))[0]}: {lid} is a policy of "
                                               f"{kind.value} {name}, which is not in the input")
                return
            if "PolicyDocument" not in raw:
                return
            ptr = self.pptr(lid, "PolicyDocument")
            doc, stmts = self.policy(lid, raw["PolicyDocument"], ptr, "identity", self.cond_tags(cond))
            self.b.inline(p, pname, doc, origin, ptr, stmts)
            return
        if typ == "AWS::IAM::UserToGroupAddition":
            gname = self.prop_str(lid, "GroupName")
            if gname is None:
                raise self.fail(self.rptr(lid), f"{typ} {lid} needs GroupName")
            g = self.b.find(Kind.GROUP, gname)
            if g is None:
                self.b.gap("MissingGroup", f"line {self.line(self.rptr(lid))[0]}: {lid} adds users to group "
                                           f"{gname}, which is not in the input")
                return
            for uname, _tags in self.names(lid, "Users"):
                u = self.b.find(Kind.USER, uname)
                if u is None:
                    self.b.gap("MissingPrincipal", f"line {self.line(self.rptr(lid))[0]}: {lid} adds user {uname}, "
                                                   "which is not in the input")
                    continue
                self.b.member(u, g)
            return
        if typ == "AWS::IAM::InstanceProfile":
            arn = self.attr(lid, "Arn", self.rptr(lid))
            for rname, _tags in self.names(lid, "Roles"):
                r = self.b.find(Kind.ROLE, rname)
                if r is None:
                    self.b.gap("MissingPrincipal", f"line {self.line(self.rptr(lid))[0]}: instance profile {lid} "
                                                   f"holds role {rname}, which is not in the input")
                    continue
                if arn not in r.instance_profiles:
                    r.instance_profiles.append(arn)
                self.index.touched.add(r.arn)

    # SAM ---------------------------------------------------------------------
    def sam_prop(self, lid: str, key: str) -> tuple[Any, str] | None:
        raw = self.props_raw(lid)
        if key in raw:
            return raw[key], self.pptr(lid, key)
        if key in self.fn_globals and self.resources[lid]["Type"] == "AWS::Serverless::Function":
            return self.fn_globals[key], f"/Globals/Function/{esc(key)}"
        return None

    def sam_function(self, lid: str, cond: str | None) -> None:
        from .sam import policy_template
        origin = self.origin(lid, cond)
        raw = self.props_raw(lid)
        is_fn = self.resources[lid]["Type"] == "AWS::Serverless::Function"
        fn_arn = self.attr(lid, "Arn", self.rptr(lid)) if is_fn else None
        role_arn: Any
        if "Role" in raw:
            role_arn = collapse(self.prop(lid, "Role"))
            if is_fn:
                self._lambda_inventory(lid, fn_arn, role_arn)
            return
        rid = f"{lid}Role"
        role_arn = self.attr(rid, "Arn", self.rptr(lid))
        part = self.opts.partition
        p = Principal(arn=role_arn, name=rid, kind=Kind.ROLE, account=self.opts.account,
                      path=self.path_prop(lid, "RolePath") if "RolePath" in raw else "/")
        trust = self.sam_prop(lid, "AssumeRolePolicyDocument")
        if trust is not None:
            p.trust_policy, stmts = self.policy(lid, trust[0], trust[1], "trust")
            self.index.document(p.trust_policy, origin, trust[1], stmts)
        else:
            p.trust_policy, _ = build_policy({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": [SAM_ROLES[self.resources[lid]["Type"]]]},
                 "Action": ["sts:AssumeRole"]}]},
                "trust", self.src, self.rptr(lid))
        b = self.sam_prop(lid, "PermissionsBoundary")
        if b is not None:
            p.permissions_boundary = self.text(self.resolve(b[0], b[1]), b[1], "PermissionsBoundary")
        self.b.add(p, origin)
        if is_fn:
            self.b.attach(p, f"arn:{part}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
        tracing = self.sam_prop(lid, "Tracing")
        if is_fn and tracing is not None and collapse(self.resolve(tracing[0], tracing[1])) == "Active":
            self.b.attach(p, f"arn:{part}:iam::aws:policy/AWSXrayWriteOnlyAccess")
        if is_fn and self.sam_prop(lid, "VpcConfig") is not None:
            self.b.attach(p, f"arn:{part}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
        pol = self.sam_prop(lid, "Policies")
        if pol is not None:
            raw_pol, pptr = pol
            entries: list[tuple[int, str, Any, tuple[str, ...]]] = []     # (index, pointer, entry, tags)
            if isinstance(raw_pol, dict) and len(raw_pol) == 1 and next(iter(raw_pol)) in ("Fn::If", "Ref"):
                # `Policies: !If [C, [...], !Ref AWS::NoValue]`: each branch's entries, tagged
                v = self.resolve(raw_pol, pptr)
                for lst, tags in (variants(v) if isinstance(v, Alternatives) else [(v, ())]):
                    if lst is NOVALUE:
                        continue
                    for item in (lst if isinstance(lst, list) else [lst]):
                        entries.append((len(entries), pptr, item, tags))
            else:
                items = raw_pol if isinstance(raw_pol, list) else [raw_pol]
                for i, item in enumerate(items):
                    entries.append((i, f"{pptr}/{i}" if isinstance(raw_pol, list) else pptr, item, ()))
            from .aws_managed import arn_for_name
            for i, ip, item, tags in entries:
                if isinstance(item, dict) and ("Statement" in item or "Version" in item):
                    doc, stmts = self.policy(lid, item, ip, "identity", tags)
                    self.b.inline(p, f"{rid}Policy{i}", doc, origin, ip, stmts)
                    continue
                v = self.resolve(item, ip)
                for vv, more in (variants(v) if isinstance(v, Alternatives) else [(v, ())]):
                    tt = tuple(dict.fromkeys(tags + more))
                    vv = collapse(vv)
                    if vv is NOVALUE:
                        continue                    # `!If [C, x, !Ref AWS::NoValue]`: no entry in that case
                    if isinstance(vv, str):
                        parn = vv if vv.startswith("arn:") or has_marker(vv) else arn_for_name(vv, part)
                        eo = self.entry_origin(lid, ip, origin)
                        self.b.attach(p, parn, tt, eo)
                        if not tt:
                            self.index.attachment(p.arn, parn, eo)
                        continue
                    if isinstance(vv, dict) and ("Statement" in vv or "Version" in vv):
                        doc, stmts = self.policy(lid, vv, ip, "identity", tt)
                        self.b.inline(p, f"{rid}Policy{i}" + (f" ({', '.join(tt)})" if tt else ""), doc, origin,
                                      ip, stmts)
                        continue
                    if isinstance(vv, dict) and len(vv) == 1:
                        tname, params = next(iter(vv.items()))
                        stmts_raw = policy_template(tname, params if isinstance(params, dict) else {}, self.opts)
                        if stmts_raw is None:
                            self.b.gap("UnknownPolicyTemplate", f"line {self.line(ip)[0]}: SAM policy template "
                                                                f"{tname} of {lid} is not modeled; what it grants "
                                                                "is missing")
                            continue
                        doc, stmts = build_policy({"Version": "2012-10-17", "Statement": stmts_raw}, "identity",
                                                  self.src, ip, {}, tags=tt)
                        self.b.inline(p, f"{rid}Policy{i}{tname}" + (f" ({', '.join(tt)})" if tt else ""), doc,
                                      origin, ip, {})
                        continue
                    raise self.fail(ip, "SAM Policies entries must be a policy name or ARN, a policy document, or "
                                        "a policy template")
        if is_fn:
            self._lambda_inventory(lid, fn_arn, role_arn)

    def _lambda_inventory(self, lid: str, fn_arn: Any, role_arn: Any) -> None:
        inv = self.model.account(self.opts.account).inventory
        if "lambda_functions" in (inv or {}) and isinstance(role_arn, str):
            inv["lambda_functions"].append({"arn": fn_arn, "name": lid, "role": role_arn,
                                            "region": self.opts.region, "source": self.src})

    # other resources ---------------------------------------------------------
    def other(self, lid: str, cond: str | None) -> None:
        typ = self.resources[lid]["Type"]
        inv = self.model.account(self.opts.account).inventory
        line, _ = self.line(self.rptr(lid))
        if typ == "AWS::Lambda::Function":
            role = collapse(self.prop(lid, "Role"))
            self._lambda_inventory(lid, self.attr(lid, "Arn", self.rptr(lid)), role)
            return
        if typ in UNMODELED:
            self.b.gap("UnmodeledResource", f"line {line}: {typ} {lid} is not modeled ({UNMODELED[typ]}); "
                                            "what it grants is missing from the findings")
            return
        if typ == "AWS::Lambda::Permission":
            entry = {"type": typ, "logical_id": lid, "file": self.src, "line": line}
            for key in ("FunctionName", "Action", "Principal", "SourceArn", "SourceAccount", "PrincipalOrgID",
                        "FunctionUrlAuthType"):
                v = self.prop(lid, key)
                if v is not None:
                    v = collapse(v)
                    if key in ("Principal", "SourceAccount"):     # an account id written as a number
                        v = self.account_text(v, self.pptr(lid, key), key)
                    entry[key] = v
            inv.setdefault("resource_policies", []).append(entry)
            return
        if typ in RESOURCE_POLICIES:
            target_key, doc_key = RESOURCE_POLICIES[typ]
            raw = self.props_raw(lid)
            if doc_key is None or doc_key not in raw:
                return
            ptr = self.pptr(lid, doc_key)
            doc, stmts = self.policy(lid, raw[doc_key], ptr, "resource", self.cond_tags(cond))
            entry = {"type": typ, "logical_id": lid, "file": self.src, "line": line, "policy": doc.original,
                     "resource": collapse(self.prop(lid, target_key)) if target_key else
                     self.attr(lid, "Arn", self.rptr(lid))}
            inv.setdefault("resource_policies", []).append(entry)
            self.index.document(doc, self.origin(lid, cond), ptr, stmts)

    # suppressions ------------------------------------------------------------
    def suppressions(self, lid: str) -> None:
        """`Metadata: {iamlint: {ignore: [{rule, reason, expires}]}}` on a resource (`skip` and `id` are
        accepted for `ignore` and `rule`, as other linters spell them). On the template's own Metadata
        (lid "") the entries cover every resource of the file."""
        meta = (self.t if lid == "" else self.resources[lid]).get("Metadata")
        if not isinstance(meta, dict) or "iamlint" not in meta:
            return
        mptr = f"{self.rptr(lid) if lid else ''}/Metadata/iamlint"
        block = meta["iamlint"]
        if not isinstance(block, dict) or set(block) - {"ignore", "skip"}:
            raise self.fail(mptr, "Metadata.iamlint must be a mapping with an 'ignore' list")
        key = "skip" if "skip" in block else "ignore"
        if not isinstance(block.get(key) or [], list):
            raise self.fail(f"{mptr}/{key}", f"Metadata.iamlint.{key} must be a list")
        for i, e in enumerate(block.get(key) or []):
            ep = f"{mptr}/{key}/{i}"
            if not isinstance(e, dict):
                raise self.fail(ep, "each iamlint ignore entry must be a mapping with rule and reason")
            unknown = set(e) - {"rule", "id", "reason", "expires"}
            if unknown:
                raise self.fail(ep, f"unknown key {sorted(unknown)[0]!r} in iamlint ignore entry")
            rule = e.get("rule", e.get("id"))
            if not isinstance(rule, str) or not rule.strip():
                raise self.fail(ep, "an iamlint ignore entry needs a rule (an id or prefix)")
            reason = e.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                raise self.fail(ep, f"iamlint ignore of {rule} needs a reason")
            expires = parse_date(e.get("expires"), self.src, self.line(f"{ep}/expires")[0])
            self.index.suppress(Suppression(rule.strip(), reason.strip(), self.src, lid, self.line(ep)[0], expires))


def _foreach_sub(text: str, env: dict) -> str:
    for ident, value in env.items():
        text = text.replace("${" + ident + "}", value).replace("&{" + ident + "}", re.sub(r"[^A-Za-z0-9]", "", value))
    return text


def parse_date(value: Any, source: str, line: int | None):
    import datetime as _dt
    if value is None:
        return None
    try:
        return _dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"expires must be a date (YYYY-MM-DD), not {value!r}", source,
                         f"line {line}" if line else None) from None


def _type(v: Any) -> str:
    if isinstance(v, Alternatives):
        return "a value that depends on a condition"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


def _cmp_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else str(v)


def load_cloudformation(data: Any, positions: Positions, source: str, model: Model, opts: Options,
                        index: Index) -> Model:
    Template(data, positions, source, model, opts, index).load()
    index.files.append((source, "cloudformation"))
    return model

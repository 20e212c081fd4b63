"""A Terraform plan (`terraform show -json plan.out`, or a state shown the same way) -> the one model,
with positions.

Resources read: aws_iam_role (assume_role_policy, inline_policy blocks, managed_policy_arns,
permissions_boundary, max_session_duration, tags), aws_iam_user, aws_iam_group, aws_iam_policy,
aws_iam_{role,user,group}_policy, aws_iam_{role,user,group}_policy_attachment, aws_iam_policy_attachment,
aws_iam_{role,user,group}_policy_attachments_exclusive, aws_iam_group_membership,
aws_iam_user_group_membership, aws_iam_instance_profile, aws_iam_openid_connect_provider (its ARN),
data.aws_iam_policy_document (`json`, else built from `statement` blocks with
source/override_policy_documents merged by Sid), and the resource policies of aws_s3_bucket_policy,
aws_kms_key, aws_sqs_queue_policy, aws_sns_topic_policy, aws_secretsmanager_secret_policy and
aws_lambda_permission (to the account inventory's `resource_policies`, as the CloudFormation loader
does; `logical_id` holds the Terraform address). AWS-managed policies come from `aws_managed` (or the
`--context` snapshot); others named but not defined are input gaps.

What the plan gives and how it is read:

* Every resource instance comes from `resource_changes[].change.after` (the planned value), else from
  `prior_state` (data sources read while planning, resources left as they are), else from
  `planned_values`. Instances the plan deletes are left out. Addresses keep their module path and
  their `count` / `for_each` key (`module.agent.aws_iam_role.runtime["eu"]`).
* A value known only after apply (`after_unknown`) is never guessed. When the plan's `configuration`
  shows that the value is a reference to one resource of the plan (`role = aws_iam_role.x.name`,
  `policy_arn = aws_iam_policy.p.arn`, `assume_role_policy = data.aws_iam_policy_document.t.json`,
  through module inputs and outputs too), it is the value that resource will have: the name and ARN
  of an IAM role, user, group, policy, instance profile or OIDC provider follow from its name and
  path (`name_prefix` keeps the unknown suffix), the JSON of an `aws_iam_policy_document` is built
  from its `statement` blocks. Anything else stays a marker (see `symbolic`), named after the
  attribute (`known-after-apply:aws_s3_bucket.logs.arn`), so the decisions that depend on it are
  Conditional. The plan does not keep an expression's text, only what it refers to: an expression
  with several references (a template such as `"${var.prefix}-${aws_iam_role.x.name}"`) stays
  unknown, one with a single reference is taken to be that reference.
* The account is `--account` when given, else the one the plan shows (`data.aws_caller_identity`,
  or the ARNs of resources that already exist), else the symbolic `000000000000`; likewise region
  (`data.aws_region`, else the `aws` provider's constant `region`) and partition (`data.aws_partition`).

Positions: the plan is JSON, so every principal and policy points into the plan file: the Terraform
address (`Origin.resource`), the JSON pointer of the resource's entry (`/resource_changes/4`) and its
line and column. The plan's `configuration` holds no source file or line of the `.tf` code, so
findings name the address, not a `.tf` line. A policy written as a JSON string (`assume_role_policy`,
`policy`) points at that attribute; its statements are `<attribute pointer>/Statement/N`, a pointer
that continues into the JSON text. A policy document built from `statement` blocks points at
`<data source>/json/Statement/N`, on the line of the block.

Suppressions: a tag on the resource, `iamlint:skip = "RULE[+RULE] reason text [until=YYYY-MM-DD]"`
(plan JSON keeps no comments, so tags are Terraform's inline idiom here). Rule ids are separated by
`,`, `+` or `/` (IAM tag values do not accept commas). The reason is required; the suppression is
keyed by the resource's address (for a principal: the address in `Index.principals[arn].resource`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..model.account import Kind, Model, Principal
from .build import Builder
from .index import DEFAULT_ACCOUNT, Index, Options, Origin, Suppression
from .positions import Positions, esc, position
from .symbolic import build_policy, has_marker, loads_policy, marker, unknown_document

SKIP_TAG = "iamlint:skip"
PRINCIPALS = {"aws_iam_role": Kind.ROLE, "aws_iam_user": Kind.USER, "aws_iam_group": Kind.GROUP}
# type -> (attribute naming the target, attribute holding the policy, how the target becomes an ARN)
RESOURCE_POLICIES = {
    "aws_s3_bucket_policy": ("bucket", "policy"),
    "aws_kms_key": (None, "policy"),
    "aws_sqs_queue_policy": ("queue_url", "policy"),
    "aws_sns_topic_policy": ("arn", "policy"),
    "aws_secretsmanager_secret_policy": ("secret_arn", "policy"),
}
LAMBDA_PERMISSION = {"function_name": "FunctionName", "action": "Action", "principal": "Principal",
                     "source_arn": "SourceArn", "source_account": "SourceAccount",
                     "principal_org_id": "PrincipalOrgID", "function_url_auth_type": "FunctionUrlAuthType",
                     "qualifier": "Qualifier"}
# attachments and memberships: type -> [(attribute, kind, many)]
LINKS = {
    "aws_iam_role_policy_attachment": [("role", Kind.ROLE, False)],
    "aws_iam_user_policy_attachment": [("user", Kind.USER, False)],
    "aws_iam_group_policy_attachment": [("group", Kind.GROUP, False)],
    "aws_iam_policy_attachment": [("roles", Kind.ROLE, True), ("users", Kind.USER, True),
                                  ("groups", Kind.GROUP, True)],
}
# the *_policy_attachments_exclusive resources: type -> (attribute, kind); the ARNs are in policy_arns
EXCLUSIVE = {"aws_iam_role_policy_attachments_exclusive": ("role_name", Kind.ROLE),
             "aws_iam_user_policy_attachments_exclusive": ("user_name", Kind.USER),
             "aws_iam_group_policy_attachments_exclusive": ("group_name", Kind.GROUP)}
INLINE = {"aws_iam_role_policy": ("role", Kind.ROLE), "aws_iam_user_policy": ("user", Kind.USER),
          "aws_iam_group_policy": ("group", Kind.GROUP)}
# attributes whose value a reference may stand for (computed from the referenced resource)
# a field whose reference lost its attribute (a dynamic index): the attribute it takes, and from what
DEFAULT_ATTR = {"role": "name", "roles": "name", "role_name": "name", "user": "name", "users": "name",
                "user_name": "name", "group": "name", "groups": "name", "group_name": "name", "policy_arn": "arn",
                "policy_arns": "arn", "managed_policy_arns": "arn", "permissions_boundary": "arn"}
DEFAULT_ATTR_TYPES = {"role": ("aws_iam_role",), "roles": ("aws_iam_role",), "role_name": ("aws_iam_role",),
                      "user": ("aws_iam_user",), "users": ("aws_iam_user",), "user_name": ("aws_iam_user",),
                      "group": ("aws_iam_group",), "groups": ("aws_iam_group",), "group_name": ("aws_iam_group",),
                      "policy_arn": ("aws_iam_policy",), "policy_arns": ("aws_iam_policy",),
                      "managed_policy_arns": ("aws_iam_policy",), "permissions_boundary": ("aws_iam_policy",)}
ORDERED_BLOCKS = ("statement",)
# Optional+Computed attributes: unknown in a plan when the configuration does not write them
COMPUTED_OPTIONAL = ("managed_policy_arns", "inline_policy")         # list-typed nested blocks (the others are sets)
IDENT_ATTRS = ("arn", "name", "id", "json", "minified_json", "url")
_KEYS = re.compile(r'\[(?:"(?:[^"\\]|\\.)*"|[0-9]+)\]')
_REF_TOKEN = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_-]*)|\[("(?:[^"\\]|\\.)*"|[0-9]+|\*)\]')
_IAM_ARN = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::([0-9]{12}):")
_RULE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_UNTIL = re.compile(r"(?:^|\s)until=(\S*)")


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "(known after apply)"


UNKNOWN = _Unknown()


@dataclass
class Inst:
    """One resource instance of the plan."""

    address: str
    module: str                 # module instance address ("" for the root module)
    mode: str                   # managed | data
    type: str
    name: str
    key: Any                    # count index or for_each key, None without either
    values: dict
    unknown: Any                # after_unknown: which values are known only after apply
    ptr: str                    # JSON pointer of `values`
    rptr: str                   # JSON pointer of the resource's entry
    actions: tuple = ()         # the planned actions (none for an instance read from a state)

    @property
    def local(self) -> str:
        return ("data." if self.mode == "data" else "") + f"{self.type}.{self.name}"

    @property
    def config_module(self) -> str:
        return _KEYS.sub("", self.module)


def looks_like_terraform_plan(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    if "resource_changes" in data or "planned_values" in data:
        return True
    return "format_version" in data and any(k in data for k in ("prior_state", "configuration", "values")) \
        and "Resources" not in data


class Plan:
    def __init__(self, data: Any, positions: Positions, source: str, model: Model, opts: Options, index: Index):
        self.pos = positions
        self.src = source
        self.model = model
        self.index = index
        if not isinstance(data, dict):
            raise self.fail("", "a Terraform plan must be a JSON object (terraform show -json plan.out)")
        self.d = data
        fv = data.get("format_version")
        if fv is not None:
            if not isinstance(fv, str) or not re.match(r"^[0-9]+(\.[0-9]+)*$", fv):
                raise self.fail("/format_version", "format_version must be a version string such as \"1.2\"")
            if fv.split(".")[0] not in ("0", "1"):
                raise self.fail("/format_version", f"plan format_version {fv} is not supported (major 0 or 1)")
        self.insts: dict[str, Inst] = {}
        self.by_local: dict[tuple[str, str], list[Inst]] = {}    # (module instance, local) -> instances
        self.cfg: dict[tuple[str, str], tuple[dict, str]] = {}    # (config module, local) -> (resource, ptr)
        self.outputs: dict[tuple[str, str], tuple[Any, str]] = {}
        self.calls: dict[tuple[str, str], tuple[dict, str]] = {}
        self._collect()
        self._configuration()
        self.opts = self._deploy_context(opts)
        self.b = Builder(model, index, self.opts, source, "terraform")
        self._busy: set[tuple] = set()
        self._docs: dict[str, Any] = {}
        self._written_by: dict[str, list[str]] = {}
        self._placeholders: dict[int, str] = {}

    # ---------------------------------------------------------------- errors and places
    def fail(self, ptr: str, message: str) -> InputError:
        pos = position(self.pos, ptr) if ptr else None
        where = ptr or "/"
        if pos:
            where += f" (line {pos[0]})"
        return InputError(message, self.src, where)

    def line(self, ptr: str) -> tuple[int | None, int | None]:
        pos = position(self.pos, ptr)
        return (pos[0], pos[1]) if pos else (None, None)

    def origin(self, inst: Inst) -> Origin:
        """The resource's entry; its line and column are those of its `"address"` (the line that names it)."""
        line, col = self.line(inst.rptr + "/address")
        return Origin(self.src, inst.address, line, col, inst.rptr, "terraform")

    def _obj(self, v: Any, ptr: str, what: str, optional: bool = True) -> dict:
        if v is None and optional:
            return {}
        if not isinstance(v, dict):
            raise self.fail(ptr, f"{what} must be an object, not {_type(v)}")
        return v

    def _list(self, v: Any, ptr: str, what: str) -> list:
        if v is None:
            return []
        if not isinstance(v, list):
            raise self.fail(ptr, f"{what} must be a list, not {_type(v)}")
        return v

    def _str(self, v: Any, ptr: str, what: str, optional: bool = False) -> str | None:
        if v is None and optional:
            return None
        if not isinstance(v, str):
            raise self.fail(ptr, f"{what} must be a string, not {_type(v)}")
        return v

    # ---------------------------------------------------------------- instances
    def _collect(self) -> None:
        deleted: set[str] = set()
        rc_ptr = "/resource_changes"
        entries = [(f"{rc_ptr}/{i}", rc) for i, rc in
                   enumerate(self._list(self.d.get("resource_changes"), rc_ptr, "resource_changes"))]
        # Terraform 1.10+ (-allow-deferral): a change it could not plan yet is under deferred_changes, with
        # what it knows and after_unknown for the rest; it is judged like any other (its unknowns Conditional)
        dc_ptr = "/deferred_changes"
        for i, dc in enumerate(self._list(self.d.get("deferred_changes"), dc_ptr, "deferred_changes")):
            dc = self._obj(dc, f"{dc_ptr}/{i}", "each deferred change", optional=False)
            if dc.get("resource_change") is not None:
                entries.append((f"{dc_ptr}/{i}/resource_change", dc["resource_change"]))
        for p, rc in entries:
            rc = self._obj(rc, p, "each resource change", optional=False)
            head = self._head(rc, p)
            if rc.get("deposed") is not None:
                continue                    # an old object create_before_destroy replaces: it is deleted
            change = self._obj(rc.get("change"), f"{p}/change", "change", optional=False)
            actions = self._list(change.get("actions"), f"{p}/change/actions", "change.actions")
            for j, a in enumerate(actions):
                self._str(a, f"{p}/change/actions/{j}", "each action")
            after = change.get("after")
            if after is None or actions in (["delete"], ["forget"]):
                deleted.add(head[0])
                continue
            after = self._obj(after, f"{p}/change/after", "change.after", optional=False)
            unknown = change.get("after_unknown")
            if unknown is not None and not isinstance(unknown, (dict, bool)):
                raise self.fail(f"{p}/change/after_unknown", "change.after_unknown must be an object")
            self._add(Inst(*head, values=after, unknown=unknown or {}, ptr=f"{p}/change/after", rptr=p,
                           actions=tuple(actions)))
        prior = self._obj(self.d.get("prior_state"), "/prior_state", "prior_state")
        pv = self._obj(prior.get("values"), "/prior_state/values", "prior_state.values")
        self._module_values(pv.get("root_module"), "/prior_state/values/root_module", deleted)
        state = self._obj(self.d.get("values"), "/values", "values")       # a state shown with -json
        self._module_values(state.get("root_module"), "/values/root_module", deleted)
        planned = self._obj(self.d.get("planned_values"), "/planned_values", "planned_values")
        self._module_values(planned.get("root_module"), "/planned_values/root_module", deleted)

    def _head(self, r: dict, p: str, module: str | None = None) -> tuple:
        address = self._str(r.get("address"), f"{p}/address", "address")
        mode = r.get("mode", "managed")
        if mode not in ("managed", "data"):
            raise self.fail(f"{p}/mode", f"mode must be \"managed\" or \"data\", not {mode!r}")
        rtype = self._str(r.get("type"), f"{p}/type", "type")
        name = self._str(r.get("name"), f"{p}/name", "name")
        mod = r.get("module_address", module or "")
        self._str(mod, f"{p}/module_address", "module_address")
        key = r.get("index")
        if key is not None and (isinstance(key, bool) or not isinstance(key, (int, str))):
            raise self.fail(f"{p}/index", f"index must be a number or a string, not {_type(key)}")
        return address, mod, mode, rtype, name, key

    def _module_values(self, mod: Any, p: str, deleted: set[str], depth: int = 0) -> None:
        if mod is None:
            return
        mod = self._obj(mod, p, "a module", optional=False)
        if depth > 64:
            raise self.fail(p, "modules are nested too deeply")
        maddr = self._str(mod.get("address", ""), f"{p}/address", "module address")
        for j, r in enumerate(self._list(mod.get("resources"), f"{p}/resources", "resources")):
            rp = f"{p}/resources/{j}"
            r = self._obj(r, rp, "each resource", optional=False)
            head = self._head(r, rp, maddr)
            values = self._obj(r.get("values"), f"{rp}/values", "values")
            if head[0] in self.insts or head[0] in deleted:
                continue
            self._add(Inst(*head, values=values, unknown={}, ptr=f"{rp}/values", rptr=rp))
        for k, child in enumerate(self._list(mod.get("child_modules"), f"{p}/child_modules", "child_modules")):
            self._module_values(child, f"{p}/child_modules/{k}", deleted, depth + 1)

    def _add(self, inst: Inst) -> None:
        if inst.address in self.insts:
            raise self.fail(inst.rptr, f"resource {inst.address} appears twice")
        self.insts[inst.address] = inst
        self.by_local.setdefault((inst.module, inst.local), []).append(inst)

    # ---------------------------------------------------------------- configuration
    def _configuration(self) -> None:
        conf = self._obj(self.d.get("configuration"), "/configuration", "configuration")
        self._config_module(conf.get("root_module"), "/configuration/root_module", "", 0)

    def _config_module(self, mod: Any, p: str, path: str, depth: int) -> None:
        if mod is None:
            return
        mod = self._obj(mod, p, "a configuration module", optional=False)
        if depth > 64:
            raise self.fail(p, "modules are nested too deeply")
        for j, r in enumerate(self._list(mod.get("resources"), f"{p}/resources", "resources")):
            rp = f"{p}/resources/{j}"
            r = self._obj(r, rp, "each configuration resource", optional=False)
            addr = self._str(r.get("address"), f"{rp}/address", "address")
            self._obj(r.get("expressions"), f"{rp}/expressions", "expressions")
            self.cfg[(path, addr)] = (r, rp)
        outs = self._obj(mod.get("outputs"), f"{p}/outputs", "outputs")
        for name, o in outs.items():
            op = f"{p}/outputs/{esc(name)}"
            o = self._obj(o, op, "each output", optional=False)
            self.outputs[(path, name)] = (o.get("expression"), f"{op}/expression")
        calls = self._obj(mod.get("module_calls"), f"{p}/module_calls", "module_calls")
        for name, call in calls.items():
            cp = f"{p}/module_calls/{esc(name)}"
            call = self._obj(call, cp, "each module call", optional=False)
            self._obj(call.get("expressions"), f"{cp}/expressions", "expressions")
            self.calls[(path, name)] = (call, cp)
            self._config_module(call.get("module"), f"{cp}/module", f"{path}.module.{name}".lstrip("."), depth + 1)

    def _expr_refs(self, expr: Any) -> list[str]:
        if not isinstance(expr, dict):
            return []
        refs = expr.get("references")
        if not isinstance(refs, list):
            return []
        return [r for r in refs if isinstance(r, str)]

    def refs_at(self, inst: Inst, path: tuple) -> tuple[list[str], bool | None]:
        """The references of the configuration expression that gives `path` of `inst`, and whether the
        attribute is written in the configuration (None: the plan has no configuration of the resource)."""
        hit = self.cfg.get((inst.config_module, inst.local))
        if hit is None:
            return [], None
        node: Any = hit[0].get("expressions") or {}
        exprs: list = [node]
        prev = None
        for step in path:
            nxt: list = []
            for e in exprs:
                if isinstance(step, int):
                    if isinstance(e, list):
                        # blocks: the same position in a list block; any block of a set (sets reorder)
                        nxt.extend([e[step]] if prev in ORDERED_BLOCKS and 0 <= step < len(e) else e)
                    else:
                        nxt.append(e)
                elif isinstance(e, dict) and step in e:
                    nxt.append(e[step])
            exprs = nxt
            prev = step
        if not exprs:
            return [], False
        refs: list[str] = []
        for e in exprs:
            if isinstance(e, dict) and "references" in e:
                refs.extend(self._expr_refs(e))
        return list(dict.fromkeys(refs)), True

    # ---------------------------------------------------------------- deploy context
    def _deploy_context(self, opts: Options) -> Options:
        accounts: dict[str, str] = {}
        region = partition = None
        for inst in self.insts.values():
            v = inst.values
            if inst.mode == "data" and inst.type == "aws_caller_identity" and isinstance(v.get("account_id"), str):
                accounts.setdefault(v["account_id"], inst.address)
            if inst.mode == "data" and inst.type == "aws_region":
                r = v.get("region") if isinstance(v.get("region"), str) else v.get("name")
                region = r if isinstance(r, str) else region
            if inst.mode == "data" and inst.type == "aws_partition" and isinstance(v.get("partition"), str):
                partition = v["partition"]
            if inst.mode == "managed" and inst.type.startswith("aws_iam_") and isinstance(v.get("arn"), str):
                m = _IAM_ARN.match(v["arn"])
                if m:
                    accounts.setdefault(m.group(2), inst.address)
        changes: dict[str, Any] = {}
        if opts.account == DEFAULT_ACCOUNT and len(accounts) == 1:
            acct, by = next(iter(accounts.items()))
            if re.fullmatch(r"[0-9]{12}", acct):
                changes["account"] = acct
                self.index.notes.append(f"{self.src}: account {acct} taken from {by}")
        elif len(accounts) > 1:
            self.index.notes.append(f"{self.src}: the plan shows several accounts ({', '.join(sorted(accounts))}); "
                                    f"principals are placed in {opts.account}")
        if region is None:          # the provider's region, when the configuration writes it as a constant
            conf = self.d.get("configuration")
            pc = conf.get("provider_config") if isinstance(conf, dict) else None
            aws = pc.get("aws") if isinstance(pc, dict) else None
            expr = aws.get("expressions") if isinstance(aws, dict) else None
            r = expr.get("region") if isinstance(expr, dict) else None
            if isinstance(r, dict) and isinstance(r.get("constant_value"), str):
                region = r["constant_value"]
        if opts.region is None and region:
            changes["region"] = region
        if opts.partition == "aws" and partition in ("aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"):
            changes["partition"] = partition
        return dataclasses.replace(opts, **changes) if changes else opts

    # ---------------------------------------------------------------- values
    def raw(self, inst: Inst, path: tuple) -> Any:
        """The planned value at `path`: the value, None when absent, UNKNOWN when known after apply."""
        u: Any = inst.unknown
        v: Any = inst.values
        for step in path:
            if u is True:
                return UNKNOWN
            if isinstance(u, dict):
                u = u.get(step) if isinstance(step, str) else None
            elif isinstance(u, list):
                u = u[step] if isinstance(step, int) and 0 <= step < len(u) else None
            else:
                u = None
            if isinstance(step, str):
                v = v.get(step) if isinstance(v, dict) else None
            else:
                v = v[step] if isinstance(v, list) and 0 <= step < len(v) else None
        if u is True:
            return UNKNOWN
        return v

    def vptr(self, inst: Inst, path: tuple) -> str:
        return inst.ptr + "".join(f"/{esc(s)}" for s in path)

    def value(self, inst: Inst, path: tuple) -> Any:
        """A scalar attribute: its planned value, else what its one reference resolves to, else a marker."""
        v = self.raw(inst, path)
        if v is not UNKNOWN:
            return v
        return self.resolve(inst, path)

    def after_apply(self, inst: Inst, path: tuple) -> str:
        return marker("known-after-apply:" + inst.address + "".join(
            f"[{s}]" if isinstance(s, int) else f".{s}" for s in path))

    def resolve(self, inst: Inst, path: tuple) -> Any:
        refs, _ = self.refs_at(inst, path)
        targets = self.targets(inst, refs)
        if len(targets) == 1:
            got = self.target_value(targets[0], path[-1] if path and isinstance(path[-1], str) else None)
            if isinstance(got, str):
                return got
        return self.after_apply(inst, path)

    def str_value(self, inst: Inst, path: tuple, what: str | None = None) -> str | None:
        v = self.value(inst, path)
        if v is None:
            return None
        if not isinstance(v, str):
            raise self.fail(self.vptr(inst, path), f"{what or path[-1]} of {inst.address} must be a string, "
                                                    f"not {_type(v)}")
        return v

    def str_list(self, inst: Inst, key: str) -> list[str]:
        return self.seq(inst, (key,), optional=key in COMPUTED_OPTIONAL)

    def seq(self, inst: Inst, path: tuple, accept: tuple = (str,), optional: bool = False) -> list:
        """A list (or set) of strings. Elements known only after apply are what the references of the
        expression name when they match one to one, else markers. A list wholly unknown (built by a
        function) is what its references name plus a marker for what else it may hold. An `optional`
        attribute (Optional+Computed in the provider) that the configuration does not write is empty."""
        raw = self.raw(inst, path)
        p = self.vptr(inst, path)
        field = next((x for x in reversed(path) if isinstance(x, str)), None)
        refs, written = self.refs_at(inst, path)
        if raw is UNKNOWN:
            if written is False or (written is None and optional):
                return []
            got = [] if self._dynamic(refs) else [self.target_value(t, field) for t in self.targets(inst, refs)]
            return [g for g in got if isinstance(g, accept)] + [self.after_apply(inst, path)]
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise self.fail(p, f"{field} of {inst.address} must be a list of strings, not {_type(raw)}")
        out: list = []
        holes = []
        for i, x in enumerate(raw):
            if x is None and self.raw(inst, path + (i,)) is UNKNOWN:
                holes.append(i)
            elif isinstance(x, str):
                out.append(x)
            elif x is not None:
                raise self.fail(f"{p}/{i}", f"{field} of {inst.address} must hold strings, not {_type(x)}")
        if holes:
            got = [] if self._dynamic(refs) else [self.target_value(t, field) for t in self.targets(inst, refs)]
            if len(got) == len(holes) and all(isinstance(g, accept) for g in got):
                out.extend(got)
            else:
                out.extend(self.after_apply(inst, path + (i,)) for i in holes)
        return out

    def _dynamic(self, refs: list[str]) -> bool:
        """Whether the expression names something other than resources (a variable, a local...)."""
        for r in refs:
            head = r.split(".", 1)[0].split("[", 1)[0]
            if head in ("var", "local", "path", "terraform", "self"):
                return True
        return False

    # ---------------------------------------------------------------- references
    def targets(self, inst: Inst, refs: list[str], depth: int = 0) -> list[tuple[Inst | None, Any]]:
        """What the references of an expression evaluated in `inst`'s module stand for: instances with
        the attribute named (or None), or plain values ((None, value)). Only the most specific reference
        of each target is kept."""
        return self._targets(inst.module, inst.key, refs, depth)

    def _targets(self, module: str, key: Any, refs: list[str], depth: int) -> list:
        if depth > 16:
            return []
        refs = _specific(refs)
        parsed = [t for t in (_parse_ref(r) for r in refs) if t]
        has_index_ref = any(t[0] in ("count", "each") for t in parsed)
        out: list = []
        seen: dict[tuple, int] = {}
        for toks in sorted(parsed, key=len, reverse=True):
            head = toks[0]
            if head in ("count", "each"):
                continue                        # they select an instance (or are known while planning)
            if head in ("path", "terraform", "self", "local"):
                out.append((None, marker(".".join(str(t) for t in toks[:2]))))
                continue
            if head == "var":
                if len(toks) < 2 or not isinstance(toks[1], str):
                    continue
                for t in self._var(module, toks[1], depth):
                    ident = ("var", module, toks[1])
                    if ident not in seen:
                        seen[ident] = len(out)
                        out.append(t)
                continue
            if head == "module":
                if len(toks) < 3 or not isinstance(toks[1], str):
                    continue
                call = toks[1]
                rest = toks[2:]
                mkey = None
                if rest and isinstance(rest[0], tuple):
                    mkey, rest = rest[0][1], rest[1:]
                if not rest or not isinstance(rest[0], str):
                    continue
                child = f"{module}.module.{call}".lstrip(".")
                if mkey is not None:
                    child += f"[{json.dumps(mkey)}]"
                ident = ("module", child, rest[0])
                if ident in seen:
                    continue
                seen[ident] = len(out)
                out.extend(self._output(child, rest[0], depth))
                continue
            if head == "data":
                if len(toks) < 3:
                    continue
                local, rest = f"data.{toks[1]}.{toks[2]}", toks[3:]
            else:
                if len(toks) < 2 or not isinstance(toks[1], str):
                    continue
                local, rest = f"{toks[0]}.{toks[1]}", toks[2:]
            ikey: Any = _NOKEY
            if rest and isinstance(rest[0], tuple):
                ikey, rest = rest[0][1], rest[1:]
            attr = rest[0] if rest and isinstance(rest[0], str) else None
            cands = self.by_local.get((module, local), [])
            if ikey is not _NOKEY:
                cands = [c for c in cands if c.key == ikey]
            elif len(cands) > 1 and has_index_ref and key is not None:
                same = [c for c in cands if c.key == key]
                cands = same or cands
            for c in cands:
                ident = ("res", c.address)
                if ident in seen:
                    continue
                seen[ident] = len(out)
                out.append((c, attr))
        return out

    def _var(self, module: str, name: str, depth: int) -> list:
        if not module:
            var = self.d.get("variables")
            if isinstance(var, dict) and isinstance(var.get(name), dict) and "value" in var[name]:
                return [(None, var[name]["value"])]
            return [(None, marker(f"var.{name}"))]
        parent, call, key = _split_module(module)
        hit = self.calls.get((_KEYS.sub("", parent), call))
        if hit is None:
            return [(None, marker(f"var.{name}"))]
        exprs = hit[0].get("expressions")
        refs = self._expr_refs(exprs.get(name)) if isinstance(exprs, dict) else []
        if isinstance(exprs, dict) and isinstance(exprs.get(name), dict) and "constant_value" in exprs[name]:
            return [(None, exprs[name]["constant_value"])]
        return self._targets(parent, key, refs, depth + 1)

    def _output(self, child: str, name: str, depth: int) -> list:
        hit = self.outputs.get((_KEYS.sub("", child), name))
        if hit is None:
            return []
        expr = hit[0]
        if isinstance(expr, dict) and "constant_value" in expr:
            return [(None, expr["constant_value"])]
        return self._targets(child, _split_module(child)[2], self._expr_refs(expr), depth + 1)

    def target_value(self, target: tuple, field: str | None = None) -> Any:
        """The value a reference stands for. A reference without an attribute (`aws_iam_role.x[each.key]`
        loses `.name` in the plan) stands for the attribute the field takes (`role` -> name)."""
        inst, attr = target
        if inst is None:
            return attr
        if attr is None:
            attr = DEFAULT_ATTR.get(field or "")
            if attr is None or inst.type not in DEFAULT_ATTR_TYPES.get(field or "", ()):
                return None
        return self.attr(inst, attr)

    def attr(self, inst: Inst, attr: str) -> Any:
        """The value attribute `attr` of `inst` will have: planned, computed for IAM names and ARNs and
        policy documents, else a marker."""
        busy = (inst.address, attr)
        if busy in self._busy:
            return self.after_apply(inst, (attr,))
        self._busy.add(busy)
        try:
            return self._attr(inst, attr)
        finally:
            self._busy.discard(busy)

    def _attr(self, inst: Inst, attr: str) -> Any:
        if inst.mode == "data" and inst.type == "aws_iam_policy_document" and attr in ("json", "minified_json"):
            v = self.raw(inst, (attr,))
            if isinstance(v, str):
                return v
            return self.policy_document_value(inst)
        v = self.raw(inst, (attr,))
        if v is not UNKNOWN and v is not None:
            if attr in IDENT_ATTRS and not isinstance(v, str):
                raise self.fail(self.vptr(inst, (attr,)), f"{attr} of {inst.address} must be a string, not {_type(v)}")
            return v
        if attr not in IDENT_ATTRS or inst.mode != "managed":
            return self.after_apply(inst, (attr,))
        part, acct = self.opts.partition, self.opts.account
        t = inst.type
        if t in PRINCIPALS or t in ("aws_iam_policy", "aws_iam_instance_profile"):
            name = self.res_name(inst)
            path = self.res_path(inst)
            kind = {"aws_iam_policy": "policy", "aws_iam_instance_profile": "instance-profile"}.get(
                t, PRINCIPALS.get(t, Kind.ROLE).value)
            arn = f"arn:{part}:iam::{acct}:{kind}{path}{name}"
            if attr == "arn" or (attr == "id" and t == "aws_iam_policy"):
                return arn
            if attr in ("name", "id"):
                return name
        if t == "aws_lambda_function" and attr == "arn":
            fn = self.value(inst, ("function_name",))
            region = self.opts.region or marker("region")
            if isinstance(fn, str):
                return f"arn:{part}:lambda:{region}:{acct}:function:{fn}"
        if t == "aws_iam_openid_connect_provider" and attr in ("arn", "id"):
            url = self.value(inst, ("url",))
            if isinstance(url, str):
                return f"arn:{part}:iam::{acct}:oidc-provider/{re.sub(r'^https://', '', url)}"
        return self.after_apply(inst, (attr,))

    def res_name(self, inst: Inst) -> str:
        v = self.raw(inst, ("name",))
        if isinstance(v, str):
            return v
        if v is not None and v is not UNKNOWN:
            raise self.fail(self.vptr(inst, ("name",)), f"name of {inst.address} must be a string, not {_type(v)}")
        if v is UNKNOWN:
            refs, written = self.refs_at(inst, ("name",))
            if written:
                r = self.resolve(inst, ("name",))
                if isinstance(r, str):
                    return r
        prefix = self.raw(inst, ("name_prefix",))
        if prefix is not None and prefix is not UNKNOWN and not isinstance(prefix, str):
            raise self.fail(self.vptr(inst, ("name_prefix",)), f"name_prefix of {inst.address} must be a string")
        return (prefix if isinstance(prefix, str) else "") + self.after_apply(inst, ("name",))

    def res_path(self, inst: Inst) -> str:
        v = self.value(inst, ("path",))
        if v is None:
            return "/"
        if not isinstance(v, str):
            raise self.fail(self.vptr(inst, ("path",)), f"path of {inst.address} must be a string")
        if not has_marker(v) and not (v.startswith("/") and v.endswith("/")):
            raise self.fail(self.vptr(inst, ("path",)), f"path of {inst.address} must begin and end with /, "
                                                        f"not {v!r}")
        return v

    # ---------------------------------------------------------------- policy documents
    def policy_document_value(self, inst: Inst) -> Any:
        """The JSON of an aws_iam_policy_document known only after apply, as a dict built from its
        blocks (markers where values stay unknown)."""
        if inst.address in self._docs:
            return self._docs[inst.address]
        doc: dict = {"Version": "2012-10-17"}
        version = self.value(inst, ("version",))
        if isinstance(version, str) and not has_marker(version):
            doc["Version"] = version
        pid = self.value(inst, ("policy_id",))
        if isinstance(pid, str):
            doc["Id"] = pid
        # (statement, JSON pointer of what wrote it)
        merged: list[tuple[dict, str]] = []
        for key in ("source_policy_documents", "source_json"):
            for text in self._documents_in(inst, key):
                merged = _merge(merged, [(x, self.vptr(inst, (key,))) for x in self._statements_of(inst, key, text)],
                                keep_first=True)
        own = []
        stmts = self.raw(inst, ("statement",))
        if stmts is UNKNOWN:
            own = [(self._unknown_statement(inst, "statement"), self.vptr(inst, ("statement",)))]
        else:
            for i, _ in enumerate(self._list(stmts, self.vptr(inst, ("statement",)), "statement")):
                own.append((self.statement_block(inst, i), self.vptr(inst, ("statement", i))))
        merged = _merge(merged, own)
        for key in ("override_policy_documents", "override_json"):
            for text in self._documents_in(inst, key):
                merged = _merge(merged, [(x, self.vptr(inst, (key,))) for x in self._statements_of(inst, key, text)])
        doc["Statement"] = [x for x, _ in merged]
        self._docs[inst.address] = doc
        self._written_by[inst.address] = [w for _, w in merged]
        return doc

    def _documents_in(self, inst: Inst, key: str) -> list:
        """The documents of source_policy_documents / override_policy_documents (lists), or of the
        deprecated source_json / override_json (one string)."""
        if key.endswith("_json"):
            v = self.value(inst, (key,))
            if v in (None, ""):
                return []
            if not isinstance(v, str):
                raise self.fail(self.vptr(inst, (key,)), f"{key} of {inst.address} must be a JSON string")
            return [v]
        return self.seq(inst, (key,), (str, dict))

    def _unknown_statement(self, inst: Inst, key: str) -> dict:
        """Statements known only after apply, as identity statements; `_from_blocks` gives them the
        principal a trust or resource policy needs."""
        what = f"known-after-apply:{inst.address}.{key}"
        st = unknown_document("identity", what)["Statement"][0]
        self._placeholders[id(st)] = what
        return st

    def _statements_of(self, inst: Inst, key: str, text: Any) -> list[dict]:
        if isinstance(text, dict):
            st = text.get("Statement", [])
        elif has_marker(text):
            return [self._unknown_statement(inst, key)]
        else:
            try:
                st = loads_policy(text).get("Statement", [])
            except (ValueError, AttributeError, RecursionError):
                raise self.fail(self.vptr(inst, (key,)), f"{key} of {inst.address} must hold policy JSON") from None
        st = st if isinstance(st, list) else [st]
        return [s for s in st if isinstance(s, dict)]

    def statement_block(self, inst: Inst, i: int) -> dict:
        base = ("statement", i)
        p = self.vptr(inst, base)
        self._obj(self.raw(inst, base), p, "each statement block", optional=False)
        st: dict = {}
        sid = self.value(inst, base + ("sid",))
        if sid not in (None, ""):
            st["Sid"] = sid
        effect = self.value(inst, base + ("effect",))
        st["Effect"] = effect if effect not in (None, "") else "Allow"
        for key, out in (("actions", "Action"), ("not_actions", "NotAction"), ("resources", "Resource"),
                         ("not_resources", "NotResource")):
            vals = self.block_strings(inst, base + (key,))
            if vals:
                st[out] = vals
        for key, out in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
            blocks = self.raw(inst, base + (key,))
            if blocks is UNKNOWN:
                st[out] = {"AWS": [self.after_apply(inst, base + (key,))]}
                continue
            pr: dict = {}
            for j, _ in enumerate(self._list(blocks, self.vptr(inst, base + (key,)), key)):
                bp = base + (key, j)
                ptype = self.value(inst, bp + ("type",))
                ids = self.block_strings(inst, bp + ("identifiers",))
                if not isinstance(ptype, str):
                    raise self.fail(self.vptr(inst, bp + ("type",)), f"{key} blocks need a type")
                if ptype == "*":
                    pr = "*"   # type "*" identifiers ["*"]: everyone
                    break
                pr.setdefault(ptype, []).extend(ids)
            if pr:
                st[out] = pr
        conds = self.raw(inst, base + ("condition",))
        if conds is UNKNOWN:
            st["Condition"] = {"StringEquals": {self.after_apply(inst, base + ("condition",)): "x"}}
        else:
            cond: dict = {}
            for j, _ in enumerate(self._list(conds, self.vptr(inst, base + ("condition",)), "condition")):
                cp = base + ("condition", j)
                test = self.value(inst, cp + ("test",))
                var = self.value(inst, cp + ("variable",))
                if not isinstance(test, str) or not isinstance(var, str):
                    raise self.fail(self.vptr(inst, cp), "condition blocks need test and variable (strings)")
                cond.setdefault(test, {}).setdefault(var, []).extend(self.block_strings(inst, cp + ("values",)))
            if cond:
                st["Condition"] = cond
        return st

    def block_strings(self, inst: Inst, path: tuple) -> list[str]:
        return self.seq(inst, path)

    def policy(self, inst: Inst, key: str, kind: str, what: str, optional: bool = False
               ) -> tuple[Any, dict, Origin, str] | None:
        """A policy attribute of `inst` -> (document, statement positions, origin, pointer); None when the
        attribute is absent."""
        path = (key,)
        raw = self.raw(inst, path)
        origin = self.origin(inst)
        ptr = self.vptr(inst, path)
        if raw is None or raw == "":
            return None
        if raw is UNKNOWN:
            refs, written = self.refs_at(inst, path)
            if optional and not written:
                return None
            targets = self.targets(inst, refs)
            docs = [t for t in targets if t[0] is not None and t[0].mode == "data"
                    and t[0].type == "aws_iam_policy_document"]
            if len(targets) == 1 and len(docs) == 1:
                src = docs[0][0]
                js = self.raw(src, ("json",))
                if isinstance(js, str):
                    return self._parse(js, kind, origin, ptr, what)
                return self._from_blocks(src, kind, what)
            if len(targets) == 1 and targets[0][0] is None and isinstance(targets[0][1], str):
                return self._parse(targets[0][1], kind, origin, ptr, what)
            name = f"known-after-apply:{inst.address}.{key}"
            deps = ", ".join(r for r in _specific(refs) if "." in r) or "values known only after apply"
            self.b.gap("UnknownPolicy", f"{what} is known only after apply (it depends on {deps}); what it "
                                        "grants is judged Conditional")
            doc, stmts = build_policy(unknown_document(kind, name), kind, self.src, ptr, self.pos)
            return doc, stmts, origin, ptr
        if not isinstance(raw, str):
            raise self.fail(ptr, f"{what} must be a JSON string, not {_type(raw)}")
        return self._parse(raw, kind, origin, ptr, what)

    def _parse(self, text: str, kind: str, origin: Origin, ptr: str, what: str):
        try:
            value = loads_policy(text)
        except ValueError as exc:
            raise self.fail(ptr, f"{what} is not valid JSON ({getattr(exc, 'msg', exc)})") from None
        except RecursionError:
            raise self.fail(ptr, f"{what} is nested too deeply") from None
        if not isinstance(value, dict):
            raise self.fail(ptr, f"{what} must be a JSON object, not {_type(value)}")
        doc, stmts = build_policy(value, kind, self.src, ptr, self.pos)
        return doc, stmts, origin, ptr

    def _from_blocks(self, src: Inst, kind: str, what: str):
        value = self.policy_document_value(src)
        if kind != "identity":
            value = dict(value, Statement=[unknown_document(kind, self._placeholders[id(x)])["Statement"][0]
                                           if id(x) in self._placeholders else x for x in value["Statement"]])
        ptr = self.vptr(src, ("json",))
        positions: Positions = {}
        line = position(self.pos, src.rptr)
        if line:
            positions[ptr] = line
        for i, written in enumerate(self._written_by.get(src.address, [])):
            pos = position(self.pos, written)
            if pos:
                positions[f"{ptr}/Statement/{i}"] = pos
        doc, stmts = build_policy(value, kind, self.src, ptr, positions)
        return doc, stmts, self.origin(src), ptr

    # ---------------------------------------------------------------- loading
    def load(self) -> None:
        if self.d.get("errored") is True or self.d.get("complete") is False:
            self.b.gap("IncompletePlan", "the plan is incomplete (errored, or with deferred changes); resources it "
                                         "does not show are not judged")
        groups: dict[str, list[Inst]] = {k: [] for k in ("policy", "principal", "link", "other")}
        for inst in self.insts.values():
            if inst.mode != "managed":
                continue                    # a data source's tags are the deployed object's, not this code's
            self.suppressions(inst)
            t = inst.type
            if t == "aws_iam_policy":
                groups["policy"].append(inst)
            elif t in PRINCIPALS:
                groups["principal"].append(inst)
            elif t in LINKS or t in INLINE or t in EXCLUSIVE or t in ("aws_iam_group_membership", "aws_iam_user_group_membership",
                                                    "aws_iam_instance_profile"):
                groups["link"].append(inst)
            else:
                groups["other"].append(inst)
        for inst in groups["policy"]:
            self.managed_policy(inst)
        for inst in groups["principal"]:
            self.principal(inst)
        for inst in groups["link"]:
            self.link(inst)
        for inst in groups["other"]:
            self.other(inst)
        self.credentials(groups["principal"], groups["other"])
        self.b.finish()

    def managed_policy(self, inst: Inst) -> None:
        arn = self.attr(inst, "arn")
        got = self.policy(inst, "policy", "identity", f"policy of {inst.address}")
        if got is None:
            raise self.fail(inst.ptr, f"aws_iam_policy {inst.address} has no policy")
        doc, stmts, origin, ptr = got
        self.b.define_policy(arn, self.res_name(inst), self.res_path(inst), doc, origin, ptr, stmts)

    def principal(self, inst: Inst) -> None:
        kind = PRINCIPALS[inst.type]
        origin = self.origin(inst)
        arn = self.attr(inst, "arn")
        if not isinstance(arn, str) or not arn.startswith(f"arn:{self.opts.partition}:iam::{self.opts.account}:"):
            arn = f"arn:{self.opts.partition}:iam::{self.opts.account}:{kind.value}{self.res_path(inst)}" \
                  f"{self.res_name(inst)}"
        p = Principal(arn=arn, name=self.res_name(inst), kind=kind, account=self.opts.account, path=self.res_path(inst),
                      tags=self.tags(inst))
        if kind is Kind.ROLE:
            got = self.policy(inst, "assume_role_policy", "trust", f"assume_role_policy of {inst.address}")
            if got is None:
                raise self.fail(inst.ptr, f"aws_iam_role {inst.address} has no assume_role_policy")
            p.trust_policy, stmts, dorigin, ptr = got
            self.index.document(p.trust_policy, dorigin, ptr, stmts)
            msd = self.value(inst, ("max_session_duration",))
            if isinstance(msd, bool) or (msd is not None and not isinstance(msd, (int, str))):
                raise self.fail(self.vptr(inst, ("max_session_duration",)), "max_session_duration must be a number")
            if isinstance(msd, int) or (isinstance(msd, str) and msd.isdigit()):
                p.max_session_duration = int(msd)
        if kind is not Kind.GROUP:
            pb = self.str_value(inst, ("permissions_boundary",))
            p.permissions_boundary = pb or None
        self.b.add(p, origin)
        if kind is Kind.ROLE:
            self.role_inline(inst, p, origin)
            for parn in self.str_list(inst, "managed_policy_arns"):
                self.b.attach(p, parn)

    def role_inline(self, inst: Inst, p: Principal, origin: Origin) -> None:
        raw = self.raw(inst, ("inline_policy",))
        _, written = self.refs_at(inst, ("inline_policy",))
        if raw is UNKNOWN or raw is None:
            if raw is UNKNOWN and written:          # None: no configuration, Optional+Computed: nothing
                doc, stmts = build_policy(unknown_document("identity", f"known-after-apply:{inst.address}"
                                                                       ".inline_policy"),
                                          "identity", self.src, self.vptr(inst, ("inline_policy",)), self.pos)
                self.b.inline(p, "inline_policy", doc, origin, self.vptr(inst, ("inline_policy",)), stmts)
            return
        for i, _ in enumerate(self._list(raw, self.vptr(inst, ("inline_policy",)), "inline_policy")):
            base = ("inline_policy", i)
            self._obj(self.raw(inst, base), self.vptr(inst, base), "each inline_policy block", optional=False)
            pname = self.value(inst, base + ("name",))
            if pname in (None, "") and self.raw(inst, base + ("policy",)) in (None, ""):
                continue            # `inline_policy {}`: the role keeps no inline policies
            got = self._inline_doc(inst, base)
            if got is None:
                continue
            doc, stmts, dorigin, ptr = got
            self.b.inline(p, pname if isinstance(pname, str) else f"inline_policy[{i}]", doc, dorigin, ptr, stmts)

    def _inline_doc(self, inst: Inst, base: tuple):
        raw = self.raw(inst, base + ("policy",))
        ptr = self.vptr(inst, base + ("policy",))
        what = f"inline_policy of {inst.address}"
        if isinstance(raw, str) and raw:
            return self._parse(raw, "identity", self.origin(inst), ptr, what)
        if raw is UNKNOWN:
            refs, _ = self.refs_at(inst, base + ("policy",))
            targets = self.targets(inst, refs)
            if len(targets) == 1 and targets[0][0] is not None and targets[0][0].type == "aws_iam_policy_document":
                src = targets[0][0]
                js = self.raw(src, ("json",))
                if isinstance(js, str):
                    return self._parse(js, "identity", self.origin(inst), ptr, what)
                return self._from_blocks(src, "identity", what)
            doc, stmts = build_policy(unknown_document("identity", f"known-after-apply:{inst.address}.inline_policy"),
                                      "identity", self.src, ptr, self.pos)
            return doc, stmts, self.origin(inst), ptr
        if raw is None or raw == "":
            return None
        raise self.fail(ptr, f"{what} must be a JSON string, not {_type(raw)}")

    def tags(self, inst: Inst) -> dict[str, str]:
        raw = self.raw(inst, ("tags",))
        if raw is UNKNOWN or raw is None:
            return {}
        if not isinstance(raw, dict):
            raise self.fail(self.vptr(inst, ("tags",)), f"tags of {inst.address} must be a map, not {_type(raw)}")
        return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}

    # links -----------------------------------------------------------------
    def find(self, kind: Kind, inst: Inst, key: str, name: str) -> Principal | None:
        p = self.b.find(kind, name)
        if p is None:
            line = self.origin(inst).line
            self.b.gap("MissingPrincipal", f"line {line}: {inst.address} ({key}) names {kind.value} {name}, "
                                           "which is not in the input (give the deployed account with --context)")
        return p

    def link(self, inst: Inst) -> None:
        t = inst.type
        origin = self.origin(inst)
        if t in LINKS:
            parn = self.str_value(inst, ("policy_arn",))
            if not parn:
                raise self.fail(inst.ptr, f"{t} {inst.address} needs policy_arn")
            for key, kind, many in LINKS[t]:
                names = self.str_list(inst, key) if many else [self.str_value(inst, (key,))]
                for n in names:
                    if n is None:
                        if not many:
                            raise self.fail(inst.ptr, f"{t} {inst.address} needs {key}")
                        continue
                    p = self.find(kind, inst, key, n)
                    if p is not None:
                        self.b.attach(p, parn, (), origin)
            return
        if t in EXCLUSIVE:
            key, kind = EXCLUSIVE[t]
            n = self.str_value(inst, (key,))
            if n is None:
                raise self.fail(inst.ptr, f"{t} {inst.address} needs {key}")
            p = self.find(kind, inst, key, n)
            if p is not None:
                for parn in self.str_list(inst, "policy_arns"):
                    self.b.attach(p, parn, (), origin)
            return
        if t in INLINE:
            key, kind = INLINE[t]
            n = self.str_value(inst, (key,))
            if n is None:
                raise self.fail(inst.ptr, f"{t} {inst.address} needs {key}")
            p = self.find(kind, inst, key, n)
            if p is None:
                return
            got = self.policy(inst, "policy", "identity", f"policy of {inst.address}")
            if got is None:
                return
            doc, stmts, dorigin, ptr = got
            pname = self.value(inst, ("name",))
            if not isinstance(pname, str):
                pname = inst.address
            self.b.inline(p, pname, doc, dorigin, ptr, stmts)
            return
        if t == "aws_iam_group_membership":
            g = self.str_value(inst, ("group",))
            group = self.find(Kind.GROUP, inst, "group", g) if g else None
            if group is None:
                return
            for u in self.str_list(inst, "users"):
                user = self.find(Kind.USER, inst, "users", u)
                if user is not None:
                    self.b.member(user, group)
            return
        if t == "aws_iam_user_group_membership":
            u = self.str_value(inst, ("user",))
            user = self.find(Kind.USER, inst, "user", u) if u else None
            if user is None:
                return
            for g in self.str_list(inst, "groups"):
                group = self.find(Kind.GROUP, inst, "groups", g)
                if group is not None:
                    self.b.member(user, group)
            return
        if t == "aws_iam_instance_profile":
            arn = self.attr(inst, "arn")
            r = self.str_value(inst, ("role",))
            if not r:
                return
            role = self.find(Kind.ROLE, inst, "role", r)
            if role is not None:
                if arn not in role.instance_profiles:
                    role.instance_profiles.append(arn)
                self.index.touched.add(role.arn)

    # other resources ---------------------------------------------------------
    def other(self, inst: Inst) -> None:
        t = inst.type
        inv = self.model.account(self.opts.account).inventory
        line = self.origin(inst).line
        if t == "aws_lambda_function":
            role = self.str_value(inst, ("role",))
            if "lambda_functions" in (inv or {}) and isinstance(role, str):
                name = self.value(inst, ("function_name",))
                inv["lambda_functions"].append({"arn": self.attr(inst, "arn"), "name": name,
                                                "role": role, "region": self.opts.region, "source": self.src})
            return
        if t == "aws_lambda_permission":
            entry: dict = {"type": t, "logical_id": inst.address, "file": self.src, "line": line}
            for key, out in LAMBDA_PERMISSION.items():
                v = self.value(inst, (key,))
                if v not in (None, ""):
                    entry[out] = v
            inv.setdefault("resource_policies", []).append(entry)
            return
        if t in RESOURCE_POLICIES:
            target_key, doc_key = RESOURCE_POLICIES[t]
            got = self.policy(inst, doc_key, "resource", f"{doc_key} of {inst.address}", optional=t == "aws_kms_key")
            if got is None:
                return
            doc, stmts, origin, ptr = got
            target = self.value(inst, (target_key,)) if target_key else self.attr(inst, "arn")
            if t == "aws_s3_bucket_policy" and isinstance(target, str) and not target.startswith("arn:"):
                target = f"arn:{self.opts.partition}:s3:::{target}"
            entry = {"type": t, "logical_id": inst.address, "file": self.src, "line": line,
                     "policy": doc.original, "resource": target}
            inv.setdefault("resource_policies", []).append(entry)
            self.index.document(doc, origin, ptr, stmts)

    def credentials(self, principals: list[Inst], others: list[Inst]) -> None:
        """Users the plan creates have exactly the access keys and console password the plan gives them:
        recorded in the credential inventory (as the live collector does), so escalation through
        iam:CreateAccessKey or iam:CreateLoginProfile is decided, not potential. Users that exist
        already may have credentials made outside Terraform and are left out."""
        new: dict[str, dict] = {}
        for inst in principals:
            if inst.type == "aws_iam_user" and "create" in inst.actions:
                p = self.b.find(Kind.USER, self.res_name(inst))
                if p is not None:
                    new[p.name] = {"access_keys": [], "login_profile": False, "mfa_devices": 0, "arn": p.arn}
        if not new:
            return
        for inst in others:
            if inst.type not in ("aws_iam_access_key", "aws_iam_user_login_profile"):
                continue
            u = self.value(inst, ("user",))
            if not isinstance(u, str) or u not in new:
                continue
            if inst.type == "aws_iam_access_key":
                status = self.value(inst, ("status",))
                new[u]["access_keys"].append({"id_suffix": "", "status": status if isinstance(status, str)
                                              and not has_marker(status) else "Active"})
            else:
                new[u]["login_profile"] = True
        inv = self.model.account(self.opts.account).inventory
        users = inv.get("users")
        if users is None or isinstance(users, dict):
            users = inv.setdefault("users", {})
            for info in new.values():
                users[info.pop("arn")] = info

    # suppressions ------------------------------------------------------------
    def suppressions(self, inst: Inst) -> None:
        raw = self.raw(inst, ("tags",))
        if not isinstance(raw, dict) or SKIP_TAG not in raw:
            return
        ptr = self.vptr(inst, ("tags", SKIP_TAG))
        text = raw[SKIP_TAG]
        if not isinstance(text, str):
            raise self.fail(ptr, f"the {SKIP_TAG} tag must be text: RULE[+RULE] reason [until=YYYY-MM-DD]")
        expires = None
        m = _UNTIL.search(text)
        if m:
            try:
                expires = _dt.date.fromisoformat(m.group(1))
            except ValueError:
                raise self.fail(ptr, f"until= must be a date (YYYY-MM-DD), not {m.group(1)!r}") from None
            text = (text[:m.start()] + " " + text[m.end():])
        parts = text.strip().split(None, 1)
        if not parts:
            raise self.fail(ptr, f"the {SKIP_TAG} tag needs rule ids and a reason")
        rules = [r for r in re.split(r"[,+/]", parts[0]) if r]
        if not rules or not all(_RULE_ID.match(r) for r in rules):
            raise self.fail(ptr, f"the {SKIP_TAG} tag must start with rule ids (IAM104 or IAM104+ESC001), "
                                 f"not {parts[0]!r}")
        reason = parts[1].strip() if len(parts) > 1 else ""
        if not reason:
            raise self.fail(ptr, f"the {SKIP_TAG} tag of {inst.address} skips {'+'.join(rules)} without a reason")
        line = self.line(ptr)[0]
        for r in rules:
            self.index.suppress(Suppression(r, reason, self.src, inst.address, line, expires))


_NOKEY = object()


def _specific(refs: list[str]) -> list[str]:
    """The references without those a more specific one covers (`aws_iam_role.x` beside `aws_iam_role.x.arn`)."""
    return [r for r in refs if not any(o != r and o.startswith((r + ".", r + "[")) for o in refs)]


def _parse_ref(ref: str) -> list | None:
    """`module.a["x"].aws_iam_role.r[0].arn` -> ['module', 'a', ('key', 'x'), 'aws_iam_role', 'r', ('key', 0),
    'arn']; None when it cannot be read."""
    out: list = []
    i = 0
    while i < len(ref):
        m = _REF_TOKEN.match(ref, i)
        if not m or m.end() == i:
            return None
        if m.group(1) is not None:
            out.append(m.group(1))
        else:
            k = m.group(2)
            if k == "*":
                out.append(("key", _NOKEY))
            else:
                try:
                    out.append(("key", json.loads(k)))
                except ValueError:
                    return None
        i = m.end()
    # splats name every instance
    return [t for t in out if not (isinstance(t, tuple) and t[1] is _NOKEY)]


def _split_module(module: str) -> tuple[str, str, Any]:
    """`module.a.module.b["k"]` -> ('module.a', 'b', 'k')."""
    toks = _parse_ref(module) or []
    parent: list[str] = []
    call, key = "", None
    i = 0
    while i < len(toks):
        if toks[i] == "module" and i + 1 < len(toks):
            if call:
                parent.append(f"module.{call}" + (f"[{json.dumps(key)}]" if key is not None else ""))
            call, key = toks[i + 1], None
            i += 2
            if i < len(toks) and isinstance(toks[i], tuple):
                key = toks[i][1]
                i += 1
            continue
        i += 1
    return ".".join(parent), call, key


def _merge(base: list[tuple[dict, str]], new: list[tuple[dict, str]], keep_first: bool = False
           ) -> list[tuple[dict, str]]:
    """Statements merged as aws_iam_policy_document does: a statement with the Sid of an earlier one
    replaces it (source documents: the first one stays), others are appended."""
    out = list(base)
    for st in new:
        sid = st[0].get("Sid")
        hit = next((i for i, x in enumerate(out) if sid and x[0].get("Sid") == sid), None)
        if hit is None:
            out.append(st)
        elif not keep_first:
            out[hit] = st
    return out


def _type(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


def load_terraform_plan(data: Any, positions: Positions, source: str, model: Model, opts: Options,
                        index: Index) -> Model:
    """Load a plan (or a state) shown with `terraform show -json` into `model`; positions, origins and
    suppressions go to `index`. Bad input is one InputError naming `source` and the JSON pointer."""
    Plan(data, positions, source, model, opts, index).load()
    index.files.append((source, "terraform"))
    return model

"""Every escalation method of policies/escalation/methods.yaml, proven by fixtures.

fixtures/escalation/<method-id>/case.json names the start principal (a case may name its own) and, per case, its files and what
must happen: a positive reaches admin-equivalence, every shortest way through the method (its step
potential or certain as stated); a negative (the same account, blocked by one thing) does not reach
admin at all. A method whose case.json says `"step": "tool"` (category tool-invoke) proves a `tool` edge
instead: a positive has that edge from the start to the admin role (through the method's hub where the
start may invoke every such tool), AGT005 reports the start, and no escalation path uses the edge; a
negative has no such edge. The files are written by fixtures/escalation/generate.py.
"""

import json
from pathlib import Path

import pytest

from iamlint.graph.build import build_graph, is_hub
from iamlint.graph.methods import load_methods
from iamlint.graph.paths import paths_to_admin
from iamlint.loaders import load_paths
from iamlint.pipeline import scan

from conftest import FIXTURES

ESC = FIXTURES / "escalation"
METHOD_IDS = [m.id for m in load_methods()]


def _cases():
    out = []
    for folder in sorted(p for p in ESC.iterdir() if p.is_dir()):
        meta = json.loads((folder / "case.json").read_text())
        for name, c in meta["cases"].items():
            out.append(pytest.param(folder, meta, name, c, id=f"{folder.name}/{name}"))
    return out


def _graph(folder: Path, c: dict):
    model = load_paths([str(folder / f) for f in c["files"]])
    return model, build_graph(model)


def _tool_steps(g, start: str, method: str) -> dict[str, list]:
    """target -> the `tool` edges of `method` from start to it (through the method's hub, if any)."""
    out: dict[str, list] = {}
    for _, hop, data in g.g.out_edges(start, data=True):
        e = data["edge"]
        if e.method != method:
            continue
        nexts = [d["edge"] for _, _, d in g.g.out_edges(hop, data=True)] if is_hub(hop) else [e]
        for t in nexts:
            assert e.tool and t.tool, f"a {method} edge not marked tool: {e}"
            out.setdefault(t.target, []).append(e if t is e else t)
    return out


def _check_tool_case(meta, name, c, model, g, start):
    admin = "arn:aws:iam::111111111111:role/admin"
    steps = _tool_steps(g, start, meta["method"])
    agt005 = [f for f in scan(model, only=["AGT005"]).findings if f.principal == start]
    if not c["reachable"]:
        assert admin not in steps, f"{name}: expected no tool edge to the admin role ({c.get('why')})"
        assert not agt005, f"{name}: AGT005 flagged the start ({c.get('why')})"
        return
    assert admin in steps, f"{name}: no {meta['method']} tool edge from {start} to the admin role"
    assert all(e.potential is c["potential"] for e in steps[admin]), f"{name}: potential {steps[admin]}"
    assert agt005 and "administrator" in agt005[0].message, f"{name}: AGT005 does not report the admin tool"
    assert not paths_to_admin(g, start, limit=10), f"{name}: an escalation path follows a tool edge"


@pytest.mark.parametrize("folder,meta,name,c", _cases())
def test_escalation_fixture(folder, meta, name, c):
    model, g = _graph(folder, c)
    start = c.get("start", meta["start"])
    if meta.get("step") == "tool":
        return _check_tool_case(meta, name, c, model, g, start)
    found = paths_to_admin(g, start, limit=10)
    if not c["reachable"]:
        assert not found, f"{name}: expected no way to admin ({c.get('why')}), got " + \
            " | ".join(" -> ".join(f"{e.method}:{e.target}" for e in p) for p in found)
        return
    assert found, f"{name}: start {start} does not reach admin"
    wanted = c.get("methods") or [meta["method"]]
    for p in found:
        used = [e.method for e in p]
        assert all(m in used for m in wanted), f"{name}: a way to admin avoids {wanted}: {used}"
    step = next(e for e in found[0] if e.method == wanted[0])
    assert step.potential is c["potential"], f"{name}: step potential={step.potential}, expected {c['potential']}"
    if "conditional" in c:
        assert step.conditional is c["conditional"], f"{name}: step conditions {step.conditions}"


@pytest.mark.parametrize("folder,meta,name,c", _cases())
def test_escalation_rule_agrees_with_paths(folder, meta, name, c):
    # ESC001 walks backwards from admin sinks; it must find exactly the starts that `paths` finds
    model = load_paths([str(folder / f) for f in c["files"]])
    start = c.get("start", meta["start"])
    if model.principal(start) is None:
        pytest.skip("the start is not an IAM principal (a service or a provider)")
    report = scan(model, only=["ESC001"])
    hit = [f for f in report.findings if f.rule_id == "ESC001" and f.principal == start]
    if meta.get("step") == "tool":   # a tool edge is never an escalation step
        assert not hit, f"{name}: ESC001 followed a tool edge"
        return
    assert bool(hit) is c["reachable"], f"{name}: ESC001 {'missed' if c['reachable'] else 'flagged'} the start"


def test_every_method_has_fixtures():
    missing = []
    for mid in METHOD_IDS:
        folder = ESC / mid
        if not (folder / "case.json").exists():
            missing.append(f"{mid}: no case.json")
            continue
        cases = json.loads((folder / "case.json").read_text())["cases"]
        if not any(c["reachable"] for c in cases.values()):
            missing.append(f"{mid}: no positive")
        if not any(not c["reachable"] for c in cases.values()):
            missing.append(f"{mid}: no negative")
        for c in cases.values():
            missing.extend(f"{mid}: {f} listed but absent" for f in c["files"] if not (folder / f).exists())
    assert not missing, "methods without fixtures: " + "; ".join(missing)


def test_every_fixture_folder_names_a_method():
    folders = {p.name for p in ESC.iterdir() if p.is_dir() and not p.name.startswith(("_", "cross-account"))}
    assert folders <= set(METHOD_IDS), f"fixture folders for unknown methods: {sorted(folders - set(METHOD_IDS))}"


def test_inventory_methods_have_inventory_cases():
    # a method that relies on inventory proves both sides: certain with it, blocked when it shows none;
    # one that needs an instance profile proves the step certain once the role has one; tool-invoke
    # methods read the same inventories
    for m in load_methods():
        cases = json.loads((ESC / m.id / "case.json").read_text())["cases"]
        if m.requires == "instance_profile" and m.matcher == "pass_role":
            assert cases["positive-inventory"]["potential"] is False, m.id
        if m.matcher not in ("existing_resource", "tool_invoke") and m.precondition is None:
            continue
        assert "positive-inventory" in cases and "negative-inventory" in cases, m.id
        assert cases["positive-inventory"]["potential"] is False, m.id


def test_method_actions_exist_in_the_aws_catalog():
    from iamlint.engine import actions as catalog
    unknown = [f"{m.id}: {a}" for m in load_methods() for s in m.actions for a in s.actions if not catalog.exists(a)]
    assert not unknown, unknown


def test_fixtures_are_what_the_generator_writes(tmp_path):
    # the JSON files are generated: editing one by hand (or the generator without regenerating) fails here
    import importlib.util
    spec = importlib.util.spec_from_file_location("esc_generate", ESC / "generate.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    gen.write(root=tmp_path)
    want = {p.relative_to(tmp_path): p.read_text() for p in tmp_path.rglob("*.json")}
    have = {p.relative_to(ESC): p.read_text() for p in ESC.rglob("*.json")}
    assert sorted(want) == sorted(have), "run python fixtures/escalation/generate.py"
    stale = [str(k) for k in want if want[k] != have[k]]
    assert not stale, f"stale fixtures (run python fixtures/escalation/generate.py): {stale[:5]}"


def _sso_account(assume: bool) -> dict:
    """A user who may manage Identity Center permission sets (a potential way to admin) and, with `assume`,
    may also assume an admin role that trusts the account (a certain way)."""
    acct = "111111111111"
    stmts = [{"Effect": "Allow", "Action": "sso:*", "Resource": "*"}]
    if assume:
        stmts.append({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{acct}:role/admin"})
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"}, "Action": "sts:AssumeRole"}]}
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    return {"UserDetailList": [{"UserName": "ops", "UserId": "AIDAOPSXXXXXXXXXXXXXX", "Path": "/",
                                "Arn": f"arn:aws:iam::{acct}:user/ops", "GroupList": [], "AttachedManagedPolicies": [],
                                "UserPolicyList": [{"PolicyName": "ops", "PolicyDocument": {
                                    "Version": "2012-10-17", "Statement": stmts}}]}],
            "GroupDetailList": [],
            "RoleDetailList": [{"RoleName": "admin", "RoleId": "AROAADMINXXXXXXXXXXXX", "Path": "/",
                                "Arn": f"arn:aws:iam::{acct}:role/admin", "AssumeRolePolicyDocument": trust,
                                "RolePolicyList": [], "InstanceProfileList": [],
                                "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess", "PolicyArn": admin}]}],
            "Policies": [{"PolicyName": "AdministratorAccess", "Arn": admin, "Path": "/", "DefaultVersionId": "v1",
                          "IsAttachable": True, "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True,
                          "Document": {"Version": "2012-10-17",
                                       "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}]}]}


def test_a_certain_way_is_reported_before_a_potential_identity_center_step():
    from iamlint.loaders import load_data
    ops = "arn:aws:iam::111111111111:user/ops"
    for assume in (True, False):
        model = load_data(_sso_account(assume), "sso.json")
        hit = [f for f in scan(model, only=["ESC001"]).findings if f.principal == ops]
        assert len(hit) == 1, hit
        if assume:      # the certain AssumeRole wins over the potential permission-set step
            assert not hit[0].potential and "--sts-assume-role--> admin" in hit[0].message, hit[0].message
        else:           # only Identity Center: reported, potential, naming what it assumes
            assert hit[0].potential and "sso-create-permission-set?" in hit[0].message, hit[0].message
            step = hit[0].path[0]
            assert step.assumes and "Identity Center" in step.assumes

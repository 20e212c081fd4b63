"""The audit's per-unit analysis gives the findings of one whole-organization scan.

Generated organizations (every account linked, a few small groups, none) and hand-made ones with each
kind of cross-account link the split knows (a trust of an account root, of a principal's ARN, of `*`,
a managed policy of another account) and links that cannot matter (no principal of the trusted
account can name the role); an organization's SCPs shared by every unit; dates far apart between
accounts (one reference time for the run); worker processes and Dask workers.
"""

import json
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from generate import cross_groups, org_accounts, write_org  # noqa: E402

from iamlint.audit import collect as C  # noqa: E402
from iamlint.audit.run import Plan, audit  # noqa: E402
from iamlint.audit.store import Store  # noqa: E402

V = "2012-10-17"


def _bare(findings):
    return [{k: v for k, v in f.items() if k != "audit"} for f in findings]


def _both(folder, tmp_path, **kw):
    """(whole-org outcome, per-unit outcome) of the same input folder."""
    whole = audit(Plan("input", C.input_targets(str(folder))), Store(str(tmp_path / "whole.db")),
                  whole_org_graph=True, **kw)
    units = audit(Plan("input", C.input_targets(str(folder))), Store(str(tmp_path / "units.db")), **kw)
    return whole, units


def _same(whole, units):
    w, u = whole.document, units.document
    assert _bare(u["new"]) == _bare(w["new"])
    assert u["errors"] == w["errors"] and u["summary"] == w["summary"]
    assert [dict(a, seconds=None) for a in u["accounts"]] == [dict(a, seconds=None) for a in w["accounts"]]


# ----------------------------------------------------------------------------------- generated organizations


@pytest.mark.parametrize("cross,expect_units", [(None, 1), (0.6, None), (0.0, 5)])
def test_generated_org_units_give_the_whole_org_findings(tmp_path, cross, expect_units):
    folder = tmp_path / "org"
    write_org(5, 120, seed=2, folder=str(folder), cross=cross)
    whole, units = _both(folder, tmp_path, analysis_workers=1)
    _same(whole, units)
    assert len(whole.document["new"]) > 20
    if expect_units is not None:
        assert len(units.units) == expect_units
    else:   # the groups of three (or fewer) the generator made, each one unit
        groups = {tuple(g) for g in cross_groups(org_accounts(5), 2, cross).values()}
        assert sorted(map(sorted, units.units)) == sorted(map(sorted, groups))


def test_worker_processes_give_the_same_findings(tmp_path):
    folder = tmp_path / "org"
    write_org(4, 100, seed=3, folder=str(folder), cross=0.0)
    one = audit(Plan("input", C.input_targets(str(folder))), Store(str(tmp_path / "a.db")), analysis_workers=1)
    two = audit(Plan("input", C.input_targets(str(folder))), Store(str(tmp_path / "b.db")), analysis_workers=2)
    assert len(one.units) == 4 and _bare(one.document["new"]) == _bare(two.document["new"])


def test_dask_units_give_the_whole_org_findings(tmp_path):
    distributed = pytest.importorskip("distributed")
    folder = tmp_path / "org"
    write_org(4, 80, seed=4, folder=str(folder), cross=0.7)
    whole = audit(Plan("input", C.input_targets(str(folder))), Store(str(tmp_path / "w.db")), whole_org_graph=True)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cl:
        units = audit(Plan("input", C.input_targets(str(folder))), Store(str(tmp_path / "u.db")), executor="dask",
                      scheduler=cl.scheduler_address)
    _same(whole, units)
    assert units.results and all(r.model is None for r in units.results)   # the models stayed on the workers


# ----------------------------------------------------------------------------------- hand-made links


def _doc(*sts):
    return {"Version": V, "Statement": list(sts)}


def _role(acct, name, trust, *inline, managed=(), created="2024-01-01T00:00:00Z", last=None):
    out = {"RoleName": name, "RoleId": f"AROA{acct}{abs(hash(name)) % 10**6:06d}", "Path": "/",
           "Arn": f"arn:aws:iam::{acct}:role/{name}", "CreateDate": created, "AssumeRolePolicyDocument": trust,
           "RolePolicyList": [{"PolicyName": f"p{i}", "PolicyDocument": d} for i, d in enumerate(inline)],
           "AttachedManagedPolicies": [{"PolicyName": m.rsplit("/", 1)[-1], "PolicyArn": m} for m in managed],
           "InstanceProfileList": [], "Tags": []}
    if last:
        out["RoleLastUsed"] = {"LastUsedDate": last, "Region": "us-east-1"}
    return out


def _trust(principal, **cond):
    st = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if cond:
        st["Condition"] = cond
    return _doc(st)


ADMIN = _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
POWER = _doc({"Effect": "Allow", "NotAction": ["iam:*", "sts:*", "organizations:*"], "Resource": "*"})
ESCALATE = _doc({"Effect": "Allow", "Action": ["iam:AttachRolePolicy", "iam:PutRolePolicy"], "Resource": "*"})


def _write(folder, accounts: dict, policies: dict | None = None, org=None):
    folder.mkdir()
    for acct, roles in accounts.items():
        data = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles,
                "Policies": (policies or {}).get(acct, [])}
        (folder / f"account-{acct}.json").write_text(json.dumps(data))
    if org:
        (folder / "organization.json").write_text(json.dumps(org))
    return folder


def _managed(acct, name, doc):
    return {"PolicyName": name, "PolicyId": f"ANPA{name.upper()}", "Arn": f"arn:aws:iam::{acct}:policy/{name}",
            "Path": "/", "DefaultVersionId": "v1", "AttachmentCount": 1, "IsAttachable": True,
            "PolicyVersionList": [{"Document": doc, "VersionId": "v1", "IsDefaultVersion": True,
                                   "CreateDate": "2023-01-01T00:00:00Z"}]}


A, B, C_, D, E, F, G = (f"{n}00000000000"[:12] for n in "1234567")


def _org_snapshot(accounts):
    full = {"name": "FullAWSAccess", "arn": "arn:aws:organizations::111111111111:policy/o-x/scp/p-full",
            "document": _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})}
    deny = {"name": "NoIamWrite", "arn": "arn:aws:organizations::111111111111:policy/o-x/scp/p-deny",
            "document": _doc({"Effect": "Deny", "Action": ["iam:Attach*", "iam:Put*"], "Resource": "*"})}
    scps = {a: [{"level": "Root", "policies": [full]},
                {"level": "OU prod", "policies": [full, deny] if i % 2 else [full]}] for i, a in enumerate(accounts)}
    return {"format": "iamlint-snapshot", "schema_version": 1, "accounts": [], "policies": [],
            "organization": {"id": "o-x", "management_account": "999999999990", "scps": scps, "rcps": {}}}


def test_each_kind_of_link_and_links_that_cannot_matter(tmp_path, monkeypatch):
    accounts = {
        # A's ops role may assume anything: B trusts A's root -> A and B together
        A: [_role(A, "ops", _trust({"AWS": f"arn:aws:iam::{A}:root"}), _doc(
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{B}:role/*"}), ESCALATE)],
        B: [_role(B, "deploy", _trust({"AWS": f"arn:aws:iam::{A}:root"}), ADMIN),
            _role(B, "power", _trust({"AWS": f"arn:aws:iam::{A}:root"}), POWER, ESCALATE)],
        # C trusts D's root but nothing in D may assume: apart (IAM206 still says "in this input")
        C_: [_role(C_, "reader", _trust({"AWS": f"arn:aws:iam::{D}:root"}), ADMIN),
             _role(C_, "named", _trust({"AWS": f"arn:aws:iam::{D}:role/app"}), POWER)],
        D: [_role(D, "app", _trust({"Service": "lambda.amazonaws.com"}), _doc(
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}), ESCALATE,
            created="2019-01-01T00:00:00Z", last="2019-06-01T00:00:00Z")],
        # G attaches a managed policy of D: G and D together (the policy's document is D's)
        G: [_role(G, "borrow", _trust({"Service": "lambda.amazonaws.com"}),
                  managed=[f"arn:aws:iam::{D}:policy/shared-esc"], created="2026-03-01T00:00:00Z")],
    }
    policies = {D: [_managed(D, "shared-esc", ESCALATE)]}
    folder = _write(tmp_path / "org", accounts, policies, _org_snapshot(list(accounts)))
    whole, units = _both(folder, tmp_path, analysis_workers=1)
    _same(whole, units)
    assert sorted(map(sorted, units.units)) == sorted([[A, B], [C_], [D, G]])
    why = {tuple(x["accounts"]): x["why"] for x in units.links}
    assert why == {(A, B): "trusts the account", (D, G): "attaches a managed policy of the account"}
    new = units.document["new"]
    rules = {(f["rule_id"], f["principal"].split(":")[4]) for f in new}
    assert ("IAM206", C_) in rules                        # trust of the whole account D (in this input)
    # one reference time: D's role is idle relative to the latest date of the whole input (G's, 2026)
    stale = [f for f in new if f["principal"].endswith(":role/app") and "last used 2019" in f["message"]]
    assert stale and "days before the latest date in the input" in stale[0]["message"]
    # the links matter: every account alone would miss A's way into B and G's use of D's policy
    from iamlint.audit import split
    monkeypatch.setattr(split, "units", lambda summaries, order: ([[a] for a in order], []))
    (tmp_path / "alone").mkdir()
    alone = audit(Plan("input", C.input_targets(str(folder))), Store(str(tmp_path / "alone" / "a.db")))
    assert _bare(alone.document["new"]) != _bare(whole.document["new"])


def test_a_named_principal_that_cannot_assume_does_not_join(tmp_path):
    accounts = {
        A: [_role(A, "target", _trust({"AWS": f"arn:aws:iam::{B}:role/caller"}), ADMIN)],
        B: [_role(B, "caller", _trust({"Service": "lambda.amazonaws.com"}), _doc(
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{B}:role/*"}))],
    }
    folder = _write(tmp_path / "org", accounts)
    whole, units = _both(folder, tmp_path)
    _same(whole, units)
    assert sorted(map(sorted, units.units)) == [[A], [B]]
    # once the caller may name the target, they are one unit and the path is found across accounts
    accounts[B][0]["RolePolicyList"][0]["PolicyDocument"]["Statement"][0]["Resource"] = "arn:aws:iam::*:role/t*"
    folder2 = _write(tmp_path / "org2", accounts)
    (tmp_path / "again").mkdir()
    whole, units = _both(folder2, tmp_path / "again")
    _same(whole, units)
    assert sorted(map(sorted, units.units)) == [[A, B]]
    assert any(f["principal"] == f"arn:aws:iam::{B}:role/caller" for f in units.document["new"])


def test_a_star_trust_joins_only_accounts_that_can_name_the_role(tmp_path):
    accounts = {
        # E trusts `*` (limited by an org condition); F's role names E's roles with AssumeRole; H's cannot
        E: [_role(E, "open", _trust({"AWS": "*"}, StringEquals={"aws:PrincipalOrgID": "o-x"}), POWER, ESCALATE)],
        F: [_role(F, "caller", _trust({"Service": "ec2.amazonaws.com"}), _doc(
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{E}:role/*"}))],
        G: [_role(G, "other", _trust({"Service": "ec2.amazonaws.com"}), _doc(
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{G}:role/*"}), ESCALATE)],
    }
    folder = _write(tmp_path / "org", accounts, org=_org_snapshot(list(accounts)))
    whole, units = _both(folder, tmp_path, analysis_workers=2)
    _same(whole, units)
    assert sorted(map(sorted, units.units)) == [[E, F], [G]]
    assert [x["why"] for x in units.links] == ["trusts any principal"]


def test_cli_flags(tmp_path):
    from typer.testing import CliRunner

    from iamlint.cli import app
    folder = tmp_path / "org"
    write_org(3, 60, seed=5, folder=str(folder), cross=0.0)
    outs = {}
    for flags in ([], ["--whole-org-graph"], ["--analysis-workers", "1"]):
        out = tmp_path / f"run{len(outs)}.json"
        res = CliRunner().invoke(app, ["audit", "--input", str(folder), "--db", str(tmp_path / f"{len(outs)}.db"),
                                       "--format", "json", "-o", str(out), *flags])
        assert res.exit_code == 0, res.output
        outs[" ".join(flags)] = _bare(json.loads(out.read_text())["new"])
    assert outs[""] == outs["--whole-org-graph"] == outs["--analysis-workers 1"] and outs[""]
    res = CliRunner().invoke(app, ["audit", "--input", str(folder), "--db", str(tmp_path / "x.db"),
                                   "--analysis-workers", "0"])
    assert res.exit_code == 2 and "--analysis-workers" in res.output


def test_exclusions_apply_alike_in_units(tmp_path):
    from iamlint.suppress import Exclusion
    folder = tmp_path / "org"
    write_org(3, 60, seed=6, folder=str(folder), cross=0.0)
    first = org_accounts(3)[1]
    excl = [Exclusion(reason="accepted", principal=f"arn:aws:iam::{first}:role/*"),
            Exclusion(reason="expired", rule="IAM", expires=__import__("datetime").date(2000, 1, 1))]
    whole, units = _both(folder, tmp_path, exclusions=excl)
    _same(whole, units)
    assert not [f for f in units.document["new"] if f["principal"].startswith(f"arn:aws:iam::{first}:role/")]
    assert [f for f in units.document["new"] if f["rule_id"].startswith("IAM")]      # the expired one is not applied
    # the next run without the exclusion: the suppressed findings come back as new, in both
    w2 = audit(Plan("input", C.input_targets(str(folder))), Store(str(tmp_path / "whole.db")), whole_org_graph=True)
    u2 = audit(Plan("input", C.input_targets(str(folder))), Store(str(tmp_path / "units.db")))
    assert _bare(u2.document["new"]) == _bare(w2.document["new"]) and u2.document["new"]

"""Time keys in static analysis (iam-semantics.md R15/R16): a request is made at or after the reference time,
so `aws:CurrentTime` / `aws:EpochTime` lie in [reference, +inf); a role session's `aws:TokenIssueTime` lies
at most one session length (12 h) before the request; a user may call with long-term keys, so for users it
stays unknown. A comparison that holds (or fails) across the whole span is decided; one whose date falls
inside it stays conditional, naming the key. IAM Vulnerable's fn3 (always true for sessions) and fp5
(never true) are the traps this settles."""

from datetime import datetime, timezone

import pytest

from iamlint.engine.authorize import Authorizer
from iamlint.engine.conditions import MAYBE, NO, YES, evaluate_condition
from iamlint.engine.context import Context
from iamlint.graph.build import build_graph
from iamlint.graph.paths import paths_to_admin
from iamlint.loaders import load_data
from iamlint.model.policy import Condition
from iamlint.pipeline import scan

A = "111111111111"
T0 = datetime(2026, 6, 1, tzinfo=timezone.utc).timestamp()
DAY = 86400


def cond(op, key, *values):
    base = op.removesuffix("IfExists")
    return Condition(op, base, None, op.endswith("IfExists"), key, tuple(values))


def span(lo, hi=None, families=("Date",)):
    return Context(complete=False, ranges={"k": (lo, hi, families)})


@pytest.mark.parametrize("op,value,want", [
    ("DateGreaterThan", "2020-01-01T00:00:00Z", YES),
    ("DateGreaterThanEquals", "2026-06-01T00:00:00Z", YES),
    ("DateGreaterThan", "2026-06-01T00:00:00Z", MAYBE),     # the reference instant itself
    ("DateGreaterThan", "2030-01-01", MAYBE),               # false now, true later
    ("DateLessThan", "2020-01-01", NO),                     # expired
    ("DateLessThanEquals", "2026-06-01T00:00:00Z", MAYBE),
    ("DateLessThan", "2026-06-01T00:00:00Z", NO),
    ("DateLessThan", "2030-01-01", MAYBE),                  # true now, false later
    ("DateEquals", "2020-01-01", NO),
    ("DateEquals", "2030-01-01", MAYBE),
    ("DateNotEquals", "2020-01-01", YES),
    ("DateNotEquals", "2030-01-01", MAYBE),
    ("DateLessThanIfExists", "2020-01-01", NO),             # present: IfExists changes nothing
    ("DateGreaterThan", "not a date", MAYBE),
    ("StringLike", "2026*", MAYBE),                         # not a date comparison: undecided
    ("NumericGreaterThan", "1", MAYBE),                     # a date key is no number
])
def test_a_comparison_across_the_span(op, value, want):
    assert evaluate_condition(cond(op, "k", value), span(T0)) == want


def test_several_values_any_of_them():
    c = span(T0)
    assert evaluate_condition(cond("DateLessThan", "k", "2020-01-01", "2019-01-01"), c) == NO
    assert evaluate_condition(cond("DateLessThan", "k", "2020-01-01", "2030-01-01"), c) == MAYBE
    assert evaluate_condition(cond("DateGreaterThan", "k", "2030-01-01", "2020-01-01"), c) == YES


def test_a_bounded_span_and_epoch_seconds():
    c = span(T0 - DAY, T0, ("Date", "Numeric"))
    assert evaluate_condition(cond("NumericGreaterThan", "k", str(int(T0 - 2 * DAY))), c) == YES
    assert evaluate_condition(cond("NumericLessThan", "k", str(int(T0 + 1))), c) == YES
    assert evaluate_condition(cond("NumericLessThan", "k", str(int(T0 - 2 * DAY))), c) == NO
    assert evaluate_condition(cond("DateEquals", "k", "2026-05-31T12:00:00Z"), c) == MAYBE


def test_presence_is_known_and_an_unbounded_span_decides_nothing_else():
    c = span(None)
    assert evaluate_condition(cond("Null", "k", "false"), c) == YES
    assert evaluate_condition(cond("Null", "k", "true"), c) == NO
    assert evaluate_condition(cond("DateGreaterThan", "k", "2020-01-01"), c) == MAYBE
    assert evaluate_condition(cond("DateGreaterThan", "other", "2020-01-01"), c) == MAYBE   # unknown key


def test_a_value_in_the_context_wins_over_the_span():
    c = Context({"k": "2019-06-01T00:00:00Z"}, complete=False, ranges={"k": (T0, None, ("Date",))})
    assert evaluate_condition(cond("DateLessThan", "k", "2020-01-01"), c) == YES


# ------------------------------------------------------------------ through the evaluator's default context

def _doc(*st):
    return {"Version": "2012-10-17", "Statement": list(st)}


def _account(condition=None, stamped=True):
    stmt = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    if condition:
        stmt["Condition"] = condition
    date = {"CreateDate": "2026-06-01T00:00:00Z"} if stamped else {}
    return {
        "RoleDetailList": [dict({"RoleName": "app", "Arn": f"arn:aws:iam::{A}:role/app", "Path": "/",
                                 "AssumeRolePolicyDocument": _doc({"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                   "Principal": {"Service": "ec2.amazonaws.com"}}),
                                 "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": _doc(stmt)}]}, **date)],
        "UserDetailList": [dict({"UserName": "u", "Arn": f"arn:aws:iam::{A}:user/u", "Path": "/",
                                 "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": _doc(stmt)}]}, **date)],
        "GroupDetailList": [], "Policies": []}


ROLE, USER = f"arn:aws:iam::{A}:role/app", f"arn:aws:iam::{A}:user/u"


def _decide(condition, who, stamped=True):
    auth = Authorizer(load_data(_account(condition, stamped), "a.json"))
    return auth.check(who, "s3:GetObject", "arn:aws:s3:::b/k").decision


def test_token_issue_time_of_a_role_session_is_decided():
    fn3 = {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}}
    fp5 = {"DateLessThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}}
    assert _decide(fn3, ROLE) == "Allowed"
    assert _decide(fp5, ROLE) == "ImplicitlyDenied"
    # within a session length of the reference time: a session may predate it or not
    assert _decide({"DateGreaterThan": {"aws:TokenIssueTime": "2026-05-31T20:00:00Z"}}, ROLE) == "Conditional"
    # a user may call with its long-term keys, where the key is absent
    assert _decide(fn3, USER) == "Conditional"
    assert _decide({"Null": {"aws:TokenIssueTime": "false"}}, ROLE) == "Allowed"


def test_current_time_expired_and_time_boxed_grants():
    assert _decide({"DateLessThan": {"aws:CurrentTime": "2021-01-01T00:00:00Z"}}, USER) == "ImplicitlyDenied"
    assert _decide({"DateLessThan": {"aws:CurrentTime": "2099-01-01T00:00:00Z"}}, USER) == "Conditional"
    assert _decide({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, USER) == "Allowed"
    assert _decide({"NumericGreaterThan": {"aws:EpochTime": "1577836800"}}, ROLE) == "Allowed"


def test_an_input_without_dates_is_read_against_the_clock():
    # IaC and hand-written files carry no dates: requests come now or later
    assert _decide({"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}}, ROLE, stamped=False) \
        == "Allowed"
    assert _decide({"DateLessThan": {"aws:CurrentTime": "2021-01-01T00:00:00Z"}}, USER, stamped=False) \
        == "ImplicitlyDenied"
    assert _decide({"DateLessThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}}, USER, stamped=False) \
        == "Conditional"


def test_a_configured_now_moves_the_span():
    grant = {"DateLessThan": {"aws:CurrentTime": "2026-03-01T00:00:00Z"}}   # input dated 2026-06-01
    m = load_data(_account(grant), "a.json")
    assert scan(m, only=["IAM1"], jobs=1).graph.auth.check(USER, "s3:GetObject", "arn:aws:s3:::b/k").decision \
        == "ImplicitlyDenied"
    m = load_data(_account(grant), "a.json")
    rep = scan(m, only=["IAM1"], config={"now": "2026-01-01T00:00:00Z"}, jobs=1)
    assert rep.graph.auth.check(USER, "s3:GetObject", "arn:aws:s3:::b/k").decision == "Conditional"


def test_a_reference_time_in_the_future_does_not_rule_out_todays_requests():
    embargo = {"DateLessThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}}
    m = load_data(_account(embargo), "a.json")
    rep = scan(m, only=["IAM1"], config={"now": "3000-01-01T00:00:00Z"}, jobs=1)
    assert rep.graph.auth.check(USER, "s3:GetObject", "arn:aws:s3:::b/k").decision == "Conditional"


def test_a_time_the_request_gives_replaces_every_span():
    auth = Authorizer(load_data(_account({"DateLessThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}}), "a.json"))
    assert auth.check(ROLE, "s3:GetObject", "arn:aws:s3:::b/k").decision == "ImplicitlyDenied"
    # a request made in 2019 holds a token issued before 2020: the span from the reference time no longer holds
    for key, value in (("aws:CurrentTime", "2019-06-01T00:00:00Z"), ("aws:EpochTime", "1559347200")):
        assert auth.check(ROLE, "s3:GetObject", "arn:aws:s3:::b/k", {key: value}).decision == "Conditional"
    assert auth.check(ROLE, "s3:GetObject", "arn:aws:s3:::b/k",
                      {"aws:TokenIssueTime": "2019-06-01T00:00:00Z"}).decision == "Allowed"


@pytest.mark.parametrize("value,want", [("2027", MAYBE), ("20270101", MAYBE), ("2020-01-01 00:00:00", MAYBE),
                                        ("1577836800", NO), ("2020-01-01T00:00:00+02:00", NO)])
def test_dates_read_two_ways_stay_undecided(value, want):
    assert evaluate_condition(cond("DateLessThan", "k", value), span(T0)) == want


def test_revoking_older_sessions():
    revoke = {"Effect": "Deny", "Action": "*", "Resource": "*",
              "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2026-05-31T00:00:00Z"}}}
    data = _account()
    for entry, key in ((data["RoleDetailList"][0], "RolePolicyList"), (data["UserDetailList"][0], "UserPolicyList")):
        entry[key].append({"PolicyName": "revoke", "PolicyDocument": _doc(revoke)})
    auth = Authorizer(load_data(data, "a.json"))
    assert auth.check(ROLE, "s3:GetObject", "arn:aws:s3:::b/k").decision == "Allowed"      # sessions are newer
    assert auth.check(USER, "s3:GetObject", "arn:aws:s3:::b/k").decision == "Conditional"  # keys or a session
    # within the last 12 hours: some live sessions are older
    data["RoleDetailList"][0]["RolePolicyList"][-1]["PolicyDocument"]["Statement"][0]["Condition"] = {
        "DateLessThan": {"aws:TokenIssueTime": "2026-05-31T18:00:00Z"}}
    auth = Authorizer(load_data(data, "a.json"))
    assert auth.check(ROLE, "s3:GetObject", "arn:aws:s3:::b/k").decision == "Conditional"


# ------------------------------------------------------------------ escalation: IAM Vulnerable fn3 / fp5

def _escalation(condition):
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    data = {
        "RoleDetailList": [{"RoleName": "fn", "Arn": f"arn:aws:iam::{A}:role/fn", "Path": "/",
                            "CreateDate": "2026-06-01T00:00:00Z",
                            "AssumeRolePolicyDocument": _doc({"Effect": "Allow", "Action": "sts:AssumeRole",
                                                              "Principal": {"Service": "ec2.amazonaws.com"}}),
                            "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": _doc(
                                {"Effect": "Allow", "Action": "iam:AttachRolePolicy",
                                 "Resource": f"arn:aws:iam::{A}:role/fn", "Condition": condition})}]}],
        "UserDetailList": [], "GroupDetailList": [],
        "Policies": [{"PolicyName": "AdministratorAccess", "Arn": admin, "DefaultVersionId": "v1",
                      "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True,
                                             "Document": _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})}]}]}
    return build_graph(load_data(data, "a.json"))


def test_fn3_is_a_certain_way_to_admin_and_fp5_none():
    g = _escalation({"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}})
    path = paths_to_admin(g, f"arn:aws:iam::{A}:role/fn")[0]
    assert not any(e.conditional for e in path)
    g = _escalation({"DateLessThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}})
    assert paths_to_admin(g, f"arn:aws:iam::{A}:role/fn") == []


def _trusting_the_account(condition):
    trust = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
             "Condition": condition}
    roles = [{"RoleName": "src", "Arn": f"arn:aws:iam::{A}:role/src", "Path": "/", "CreateDate": "2026-06-01T00:00:00Z",
              "AssumeRolePolicyDocument": _doc({"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "ec2.amazonaws.com"}}),
              "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": _doc(
                  {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})}]},
             {"RoleName": "dst", "Arn": f"arn:aws:iam::{A}:role/dst", "Path": "/",
              "AssumeRolePolicyDocument": _doc(trust), "RolePolicyList": []}]
    g = build_graph(load_data({"RoleDetailList": roles, "UserDetailList": [], "GroupDetailList": [],
                               "Policies": []}, "a.json"))
    return [e for e in g.edges_from(f"arn:aws:iam::{A}:role/src")], g


def test_a_trust_of_the_whole_account_reads_the_callers_token_time():
    # decided per caller, not once for the account as a whole (where aws:TokenIssueTime is unknown)
    dst = f"arn:aws:iam::{A}:role/dst"

    def steps(g, edges):
        return [e for e in edges if e.target == dst] + [
            e2 for e in edges if e.target.startswith("hub:") for e2 in g.edges_from(e.target) if e2.target == dst]

    edges, g = _trusting_the_account({"DateLessThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}})
    assert steps(g, edges) == []
    edges, g = _trusting_the_account({"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}})
    hit = steps(g, edges)
    assert hit and not any(e.conditional for e in hit)


def test_a_naive_reference_time_is_read_as_utc():
    m = load_data(_account({"DateLessThan": {"aws:CurrentTime": "2026-03-01T00:00:00Z"}}), "a.json")
    rep = scan(m, only=["IAM1"], now=(datetime(2026, 4, 1), "a test"), jobs=1)
    assert rep.graph.auth.check(USER, "s3:GetObject", "arn:aws:s3:::b/k").decision == "ImplicitlyDenied"


def _template(tmp_path, op):
    import json as _json
    doc = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"Fn": {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": "fn",
        "AssumeRolePolicyDocument": _doc({"Effect": "Allow", "Action": "sts:AssumeRole",
                                          "Principal": {"Service": "ec2.amazonaws.com"}}),
        "Policies": [{"PolicyName": "p", "PolicyDocument": _doc(
            {"Effect": "Allow", "Action": "iam:AttachRolePolicy", "Resource": "*",
             "Condition": {op: {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}}})}]}}}}
    path = tmp_path / "t.json"
    path.write_text(_json.dumps(doc))
    return str(path)


def test_iam_vulnerable_fn3_fp5_in_a_template(tmp_path):
    from iamlint.check import CheckOptions, run_check
    opts = dict(account="111111111111", only=["ESC001"], base_dir=str(tmp_path))
    found = run_check([_template(tmp_path, "DateGreaterThan")], CheckOptions(**opts)).findings
    assert [f.rule_id for f in found] == ["ESC001"] and not found[0].conditions
    assert run_check([_template(tmp_path, "DateLessThan")], CheckOptions(**opts)).findings == []

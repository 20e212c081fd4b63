"""Condition operators, table-driven (iam-semantics.md R14, R15)."""

import pytest

from iamlint.engine.conditions import MAYBE, NO, YES, evaluate_condition, evaluate_conditions
from iamlint.engine.context import Context
from iamlint.model.policy import parse_policy


def cond(op, key, values):
    doc = parse_policy({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
                                                              "Condition": {op: {key: values}}}})
    return doc.statements[0].conditions[0]


CASES = [
    # operator, key, policy values, context (None = key absent), expected
    ("StringEquals", "k", "a", "a", YES),
    ("StringEquals", "k", "a", "A", NO),
    ("StringEquals", "k", "a*", "abc", NO),                 # wildcard literal under StringEquals
    ("StringEquals", "k", ["x", "a"], "a", YES),            # values OR
    ("StringEquals", "k", "a", None, NO),                   # missing key: false
    ("StringNotEquals", "k", "a", None, YES),               # negated on missing key: true
    ("StringNotEquals", "k", ["a", "b"], "b", NO),          # NOR
    ("StringNotEquals", "k", ["a", "b"], "c", YES),
    ("StringEqualsIgnoreCase", "k", "ABC", "abc", YES),
    ("StringNotEqualsIgnoreCase", "k", "ABC", "abc", NO),
    ("StringLike", "k", "a*c", "abbbc", YES),
    ("StringLike", "k", "a?c", "abc", YES),
    ("StringLike", "k", "a?c", "abbc", NO),
    ("StringNotLike", "k", "a*", None, YES),
    ("StringNotLike", "k", "a*", "abc", NO),
    ("StringEqualsIfExists", "k", "a", None, YES),
    ("StringEqualsIfExists", "k", "a", "b", NO),
    ("NumericEquals", "k", "10", "10.0", YES),
    ("NumericNotEquals", "k", "10", "11", YES),
    ("NumericLessThan", "k", "10", "9", YES),
    ("NumericLessThan", "k", "10", "10", NO),
    ("NumericLessThanEquals", "k", "10", "10", YES),
    ("NumericGreaterThan", "k", "10", "11", YES),
    ("NumericGreaterThanEquals", "k", "10", "9", NO),
    ("NumericEquals", "k", "10", "ten", NO),
    ("NumericNotEquals", "k", "10", None, YES),
    ("DateLessThan", "k", "2020-01-01T00:00:00Z", "2019-12-31T23:59:59Z", YES),
    ("DateGreaterThan", "k", "2020-01-01T00:00:00Z", "2021-01-01", YES),
    ("DateEquals", "k", "2020-01-01T00:00:00Z", "1577836800", YES),   # epoch form
    ("DateNotEquals", "k", "2020-01-01T00:00:00Z", None, YES),
    ("DateLessThanEquals", "k", "2020-01-01T01:00:00+01:00", "2020-01-01T00:00:00Z", YES),
    ("DateGreaterThanEquals", "k", "2020-01-01", "2019-01-01", NO),
    ("Bool", "aws:SecureTransport", "true", "true", YES),
    ("Bool", "aws:SecureTransport", "true", "false", NO),
    ("Bool", "aws:SecureTransport", "false", None, NO),
    ("BoolIfExists", "aws:MultiFactorAuthPresent", "false", None, YES),
    ("BinaryEquals", "k", "QmluYXJ5", "QmluYXJ5", YES),
    ("BinaryEquals", "k", "QmluYXJ5", "T3RoZXI=", NO),
    ("IpAddress", "aws:SourceIp", "10.0.0.0/8", "10.1.2.3", YES),
    ("IpAddress", "aws:SourceIp", "10.0.0.0/8", "11.1.2.3", NO),
    ("IpAddress", "aws:SourceIp", "2001:db8::/32", "2001:db8::1", YES),
    ("IpAddress", "aws:SourceIp", "203.0.113.5", "203.0.113.5", YES),
    ("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", "11.1.2.3", YES),
    ("NotIpAddress", "aws:SourceIp", "10.0.0.0/8", None, YES),
    ("ArnLike", "aws:SourceArn", "arn:aws:s3:::bucket-*", "arn:aws:s3:::bucket-1", YES),
    ("ArnLike", "aws:SourceArn", "arn:aws:lambda:*:111122223333:function:*",
     "arn:aws:lambda:us-east-1:111122223333:function:f", YES),
    ("ArnEquals", "aws:SourceArn", "arn:aws:sns:us-east-1:1:t", "arn:aws:sns:us-east-1:1:t", YES),
    ("ArnNotLike", "aws:SourceArn", "arn:aws:s3:::x*", None, YES),
    ("ArnNotEquals", "aws:SourceArn", "arn:aws:s3:::x", "arn:aws:s3:::y", YES),
    ("ArnLike", "aws:SourceArn", "arn:aws:s3:::x", "not-an-arn", NO),
    ("Null", "k", "true", None, YES),
    ("Null", "k", "true", "v", NO),
    ("Null", "k", "false", "v", YES),
    ("Null", "k", "false", None, NO),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["a", "b"], ["a"], YES),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["a", "b"], ["a", "c"], NO),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["a"], None, YES),          # vacuously true
    ("ForAllValues:StringEquals", "aws:TagKeys", ["a"], [], YES),
    ("ForAnyValue:StringEquals", "aws:TagKeys", ["a"], None, NO),
    ("ForAnyValue:StringEquals", "aws:TagKeys", ["a"], [], NO),
    ("ForAnyValue:StringEquals", "aws:TagKeys", ["a"], ["x", "a"], YES),
    ("ForAnyValue:StringNotEquals", "aws:TagKeys", ["a"], ["a", "b"], YES),
    ("ForAllValues:StringNotEquals", "aws:TagKeys", ["a"], ["b", "c"], YES),
    ("ForAllValues:StringNotEquals", "aws:TagKeys", ["a"], ["a", "c"], NO),
    ("ForAllValues:StringLike", "aws:TagKeys", ["team-*"], ["team-a", "team-b"], YES),
]


@pytest.mark.parametrize("op,key,values,ctx,expected", CASES)
def test_operator(op, key, values, ctx, expected):
    context = Context({} if ctx is None else {key: ctx}, complete=True)
    assert evaluate_condition(cond(op, key, values), context) == expected


def test_key_names_case_insensitive():
    c = cond("StringEquals", "AWS:SourceAccount", "1")
    assert evaluate_condition(c, Context({"aws:sourceaccount": "1"})) == YES


def test_unknown_key_is_maybe_in_partial_context():
    c = cond("StringEquals", "aws:SourceIp", "1")
    assert evaluate_condition(c, Context({}, complete=False)) == MAYBE
    # but a known-absent key decides even in a partial context
    assert evaluate_condition(c, Context({}, complete=False, absent=["aws:SourceIp"])) == NO


def test_conditions_and_across_operators_and_keys():
    doc = parse_policy({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
                        "Condition": {"StringEquals": {"a": "1", "b": "2"}, "Bool": {"c": "true"}}}})
    conds = doc.statements[0].conditions
    assert evaluate_conditions(conds, Context({"a": "1", "b": "2", "c": "true"}))[0] == YES
    assert evaluate_conditions(conds, Context({"a": "1", "b": "3", "c": "true"}))[0] == NO
    r, pending = evaluate_conditions(conds, Context({"a": "1", "b": "2"}, complete=False))
    assert r == MAYBE and [p.key for p in pending] == ["c"]


@pytest.mark.parametrize("value,ctx,expected", [
    ("${aws:username}", {"aws:username": "bob"}, YES),
    ("${aws:username}", {"aws:username": "eve"}, NO),
    ("${aws:username}", {}, NO),                                     # unresolvable: no match
    ("${aws:username, 'bob'}", {}, YES),                             # default value
    ("home-${aws:PrincipalTag/team}", {"aws:PrincipalTag/team": "x", "k": "home-x"}, YES),
])
def test_variables_in_conditions(value, ctx, expected):
    c = cond("StringEquals", "k", value)
    context = Context({"k": "bob", **ctx}, complete=True)
    assert evaluate_condition(c, context) == expected


def test_variable_escapes_are_literal_in_like():
    c = cond("StringLike", "k", "a${*}b")
    assert evaluate_condition(c, Context({"k": "a*b"})) == YES
    assert evaluate_condition(c, Context({"k": "axxb"})) == NO


def test_variables_literal_without_2012_version():
    doc = parse_policy({"Version": "2008-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
                        "Condition": {"StringEquals": {"k": "${aws:username}"}}}})
    c = doc.statements[0].conditions[0]
    assert evaluate_condition(c, Context({"k": "${aws:username}", "aws:username": "bob"}), variables=False) == YES


def test_unknown_variable_is_maybe():
    c = cond("StringEquals", "k", "${aws:PrincipalTag/team}")
    assert evaluate_condition(c, Context({"k": "x"}, complete=False)) == MAYBE

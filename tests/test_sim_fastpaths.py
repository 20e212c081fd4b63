"""The evaluator's and `simulate`'s fast paths give the answers of the plain ways they stand for."""

from __future__ import annotations

import dataclasses
import json
import random
import re

import pytest

from iamlint.engine import wildcard
from iamlint.engine.conditions import _regex, _source, glob_fullmatch, substituted
from iamlint.engine.context import Context
from iamlint.engine.evaluate import Decision, NamedPolicy, PolicySet, Request, StatementRef, evaluate
from iamlint.errors import InputError, PolicyError
from iamlint.model.policy import Condition, PolicyDocument, Statement, parse_policy
from iamlint.simulate import read_cases


def _regex_match(pattern: str, value: str) -> bool:
    return re.fullmatch(wildcard._compile(pattern, False).pattern, value, re.DOTALL) is not None


def test_star_patterns_match_as_their_regular_expression():
    rnd = random.Random(7)
    for _ in range(20000):
        pattern = "".join(rnd.choice("ab*?:/\n") for _ in range(rnd.randint(1, 8)))
        value = "".join(rnd.choice("ab*?:/\n") for _ in range(rnd.randint(0, 10)))
        want = pattern == "*" or (_regex_match(pattern, value) if wildcard.has_wildcard(pattern) else pattern == value)
        assert wildcard.match(pattern, value) is want, (pattern, value)


def test_action_tuples_match_as_each_pattern_does():
    rnd = random.Random(8)
    for _ in range(20000):
        patterns = tuple("".join(rnd.choice("aB*?:") for _ in range(rnd.randint(1, 5)))
                         for _ in range(rnd.randint(1, 4)))
        value = "".join(rnd.choice("ab:") for _ in range(rnd.randint(0, 6)))
        want = any(_regex_match(p.lower(), value) if wildcard.has_wildcard(p) else p.lower() == value
                   for p in patterns)
        assert wildcard.match_any_ci(patterns, value) is want, (patterns, value)


def test_substituted_patterns_match_as_their_regular_expression():
    rnd = random.Random(9)
    for _ in range(5000):
        template = "".join(rnd.choice(["a", "*", "?", "/", "${k}", "${*}", "${?}"]) for _ in range(rnd.randint(1, 6)))
        ctx = Context({"k": "".join(rnd.choice("a*?/") for _ in range(rnd.randint(0, 3)))})
        value = "".join(rnd.choice("a*?/") for _ in range(rnd.randint(0, 8)))
        for alt in substituted(template, ctx):
            assert glob_fullmatch(alt, value) is (_regex(_source(alt)).fullmatch(value) is not None), (template, value)


def test_cases_read_as_json_reads_them(tmp_path):
    lines = [
        '{"id": 1, "n": 123456789012345678901234567890}',     # beyond 64 bits: orjson would make it a float
        '{"id": 2, "n": -9988597445676438182}',
        '{"id": 3, "n": 1e400, "f": 0.1, "g": 1.7976931348623157e308}',
        '{"id": 4, "deep": ' + "[" * 600 + "]" * 600 + "}",
        '{"id": 5, "s": "caf\\u00e9 \\ud83d\\ude00", "a": 1, "a": 2}',
    ]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(lines) + "\n")
    got = read_cases(str(path))
    assert [n for n, _ in got] == [1, 2, 3, 4, 5]
    for (_, case), line in zip(got, lines):
        assert repr(case) == repr(json.loads(line))
    # the same lines without the long numbers (orjson reads them): still json's values
    path.write_text("\n".join(lines[2:]) + "\n")
    assert [repr(c) for _, c in read_cases(str(path))] == [repr(json.loads(x)) for x in lines[2:]]


@pytest.mark.parametrize("bad, message", [
    ('{"a": NaN}', "NaN is not a JSON value"),
    ('{"a": "\\ud800"}', "half a UTF-16 surrogate pair"),
    ('{"a": 1,}', "invalid JSON"),
    ("[" * 1200 + "]" * 1200, "nested too deeply"),
])
def test_a_bad_line_is_reported_as_before(tmp_path, bad, message):
    path = tmp_path / "cases.jsonl"
    path.write_text('{"id": 1}\n' + bad + "\n")
    with pytest.raises(InputError) as exc:
        read_cases(str(path))
    assert message in exc.value.message and exc.value.place.startswith("line 2")


def test_parsed_records_are_the_dataclasses_they_stand_for():
    doc = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Sid": "A", "Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*",
         "Condition": {"StringLike": {"k": ["a*", "b"]}, "NumericLessThan": {"n": [1, 2.5, True]}}},
        {"Effect": "Deny", "NotAction": "iam:*", "NotResource": ["arn:aws:s3:::x"]}]})
    for st in doc.statements:
        fields = {f.name: getattr(st, f.name) for f in dataclasses.fields(Statement)}
        assert st == Statement(**fields) and repr(st) == repr(Statement(**fields))
        for c in st.conditions:
            assert c == Condition(**{f.name: getattr(c, f.name) for f in dataclasses.fields(Condition)})
    assert doc.statements[0].conditions[1].values == ("1", "2.5", "true")
    plain = PolicyDocument(doc.version, doc.statements, doc.id, doc.original)
    assert doc == plain and (doc.allows, doc.denies) == (plain.allows, plain.denies)
    assert [s.effect for s in doc.allows] == ["Allow"] and [s.effect for s in doc.denies] == ["Deny"]


@pytest.mark.parametrize("statement, place", [
    ({"Effect": "Allow", "Action": ["s3:GetObject", 5], "Resource": "*"}, "/Statement/Action/1"),
    ({"Effect": "Allow", "Action": [], "Resource": "*"}, "/Statement/Action"),
    ({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"k": ["a", {}]}}},
     "/Statement/Condition/StringEquals/k/1"),
    ({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"k": None}}},
     "/Statement/Condition/StringEquals/k"),
    ({"Effect": "Allow", "Action": "*", "Resource": "*", "Bogus": 1}, "/Statement/Bogus"),
])
def test_parse_errors_keep_their_place(statement, place):
    with pytest.raises(PolicyError) as exc:
        parse_policy({"Statement": statement})
    assert exc.value.place == place


def test_decisions_are_the_dataclasses_they_stand_for():
    doc = parse_policy({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username}/*"}]})
    ps = PolicySet(identity=[NamedPolicy("identity", "p", doc)], complete=True)
    d = evaluate(ps, Request("s3:GetObject", "arn:aws:s3:::b/alice/x", "arn:aws:iam::111111111111:user/alice",
                             Context({"aws:username": "alice"})))
    assert d.decision == "Allowed"
    same = Decision(**{f.name: getattr(d, f.name) for f in dataclasses.fields(Decision)})
    assert d == same and repr(d) == repr(same) and d.evidence_parts == same.evidence_parts
    ref = d.allowed_by[0]
    assert ref == StatementRef(**{f.name: getattr(ref, f.name) for f in dataclasses.fields(StatementRef)})
    assert hash(ref) == hash(StatementRef(**{f.name: getattr(ref, f.name) for f in dataclasses.fields(StatementRef)}))


def test_context_reads_plain_strings_as_set_does():
    ctx = Context({"A:B": "x", "n": 3, "l": ["y", None, 2.5], "none": None, "t": True})
    slow = Context()
    for k, v in {"A:B": "x", "n": 3, "l": ["y", None, 2.5], "none": None, "t": True}.items():
        slow.set(k, v)
    assert ctx.values == slow.values and ctx.absent == frozenset()


def test_case_policies_are_the_named_policies_they_stand_for():
    from iamlint.simulate import build_case
    doc = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}
    ps, _ = build_case({"identity_policies": [doc, {"name": "n", "policy": doc}],
                        "scps": [{"name": "Root", "policies": [doc]}],
                        "request": {"action": "s3:GetObject", "resource": "*", "principal": "111111111111"}})
    want = [NamedPolicy("identity", "identity#0", ps.identity[0].document),
            NamedPolicy("identity", "n", ps.identity[1].document)]
    assert ps.identity == want and repr(ps.identity) == repr(want)
    assert ps.scps == [[NamedPolicy("scp", "Root#0", ps.scps[0][0].document, level="Root")]]

"""A finding's fingerprint is what baselines, exclusions and audit history key on: its text is fixed as
the SHA-256 of the JSON form of (rule, principal, file, key), whatever characters those hold."""

import hashlib
import json
import random

from iamlint.findings import Finding, Location, fingerprint_of


def _reference(rule, principal, file, key):
    basis = {"rule": rule, "principal": principal, "file": file, "key": [str(k) for k in key]}
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:32]


ODD = ['', 'a"b', "back\\slash", "tab\there", "nl\n", "é", "名前", "\U0001f600", "\ud800", "\x00", "\x7f",
       "arn:aws:iam::111122223333:role/x"]


def test_known_value_never_changes():
    # a fingerprint written by an earlier release must still match (baselines and history on disk)
    assert fingerprint_of("IAM101", "arn:aws:iam::111122223333:role/admin", None, ("admin",)) == \
        _reference("IAM101", "arn:aws:iam::111122223333:role/admin", None, ["admin"])
    assert fingerprint_of("IAM101", "arn:aws:iam::111122223333:role/admin", None, ("admin",)) == \
        "40477ce1ac219646d46a63c81ba9c1c0"


def test_same_as_json_form_for_odd_text():
    rnd = random.Random(7)
    for _ in range(2000):
        pick = lambda: rnd.choice(ODD) + rnd.choice(ODD)  # noqa: E731
        rule = pick() or "R"
        principal = None if rnd.random() < 0.2 else pick()
        file = None if rnd.random() < 0.5 else pick()
        key = tuple(rnd.choice([pick(), 3, None, ("t", 1)]) for _ in range(rnd.randrange(4)))
        assert fingerprint_of(rule, principal, file, key) == _reference(rule, principal, file, key)


def test_finding_uses_it():
    f = Finding("AGT001", "high", "t", "arn:p", "m", "r", (), (), key=("a", 1),
                location=Location("main.tf", 3))
    assert f.fingerprint == _reference("AGT001", "arn:p", "main.tf", ("a", 1))

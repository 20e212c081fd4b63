"""A saved account repeats a few trust policies thousands of times: the loader parses each distinct text
once (loaders/common.py `Reader.policy`). Equal texts share one parsed document; anything else, and every
error, is as if each were parsed on its own."""

import copy

import pytest

from iamlint.errors import PolicyError
from iamlint.loaders import load_data

TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}


def _role(name, trust, inline=None):
    return {"RoleName": name, "RoleId": "AROA" + name.upper().ljust(17, "X"), "Path": "/",
            "Arn": f"arn:aws:iam::111122223333:role/{name}", "AssumeRolePolicyDocument": trust,
            "RolePolicyList": inline or [], "AttachedManagedPolicies": [], "InstanceProfileList": [], "Tags": []}


def _gaad(roles):
    return {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles, "Policies": []}


def _trust(model, name):
    return model.principal(f"arn:aws:iam::111122223333:role/{name}").trust_policy


def test_equal_texts_share_one_parse_and_others_do_not():
    reordered = {"Statement": copy.deepcopy(TRUST["Statement"]), "Version": "2012-10-17"}
    other = copy.deepcopy(TRUST)
    other["Statement"][0]["Principal"]["Service"] = "lambda.amazonaws.com"
    m = load_data(_gaad([_role("a", copy.deepcopy(TRUST)), _role("b", copy.deepcopy(TRUST)),
                         _role("c", reordered), _role("d", other)]), "acct.json")
    assert _trust(m, "a") is _trust(m, "b")
    assert _trust(m, "c") is not _trust(m, "a") and _trust(m, "c") == _trust(m, "a")
    assert _trust(m, "d").statements[0].principals == {"Service": ("lambda.amazonaws.com",)}


def test_the_same_text_as_a_trust_and_as_an_identity_policy_is_read_by_each_kind():
    # an identity policy may not name a Principal: the same text as a trust policy is fine, as inline is not
    inline = [{"PolicyName": "p", "PolicyDocument": copy.deepcopy(TRUST)}]
    with pytest.raises(PolicyError) as err:
        load_data(_gaad([_role("a", copy.deepcopy(TRUST)), _role("b", copy.deepcopy(TRUST), inline)]), "acct.json")
    assert "/RoleDetailList/1/RolePolicyList/0/PolicyDocument/Statement/0/Principal" in str(err.value.place)


def test_a_bad_document_names_its_own_place_each_time():
    bad = {"Version": "2012-10-17", "Statement": [{"Effect": "Permit", "Principal": "*", "Action": "sts:AssumeRole"}]}
    for roles, at in (([_role("a", copy.deepcopy(bad))], 0),
                      ([_role("a", copy.deepcopy(TRUST)), _role("b", copy.deepcopy(bad))], 1)):
        with pytest.raises(PolicyError) as err:
            load_data(_gaad(roles), "acct.json")
        assert err.value.place == f"/RoleDetailList/{at}/AssumeRolePolicyDocument/Statement/0/Effect"

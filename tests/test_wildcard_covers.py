"""`wildcard.covers` answers some cases at once (lengths, literal starts); those answers must be the
search's, on every pair of patterns."""

import random

from iamlint.engine import wildcard


def test_quick_answers_agree_with_the_search():
    rnd = random.Random(7)
    alphabet = "ab*?:A"
    for _ in range(60000):
        g = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 7)))
        s = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 7)))
        ic = rnd.random() < 0.3
        want = True if g == "*" else (wildcard.match(g, s, ic) if not wildcard.has_wildcard(s) else
                                      wildcard._covers_search(g.lower() if ic else g, s.lower() if ic else s))
        assert wildcard.covers.__wrapped__(g, s, ic) == want, (g, s, ic)


def test_arn_patterns():
    every_secret = "arn:aws:secretsmanager:*:111111111111:secret:*"
    assert wildcard.covers("arn:aws:secretsmanager:*:*:secret:*", every_secret)
    assert wildcard.covers("arn:aws:secretsmanager:*", every_secret)
    assert not wildcard.covers("arn:aws:secretsmanager:us-east-1:111111111111:secret:app-*", every_secret)
    assert not wildcard.covers("arn:aws:secretsmanager:*:111111111111:secret:app", every_secret)
    assert wildcard.covers("arn:aws:s3:::b?", "arn:aws:s3:::b?")
    assert not wildcard.covers("arn:aws:s3:::b?", "arn:aws:s3:::?b")

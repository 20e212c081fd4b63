"""Differential test: iamlint's evaluator against an independent reference (tests/iam_reference.py).

Seeded random cases (tests/iam_casegen.py) go through the public `simulate` API and through the
reference; any disagreement fails with the case, so it can be pasted into fixtures/semantics/.

Soak run (documented in README "simulate"):
    IAMLINT_SOAK_CASES=200000 python -m pytest -q tests/test_differential.py
IAMLINT_SOAK_SEED shifts the seed range (default 0).
"""

import dataclasses
import itertools
import json
import os
import random

from iamlint.engine.context import Context
from iamlint.engine.evaluate import evaluate
from iamlint.simulate import build_case, run_case

from iam_casegen import KEYS, generate
from iam_reference import decide

CASES = int(os.environ.get("IAMLINT_SOAK_CASES", "3000"))
SEED0 = int(os.environ.get("IAMLINT_SOAK_SEED", "0"))


def _compare(seeds):
    bad = []
    counts: dict = {}
    for seed in seeds:
        case = generate(seed)
        got = run_case(case)
        assert got["error"] is None, (got["error"], json.dumps(case))
        want = decide(case)
        counts[want] = counts.get(want, 0) + 1
        if got["decision"] != want:
            bad.append((seed, want, got["decision"], case))
    return bad, counts


def test_differential_against_reference():
    bad, counts = _compare(range(SEED0, SEED0 + CASES))
    # the generator must exercise every outcome, or the comparison proves little
    assert all(counts.get(d, 0) >= CASES // 20 for d in ("Allowed", "ImplicitlyDenied", "ExplicitlyDenied")), counts
    if bad:
        seed, want, got, case = bad[0]
        raise AssertionError(f"{len(bad)} of {CASES} cases disagree; first: seed {seed}: reference {want}, "
                             f"iamlint {got}\n{json.dumps(case)}")


def test_generator_is_deterministic():
    assert generate(7) == generate(7) and generate(7) != generate(8)


# ------------------------------------------------------------------ partial contexts (static analysis)

def _partial_check(seed: int):
    """Hide 1-2 context keys from the evaluator (unknown) and try every completion on the reference.

    Soundness of the three-valued answer: Allowed / ExplicitlyDenied must hold for every completion,
    ImplicitlyDenied must never become Allowed, and a Conditional answer names only conditions that
    depend on a hidden key (as their key, or as a variable in their values).
    Returns a message for the first violation, or None.
    """
    r = random.Random(seed * 7919)
    case = generate(seed)
    ctx = dict(case["request"].get("context") or {})
    hidden = r.sample(sorted(KEYS), r.choice([1, 1, 2]))
    known = {k: v for k, v in ctx.items() if k not in hidden}
    absent = [k for k in KEYS if k not in known and k not in hidden]
    policies, request = build_case(case)
    request = dataclasses.replace(request, context=Context(known, complete=False, absent=absent))
    got = evaluate(policies, request)
    answers = set()
    for combo in itertools.product(*[[None, *KEYS[k]] for k in hidden]):
        full = dict(known)
        full.update({k: v for k, v in zip(hidden, combo) if v is not None})
        answers.add(decide({**case, "request": {**case["request"], "context": full}}))
    d = got.decision
    if d in ("Allowed", "ExplicitlyDenied") and answers != {d}:
        return f"seed {seed}: hidden {hidden}: iamlint {d}, completions give {sorted(answers)}"
    if d == "ImplicitlyDenied" and "Allowed" in answers:
        return f"seed {seed}: hidden {hidden}: iamlint ImplicitlyDenied, a completion allows"
    if d == "Conditional":
        # each undecided condition is on a hidden key, or its values use a hidden key as a variable
        low = {h.lower() for h in hidden}
        for p in got.conditions:
            c = p.condition
            if c.key.lower() not in low and not any(h in " ".join(c.values).lower() for h in low):
                return f"seed {seed}: hidden {hidden}: Conditional names {c.describe()}"
    return None


def test_partial_context_answers_are_sound():
    n = max(200, CASES // 6)
    bad = [m for m in (_partial_check(s) for s in range(SEED0, SEED0 + n)) if m]
    assert not bad, f"{len(bad)} of {n}: {bad[0]}"

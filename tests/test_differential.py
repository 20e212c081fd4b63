"""Differential test: iamlint's evaluator against an independent reference (tests/iam_reference.py).

Seeded random cases (tests/iam_casegen.py) go through the public `simulate` API and through the
reference; any disagreement fails with the case, so it can be pasted into fixtures/semantics/.

Soak run (documented in README "simulate"):
    IAMLINT_SOAK_CASES=200000 python -m pytest -q tests/test_differential.py
IAMLINT_SOAK_SEED shifts the seed range (default 0).
"""

import json
import os

from iamlint.simulate import run_case

from iam_casegen import generate
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

"""Benchmarks: `python bench/run.py [--sizes 1000,5000,20000] [--seed 7]`.

For each size it generates a synthetic account (bench/generate.py, deterministic by seed), then runs
`scan` end to end in a fresh process and prints wall time, peak memory, a per-stage breakdown
(load, model, evaluator precomputation, graph, rules, report) and the ratio to plain JSON parsing of
the same file measured in the same run. It also measures `simulate` throughput. Figures only; no
assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)


def one(path: str) -> dict:
    """Run every stage on one file (in this process) and return the timings."""
    from iamlint.engine.authorize import Authorizer
    from iamlint.loaders import load_data, read_json
    from iamlint.pipeline import scan
    from iamlint.reporters import REPORTERS

    out = {}
    t0 = time.perf_counter()
    with open(path, "rb") as fh:
        json.loads(fh.read())
    out["plain_json"] = time.perf_counter() - t0
    t = time.perf_counter()
    data = read_json(path)
    out["load"] = time.perf_counter() - t
    t = time.perf_counter()
    model = load_data(data, path)
    del data
    out["model"] = time.perf_counter() - t
    t = time.perf_counter()
    auth = Authorizer(model)
    for p in model.principals():
        auth.policy_set(p)
    out["evaluator_precompute"] = time.perf_counter() - t
    t = time.perf_counter()
    report = scan(model)
    out["graph"] = report.timings["graph"]
    out["rules"] = report.timings["rules"]
    t = time.perf_counter()
    REPORTERS["json"](report)
    out["report"] = time.perf_counter() - t
    out["total"] = out["load"] + out["model"] + out["evaluator_precompute"] + out["graph"] + out["rules"] + out["report"]
    out["findings"] = len(report.findings)
    out["edges"] = report.graph.g.number_of_edges()
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def simulate_rate(n: int = 20000) -> float:
    from iamlint.simulate import run_case

    cases = []
    for i in range(200):
        cases.append({"id": i, "identity_policies": [{"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": f"arn:aws:s3:::bucket-{i}/*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}],
            "permission_boundaries": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}] if i % 3 == 0 else [],
            "scps": [{"name": "root", "policies": [{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}]}],
            "request": {"action": "s3:GetObject", "resource": f"arn:aws:s3:::bucket-{i % 50}/k",
                        "principal": "arn:aws:iam::111111111111:role/r", "context": {"aws:SecureTransport": "true"}}})
    t = time.perf_counter()
    for k in range(n):
        run_case(cases[k % len(cases)])
    return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,5000,20000")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    from generate import generate_account

    print(f"{'roles':>7} {'wall s':>7} {'peak MB':>8} {'json s':>7} {'ratio':>6} | "
          f"{'load':>6} {'model':>6} {'eval':>6} {'graph':>6} {'rules':>6} {'report':>6} | {'edges':>7} {'findings':>8}")
    base = None
    with tempfile.TemporaryDirectory() as tmp:
        for size in [int(s) for s in args.sizes.split(",")]:
            path = os.path.join(tmp, f"acct-{size}.json")
            with open(path, "w") as fh:
                json.dump(generate_account(size, args.seed), fh)
            t = time.perf_counter()
            r = subprocess.run([sys.executable, __file__, "--one", path], capture_output=True, text=True)
            wall = time.perf_counter() - t
            if r.returncode != 0:
                print(f"{size:>7} failed: {r.stderr.strip().splitlines()[-1] if r.stderr else r.returncode}")
                continue
            d = json.loads(r.stdout)
            ratio = d["total"] / d["plain_json"] if d["plain_json"] else 0
            print(f"{size:>7} {wall:>7.2f} {d['peak_mb']:>8.0f} {d['plain_json']:>7.2f} {ratio:>6.1f} | "
                  f"{d['load']:>6.2f} {d['model']:>6.2f} {d['evaluator_precompute']:>6.2f} {d['graph']:>6.2f} "
                  f"{d['rules']:>6.2f} {d['report']:>6.2f} | {d['edges']:>7} {d['findings']:>8}")
            if base is None:
                base = (size, d["total"])
            else:
                print(f"{'':>7} growth vs {base[0]} roles: x{d['total'] / base[1]:.1f} time for x{size / base[0]:.0f} roles")
    print(f"simulate: {simulate_rate():,.0f} cases/s (single process)")


if __name__ == "__main__":
    main()

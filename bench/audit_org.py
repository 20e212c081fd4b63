"""Audit benchmark: `python bench/audit_org.py [--accounts 20] [--roles 500] [--seed 7] [--workers 8]`.

Generates a synthetic organization (deterministic by seed) as an `audit --input` folder: one
authorization-details file per account (service, cross-account and OIDC trusts, chains across
accounts, broad and narrow policies, escalation permissions sprinkled in, a few users) and an
organization file (OUs, an SCP on one OU). Then runs `iamlint audit --input DIR` twice in fresh
processes (the first run records everything, the second compares) and prints wall time and peak
memory of each. Figures only; no assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

TRUST_SERVICE = ["lambda.amazonaws.com", "ec2.amazonaws.com", "ecs-tasks.amazonaws.com", "glue.amazonaws.com"]
ACTIONS_NARROW = ["s3:GetObject", "s3:PutObject", "dynamodb:GetItem", "sqs:SendMessage", "logs:PutLogEvents",
                  "kms:Decrypt", "secretsmanager:GetSecretValue"]
ACTIONS_ESC = ["iam:PassRole", "iam:AttachRolePolicy", "iam:PutRolePolicy", "iam:CreatePolicyVersion",
               "lambda:CreateFunction", "lambda:UpdateFunctionCode", "iam:UpdateAssumeRolePolicy"]


def _doc(statements):
    return {"Version": "2012-10-17", "Statement": statements}


def account(rng: random.Random, acct: str, others: list[str], roles: int) -> dict:
    out = {"AccountId": acct, "UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    for u in range(max(2, roles // 100)):
        stmts = [{"Effect": "Allow", "Action": rng.sample(ACTIONS_NARROW, 2), "Resource": "*"}]
        if rng.random() < 0.3:
            target = rng.choice(others + [acct])
            stmts.append({"Effect": "Allow", "Action": "sts:AssumeRole",
                          "Resource": f"arn:aws:iam::{target}:role/role-{rng.randrange(roles)}"})
        out["UserDetailList"].append({
            "UserName": f"user-{u}", "UserId": f"AIDA{acct}{u:06d}", "Arn": f"arn:aws:iam::{acct}:user/user-{u}",
            "Path": "/", "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": _doc(stmts)}],
            "GroupList": [], "AttachedManagedPolicies": []})
    for r in range(roles):
        kind = rng.random()
        if kind < 0.5:
            principal = {"Service": rng.choice(TRUST_SERVICE)}
        elif kind < 0.8:
            src = rng.choice(others + [acct])
            principal = {"AWS": f"arn:aws:iam::{src}:role/role-{rng.randrange(roles)}"}
        elif kind < 0.9:
            principal = {"AWS": f"arn:aws:iam::{rng.choice(others + [acct])}:root"}
        else:
            principal = {"Federated": f"arn:aws:iam::{acct}:oidc-provider/token.actions.githubusercontent.com"}
        trust = {"Effect": "Allow", "Principal": principal,
                 "Action": "sts:AssumeRoleWithWebIdentity" if "Federated" in principal else "sts:AssumeRole"}
        if "Federated" in principal and rng.random() < 0.7:
            trust["Condition"] = {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:org/app:*"}}
        stmts = [{"Effect": "Allow", "Action": rng.sample(ACTIONS_NARROW, 3),
                  "Resource": f"arn:aws:s3:::bucket-{acct}-{r}/*" if rng.random() < 0.5 else "*"}]
        if rng.random() < 0.3:                                    # chains: this role may assume others
            tgt = rng.choice(others + [acct])
            stmts.append({"Effect": "Allow", "Action": "sts:AssumeRole",
                          "Resource": f"arn:aws:iam::{tgt}:role/role-{rng.randrange(roles)}"})
        if rng.random() < 0.05:
            stmts.append({"Effect": "Allow", "Action": rng.choice(ACTIONS_ESC), "Resource": "*"})
        if rng.random() < 0.01:
            stmts.append({"Effect": "Allow", "Action": "*", "Resource": "*"})
        if rng.random() < 0.05:
            stmts.append({"Effect": "Deny", "Action": "iam:*", "Resource": "*",
                          "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}})
        out["RoleDetailList"].append({
            "RoleName": f"role-{r}", "RoleId": f"AROA{acct}{r:06d}", "Arn": f"arn:aws:iam::{acct}:role/role-{r}",
            "Path": "/", "AssumeRolePolicyDocument": _doc([trust]), "MaxSessionDuration": 3600,
            "RolePolicyList": [{"PolicyName": "inline", "PolicyDocument": _doc(stmts)}],
            "AttachedManagedPolicies": [], "InstanceProfileList": []})
    return out


def organization(accounts: list[str]) -> dict:
    full = {"id": "p-FullAWSAccess", "type": "SERVICE_CONTROL_POLICY", "name": "FullAWSAccess",
            "document": _doc([{"Effect": "Allow", "Action": "*", "Resource": "*"}])}
    deny = {"id": "p-no-iam-write", "type": "SERVICE_CONTROL_POLICY", "name": "no-iam-write",
            "document": _doc([{"Effect": "Deny", "Action": ["iam:Attach*", "iam:Put*", "iam:CreatePolicyVersion"],
                               "Resource": "*"}])}
    nodes = [{"id": "r-root", "kind": "root", "name": "Root", "parent": None,
              "policies": {"SERVICE_CONTROL_POLICY": ["p-FullAWSAccess"]}},
             {"id": "ou-prod", "kind": "ou", "name": "prod", "parent": "r-root",
              "policies": {"SERVICE_CONTROL_POLICY": ["p-FullAWSAccess", "p-no-iam-write"]}},
             {"id": "ou-dev", "kind": "ou", "name": "dev", "parent": "r-root",
              "policies": {"SERVICE_CONTROL_POLICY": ["p-FullAWSAccess"]}}]
    for i, a in enumerate(accounts):
        nodes.append({"id": a, "kind": "account", "name": f"acct-{i}", "parent": "ou-prod" if i % 2 else "ou-dev",
                      "status": "ACTIVE", "policies": {"SERVICE_CONTROL_POLICY": ["p-FullAWSAccess"]}})
    return {"format": "iamlint-organization", "schema_version": 1, "id": "o-bench", "management_account": accounts[0],
            "policy_types": ["SERVICE_CONTROL_POLICY"], "policies": [full, deny], "nodes": nodes}


def generate(directory: str, n_accounts: int, roles: int, seed: int) -> None:
    rng = random.Random(seed)
    accts = [f"{100000000000 + i * 7919:012d}" for i in range(n_accounts)]
    for a in accts:
        others = [x for x in accts if x != a]
        with open(os.path.join(directory, f"{a}.json"), "w") as fh:
            json.dump(account(rng, a, others, roles), fh)
    with open(os.path.join(directory, "organization.json"), "w") as fh:
        json.dump(organization(accts), fh)


def timed(cmd: list[str], env: dict) -> tuple[float, float, int, str]:
    """Wall seconds and peak RSS (MiB) of one fresh process (measured with a wrapper per run)."""
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE); "
               "w = time.perf_counter() - t; "
               "m = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024; "
               "print(w, m, p.returncode); "
               "sys.stderr.write([x for x in p.stderr.decode().splitlines() if 'run_recorded' in x][-1])")
    p = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, env=env)
    w, m, rc = p.stdout.split()
    return float(w), float(m), int(rc), p.stderr


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=20)
    ap.add_argument("--roles", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=8)
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root)
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(tmp, "org")
        os.mkdir(d)
        t = time.perf_counter()
        generate(d, args.accounts, args.roles, args.seed)
        gen = time.perf_counter() - t
        size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
        print(f"generated {args.accounts} accounts x {args.roles} roles (seed {args.seed}): "
              f"{size / 2**20:.1f} MiB in {gen:.1f}s")
        db = os.path.join(tmp, "audit.db")
        cmd = [sys.executable, "-m", "iamlint", "audit", "--input", d, "--db", db, "--workers", str(args.workers),
               "--format", "json", "-o", os.path.join(tmp, "run.json"), "--log-format", "json"]
        for label in ("first run (everything new)", "second run (compared)"):
            wall, peak, rc, tail = timed(cmd, env)
            doc = json.load(open(os.path.join(tmp, "run.json")))
            s = doc["summary"]
            stages = json.loads(tail)["seconds"]
            print(f"{label:<28} wall {wall:6.1f}s  peak {peak:7.0f} MiB  exit {rc}  accounts {s['accounts_read']}  "
                  f"new {s['new']}  open {s['open']}  resolved {s['resolved']}")
            print(" " * 30 + "  ".join(f"{k} {v:.1f}s" for k, v in stages.items()))
        print(f"store: {os.path.getsize(db) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()

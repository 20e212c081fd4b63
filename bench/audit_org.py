"""Audit benchmark: `python bench/audit_org.py [--accounts 20] [--roles 500] [--seed 7] [--cross F] [--runs 2]
[--workers 8] [--analysis-workers N] [--whole-org-graph] [--keep DIR]`.

Generates a synthetic organization with bench/generate.py (deterministic by seed) as an `audit --input`
folder: one authorization-details file per account and the organization's SCPs. `--cross F`: only a
share F of the member accounts trusts other accounts (small groups of three), as in an organization
whose accounts are mostly separate; without it every account trusts and reaches the others (one unit).
Then runs `iamlint audit --input DIR` `--runs` times in fresh processes (the first run records
everything, the next ones compare) and prints, per run, wall time, the CPU time of the audit and its
worker processes, peak memory (the largest single process, the audit or one worker) and the stages
(collect, split, analyse, and the graph and rules time summed over units). `--whole-org-graph` measures
the one-model path instead. Figures only; no assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from generate import write_org  # noqa: E402


def _tree_pss_mib(root: int) -> float:
    """The proportional set size of a process and its descendants (shared pages counted once in all)."""
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(kids.get(pid, ()))
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total / 1024


def _audit_hwm_mib(wrapper: int) -> float:
    """The audit process's own peak RSS so far (VmHWM of the wrapper's child; its workers not counted)."""
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) != wrapper:
                        continue
                with open(f"/proc/{d}/status") as fh:
                    for line in fh:
                        if line.startswith("VmHWM:"):
                            return int(line.split()[1]) / 1024
            except (OSError, ValueError, IndexError):
                pass
    return 0.0


def timed(cmd: list[str], env: dict) -> tuple[float, float, float, float, float, int, list[str]]:
    """Wall seconds, CPU seconds (the process and its children), peak RSS (MiB, the largest single
    process: a forked worker's RSS counts the pages it shares with the audit process), the peak of the
    whole process tree's PSS sampled each second (what the audit and its workers hold together), the
    audit process's own peak RSS (its VmHWM, read each second: through the store and the reports up to
    a second before it exits), and the log lines of one fresh process (measured with a wrapper per run)."""
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE); "
               "w = time.perf_counter() - t; "
               "r = resource.getrusage(resource.RUSAGE_CHILDREN); "
               "print(w, r.ru_utime + r.ru_stime, r.ru_maxrss / 1024, p.returncode); "
               "sys.stderr.write(p.stderr.decode())")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen([sys.executable, "-c", wrapper, *cmd], stdout=out, stderr=err, text=True, env=env)
        pss = hwm = 0.0
        while p.poll() is None:
            pss = max(pss, _tree_pss_mib(p.pid))
            hwm = max(hwm, _audit_hwm_mib(p.pid))
            time.sleep(1.0)
        out.seek(0)
        err.seek(0)
        w, c, m, rc = out.read().split()
        return float(w), float(c), float(m), pss, hwm, int(rc), err.read().splitlines()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=20)
    ap.add_argument("--roles", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cross", type=float, default=None, help="share of accounts in cross-account groups")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--analysis-workers", type=int, default=None)
    ap.add_argument("--whole-org-graph", action="store_true")
    ap.add_argument("--keep", help="generate into (or reuse) this folder instead of a temporary one")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root)
    with tempfile.TemporaryDirectory() as tmp:
        d = args.keep or os.path.join(tmp, "org")
        if not (args.keep and os.path.isdir(d) and os.listdir(d)):
            t = time.perf_counter()
            write_org(args.accounts, args.roles, args.seed, d, args.cross)
            gen = time.perf_counter() - t
        else:
            gen = 0.0
        size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
        print(f"organization {args.accounts} accounts x {args.roles} roles (seed {args.seed}, cross {args.cross}): "
              f"{size / 2**20:.1f} MiB, generated in {gen:.1f}s")
        db = os.path.join(tmp, "audit.db")
        cmd = [sys.executable, "-m", "iamlint", "audit", "--input", d, "--db", db, "--workers", str(args.workers),
               "--format", "json", "-o", os.path.join(tmp, "run.json"), "--log-format", "json"]
        if args.whole_org_graph:
            cmd.append("--whole-org-graph")
        if args.analysis_workers is not None:
            cmd += ["--analysis-workers", str(args.analysis_workers)]
        for k in range(args.runs):
            label = "run 1 (everything new)" if k == 0 else f"run {k + 1} (compared)"
            wall, cpu, peak, pss, hwm, rc, lines = timed(cmd, env)
            events = [json.loads(x) for x in lines if x.startswith("{")]
            rec = [e for e in events if e.get("event") == "run_recorded"]
            if rc != 0 or not rec:
                print(f"{label}: exit {rc}\n" + "\n".join(lines[-20:]))
                return
            s = rec[-1]              # the run's summary, from its log (the report may be gigabytes of JSON)
            planned = [e for e in events if e.get("event") == "units_planned"]
            done = [e for e in events if e.get("event") == "units_analysed"]
            units = f"units {planned[0]['units']} (largest {planned[0]['largest'][:3]})" if planned else "one model"
            print(f"{label:<24} wall {wall:6.1f}s  cpu {cpu:6.1f}s  peak {peak:7.0f} MiB (all processes {pss:.0f} MiB)  "
                  f"exit {rc}  "
                  f"accounts {s['accounts_read']}  findings {s['new'] + s['open']}  new {s['new']}  "
                  f"resolved {s['resolved']}  {units}")
            print(" " * 26 + "  ".join(f"{k2} {v:.1f}s" for k2, v in rec[-1]["seconds"].items()))
            mem = f"audit process {rec[-1]['peak_mib']} MiB at the record, {hwm:.0f} MiB with the report written"
            if done:
                mem += f" (before the store {done[-1]['parent_peak_mib']} MiB), largest unit worker " \
                       f"{done[-1]['unit_peak_mib']} MiB"
            print(" " * 26 + "peak: " + mem)
        print(f"store: {os.path.getsize(db) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()

"""Running the selected rules over one graph: in order in this process, or in two lanes on two cores.

The rules read the graph and write only their own memos (pure functions of the graph, kept in the
context's cache), so the selected rules can be split between this process and one forked child that
inherits the graph, the model and every memo computed so far, copy-on-write. The findings come back in
rule order whichever process produced them, so the output is the same with one lane or two (tested).

The lanes keep together the rules that share the expensive memos: the agent action-set and admin rules
with the escalation rules (evaluator decisions per reached principal, the routes to admin) in the child;
the step, trust and hygiene rules here. The memos both lanes read are computed once before the fork.
Only where fork is the platform's way to start a process (Linux), with two cores or more, and for a
model big enough to pay for the fork and the transfer of the findings (`PARALLEL_MIN` principals).
If the child fails for any reason, its rules run here: a slower scan, never a different one.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
import threading
import time
from typing import Callable

from ..findings import Finding
from .load import Rule
from ..settle import paused
from .matchers import MATCHERS, RuleContext

PARALLEL_MIN = 3000

# matchers whose rules run in the child lane (the rest run in this process)
CHILD_LANE = frozenset({
    "agent_admin", "agent_iam_write", "agent_action_set", "agent_no_boundary", "agent_no_deny_guardrail",
    "escalation_to_admin", "escalation_to_high_value", "devops_agent_elevated", "agent_iam_implied_scope",
    "ci_agent_role_overbroad", "agt_useragent_boundary", "agt_oidc_missing_sub",
})


def default_jobs(ctx: RuleContext) -> int:
    """2 on Linux with two cores or more for a model of `PARALLEL_MIN` principals or more, else 1. Never
    from a process running other threads (a fork copies only the calling thread, and their locks)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork") or (os.cpu_count() or 1) < 2 \
            or threading.active_count() > 1:
        return 1
    return 2 if sum(1 for _ in ctx.model.principals()) >= PARALLEL_MIN else 1


def run_rules(rules: list[Rule], ctx: RuleContext, *, jobs: int | None = None,
              progress: Callable[[str], None] | None = None) -> tuple[list[Finding], dict[str, float]]:
    """The findings of `rules` in rule order, and each rule's wall time (`rule:ID`). `jobs`: 1 in this
    process, 2 with a child lane; None decides by `default_jobs`."""
    if jobs is None:
        jobs = default_jobs(ctx)
    with paused():   # the rules allocate memos and findings by the hundred thousand and free few cycles
        return _lanes(rules, ctx, jobs, progress)


def _lanes(rules: list[Rule], ctx: RuleContext, jobs: int, progress) -> tuple[list[Finding], dict[str, float]]:
    child = [r for r in rules if r.match["matcher"] in CHILD_LANE] if jobs >= 2 and hasattr(os, "fork") else []
    if not child or len(child) == len(rules):
        return _merge(rules, _run(rules, ctx, progress))
    here = [r for r in rules if r.match["matcher"] not in CHILD_LANE]
    _shared(ctx, here, child)
    try:
        pid, path = _fork(child, ctx)
    except OSError:   # no temporary file or no process to be had: one lane
        return _merge(rules, _run(rules, ctx, progress))
    try:
        results = _run(here, ctx, progress)
    except BaseException:
        _stop(pid)
        raise
    finally:
        theirs = _collect(pid, path, ctx)
    results.update(theirs)
    missing = [r for r in child if r.id not in results]
    if missing:   # the child failed: its rules run here
        results.update(_run(missing, ctx, progress))
    return _merge(rules, results)


def _run(rules: list[Rule], ctx: RuleContext, progress) -> dict[str, tuple[list[Finding], float]]:
    out = {}
    for rule in rules:
        if progress:
            progress(f"rules: {rule.id}")
        t = time.perf_counter()
        found = list(MATCHERS[rule.match["matcher"]](rule, ctx))
        out[rule.id] = (found, time.perf_counter() - t)
    return out


def _merge(rules: list[Rule], results: dict) -> tuple[list[Finding], dict[str, float]]:
    findings: list[Finding] = []
    timings: dict[str, float] = {}
    for rule in rules:
        found, took = results[rule.id]
        findings.extend(found)
        timings[f"rule:{rule.id}"] = took
    return findings, timings


def _shared(ctx: RuleContext, here: list[Rule], child: list[Rule]) -> None:
    """Compute before the fork the memos that rules of both lanes read (each lane would compute its own)."""
    def agent(rs):
        return any(r.id.startswith("AGT") for r in rs)
    if agent(here) and agent(child):
        from .agents import _prefilter, _reached
        _reached(ctx)
        _prefilter(ctx)


def _stop(pid: int) -> None:
    try:
        os.kill(pid, 9)
    except OSError:
        pass


def _collect(pid: int, path: str, ctx: RuleContext) -> dict:
    """The child's results once it exited cleanly ({} otherwise), its `covered` records merged into ctx."""
    try:
        _, status = os.waitpid(pid, 0)
        if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
            return {}
        with open(path, "rb") as fh:
            results, covered = pickle.load(fh)
        mine = ctx._cache.setdefault("covered", {})
        for rid, seen in covered.items():
            mine.setdefault(rid, set()).update(seen)
        return results
    except Exception:   # noqa: BLE001 - whatever went wrong, the child's rules then run here
        return {}
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


def _fork(rules: list[Rule], ctx: RuleContext) -> tuple[int, str]:
    fd, path = tempfile.mkstemp(prefix="iamlint-rules-", suffix=".pickle")
    os.close(fd)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError:
        os.unlink(path)
        raise
    if pid == 0:   # the child: run its lane, write the results, leave without any cleanup of the parent's
        code = 1
        try:
            before = {k: set(v) for k, v in ctx._cache.get("covered", {}).items()}
            results = _run(rules, ctx, None)
            covered = {k: v - before.get(k, set()) for k, v in ctx._cache.get("covered", {}).items()}
            with open(path, "wb") as fh:
                pickle.dump((results, covered), fh, protocol=pickle.HIGHEST_PROTOCOL)
            code = 0
        finally:
            os._exit(code)
    return pid, path

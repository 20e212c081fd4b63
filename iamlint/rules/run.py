"""Running the selected rules over one graph: in order in this process, or in lanes on two cores.

The rules read the graph and write only their own memos (pure functions of the graph, kept in the
context's cache), so the selected rules can be split between this process and forked children that
inherit the model, the graph and every memo computed so far, copy-on-write. The findings come back in
rule order whichever process produced them, so the output is the same with one lane or more (tested).

* The early lane (`EARLY_LANE`): rules that read no step of the graph (policy hygiene, trust documents)
  run in a child forked once the admin levels are known, while this process builds the steps (one core
  was idle there). Their graph refuses any read of a step, so a rule wrongly placed fails instead of
  reporting less; a test runs every one of them on both graphs. Then, until the steps are built, the
  child fills memos of later rules that read no step either (`_early_work`: the action-set answers per
  principal), and hands them over with its findings: the later lanes ask only what it did not reach.
* The child lane (`CHILD_LANE`): forked after the steps, beside the rules that run here. The lanes keep
  together the rules that share expensive memos; a memo both lanes read (the agent reach) each computes
  for itself, the child first running the rules that need none of it. Rules that share none with their
  lane (`EITHER_LANE`) are dealt from a queue both lanes draw on once their own rules are done, largest
  first: whichever lane is free takes the next, so neither waits on the other for long, whatever the
  machine or the account.
Only where fork is the platform's way to start a process (Linux), with two cores or more, and for a
model big enough to pay for the forks and the transfer of the findings (`PARALLEL_MIN` principals).
If a child fails for any reason, its rules run here: a slower scan, never a different one.
"""

from __future__ import annotations

import mmap
import os
import pickle
import sys
import tempfile
import threading
import time
from typing import Callable, Iterable

from ..findings import Finding
from .load import Rule
from ..settle import paused
from .matchers import MATCHERS, RuleContext

PARALLEL_MIN = 3000

# matchers whose rules run in the child lane (the rest run in this process)
CHILD_LANE = frozenset({
    "agent_no_boundary", "agent_no_deny_guardrail",
    "escalation_to_admin", "escalation_to_high_value", "agent_iam_implied_scope",
    "ci_agent_role_overbroad",
})

# child-lane matchers that read no agent reach: the child runs them first (rules/agents.py `_reached`)
READ_NO_REACH = frozenset({"escalation_to_admin", "escalation_to_high_value"})

# matchers that share no expensive memo with the rules of either lane: after its own rules, each lane
# takes the next of these from a queue both draw on (in this order: the slowest first)
EITHER_LANE = (
    "agent_action_set", "agent_no_source_identity", "agent_chain_to_human", "agent_execution_role_overbroad",
    "devops_agent_elevated", "operator_inheritance", "agent_user_keys", "agentcore_broad_managed",
    "agent_long_session",
)

# matchers that read no step of the graph (the model, policies, trust documents, the evaluator, admin levels
# and caps only: rules/hygiene.py and rules/agents_trust.py): with two jobs their rules run in a child
# forked before the graph's steps are built, on a graph that refuses any read of its steps
EARLY_LANE = frozenset({
    "full_admin", "iam_write_admin", "allow_not_action", "allow_not_resource", "pass_role_star",
    "service_wildcard", "resource_star_writes", "unknown_actions", "user_direct_policies", "stale_role",
    "long_session_privileged", "trust_any_principal", "cross_account_no_external_id", "cross_account_root",
    "service_confused_deputy", "oidc_no_audience", "oidc_no_subject",
    "agt_oidc_missing_sub", "agt_oidc_wildcard_sub", "agt_oidc_set_operator", "agt_oidc_missing_aud",
    "agt_service_trust_no_source", "resource_policy_any_principal", "agt_service_trust_wildcard_source",
    "agt_tool_resource_policy_no_source", "agt_tag_scope_bypass", "agt_useragent_boundary",
    "agt_deprecated_mcp_actions",
})


def default_jobs(model) -> int:
    """2 on Linux with two cores or more for a model of `PARALLEL_MIN` principals or more, else 1. Never
    from a process running other threads (a fork copies only the calling thread, and their locks)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork") or (os.cpu_count() or 1) < 2 \
            or threading.active_count() > 1:
        return 1
    return 2 if sum(1 for _ in model.principals()) >= PARALLEL_MIN else 1


def _early_work(rules: list[Rule]) -> list[tuple[Callable, list[Rule], str]]:
    """Memos the early lane fills for rules that run after it, for as long as the steps take to build:
    (function(rules, ctx, stop), those rules, the cache key it fills); `stop()` turns true once this
    process wants the results, and the function then returns with what it has (the rules compute the rest
    themselves). The action-set rules' per-principal answers read no step (rules/agents.py)."""
    from .agents import early_set_hits
    sets = [r for r in rules if r.match["matcher"] == "agent_action_set"]
    return [(early_set_hits, sets, "agents:set-hits")] if sets else []


class Early:
    """The early lane: rules that read no step, and memos of later rules that read none, computed in a
    forked child while this process builds the steps. The constructor forks (or does nothing: one job,
    nothing to do early, no fork to be had); `collect` waits for the child and takes its results."""

    def __init__(self, rules: list[Rule], ctx: RuleContext, jobs: int):
        self.ids: set[str] = set()
        self.child: tuple[int, str] | None = None
        self.results: dict | None = None
        early = [r for r in rules if r.match["matcher"] in EARLY_LANE]
        work = _early_work(rules)
        if jobs < 2 or not (early or work) or len(early) == len(rules) or not hasattr(os, "fork"):
            return
        # one byte shared with the child (an anonymous shared mapping survives the fork): set when the
        # steps are built, so the child stops filling memos and hands over what it has
        self.flag = mmap.mmap(-1, 1)
        try:
            self.child = _fork(early, ctx, work, stop=lambda: self.flag[0] != 0)
        except OSError:
            return
        self.ids = {r.id for r in early}

    def collect(self, ctx: RuleContext) -> dict:
        """The child's rule results ({} when it failed: its rules then run with the others), its memos
        and `covered` records merged into ctx. Waits for the child the first time; later calls give the
        same results."""
        if self.results is None:
            self.results = {}
            if self.child is not None:
                self.flag[0] = 1
                pid, path = self.child
                self.child = None
                self.results = _collect(pid, path, ctx)
        return self.results

    def stop(self) -> None:
        if self.child is not None:
            pid, path = self.child
            self.child = None
            _stop(pid)
            try:
                os.waitpid(pid, 0)
                os.unlink(path)
            except OSError:
                pass


def run_rules(rules: list[Rule], ctx: RuleContext, *, jobs: int | None = None,
              progress: Callable[[str], None] | None = None,
              early: Early | None = None) -> tuple[list[Finding], dict[str, float]]:
    """The findings of `rules` in rule order, and each rule's wall time (`rule:ID`). `jobs`: 1 in this
    process, 2 with a child lane; None decides by `default_jobs`. `early`: the early lane started before
    the steps were built, whose results are collected here."""
    if jobs is None:
        jobs = default_jobs(ctx.model)
    taken = early.ids if early is not None else set()
    with paused():   # the rules allocate memos and findings by the hundred thousand and free few cycles
        try:
            results = _lanes([r for r in rules if r.id not in taken], ctx, jobs, progress)
        except BaseException:
            if early is not None:
                early.stop()
            raise
        if early is not None:
            results.update(early.collect(ctx))
        missing = [r for r in rules if r.id not in results]
        if missing:   # the early child failed: its rules run here, on the whole graph
            results.update(_run(missing, ctx, progress))
        return _merge(rules, results)


def _lanes(rules: list[Rule], ctx: RuleContext, jobs: int, progress) -> dict[str, tuple[list[Finding], float]]:
    """Each rule's (findings, seconds): in this process, or with a child lane for `CHILD_LANE`, the rules
    of `EITHER_LANE` dealt to whichever lane is free first."""
    child = [r for r in rules if r.match["matcher"] in CHILD_LANE] if jobs >= 2 and hasattr(os, "fork") else []
    if not child or len(child) == len(rules):
        return _run(rules, ctx, progress)
    rank = {m: i for i, m in enumerate(EITHER_LANE)}
    either = sorted((r for r in rules if r.match["matcher"] in rank), key=lambda r: rank[r.match["matcher"]])
    here = [r for r in rules if r.match["matcher"] not in CHILD_LANE and r.match["matcher"] not in rank]
    # no memo is computed for both before the fork: the child starts with the rules that read no agent
    # reach while this process computes it, and computes its own when its agent rules need it
    child.sort(key=lambda r: r.match["matcher"] not in READ_NO_REACH)
    try:
        queue = _Queue(either)
    except OSError:
        return _run(rules, ctx, progress)
    try:
        pid, path = _fork(child, ctx, queue=queue)
    except OSError:   # no temporary file or no process to be had: one lane
        queue.close()
        return _run(rules, ctx, progress)
    try:
        results = _run(here, ctx, progress)
        results.update(_run(queue.drain(), ctx, progress))
    except BaseException:
        _stop(pid)
        raise
    finally:
        queue.close()
        theirs = _collect(pid, path, ctx)
    results.update(theirs)
    missing = [r for r in rules if r.id not in results]
    if missing:   # the child failed: its rules (and those it took from the queue) run here
        results.update(_run(missing, ctx, progress))
    return results


class _Queue:
    """Rules dealt one at a time to whichever process asks first: each rule's index is one byte in a
    pipe, written before the fork, and a read of one byte from a pipe takes it for one reader only."""

    def __init__(self, rules: list[Rule]):
        if len(rules) > 255:
            raise OSError("too many rules for the queue")
        self.rules = rules
        self.read_fd, w = os.pipe()
        try:
            os.write(w, bytes(range(len(rules))))
        finally:
            os.close(w)   # once the bytes are taken, a read finds the end

    def drain(self):
        """The rules this process takes, one by one, until none is left."""
        while True:
            try:
                b = os.read(self.read_fd, 1)
            except OSError:
                return
            if not b:
                return
            yield self.rules[b[0]]

    def close(self) -> None:
        try:
            os.close(self.read_fd)
        except OSError:
            pass


def _run(rules: Iterable[Rule], ctx: RuleContext, progress, sink=None) -> dict[str, tuple[list[Finding], float]]:
    """Each rule's (findings, seconds). `sink`: a child's results file, each rule's results written to it
    as soon as they are in (the lane's share of the writing then counts in its pace at the queue)."""
    out = {}
    for rule in rules:
        if progress:
            progress(f"rules: {rule.id}")
        t = time.perf_counter()
        found = list(MATCHERS[rule.match["matcher"]](rule, ctx))
        for f in found:
            f.fingerprint   # hashed here, in the lane (the scan sorts by it; a child's go with its findings)
        out[rule.id] = (found, time.perf_counter() - t)
        if sink is not None:
            pickle.dump((rule.id, out[rule.id]), sink, protocol=pickle.HIGHEST_PROTOCOL)
    return out


def _merge(rules: list[Rule], results: dict) -> tuple[list[Finding], dict[str, float]]:
    findings: list[Finding] = []
    timings: dict[str, float] = {}
    for rule in rules:
        found, took = results[rule.id]
        findings.extend(found)
        timings[f"rule:{rule.id}"] = took
    return findings, timings


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
        results = {}
        with open(path, "rb") as fh:
            while True:   # one record per rule, then the lane's memos (EOFError, caught below, if missing)
                rid, value = pickle.load(fh)
                if rid is None:
                    covered, memos = value
                    break
                results[rid] = value
        for key, memo in memos.items():    # answers computed there: this process asks them again otherwise
            ctx._cache.setdefault(key, {}).update(memo)
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


def _fork(rules: list[Rule], ctx: RuleContext, work=(), stop=lambda: False,
          queue: _Queue | None = None) -> tuple[int, str]:
    """Run `rules` (then those it takes from `queue`, then each memo-filling `work`) in a forked child;
    its results go to a temporary file."""
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
            with open(path, "wb") as fh:
                _run(rules, ctx, None, sink=fh)
                if queue is not None:
                    _run(queue.drain(), ctx, None, sink=fh)
                covered = {k: v - before.get(k, set()) for k, v in ctx._cache.get("covered", {}).items()}
                memos = {}
                for fill, for_rules, key in work:
                    fill(for_rules, ctx, stop)
                    memos[key] = ctx._cache.get(key, {})
                # the last record: no rule id; its presence says the lane finished
                pickle.dump((None, (covered, memos)), fh, protocol=pickle.HIGHEST_PROTOCOL)
            code = 0
        finally:
            os._exit(code)
    return pid, path

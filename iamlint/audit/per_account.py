"""Per-unit analysis: each unit of accounts (split.py) gets a model of its own, is scanned on its own (in
this process, in worker processes, or on Dask workers), and the findings are merged.

A unit's model holds its accounts as read; every other account read in the run as an empty stand-in
(so "is this account in the input" reads the same in every unit: IAM203/IAM206 and the graph's
external-account callers); the organization; the managed policies of its results, and the policies
no account of the run owns (AWS managed, other parties') as the whole run chose them (the first copy
with a document, in the run's order, as one model would). The reference time is the whole run's.

A unit keeps the findings about its own accounts' principals and resources, and those about nothing
of any account read (the organization's policies when the management account is not read, outside
entities): every unit sees the latter alike, so the merge keeps one per fingerprint (stage.py: the
parent stages each unit's findings on disk as the unit finishes, and frees them).
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass, field

from ..findings import Finding
from ..model.account import Account, ManagedPolicy, Model, Organization
from .split import _account_of
from .stage import row


@dataclass
class UnitSpec:
    index: int
    owned: list[str]                       # the unit's accounts
    order: list[str]                       # every account read, in the run's order
    sources: list[int]                     # the results (run positions) holding the unit's accounts
    owner: dict[str, int]                  # unit account -> the result it is taken from
    shared: dict[str, ManagedPolicy]       # policies no account of the run owns, as the run chose them
    organization: Organization | None = None
    now: tuple | None = None               # (datetime, words): the run's reference time
    only: tuple = ()
    skip: tuple = ()
    rule_dirs: tuple = ()
    config: dict = field(default_factory=dict)
    principals: int = 0                    # for scheduling: biggest units first
    exclusions: list = field(default_factory=list)
    today: object = None                   # the run's date, for exclusions that expire


@dataclass
class UnitOutcome:
    index: int
    accounts: list[str]
    findings: list[tuple]                  # (sort key, fingerprint, ours?, stage.row) of the findings kept
    suppressed: list[tuple]                # (fingerprint, ours?) of the findings an exclusion matched
    errors: list[dict]
    rules: list[str]
    timings: dict[str, float]
    principals: int
    pid: int = 0


def assemble(spec: UnitSpec, results: list) -> Model:
    """The unit's model from its results (aligned with spec.sources)."""
    by_index = dict(zip(spec.sources, results))
    owned = set(spec.owned)
    model = Model()
    for acct in spec.order:
        if acct in owned:
            model.accounts[acct] = by_index[spec.owner[acct]].model.accounts[acct]
        else:
            model.accounts[acct] = Account(acct)            # a stand-in: read in this run, analysed elsewhere
    for i in sorted(by_index):
        for arn, pol in by_index[i].model.policies.items():
            if arn in spec.shared:
                continue
            have = model.policies.get(arn)
            if have is None or (have.missing and not pol.missing):
                model.policies[arn] = pol
    model.policies.update(spec.shared)
    model.organization = spec.organization
    return model


def keep(f: Finding, owned: set[str], known: set[str]) -> bool:
    acct = _account_of(f.principal) if f.principal else None
    return acct in owned or acct not in known


def analyse(spec: UnitSpec, *results) -> UnitOutcome:
    """Scan one unit. Runs wherever the results are (this process, a worker process, a Dask worker)."""
    from ..pipeline import scan

    t, c = time.perf_counter(), time.process_time()
    model = assemble(spec, list(results))
    rep = scan(model, only=spec.only or None, skip=spec.skip or None, rule_dirs=spec.rule_dirs,
               config=spec.config, now=spec.now, jobs=1)   # units are already spread over the cores
    from ..suppress import apply
    owned, known = set(spec.owned), set(spec.order)
    kept, suppressed, _ = apply([f for f in rep.findings if keep(f, owned, known)], spec.exclusions, spec.today)

    def ours(f: Finding) -> bool:
        return (_account_of(f.principal) if f.principal else None) in owned

    # serialized here, in parallel: the stored text, not a dict (the parent stages it on disk as it comes)
    findings = [(f.sort_key(), f.fingerprint, ours(f), row(f.to_json())) for f in kept]
    timings = {"graph": rep.timings.get("graph", 0.0), "rules": rep.timings.get("rules", 0.0),
               "unit": time.perf_counter() - t, "cpu": time.process_time() - c}
    principals = sum(len(model.accounts[a].principals) for a in spec.owned)
    return UnitOutcome(spec.index, list(spec.owned), findings, [(f.fingerprint, ours(f)) for f, _ in suppressed],
                       rep.errors, [r.id for r in rep.rules], timings, principals, os.getpid())


# ----------------------------------------------------------------------------------- executors

def _peak_mib() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(spec: UnitSpec, results: list, conn) -> None:
    """A forked worker: one unit, the outcome (or the error) sent back, then exit. The cyclic collector is
    off for its whole life (its passes walked the unit's model, findings and their rows as they piled up:
    2.5 s of CPU over the 20 units of 20 accounts x 2,000 roles): the process ends with its unit, so the
    little cyclic garbage a unit leaves (its scan's graph) goes with it, and memory stays bounded by
    the unit."""
    gc.disable()
    try:
        o = analyse(spec, *[results[i] for i in spec.sources])
        o.timings["peak_mib"] = _peak_mib()
        conn.send(("ok", o))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        import traceback
        conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
    finally:
        conn.close()


def run_local(specs: list[UnitSpec], results: list, workers: int, on_unit=None) -> list[UnitOutcome]:
    """In this process one after another (workers <= 1, or one unit), else at most `workers` units at a
    time, each in a process of its own forked from this one: it inherits the loaded accounts (nothing
    is copied but the pages it writes), and its memory goes back when the unit is done. Where fork is
    not available, a process pool to which the unit's results are sent."""
    out: list[UnitOutcome] = []

    def done(o: UnitOutcome) -> None:
        out.append(o)
        if on_unit:
            on_unit(o, len(out), len(specs))

    if workers <= 1 or len(specs) <= 1:
        # the collector left as it is here: a unit leaves cyclic garbage (its scan's graph), and a pass after
        # each unit walked every loaded account again (20 x 2,000 roles in this process: 58 s -> 65 s)
        for spec in specs:
            o = analyse(spec, *[results[i] for i in spec.sources])
            o.timings["peak_mib"] = _peak_mib()
            done(o)
        return out
    import multiprocessing as mp
    order = sorted(specs, key=lambda s: -s.principals)          # the biggest first: the shortest finish
    if "fork" not in mp.get_all_start_methods():
        from concurrent.futures import ProcessPoolExecutor, as_completed
        with ProcessPoolExecutor(max_workers=min(workers, len(specs))) as pool:
            futs = [pool.submit(analyse, s, *[results[i] for i in s.sources]) for s in order]
            for fut in as_completed(futs):
                done(fut.result())
        return out
    from multiprocessing.connection import wait
    ctx = mp.get_context("fork")
    gc.collect()
    gc.freeze()                 # what the children inherit stays shared: the collector never touches it
    running: dict = {}          # reader -> (process, spec)
    todo = list(order)
    try:
        while todo or running:
            while todo and len(running) < workers:
                spec = todo.pop(0)
                reader, writer = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, args=(spec, results, writer), daemon=True)
                proc.start()
                writer.close()
                running[reader] = (proc, spec)
            for reader in wait(list(running)):
                proc, spec = running.pop(reader)
                try:
                    status, payload = reader.recv()
                except EOFError:
                    status, payload = "error", f"the worker process exited with code {proc.join() or proc.exitcode}"
                reader.close()
                proc.join()
                if status != "ok":
                    raise RuntimeError(f"analysing accounts {', '.join(spec.owned)} failed: {payload}")
                done(payload)
    finally:
        for reader, (proc, _) in running.items():
            proc.kill()
            proc.join()
            reader.close()
        gc.unfreeze()
    return out


def run_dask(client, specs: list[UnitSpec], futures: list, tag: str, on_unit=None) -> list[UnitOutcome]:
    """Each unit on a Dask worker, next to (or fetched from) the workers holding its accounts' results."""
    from distributed import as_completed

    order = sorted(specs, key=lambda s: -s.principals)
    futs = [client.submit(analyse, s, *[futures[i] for i in s.sources], key=f"iamlint-unit-{tag}-{s.index}",
                          pure=False) for s in order]
    out = []
    for fut in as_completed(futs):
        out.append(fut.result())
        if on_unit:
            on_unit(out[-1], len(out), len(specs))
    return out

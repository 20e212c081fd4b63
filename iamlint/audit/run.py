"""One audit run: collect every account (concurrently), analyse, record.

    plan (which accounts, the organization) → collect (threads, or Dask workers)
      → split into units (split.py: accounts a cross-account trust can join go together)
      → scan each unit (per_account.py: in this process, worker processes, or Dask workers)
      → each unit's findings staged on disk as it finishes (stage.py; merged in the order one list gave)
    → Store.record (one transaction, the findings streamed) → the run's document (Store.view: its
      findings read from the store as the reports are written, never all in memory)

The findings are those of one scan of every account in one model (the old path, kept as
`whole_org_graph=True` / `--whole-org-graph`): a unit holds every account a finding of its accounts can
depend on, the organization's guardrails, and the run's one reference time.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

from .. import __version__
from ..errors import UsageError
from ..model.account import Model
from ..settle import paused
from . import org as orgfile
from .collect import AccountResult, Target, collect_one
from .stage import Staged, row
from .store import RunRecord, Store, now

log = logging.getLogger("iamlint.audit")


@dataclass
class Plan:
    """What to audit: the targets, and (when known) the organization document."""

    source: str                                  # organization | profiles | roles | input
    targets: list[Target]
    organization: dict | None = None
    skipped: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


@dataclass
class Outcome:
    run_id: int
    view: dict                            # Store.view: the run's document, its findings read as iterated
    report: object | None                 # the one scan's Report (whole_org_graph), else None
    results: list[AccountResult]          # without their models (units), which are freed once analysed
    seconds: dict[str, float]
    units: list[list[str]] = field(default_factory=list)     # the accounts analysed together
    links: list[dict] = field(default_factory=list)          # why accounts were joined
    store: Store | None = None
    _document: dict | None = None

    @property
    def document(self) -> dict:
        """The whole run's document in memory (Store.document; the store must still be open)."""
        if self._document is None:
            self._document = self.store.document(self.run_id)
        return self._document


OnDone = Callable[[AccountResult, int, int], None]


# ----------------------------------------------------------------------------------- collection


def collect_all(targets: list[Target], *, workers: int = 8, executor: str = "local", scheduler: str | None = None,
                regions: list[str] | None = None, source_profile: str | None = None, base_session=None,
                on_done: OnDone | None = None) -> list[AccountResult]:
    """Every target read and loaded, at most `workers` at a time (or on a Dask cluster). Never raises
    for one account: its result carries the error. Results come back in the targets' order."""
    if executor not in ("local", "dask"):
        raise UsageError(f"--executor must be local or dask, not {executor!r}")
    if executor == "local":
        return _collect_local(targets, workers, dict(regions=regions, source_profile=source_profile,
                                                     base_session=base_session), on_done)
    client = dask_client(scheduler)
    try:
        results, _ = _collect_dask(client, targets, {"regions": regions, "source_profile": source_profile},
                                   on_done, light=False)
        return results
    finally:
        client.close()


def _collect_local(targets: list[Target], workers: int, kwargs: dict, on_done) -> list[AccountResult]:
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from .collect import warm
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    out: dict[int, AccountResult] = {}
    if any(t.kind != "file" for t in targets):
        warm()
    with ThreadPoolExecutor(max_workers=min(workers, max(1, len(targets)))) as pool:
        futs = {pool.submit(collect_one, t, **kwargs): i for i, t in enumerate(targets)}
        for fut in as_completed(futs):
            _done(out, futs[fut], fut.result(), len(targets), on_done)
    return [out[i] for i in range(len(targets))]


def _done(out: dict, i: int, res: AccountResult, total: int, on_done) -> None:
    out[i] = res
    _log_account(res)
    if on_done is not None:
        on_done(res, len(out), total)


def dask_client(scheduler: str | None):
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--executor dask needs Dask: pip install 'iamlint[dask]'") from None
    if not scheduler:
        raise UsageError("--executor dask needs --scheduler ADDRESS (e.g. tcp://scheduler:8786)")
    try:
        return Client(scheduler, timeout=30)
    except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError...
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None


def _light(res: AccountResult) -> AccountResult:
    return res.light()


def _collect_dask(client, targets: list[Target], kwargs: dict, on_done, light: bool):
    """Per-account collection and loading on Dask workers; each worker uses its own AWS credentials.
    light: the results stay on the workers (their futures are returned) and only their model-less
    copies come here; otherwise the whole results come back (futures None)."""
    from distributed import as_completed

    tag = uuid.uuid4().hex[:8]
    futs = [client.submit(collect_one, t, key=f"iamlint-audit-{tag}-{i}", pure=False, **kwargs)
            for i, t in enumerate(targets)]
    back = [client.submit(_light, f, key=f"iamlint-light-{tag}-{i}", pure=False) for i, f in enumerate(futs)] \
        if light else futs
    index = {f.key: i for i, f in enumerate(back)}
    out: dict[int, AccountResult] = {}
    for fut in as_completed(list(back)):
        i = index[fut.key]
        try:
            res = fut.result()
        except Exception as exc:  # noqa: BLE001 - a lost worker fails that account only
            res = AccountResult(targets[i], error={
                "account": targets[i].account_id or targets[i].ref, "stage": "collect",
                "target": targets[i].label, "operation": None, "error_code": type(exc).__name__,
                "message": f"the Dask task failed: {exc}"})
        _done(out, i, res, len(targets), on_done)
    return [out[i] for i in range(len(targets))], (futs if light else None)


def _log_account(res: AccountResult) -> None:
    if res.ok:
        log.info("account read", extra={"event": "account_read", "target": res.target.label,
                                        "accounts": res.accounts, "principals": res.principals,
                                        "partial_errors": len(res.errors), "seconds": round(res.seconds, 3)})
    else:
        log.warning("account not read", extra={"event": "account_failed", "target": res.target.label,
                                               "error_code": res.error.get("error_code"),
                                               "error": res.error.get("message")})


# ----------------------------------------------------------------------------------- stitching


def _failed_row(res: AccountResult) -> dict:
    """The accounts row of a target that could not be read."""
    return {"account": res.target.account_id or res.target.ref, "name": res.target.name, "status": "failed",
            "digest": None, "principals": None, "seconds": round(res.seconds, 3)}


def _duplicate(acct_id: str, res: AccountResult) -> dict:
    """The error of an account given by a second target (the first one is kept)."""
    return {"account": acct_id, "stage": "collect", "target": res.target.label, "operation": None,
            "error_code": "DuplicateAccount", "message": f"account {acct_id} is given twice; {res.target.label} ignored for it"}


def _organization_doc(results: list[AccountResult], plan: Plan) -> tuple[dict | None, str]:
    """The run's organization document (from the plan, or the one organization file among the inputs)."""
    org_doc, org_source = plan.organization, "<organization>"
    for res in results:
        if res.organization is not None:
            if org_doc is not None:
                raise UsageError(f"{res.target.ref}: a second organization file (one per audit)")
            org_doc, org_source = res.organization, res.target.ref
    return org_doc, org_source


def stitch(results: list[AccountResult], plan: Plan) -> tuple[Model, list[dict], list[dict]]:
    """One model from the per-account models, with the organization. Returns (model, accounts, errors)."""
    model = Model()
    accounts: list[dict] = []
    errors: list[dict] = list(plan.errors)
    org_doc, org_source = _organization_doc(results, plan)
    names = {t.account_id: t.name for t in plan.targets if t.account_id}
    for res in results:
        if res.organization is not None:
            continue
        if not res.ok or res.model is None:
            errors.append(res.error)
            accounts.append(_failed_row(res))
            continue
        for acct_id, acct in sorted(res.model.accounts.items()):
            if acct_id in model.accounts:
                errors.append(_duplicate(acct_id, res))
                continue
            model.accounts[acct_id] = acct
            accounts.append({"account": acct_id, "name": names.get(acct_id) or acct.alias, "status": "read",
                             "digest": res.digest, "principals": len(acct.principals),
                             "seconds": round(res.seconds, 3)})
        for arn, pol in res.model.policies.items():
            have = model.policies.get(arn)
            if have is None or (have.missing and not pol.missing):
                model.policies[arn] = pol
        if res.model.organization is not None and org_doc is None and model.organization is None:
            model.organization = res.model.organization          # a snapshot that carried its organization
    for s in plan.skipped:
        accounts.append({"account": s["account"], "name": s.get("name"), "status": "skipped", "digest": None,
                         "principals": None, "seconds": None})
    if org_doc is not None:
        model.organization = orgfile.organization(org_doc, org_source)
    return model, accounts, errors


# ----------------------------------------------------------------------------------- per-unit planning


@dataclass
class Prepared:
    """What stitch() decides, from the results' summaries alone (no model needed in this process)."""

    accounts: list[dict]
    errors: list[dict]
    order: list[str]                        # the accounts read, each once, in the run's order
    owner: dict[str, int]                   # account -> the result it is taken from
    organization: object | None
    shared: dict                            # policy ARN -> the chosen ManagedPolicy (no account of the run owns it)
    latest: object | None                   # the latest date in what one model would hold


def prepare(results: list[AccountResult], plan: Plan) -> Prepared:
    """The bookkeeping of stitch() (same accounts, errors, organization and policy choice)."""
    accounts: list[dict] = []
    errors: list[dict] = list(plan.errors)
    org_doc, org_source = _organization_doc(results, plan)
    names = {t.account_id: t.name for t in plan.targets if t.account_id}
    owner: dict[str, int] = {}
    organization = None
    for i, res in enumerate(results):
        if res.organization is not None:
            continue
        if not res.ok or res.summary is None:
            errors.append(res.error)
            accounts.append(_failed_row(res))
            continue
        for acct_id, alias, n in res.summary.accounts:
            if acct_id in owner:
                errors.append(_duplicate(acct_id, res))
                continue
            owner[acct_id] = i
            accounts.append({"account": acct_id, "name": names.get(acct_id) or alias, "status": "read",
                             "digest": res.digest, "principals": n, "seconds": round(res.seconds, 3)})
        if res.summary.organization is not None and org_doc is None and organization is None:
            organization = res.summary.organization
    for s in plan.skipped:
        accounts.append({"account": s["account"], "name": s.get("name"), "status": "skipped", "digest": None,
                         "principals": None, "seconds": None})
    if org_doc is not None:
        organization = orgfile.organization(org_doc, org_source)
    # the policies one model would hold: per ARN the first copy with a document, in the run's order
    chosen: dict[str, tuple[bool, object, object]] = {}
    for i, res in enumerate(results):
        if res.organization is not None or not res.ok or res.summary is None:
            continue
        for arn, (missing, pol) in res.summary.policies.items():
            have = chosen.get(arn)
            if have is None or (have[0] and not missing):
                chosen[arn] = (missing, pol, res.summary.policy_latest.get(arn))
    known = set(owner)
    from .split import _account_of
    shared = {arn: pol for arn, (_, pol, _) in chosen.items() if _account_of(arn) not in known and pol is not None}
    stamps = [results[i].summary.latest.get(a) for a, i in owner.items()] + [x for _, _, x in chosen.values()]
    stamps = [x for x in stamps if x is not None]
    return Prepared(accounts, errors, list(owner), owner, organization, shared, max(stamps) if stamps else None)


def _reference_time(prep: Prepared, config: dict | None):
    """The run's one reference time for the rules that read one (idle roles, key ages): `now` in the
    configuration when it parses (every unit reads it there), else the latest date in the input as
    one model would see it; each unit is handed it."""
    from ..model.clock import parse_time
    if parse_time((config or {}).get("now")) is not None:
        return None
    return (prep.latest, "the latest date in the input")


def _peak_mib() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _auto_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


# ----------------------------------------------------------------------------------- the run


def audit(plan: Plan, store: Store, *, workers: int = 8, executor: str = "local", scheduler: str | None = None,
          regions: list[str] | None = None, source_profile: str | None = None, base_session=None,
          since: int | None = None, only=None, skip=None, rule_dirs: tuple[str, ...] = (), config: dict | None = None,
          exclusions: list | None = None, on_done: OnDone | None = None, whole_org_graph: bool = False,
          analysis_workers: int | None = None) -> Outcome:
    """analysis_workers (local executor): units analysed at once in worker processes; 1 analyses them in
    this process one after another; None: one per CPU."""
    started = now()
    seconds: dict[str, float] = {}
    if since is not None and not store.has_run(since):
        raise UsageError(f"--since {since}: no such run in {store.path} (see `iamlint audit history`)")
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    if analysis_workers is not None and analysis_workers < 1:
        raise UsageError("--analysis-workers must be at least 1")
    if executor not in ("local", "dask"):
        raise UsageError(f"--executor must be local or dask, not {executor!r}")
    from ..pipeline import select_rules
    from ..rules.load import all_rules
    if config:
        from ..config import validate_config
        validate_config(config)
    rule_list = select_rules(all_rules(rule_dirs), only, skip)        # unknown ids: a usage error, before any work
    log.info("audit started", extra={"event": "run_started", "source": plan.source, "targets": len(plan.targets),
                                     "executor": executor, "analysis": "whole-org" if whole_org_graph else "units"})
    client = dask_client(scheduler) if executor == "dask" else None
    kwargs = {"regions": regions, "source_profile": source_profile}
    staged = Staged()
    try:
        try:
            t = time.perf_counter()
            if client is None:
                # saved files load without cyclic garbage: the collector off (half the loading time at 20
                # accounts x 2,000 roles, its full passes walking every account loaded so far); a live
                # collection (boto3) keeps it on
                files = all(x.kind == "file" for x in plan.targets)
                with paused() if files else contextlib.nullcontext():
                    results = _collect_local(plan.targets, workers, dict(kwargs, base_session=base_session),
                                             on_done)
                futures = None
                # the loaded accounts live until the analysis is done: frozen out of the collector (the
                # full pass before the units are forked walked them all: 0.9 s at 20 accounts x 2,000
                # roles); handed back when the analysis ends (the first scan in this process already
                # hands them back, as before)
                gc.freeze()
            else:
                results, futures = _collect_dask(client, plan.targets, kwargs, on_done, light=not whole_org_graph)
            seconds["collect"] = time.perf_counter() - t
            if whole_org_graph:
                out = _whole_org(plan, results, only, skip, rule_dirs, config, exclusions, seconds, staged)
            else:
                out = _units(plan, results, futures, client, rule_list, only, skip, rule_dirs, config, exclusions,
                             analysis_workers, seconds, staged)
        finally:
            if client is None:
                gc.unfreeze()
            else:
                client.close()
        report, accounts, errors, rules, units, links = out
        # the loaded accounts are not needed past the analysis: free them before the findings are written
        # (the outcome keeps each result's summary, digest and errors)
        results = [r.light() for r in results]
        gc.collect()
        t = time.perf_counter()
        run_id = store.record(RunRecord(started_at=started, source=plan.source, findings=[], accounts=accounts,
                                        rules=rules, errors=errors, suppressed=staged.fingerprints_suppressed(),
                                        since=since, version=__version__, rows=staged))
        seconds["store"] = time.perf_counter() - t
    finally:
        staged.close()
    t = time.perf_counter()
    doc = store.view(run_id)
    seconds["document"] = time.perf_counter() - t
    s = doc["summary"]
    log.info("audit recorded", extra={"event": "run_recorded", "run": run_id, "accounts": s["accounts"],
                                      "accounts_read": s["accounts_read"], "new": s["new"], "open": s["open"],
                                      "resolved": s["resolved"], "unverified": s["unverified"],
                                      "errors": len(doc["errors"]), "units": len(units),
                                      "peak_mib": round(_peak_mib()),
                                      "seconds": {k: round(v, 3) for k, v in seconds.items()}})
    return Outcome(run_id, doc, report, results, seconds, units, links, store)


def _whole_org(plan, results, only, skip, rule_dirs, config, exclusions, seconds, staged):
    """Every account in one model, one scan (the path before units; `--whole-org-graph`)."""
    from ..pipeline import scan
    t = time.perf_counter()
    model, accounts, errors = stitch(results, plan)
    seconds["stitch"] = time.perf_counter() - t
    report = None
    rules: list[str] = []
    if model.accounts:
        t = time.perf_counter()
        report = scan(model, only=only, skip=skip, rule_dirs=rule_dirs, config=config, exclusions=exclusions)
        seconds["scan"] = time.perf_counter() - t
        t = time.perf_counter()
        # in the report's order (one unit; the key leaves the order as it is)
        staged.add(0, [((0, "", "", "", ""), f.fingerprint, True, row(f.to_json())) for f in report.findings],
                   [(f.fingerprint, True) for f, _ in report.suppressed])
        rules = [r.id for r in report.rules]
        errors.extend(dict(e, stage="collect") for e in report.errors)
        seconds["serialize"] = time.perf_counter() - t
    units = [list(model.accounts)] if model.accounts else []
    return report, accounts, errors, rules, units, []


def _units(plan, results, futures, client, rule_list, only, skip, rule_dirs, config, exclusions, analysis_workers,
           seconds, staged):
    from . import per_account as PA
    from .split import units as split_units

    t = time.perf_counter()
    prep = prepare(results, plan)
    owned_by: dict[int, list[str]] = {}
    for acct, i in prep.owner.items():
        owned_by.setdefault(i, []).append(acct)
    groups, links = split_units([(results[i].summary, accts) for i, accts in sorted(owned_by.items())], prep.order)
    ref = _reference_time(prep, config)
    import datetime as _dt
    today = _dt.date.today()                # one date for the exclusions' expiry, in every unit
    specs = []
    for k, accts in enumerate(groups):
        specs.append(PA.UnitSpec(
            k, accts, prep.order, sorted({prep.owner[a] for a in accts}), {a: prep.owner[a] for a in accts},
            prep.shared, prep.organization, ref, tuple(only or ()), tuple(skip or ()), tuple(rule_dirs),
            dict(config or {}), sum(n for i in {prep.owner[a] for a in accts}
                                    for a2, _, n in results[i].summary.accounts if a2 in accts),
            list(exclusions or []), today))
    seconds["split"] = time.perf_counter() - t
    sizes = sorted((len(g) for g in groups), reverse=True)
    log.info("units planned", extra={"event": "units_planned", "units": len(groups), "largest": sizes[:5],
                                     "links": len(links)})
    t = time.perf_counter()

    def on_unit(o, done, total):
        log.info("unit analysed", extra={"event": "unit_analysed", "accounts": o.accounts, "principals": o.principals,
                                         "findings": len(o.findings), "done": done, "total": total,
                                         "seconds": {k: round(v, 3) for k, v in o.timings.items()}})
        t = time.perf_counter()
        staged.add(o.index, o.findings, o.suppressed)        # on disk as it comes; not kept here
        o.findings, o.suppressed = [], []
        seconds["stage"] = seconds.get("stage", 0.0) + time.perf_counter() - t

    if client is not None:
        outcomes = PA.run_dask(client, specs, futures, uuid.uuid4().hex[:8], on_unit)
    else:
        n = analysis_workers if analysis_workers is not None else _auto_workers()
        outcomes = PA.run_local(specs, results, n, on_unit)
    seconds["analyse"] = time.perf_counter() - t
    for key in ("graph", "rules", "cpu"):
        seconds[f"{key} (sum over units)"] = sum(o.timings.get(key, 0.0) for o in outcomes)
    log.info("units analysed", extra={"event": "units_analysed", "units": len(outcomes),
                                      "unit_peak_mib": round(max((o.timings.get("peak_mib", 0.0) for o in outcomes),
                                                                 default=0.0)),
                                      "parent_peak_mib": round(_peak_mib())})
    t = time.perf_counter()
    pos = {a: i for i, a in enumerate(prep.order)}
    errors = prep.errors
    unit_errors = [e for o in outcomes for e in o.errors]
    unit_errors.sort(key=lambda e: pos.get(e.get("account"), len(pos)))
    errors.extend(dict(e, stage="collect") for e in unit_errors)
    rules = [r.id for r in rule_list] if prep.order else []
    seconds["serialize"] = time.perf_counter() - t
    return None, prep.accounts, errors, rules, groups, links

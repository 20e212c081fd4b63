"""One audit run: collect every account (concurrently), stitch them into one model, scan once, record.

    plan (which accounts, the organization) → collect_all (threads, or Dask) → stitch → pipeline.scan
    → Store.record (one transaction) → the run's document

Cross-account trust is one graph because every account goes into one model before the one scan.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

from .. import __version__
from ..errors import UsageError
from ..model.account import Model
from . import org as orgfile
from .collect import AccountResult, Target, collect_one
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
    document: dict
    report: object | None
    results: list[AccountResult]
    seconds: dict[str, float]


OnDone = Callable[[AccountResult, int, int], None]


# ----------------------------------------------------------------------------------- collection


def collect_all(targets: list[Target], *, workers: int = 8, executor: str = "local", scheduler: str | None = None,
                regions: list[str] | None = None, source_profile: str | None = None, base_session=None,
                on_done: OnDone | None = None) -> list[AccountResult]:
    """Every target read and loaded, at most `workers` at a time (or on a Dask cluster). Never raises
    for one account: its result carries the error. Results come back in the targets' order."""
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    kwargs = {"regions": regions, "source_profile": source_profile}
    out: dict[int, AccountResult] = {}

    def done(i: int, res: AccountResult) -> None:
        out[i] = res
        _log_account(res)
        if on_done is not None:
            on_done(res, len(out), len(targets))

    if executor == "dask":
        _collect_dask(targets, scheduler, kwargs, done)
    elif executor == "local":
        from concurrent.futures import ThreadPoolExecutor, as_completed

        from .collect import warm
        if any(t.kind != "file" for t in targets):
            warm()
        with ThreadPoolExecutor(max_workers=min(workers, max(1, len(targets)))) as pool:
            futs = {pool.submit(collect_one, t, base_session=base_session, **kwargs): i for i, t in enumerate(targets)}
            for fut in as_completed(futs):
                done(futs[fut], fut.result())
    else:
        raise UsageError(f"--executor must be local or dask, not {executor!r}")
    return [out[i] for i in range(len(targets))]


def _collect_dask(targets: list[Target], scheduler: str | None, kwargs: dict, done) -> None:
    """Per-account collection and loading on Dask workers; each worker uses its own AWS credentials."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise UsageError("--executor dask needs Dask: pip install 'iamlint[dask]'") from None
    if not scheduler:
        raise UsageError("--executor dask needs --scheduler ADDRESS (e.g. tcp://scheduler:8786)")
    try:
        client = Client(scheduler, timeout=30)
    except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError...
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    tag = uuid.uuid4().hex[:8]
    try:
        futs = {client.submit(collect_one, t, key=f"iamlint-audit-{tag}-{i}", pure=False, **kwargs): i
                for i, t in enumerate(targets)}
        for fut in as_completed(list(futs)):
            i = futs[fut]
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker fails that account only
                res = AccountResult(targets[i], error={
                    "account": targets[i].account_id or targets[i].ref, "stage": "collect",
                    "target": targets[i].label, "operation": None, "error_code": type(exc).__name__,
                    "message": f"the Dask task failed: {exc}"})
            done(i, res)
    finally:
        client.close()


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


def stitch(results: list[AccountResult], plan: Plan) -> tuple[Model, list[dict], list[dict]]:
    """One model from the per-account models, with the organization. Returns (model, accounts, errors)."""
    model = Model()
    accounts: list[dict] = []
    errors: list[dict] = list(plan.errors)
    org_doc, org_source = plan.organization, "<organization>"
    for res in results:
        if res.organization is not None:
            if org_doc is not None:
                raise UsageError(f"{res.target.ref}: a second organization file (one per audit)")
            org_doc, org_source = res.organization, res.target.ref
    names = {t.account_id: t.name for t in plan.targets if t.account_id}
    for res in results:
        if res.organization is not None:
            continue
        if not res.ok or res.model is None:
            errors.append(res.error)
            accounts.append({"account": res.target.account_id or res.target.ref, "name": res.target.name,
                             "status": "failed", "digest": None, "principals": None, "seconds": round(res.seconds, 3)})
            continue
        for acct_id, acct in sorted(res.model.accounts.items()):
            if acct_id in model.accounts:
                errors.append({"account": acct_id, "stage": "collect", "target": res.target.label,
                               "operation": None, "error_code": "DuplicateAccount",
                               "message": f"account {acct_id} is given twice; {res.target.label} ignored for it"})
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


# ----------------------------------------------------------------------------------- the run


def audit(plan: Plan, store: Store, *, workers: int = 8, executor: str = "local", scheduler: str | None = None,
          regions: list[str] | None = None, source_profile: str | None = None, base_session=None,
          since: int | None = None, only=None, skip=None, rule_dirs: tuple[str, ...] = (), config: dict | None = None,
          exclusions: list | None = None, on_done: OnDone | None = None) -> Outcome:
    from ..pipeline import scan

    started = now()
    seconds: dict[str, float] = {}
    if since is not None and not store.has_run(since):
        raise UsageError(f"--since {since}: no such run in {store.path} (see `iamlint audit history`)")
    log.info("audit started", extra={"event": "run_started", "source": plan.source, "targets": len(plan.targets),
                                     "executor": executor})
    t = time.perf_counter()
    results = collect_all(plan.targets, workers=workers, executor=executor, scheduler=scheduler, regions=regions,
                          source_profile=source_profile, base_session=base_session, on_done=on_done)
    seconds["collect"] = time.perf_counter() - t
    t = time.perf_counter()
    model, accounts, errors = stitch(results, plan)
    seconds["stitch"] = time.perf_counter() - t
    report = None
    findings: list[dict] = []
    rules: list[str] = []
    suppressed: list[str] = []
    if model.accounts:
        t = time.perf_counter()
        report = scan(model, only=only, skip=skip, rule_dirs=rule_dirs, config=config, exclusions=exclusions)
        seconds["scan"] = time.perf_counter() - t
        t = time.perf_counter()
        findings = [f.to_json() for f in report.findings]
        rules = [r.id for r in report.rules]
        suppressed = [f.fingerprint for f, _ in report.suppressed]
        errors.extend(dict(e, stage="collect") for e in report.errors)
        seconds["serialize"] = time.perf_counter() - t
    t = time.perf_counter()
    run_id = store.record(RunRecord(started_at=started, source=plan.source, findings=findings, accounts=accounts,
                                    rules=rules, errors=errors, suppressed=suppressed, since=since,
                                    version=__version__))
    seconds["store"] = time.perf_counter() - t
    t = time.perf_counter()
    doc = store.document(run_id)
    seconds["document"] = time.perf_counter() - t
    s = doc["summary"]
    log.info("audit recorded", extra={"event": "run_recorded", "run": run_id, "accounts": s["accounts"],
                                      "accounts_read": s["accounts_read"], "new": s["new"], "open": s["open"],
                                      "resolved": s["resolved"], "unverified": s["unverified"],
                                      "errors": len(doc["errors"]),
                                      "seconds": {k: round(v, 3) for k, v in seconds.items()}})
    return Outcome(run_id, doc, report, results, seconds)

"""`iamlint audit`: thin commands over iamlint.audit (run, history, show, migrate).

Exit codes: 0 the run was recorded (and nothing new at or above --fail-on); 1 a NEW finding at or above
--fail-on; 2 usage or input error, or no account could be read (the run is still recorded).
Accounts that cannot be read, and failures to deliver or notify, are reported in the run's errors
and do not change the exit code otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import List, Optional

import typer

from .cli import handled

audit_app = typer.Typer(invoke_without_command=True, no_args_is_help=False, rich_markup_mode=None,
                        help="Audit every account of an organization on a schedule, with history: what is new, "
                             "what was fixed, what is still open.\n\nExit codes: 0 recorded, 1 a new finding at or "
                             "above --fail-on, 2 usage/input error or no account readable.")

_STD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds")
               .replace("+00:00", "Z"), "level": record.levelname.lower(), "logger": record.name,
               "message": record.getMessage()}
        out.update({k: v for k, v in vars(record).items() if k not in _STD})
        return json.dumps(out, default=str)


class TextLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = {k: v for k, v in vars(record).items() if k not in _STD and k != "event"}
        return f"iamlint audit: {record.getMessage()}" + "".join(f" {k}={v}" for k, v in extra.items())


def setup_logging(fmt: str, quiet: bool) -> None:
    from .errors import UsageError
    if fmt not in ("text", "json"):
        raise UsageError(f"--log-format must be text or json, not {fmt!r}")
    logger = logging.getLogger("iamlint.audit")
    for h in list(logger.handlers):
        logger.removeHandler(h)
    h = logging.StreamHandler(sys.stderr)
    h.setFormatter(JsonLines() if fmt == "json" else TextLines())
    logger.addHandler(h)
    logger.propagate = False
    logger.setLevel(logging.ERROR if quiet else logging.INFO if fmt == "json" else logging.WARNING)


class Bar:
    """A progress bar on stderr, only on a terminal."""

    def __init__(self, enabled: bool, noun: str = "accounts"):
        self.enabled = enabled
        self.noun = noun
        self.failed = 0

    def __call__(self, res, done: int, total: int) -> None:
        if not res.ok:
            self.failed += 1
        if not self.enabled:
            return
        width = 30
        fill = int(width * done / max(total, 1))
        tail = f", {self.failed} failed" if self.failed else ""
        sys.stderr.write(f"\r\033[K  [{'#' * fill}{'.' * (width - fill)}] {done}/{total} {self.noun}{tail}")
        sys.stderr.flush()

    def end(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _split(values: List[str] | None) -> list[str]:
    return [x.strip() for v in values or [] for x in v.split(",") if x.strip()]


@audit_app.callback()
@handled
def audit(ctx: typer.Context,
          org: bool = typer.Option(False, "--org", help="audit every active account of the AWS Organization"),
          role_name: str = typer.Option("iamlint-audit", "--role-name", help="with --org: the read-only audit role "
                                        "to assume in each account (docs/audit-role-policy.json)"),
          external_id: Optional[str] = typer.Option(None, "--external-id", envvar="IAMLINT_AUDIT_EXTERNAL_ID",
                                                    help="ExternalId for sts:AssumeRole (or IAMLINT_AUDIT_EXTERNAL_ID)"),
          profile: List[str] = typer.Option(None, "--profile", help="audit the account of this profile (repeatable)"),
          role_arn: List[str] = typer.Option(None, "--role-arn", help="assume this role and audit its account "
                                             "(repeatable)"),
          input: Optional[str] = typer.Option(None, "--input", "-i", help="a folder of saved files: one snapshot or "
                                              "authorization-details file per account, and an organization file"),
          source_profile: Optional[str] = typer.Option(None, "--source-profile", help="credentials for the "
                                                       "Organizations calls, AssumeRole, S3 and SNS (default chain "
                                                       "otherwise)"),
          accounts: List[str] = typer.Option(None, "--accounts", help="with --org: only these account ids"),
          exclude_accounts: List[str] = typer.Option(None, "--exclude-accounts", help="with --org: skip these"),
          region: List[str] = typer.Option(None, "--region", help="regions for regional inventory (repeatable)"),
          workers: int = typer.Option(8, "--workers", help="accounts collected at the same time"),
          executor: str = typer.Option("local", "--executor", help="local | dask"),
          scheduler: Optional[str] = typer.Option(None, "--scheduler", help="with --executor dask: the scheduler "
                                                  "address"),
          analysis_workers: Optional[int] = typer.Option(None, "--analysis-workers", help="units of accounts "
                                                         "analysed at once in worker processes (default: one per "
                                                         "CPU; 1: in this process, one after another)"),
          whole_org_graph: bool = typer.Option(False, "--whole-org-graph", help="analyse every account in one "
                                               "model and one graph (same findings; for a small organization or "
                                               "to compare)"),
          db: Optional[str] = typer.Option(None, "--db", help="the history store (default "
                                           "$XDG_DATA_HOME/iamlint/audit.db or ~/.local/share/iamlint/audit.db)"),
          since: Optional[int] = typer.Option(None, "--since", help="compare with this run (default: the last one)"),
          format: str = typer.Option("text", "--format", "-f", help="text | json | markdown | html"),
          output: Optional[str] = typer.Option(None, "--output", "-o", help="write the report here (stdout otherwise)"),
          output_dir: Optional[str] = typer.Option(None, "--output-dir", help="write the run's reports to this folder"),
          s3_uri: Optional[str] = typer.Option(None, "--s3-uri", help="put the run's reports under s3://bucket/prefix"),
          report_formats: str = typer.Option("json,html,markdown", "--report-formats",
                                             help="formats for --output-dir / --s3-uri"),
          notify_min_severity: str = typer.Option("high", "--notify-min-severity"),
          sns_topic: Optional[str] = typer.Option(None, "--sns-topic", help="publish new findings to this topic"),
          webhook: Optional[str] = typer.Option(None, "--webhook", help="POST new findings (JSON) to this https URL"),
          fail_on: Optional[str] = typer.Option(None, "--fail-on", help="exit 1 if a NEW finding at or above this"),
          rules: List[str] = typer.Option(None, "--rules"),
          skip_rules: List[str] = typer.Option(None, "--skip-rules"),
          rule_dir: List[str] = typer.Option(None, "--rule-dir"),
          config: Optional[str] = typer.Option(None, "--config"),
          exclusions: Optional[str] = typer.Option(None, "--exclusions"),
          log_format: str = typer.Option("text", "--log-format", help="text | json (JSON lines on stderr)"),
          quiet: bool = typer.Option(False, "--quiet", "-q"),
          no_color: bool = typer.Option(False, "--no-color")):
    """Run an audit (with no sub-command): collect, analyse (accounts a cross-account trust joins together,
    the others each alone), record, report, deliver, notify."""
    if ctx.invoked_subcommand is not None:
        return
    from .audit import collect as C
    from .audit import deliver, notify
    from .audit.report import FORMATS, write as write_report
    from .audit.run import Plan, audit as run_audit
    from .audit.store import Store, add_errors
    from .config import load_config
    from .errors import UsageError
    from .findings import SEVERITIES, SEVERITY_RANK
    from .output import Style
    from .suppress import load_exclusions

    setup_logging(log_format, quiet)
    chosen = [n for n, v in (("--org", org), ("--profile", profile), ("--role-arn", role_arn), ("--input", input)) if v]
    if len(chosen) != 1:
        raise UsageError("give exactly one of --org, --profile, --role-arn, --input"
                         + (f" (got {', '.join(chosen)})" if chosen else ""))
    if format not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {format!r}")
    fmts = _split([report_formats])
    for f in fmts:
        if f not in FORMATS:
            raise UsageError(f"--report-formats: {f!r} is not one of {', '.join(FORMATS)}")
    if fail_on is not None and fail_on not in SEVERITIES:
        raise UsageError(f"--fail-on must be one of {', '.join(SEVERITIES)}, not {fail_on!r}")
    notify.check_severity(notify_min_severity)
    if webhook:
        notify.check_webhook(webhook)
    if s3_uri:
        deliver.parse_s3_uri(s3_uri)
    if executor == "dask" and not scheduler:
        raise UsageError("--executor dask needs --scheduler ADDRESS")
    cfg = load_config(config)
    excl = load_exclusions(exclusions) if exclusions else []
    regions = list(dict.fromkeys(region)) if region else None

    session = None
    if org or role_arn or s3_uri or sns_topic:
        from .session import make_session
        session = make_session(source_profile, regions[0] if regions else None)
    if org:
        targets, doc, skipped, errs = C.organization_targets(session, role_name, external_id=external_id)
        only, skip = set(_split(accounts)), set(_split(exclude_accounts))
        if only:
            unknown = only - {t.account_id for t in targets} - {s["account"] for s in skipped}
            if unknown:
                raise UsageError(f"--accounts: not active accounts of the organization: {', '.join(sorted(unknown))}")
            targets = [t for t in targets if t.account_id in only]
        targets = [t for t in targets if t.account_id not in skip]
        plan = Plan("organization", targets, doc, skipped, errs)
    elif role_arn:
        plan = Plan("roles", C.role_targets(_split(role_arn), external_id))
    elif profile:
        plan = Plan("profiles", C.profile_targets(_split(profile), check=executor == "local"))
    else:
        plan = Plan("input", C.input_targets(input))

    store = Store(db)
    try:
        bar = Bar(not quiet and log_format == "text" and sys.stderr.isatty(), "files" if input else "accounts")
        try:
            out = run_audit(plan, store, workers=workers, executor=executor, scheduler=scheduler, regions=regions,
                            source_profile=source_profile, base_session=session if (org or role_arn) else None,
                            since=since, only=rules, skip=skip_rules, rule_dirs=tuple(rule_dir or ()), config=cfg,
                            exclusions=excl, on_done=bar, whole_org_graph=whole_org_graph,
                            analysis_workers=analysis_workers)
        finally:
            bar.end()
        # the reports are written from the store as they are rendered (Store.view): the run's findings are
        # never all in memory, so the store stays open until the last report is written
        doc = out.view
        log = logging.getLogger("iamlint.audit")

        late: list[dict] = []
        if output_dir:
            written, errs = deliver.to_directory(output_dir, out.run_id, fmts, doc)
            late += errs
            log.info("reports written", extra={"event": "delivered", "to": written})
        if s3_uri:
            written, errs = deliver.to_s3(session, s3_uri, out.run_id, fmts, doc)
            late += errs
            log.info("reports uploaded", extra={"event": "delivered", "to": written})
        picked = notify.selected(doc, notify_min_severity) if (sns_topic or webhook) else []
        if picked and sns_topic:
            e = notify.to_sns(session, sns_topic, doc, picked, notify_min_severity)
            late += [e] if e else []
            log.info("notified", extra={"event": "notified", "to": "sns", "findings": len(picked), "ok": e is None})
        if picked and webhook:
            e = notify.to_webhook(webhook, doc, picked, notify_min_severity)
            late += [e] if e else []
            log.info("notified", extra={"event": "notified", "to": "webhook", "findings": len(picked),
                                        "ok": e is None})
        del picked
        for e in late:
            log.warning("delivery failed", extra={"event": "delivery_failed", "stage": e["stage"],
                                                  "target": e["target"], "error_code": e["error_code"],
                                                  "error": e["message"]})
        if late:
            add_errors(store, out.run_id, late)
            doc = store.view(out.run_id)

        style = Style(False if (no_color or output) else None)
        write_report(doc, format, output, style)
        failed = doc["summary"]["accounts_read"] == 0
        new_fail = fail_on is not None and any(SEVERITY_RANK[f["severity"]] <= SEVERITY_RANK[fail_on]
                                               for f in doc["new"])
    finally:
        store.close()
    if failed:
        typer.echo("iamlint: error: no account could be read (see the run's errors)", err=True)
        raise typer.Exit(2)
    if new_fail:
        raise typer.Exit(1)


def _run_id(store, run: str) -> int:
    from .errors import UsageError
    if run == "latest":
        rid = store.last_run()
        if rid is None:
            raise UsageError(f"no run recorded in {store.path} yet")
        return rid
    try:
        return int(run)
    except ValueError:
        raise UsageError(f"RUN must be a run number or 'latest', not {run!r}") from None


@audit_app.command("history")
@handled
def history(db: Optional[str] = typer.Option(None, "--db"),
            limit: int = typer.Option(20, "--limit", help="most recent runs first; 0 for all"),
            format: str = typer.Option("text", "--format", "-f", help="text | json")):
    """List the recorded runs, newest first."""
    from .audit.store import Store
    from .errors import UsageError
    if format not in ("text", "json"):
        raise UsageError(f"--format must be text or json, not {format!r}")
    store = Store(db)
    runs = store.runs(limit or None)
    store.close()
    if format == "json":
        typer.echo(json.dumps({"schema_version": 1, "runs": runs}, indent=2))
        return
    if not runs:
        typer.echo("no runs recorded yet")
        return
    typer.echo(f"{'RUN':>5}  {'FINISHED':<20}  {'SOURCE':<12}  {'ACCOUNTS':>8}  {'NEW':>5}  {'RESOLVED':>8}  "
               f"{'OPEN':>5}  {'UNVERIFIED':>10}  {'ERRORS':>6}")
    for r in runs:
        c = r["counts"]
        typer.echo(f"{r['run']:>5}  {r['finished_at']:<20}  {r['source']:<12}  {r['accounts']:>8}  {c.get('new', 0):>5}  "
                   f"{c.get('resolved', 0):>8}  {c.get('open', 0):>5}  {c.get('unverified', 0):>10}  {r['errors']:>6}")


@audit_app.command("show")
@handled
def show(run: str = typer.Argument(..., help="a run number, or 'latest'"),
         db: Optional[str] = typer.Option(None, "--db"),
         format: str = typer.Option("text", "--format", "-f", help="text | json | markdown | html"),
         output: Optional[str] = typer.Option(None, "--output", "-o"),
         no_color: bool = typer.Option(False, "--no-color")):
    """Re-render a recorded run's report."""
    from .audit.report import FORMATS, write
    from .audit.store import Store
    from .errors import UsageError
    from .output import Style
    if format not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {format!r}")
    store = Store(db)
    try:                                    # rendered as read from the store (Store.view), never held whole
        write(store.view(_run_id(store, run)), format, output, Style(False if (no_color or output) else None))
    finally:
        store.close()


@audit_app.command("prune")
@handled
def prune(keep: int = typer.Option(..., "--keep", help="how many of the most recent runs to keep"),
          db: Optional[str] = typer.Option(None, "--db")):
    """Forget old runs (each finding's first seen / last seen / resolved history stays)."""
    from .audit.store import Store
    store = Store(db)
    n = store.prune(keep)
    store.close()
    typer.echo(f"{store.path}: removed {n} run(s), kept the {keep} most recent")


@audit_app.command("migrate")
@handled
def migrate(db: Optional[str] = typer.Option(None, "--db")):
    """Upgrade the history store's schema (every audit command also does it on open)."""
    from .audit.store import Store
    store = Store(db, migrate=False)
    start, end = store.migrate()
    store.close()
    typer.echo(f"{store.path}: schema version {start} -> {end}" if start != end else
               f"{store.path}: schema version {end} (current)")

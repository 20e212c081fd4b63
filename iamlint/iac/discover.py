"""Which files `iamlint check PATH...` reads, and what each one is (by content, not by name).

A folder is walked (hidden folders, `node_modules`, virtual environments and CDK asset folders are
skipped); files ending in .json, .yaml, .yml or .template are read. A CDK cloud assembly's
`manifest.json` names its stacks' templates and, where concrete, the account and region they deploy to.
A file that was named on the command line must be recognised; a file found in a folder that is not IAM
input (a workflow, a package.json) is skipped and counted.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, UsageError

EXTENSIONS = (".json", ".yaml", ".yml", ".template")
SKIP_DIRS = {"node_modules", "__pycache__", "venv", ".venv", "site-packages"}
# text that says "this was meant to be IAM input": a file found in a folder that contains it and does
# not parse is an error, not a skipped file
IAC_HINTS = ("AWSTemplateFormatVersion", "AWS::", "\"Statement\"", "Statement:", "\"format_version\"",
             "\"planned_values\"", "\"resource_changes\"")


@dataclass
class Candidate:
    path: str                      # on disk
    source: str                    # as findings show it (relative to the base directory)
    explicit: bool                 # named on the command line
    env: dict = field(default_factory=dict)    # from a CDK manifest: account, region, stack_name
    unreadable: bool = False       # found in a folder but not a regular file: skipped


def repo_root(start: str | None = None) -> str:
    """The nearest folder at or above `start` (default: the working directory) holding .git, else `start`."""
    here = os.path.abspath(start or os.getcwd())
    d = here
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return here
        d = parent


def display(path: str, base: str) -> str:
    ap = os.path.abspath(path)
    rel = os.path.relpath(ap, base)
    if rel == ".." or rel.startswith(".." + os.sep):
        rel = ap
    return rel.replace(os.sep, "/")


def cdk_manifest(path: str, depth: int = 0) -> dict[str, dict] | None:
    """A CDK cloud assembly manifest -> {absolute template path: env}; None when it is not one. The nested
    assemblies of CDK stages (`cdk:cloud-assembly`, `assembly-Prod/manifest.json`) are followed, and the
    templates of a stack's nested stacks (`aws:asset:path` of an AWS::CloudFormation::Stack) come with it."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    arts = data.get("artifacts") if isinstance(data, dict) else None
    if not isinstance(arts, dict) or "version" not in data:
        return None
    out: dict[str, dict] = {}
    folder = os.path.dirname(os.path.abspath(path))
    for art_id, art in arts.items():
        if isinstance(art, dict) and art.get("type") == "cdk:cloud-assembly" and depth < 16:
            sub = (art.get("properties") or {}).get("directoryName")
            if isinstance(sub, str):
                out.update(cdk_manifest(os.path.join(folder, sub, "manifest.json"), depth + 1) or {})
            continue
        if not isinstance(art, dict) or art.get("type") != "aws:cloudformation:stack":
            continue
        props = art.get("properties") or {}
        tfile = props.get("templateFile")
        if not isinstance(tfile, str):
            continue
        env: dict[str, Any] = {"stack_name": props.get("stackName") or art_id}
        envs = art.get("environment")
        if isinstance(envs, str) and envs.startswith("aws://"):
            acct, _, region = envs[len("aws://"):].partition("/")
            if acct.isdigit() and len(acct) == 12:
                env["account"] = acct
            if region and region != "unknown-region":
                env["region"] = region
        tpath = os.path.normpath(os.path.join(folder, tfile))
        out[tpath] = env
        for nested in _nested_templates(tpath):
            out.setdefault(nested, {k: v for k, v in env.items() if k != "stack_name"})
    return out


def _nested_templates(template: str, depth: int = 0) -> list[str]:
    """The nested stack templates a CDK stack template names (`Metadata: aws:asset:path`), deep."""
    try:
        with open(template, encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except (OSError, ValueError, RecursionError):
        return []
    res = data.get("Resources") if isinstance(data, dict) else None
    out: list[str] = []
    for r in (res.values() if isinstance(res, dict) else ()):
        if not isinstance(r, dict) or r.get("Type") != "AWS::CloudFormation::Stack":
            continue
        meta = r.get("Metadata")
        ap = meta.get("aws:asset:path") if isinstance(meta, dict) else None
        if isinstance(ap, str) and ap.endswith(".json") and "/" not in ap and "\\" not in ap:
            p = os.path.join(os.path.dirname(template), ap)
            if os.path.isfile(p) and p not in out:
                out.append(p)
                if depth < 8:
                    out.extend(x for x in _nested_templates(p, depth + 1) if x not in out)
    return out


def candidates(paths: list[str], base: str) -> list[Candidate]:
    out: list[Candidate] = []
    seen: set[str] = set()
    envs: dict[str, dict] = {}

    def add(p: str, explicit: bool, skip: bool = False) -> None:
        ap = os.path.normpath(os.path.abspath(p))
        if ap in seen:
            return
        seen.add(ap)
        out.append(Candidate(ap, display(ap, base), explicit, unreadable=skip))

    for p in paths:
        if not os.path.exists(p):
            raise UsageError(f"{p}: no such file or folder")
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS
                                 and not (d.startswith("asset.") and os.path.exists(os.path.join(root, "manifest.json"))))
                if "manifest.json" in files:
                    envs.update(cdk_manifest(os.path.join(root, "manifest.json")) or {})
                for f in sorted(files):
                    if f.lower().endswith(EXTENSIONS):
                        fp = os.path.join(root, f)
                        if not os.path.isfile(fp):
                            # a dangling symlink, a named pipe, a socket: not a file a folder walk can read
                            # (reading a pipe would wait forever); skipped and counted
                            add(fp, False, skip=True)
                            continue
                        add(fp, False)
        else:
            if os.path.basename(p) == "manifest.json":
                m = cdk_manifest(p)
                if m is not None:
                    if not m:
                        raise InputError("the CDK manifest names no stack template (nothing to check)",
                                         source=display(p, base))
                    envs.update(m)
                    for tpl in m:
                        if not os.path.exists(tpl):
                            raise InputError(f"the CDK manifest names template {os.path.basename(tpl)}, "
                                             "which does not exist", source=display(p, base))
                        add(tpl, True)
                    continue
            add(p, True)
    for c in out:
        c.env = envs.get(c.path, {})
    return out


def looks_meant(text: str) -> bool:
    return any(h in text for h in IAC_HINTS)

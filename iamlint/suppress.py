"""Suppression, decided in exactly one place after the rules run, and always visible.

An exclusions file (YAML) lists what to suppress, each entry with a mandatory reason:

    exclusions:
      - rule: ESC001                                  # id, id prefix, or "*"
        principal: "arn:aws:iam::123456789012:role/deploy-*"   # ARN or glob (optional)
        fingerprint: 0123abcd...                      # one finding exactly (optional)
        reason: "deploy role is reviewed quarterly"   # required
        expires: 2027-01-31                           # optional; after it the entry stops suppressing

Suppressed findings are counted and listed as suppressed; expired entries are reported.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from .engine import wildcard
from .errors import InputError
from .findings import Finding

KEYS = {"rule", "principal", "fingerprint", "file", "reason", "expires"}


@dataclass(frozen=True)
class Exclusion:
    reason: str
    rule: str = "*"
    principal: str | None = None
    fingerprint: str | None = None
    file: str | None = None
    expires: _dt.date | None = None
    source: str = ""
    index: int = 0

    def matches(self, f: Finding) -> bool:
        if self.rule != "*" and not f.rule_id.startswith(self.rule):
            return False
        if self.fingerprint and f.fingerprint != self.fingerprint:
            return False
        if self.principal and not (f.principal and wildcard.match(self.principal, f.principal)):
            return False
        if self.file and not (f.location and wildcard.match(self.file, f.location.file)):
            return False
        return True

    def to_json(self) -> dict:
        return {"rule": self.rule, "principal": self.principal, "fingerprint": self.fingerprint, "file": self.file,
                "reason": self.reason, "expires": self.expires.isoformat() if self.expires else None}


def _date(value, source: str, ptr: str) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"expires must be a date (YYYY-MM-DD), not {value!r}", source=source, place=ptr) from None


def load_exclusions(path: str) -> list[Exclusion]:
    import yaml

    from .yaml_safe import safe_load

    try:
        with open(path, encoding="utf-8") as fh:
            data = safe_load(fh)
    except OSError as exc:
        raise InputError(f"cannot read exclusions ({exc.strerror})", source=path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"invalid YAML: {getattr(exc, 'problem', exc)}", source=path,
                         place=f"line {mark.line + 1}" if mark else None) from None
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("exclusions", []), list):
        raise InputError("expected a mapping with an 'exclusions' list", source=path, place="/exclusions")
    out = []
    for i, e in enumerate(data.get("exclusions") or []):
        ptr = f"/exclusions/{i}"
        if not isinstance(e, dict):
            raise InputError("an exclusion must be a mapping", source=path, place=ptr)
        unknown = set(e) - KEYS
        if unknown:
            raise InputError(f"unknown key {sorted(unknown)[0]!r}", source=path, place=f"{ptr}/{sorted(unknown)[0]}")
        reason = e.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise InputError("every exclusion needs a reason", source=path, place=f"{ptr}/reason")
        for k in ("rule", "principal", "fingerprint", "file"):
            if k in e and not isinstance(e[k], str):
                raise InputError(f"{k} must be a string", source=path, place=f"{ptr}/{k}")
        if not any(k in e for k in ("rule", "principal", "fingerprint", "file")):
            raise InputError("an exclusion must name a rule, principal, fingerprint or file", source=path, place=ptr)
        out.append(Exclusion(reason=reason.strip(), rule=e.get("rule", "*"), principal=e.get("principal"),
                             fingerprint=e.get("fingerprint"), file=e.get("file"),
                             expires=_date(e["expires"], path, f"{ptr}/expires") if e.get("expires") else None,
                             source=path, index=i))
    return out


def apply(findings: list[Finding], exclusions: list[Exclusion], today: _dt.date | None = None):
    """-> (kept findings, [(suppressed finding, exclusion)], [expired exclusions])."""
    today = today or _dt.date.today()
    active = [e for e in exclusions if e.expires is None or e.expires >= today]
    expired = [e for e in exclusions if e.expires is not None and e.expires < today]
    kept, suppressed = [], []
    for f in findings:
        hit = next((e for e in active if e.matches(f)), None)
        if hit is None:
            kept.append(f)
        else:
            suppressed.append((f, hit))
    return kept, suppressed, expired

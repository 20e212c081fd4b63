"""Notifications of new findings at or above a severity: an SNS topic and/or an HTTPS webhook.

A failure to notify is returned as an error (reported in the run), never raised. The webhook gets a
JSON POST (`payload`); plain http is refused except to a loopback host (127.0.0.1, ::1, localhost), for
local relays and tests. Redirects are not followed. Optional headers come from the environment, never
from the command line: IAMLINT_WEBHOOK_AUTHORIZATION (sent as `Authorization`) and
IAMLINT_WEBHOOK_SECRET (HMAC-SHA256 of the body, sent as `X-Iamlint-Signature: sha256=<hex>`).
Webhook URLs often hold tokens: errors name only the scheme and host.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request

from .. import __version__
from ..errors import UsageError
from ..findings import SEVERITIES, SEVERITY_RANK

MAX_FINDINGS = 100            # per message; the rest is counted in `truncated`
SNS_MAX_BYTES = 250_000       # SNS accepts 256 KiB
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def check_severity(sev: str) -> str:
    if sev not in SEVERITIES:
        raise UsageError(f"--notify-min-severity must be one of {', '.join(SEVERITIES)}, not {sev!r}")
    return sev


def check_webhook(url: str) -> str:
    u = urllib.parse.urlsplit(url)
    if u.scheme == "https" and u.hostname:
        return url
    if u.scheme == "http" and u.hostname in LOOPBACK:
        return url
    raise UsageError("--webhook must be an https:// URL (plain http only to 127.0.0.1, ::1 or localhost)")


def selected(doc: dict, min_severity: str) -> list[dict]:
    limit = SEVERITY_RANK[min_severity]
    return [f for f in doc["new"] if SEVERITY_RANK.get(f["severity"], 9) <= limit]


def payload(doc: dict, findings: list[dict], min_severity: str) -> dict:
    return {"schema_version": 1, "kind": "iamlint.audit.new_findings", "generator": f"iamlint {__version__}",
            "run": doc["run"], "finished_at": doc["finished_at"], "min_severity": min_severity,
            "summary": {k: doc["summary"][k] for k in ("accounts", "accounts_read", "new", "resolved", "open")},
            "count": len(findings), "truncated": max(0, len(findings) - MAX_FINDINGS),
            "findings": findings[:MAX_FINDINGS]}


def _err(target: str, code: str, message: str) -> dict:
    return {"stage": "notify", "target": target, "error_code": code, "message": message[:500]}


def to_sns(session, topic_arn: str, doc: dict, findings: list[dict], min_severity: str) -> dict | None:
    """sns:Publish a subject line and the JSON payload (findings cut to fit SNS's size limit)."""
    from ..loaders.live import CLIENT_CONFIG
    body = payload(doc, findings, min_severity)
    while len(json.dumps(body).encode()) > SNS_MAX_BYTES and body["findings"]:
        keep = len(body["findings"]) // 2
        body["findings"] = body["findings"][:keep]
        body["truncated"] = len(findings) - keep
    worst = findings[0]["severity"] if findings else min_severity
    subject = f"iamlint audit run {doc['run']}: {len(findings)} new finding(s), worst {worst}"[:100]
    region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else None
    try:
        sns = session.client("sns", region_name=region or None, config=CLIENT_CONFIG)
        sns.publish(TopicArn=topic_arn, Subject=subject, Message=json.dumps(body),
                    MessageAttributes={"kind": {"DataType": "String", "StringValue": body["kind"]}})
    except Exception as exc:  # noqa: BLE001 - never fatal
        code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
        return _err(f"sns {topic_arn}", code or type(exc).__name__, str(exc))
    return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def to_webhook(url: str, doc: dict, findings: list[dict], min_severity: str, *, timeout: float = 10.0,
               attempts: int = 3, backoff: float = 1.0) -> dict | None:
    check_webhook(url)
    u = urllib.parse.urlsplit(url)
    target = f"webhook {u.scheme}://{u.netloc.rsplit('@', 1)[-1]}"
    body = json.dumps(payload(doc, findings, min_severity)).encode()
    headers = {"Content-Type": "application/json", "User-Agent": f"iamlint/{__version__}"}
    if os.environ.get("IAMLINT_WEBHOOK_AUTHORIZATION"):
        headers["Authorization"] = os.environ["IAMLINT_WEBHOOK_AUTHORIZATION"]
    if os.environ.get("IAMLINT_WEBHOOK_SECRET"):
        sig = hmac.new(os.environ["IAMLINT_WEBHOOK_SECRET"].encode(), body, hashlib.sha256).hexdigest()
        headers["X-Iamlint-Signature"] = f"sha256={sig}"
    opener = urllib.request.build_opener(_NoRedirect)
    last = None
    for n in range(attempts):
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with opener.open(req, timeout=timeout) as resp:
                resp.read(1024)
                return None
        except urllib.error.HTTPError as exc:
            last = _err(target, f"HTTP {exc.code}", exc.reason if isinstance(exc.reason, str) else str(exc.code))
            if exc.code < 500 and exc.code != 429:
                return last                                   # the receiver refused it: no retry
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            last = _err(target, type(exc).__name__, str(reason))
        if n + 1 < attempts:
            time.sleep(backoff * (2 ** n))
    return last

"""Delivering a run's reports: a folder (atomic writes) and/or an S3 bucket (s3:PutObject, the only
write iamlint makes to AWS, into the user's own bucket). Failures are returned as errors, never raised."""

from __future__ import annotations

import io
import os
import tempfile

from ..errors import IamlintError, UsageError
from .report import EXTENSIONS, write, write_file

CONTENT_TYPES = {"json": "application/json", "html": "text/html; charset=utf-8",
                 "markdown": "text/markdown; charset=utf-8", "text": "text/plain; charset=utf-8"}


def file_name(run_id: int, fmt: str) -> str:
    return f"audit-run-{run_id:06d}.{EXTENSIONS[fmt]}"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or not uri[5:].split("/", 1)[0]:
        raise UsageError(f"--s3-uri must look like s3://bucket/prefix, not {uri!r}")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix.strip("/")


def _err(target: str, code: str, message: str) -> dict:
    return {"stage": "deliver", "target": target, "error_code": code, "message": message[:500]}


def to_directory(directory: str, run_id: int, fmts: list[str], doc: dict) -> tuple[list[str], list[dict]]:
    """Each format's report written atomically as it is rendered (report.write)."""
    written, errors = [], []
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        return [], [_err(directory, "OSError", exc.strerror or str(exc))]
    for fmt in fmts:
        path = os.path.join(directory, file_name(run_id, fmt))
        try:
            write(doc, fmt, path)
            written.append(path)
        except (IamlintError, OSError) as exc:
            errors.append(_err(path, type(exc).__name__, str(exc)))
    return written, errors


def to_s3(session, uri: str, run_id: int, fmts: list[str], doc: dict) -> tuple[list[str], list[dict]]:
    """One PutObject per format under the prefix (bucket encryption and policy apply as configured); each
    report is rendered into a private temporary file first and uploaded from it."""
    import botocore.exceptions

    from ..loaders.live import CLIENT_CONFIG
    bucket, prefix = parse_s3_uri(uri)
    written, errors = [], []
    try:
        s3 = session.client("s3", config=CLIENT_CONFIG)
    except Exception as exc:  # noqa: BLE001
        return [], [_err(uri, type(exc).__name__, str(exc))]
    for fmt in fmts:
        key = "/".join(x for x in (prefix, file_name(run_id, fmt)) if x)
        try:
            with tempfile.TemporaryFile("w+b") as raw:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                write_file(text, doc, fmt, newline=False)      # the text as rendered, as before
                text.detach()
                raw.seek(0)
                s3.put_object(Bucket=bucket, Key=key, Body=raw, ContentType=CONTENT_TYPES[fmt])
            written.append(f"s3://{bucket}/{key}")
        except botocore.exceptions.ClientError as exc:
            e = exc.response.get("Error") or {}
            errors.append(_err(f"s3://{bucket}/{key}", str(e.get("Code") or "ClientError"), str(e.get("Message") or exc)))
        except Exception as exc:  # noqa: BLE001 - connection errors and the like
            errors.append(_err(f"s3://{bucket}/{key}", type(exc).__name__, str(exc)))
    return written, errors

"""Building a boto3 session for live collection (the only place credentials are touched)."""

from __future__ import annotations

from .errors import UsageError


def make_session(profile: str | None, region: str | None):
    import boto3
    import botocore.exceptions

    try:
        return boto3.session.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound:
        raise UsageError(f"AWS profile {profile!r} not found") from None

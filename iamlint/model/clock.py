"""Times read from an input, and the reference time a scan decides time-bound things by."""

from __future__ import annotations

from datetime import datetime, timezone


def parse_time(v) -> datetime | None:
    """An ISO 8601 time (or date) as an aware datetime, UTC when it names no zone; None when it is none."""
    if v is None:
        return None
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=timezone.utc)
    text = str(v).strip().replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        try:
            dt = datetime.fromisoformat(text[:10])
        except ValueError:
            return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def latest_time(model) -> datetime | None:
    """The latest timestamp in the input (creation and last-use dates of principals, policy versions'
    creation): a time the input was collected at or after. Authorization details carry no collection
    time, and the wall clock would make one input give different findings from one day to the next."""
    stamps = [p.create_date for p in model.principals()]
    stamps += [(p.last_used or {}).get("LastUsedDate") for p in model.principals()]
    stamps += [v.create_date for mp in model.policies.values() for v in mp.versions]
    parsed = [x for x in (parse_time(v) for v in stamps) if x is not None]
    return max(parsed) if parsed else None

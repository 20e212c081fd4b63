"""What an account's `inventory` says about one kind of resource: complete, partial, or unknown.

The rule every consumer follows (graph builder, rules): a kind's key (`inventory["lambda_functions"]`)
is present only when the list is complete for the whole account, so an absent resource may be taken as
"there is none". A kind read in some regions but not all (a region denied, unreachable, not requested
with `--region`) keeps its key out; what was found goes to `inventory["partial"][kind]` and the regions
not read to `inventory["regions"]["kinds"][kind]["not_read"]` (region -> reason). Inputs older than the
`regions` record (snapshots, authorization-details files) have neither field and read as before.

No boto3 here: this is the format, not the collection.
"""

from __future__ import annotations

PARTIAL = "partial"
REGIONS = "regions"
ANY_REGION = "*"        # a not_read key: the regions themselves could not be listed


def is_complete(inv: dict | None, kind: str) -> bool:
    return isinstance(inv, dict) and kind in inv


def known_items(inv: dict | None, kind: str) -> list:
    """Every item of `kind` the input shows to exist: the complete list, else what a partial read found."""
    if not isinstance(inv, dict):
        return []
    if kind in inv:
        items = inv.get(kind)
    else:
        part = inv.get(PARTIAL)
        items = part.get(kind) if isinstance(part, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def not_read(inv: dict | None, kind: str) -> dict[str, str]:
    """Regions where `kind` was not read (region -> reason); {} when the input does not say."""
    rec = inv.get(REGIONS) if isinstance(inv, dict) else None
    kinds = rec.get("kinds") if isinstance(rec, dict) else None
    entry = kinds.get(kind) if isinstance(kinds, dict) else None
    gaps = entry.get("not_read") if isinstance(entry, dict) else None
    return {str(r): str(why) for r, why in gaps.items()} if isinstance(gaps, dict) else {}


def gap(inv: dict | None, kind: str) -> str:
    """Why `kind` is not known to be complete, for a potential step's `assumes`."""
    gaps = not_read(inv, kind)
    if not gaps:
        return f"the input has no {kind} inventory"
    by_reason: dict[str, list[str]] = {}
    for region, why in sorted(gaps.items()):
        by_reason.setdefault(why, []).append(region)
    parts = []
    for why, regions in sorted(by_reason.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if regions == [ANY_REGION]:
            parts.append(why)
        elif len(regions) <= 3:
            parts.append(f"{', '.join(regions)} ({why})")
        else:
            parts.append(f"{len(regions)} regions ({why})")
    return f"the {kind} inventory is incomplete, regions not read: {'; '.join(parts)}"


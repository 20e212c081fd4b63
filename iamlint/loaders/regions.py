"""Which regions the live collector reads, and what it records about them per inventory kind.

* `ENABLED_STATES`, `ENABLED_OPT_STATUS`: what counts as an enabled region in `ec2:DescribeRegions` and
  `account:ListRegions` answers (the calls themselves are the collector's: `_Collector.enabled_regions`).
* `Availability`: botocore's endpoint data, to skip a region where a service is not offered (no resource
  of it can exist there). A region botocore does not know (newer than the installed botocore), or a
  service without endpoint data (endpoint rules only), is read anyway: skipping is never a guess.
* `Ledger`: per inventory kind, the regions read, not offered, and not read (region -> reason). Its
  `record()` is the `inventory["regions"]` field (see loaders/inventory.py for how it is consumed).
"""

from __future__ import annotations

import threading
from typing import Any

from .inventory import ANY_REGION

NOT_REQUESTED = "not requested (--region)"
UNLISTED = "the account's enabled regions could not be listed"
ENABLED_STATES = ("opt-in-not-required", "opted-in")                 # ec2:DescribeRegions OptInStatus
ENABLED_OPT_STATUS = ("ENABLED", "ENABLED_BY_DEFAULT")                # account:ListRegions RegionOptStatus


class Availability:
    """Is `service` offered in `region`? False only when botocore's endpoint data says it is not."""

    def __init__(self, session: Any, partition: str | None):
        self.session = session
        self.partition = partition or "aws"
        self._cache: dict[str, frozenset[str]] = {}
        self._services: frozenset[str] | None = None
        self._lock = threading.Lock()

    def _regions(self, service: str) -> frozenset[str]:
        with self._lock:
            got = self._cache.get(service)
            if got is None:
                try:
                    got = frozenset(self.session.get_available_regions(service, partition_name=self.partition))
                except Exception:  # noqa: BLE001 - unknown service or partition: no data
                    got = frozenset()
                self._cache[service] = got
            return got

    def has_endpoint_data(self, service: str) -> bool:
        return bool(self._regions(service))

    def offered(self, service: str, region: str) -> bool:
        known = self._regions(service)
        if not known or region not in self._regions("ec2"):
            return True                                   # no data, or a region newer than botocore: read it
        return region in known

    def has_client(self, service: str) -> bool:
        with self._lock:
            if self._services is None:
                try:
                    self._services = frozenset(self.session.get_available_services())
                except Exception:  # noqa: BLE001 - let the calls themselves fail and be recorded
                    self._services = frozenset()
        return not self._services or service in self._services


class Ledger:
    """Per inventory kind: regions read, not offered, not read (reason). Thread-safe."""

    def __init__(self, enabled: list[str] | None, requested: list[str] | None):
        self.enabled = enabled
        self.requested = requested
        self.kinds: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def _entry(self, kind: str) -> dict[str, Any]:
        e = self.kinds.get(kind)
        if e is None:
            e = self.kinds[kind] = {"read": set(), "not_offered": set(), "not_read": {}}
            if self.requested is not None:
                if self.enabled is None:
                    e["not_read"][ANY_REGION] = f"{UNLISTED}; only {', '.join(self.requested)} requested"
                else:
                    for r in self.enabled:
                        if r not in self.requested:
                            e["not_read"][r] = NOT_REQUESTED
            elif self.enabled is None:
                e["not_read"][ANY_REGION] = f"{UNLISTED}; only the home region was read"
        return e

    def read(self, kind: str, region: str, failure: str | None) -> None:
        with self._lock:
            e = self._entry(kind)
            if failure is None:
                e["read"].add(region)
            else:
                e["not_read"][region] = failure

    def not_offered(self, kind: str, region: str) -> None:
        with self._lock:
            self._entry(kind)["not_offered"].add(region)

    def complete(self, kind: str) -> bool:
        e = self.kinds.get(kind)
        return e is not None and not e["not_read"]

    def record(self) -> dict:
        return {"enabled": self.enabled, "requested": self.requested,
                "kinds": {k: {"read": sorted(e["read"]), "not_offered": sorted(e["not_offered"]),
                              "not_read": dict(sorted(e["not_read"].items()))}
                          for k, e in sorted(self.kinds.items())}}

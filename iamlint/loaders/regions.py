"""Which regions the live collector reads, and what it records about them per inventory kind.

* `ENABLED_STATES`, `ENABLED_OPT_STATUS`: what counts as an enabled region in `ec2:DescribeRegions` and
  `account:ListRegions` answers (the calls themselves are the collector's: `_Collector.enabled_regions`).
* `Availability`: does this boto3 have the service's client, and does botocore hold endpoint data for it
  (services with endpoint rules only, such as bedrock-agentcore-control, are read with fewer retries).
  Every service is read in every target region: botocore's region lists age, so they decide nothing.
* `endpoint_missing(exc)`: the call failed because the endpoint's DNS name does not exist. AWS publishes
  a name for every region a service is offered in, so when other reads of that region succeeded, the
  service is not offered there and no such resource can exist (`Ledger.settle`: "not_offered"). A
  resolver that fails for everything (offline) makes no region "reached", so nothing is settled.
* `Ledger`: per inventory kind, the regions read, not offered, and not read (region -> reason). Its
  `record()` is the `inventory["regions"]` field (see loaders/inventory.py for how it is consumed).
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from .inventory import ANY_REGION

NOT_REQUESTED = "not requested (--region)"
UNLISTED = "the account's enabled regions could not be listed"
ENABLED_STATES = ("opt-in-not-required", "opted-in")                 # ec2:DescribeRegions OptInStatus
ENABLED_OPT_STATUS = ("ENABLED", "ENABLED_BY_DEFAULT")                # account:ListRegions RegionOptStatus
ENDPOINT_NOT_FOUND = "EndpointNotFound"                               # error code: the endpoint name has no DNS entry
_NO_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def endpoint_missing(exc: BaseException) -> bool:
    """A botocore EndpointConnectionError whose cause is "no such name" (not a timeout or refused connection,
    not a temporary resolver failure)."""
    import botocore.exceptions
    if not isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return False
    stack, seen = [exc.kwargs.get("error")], set()
    while stack:
        err = stack.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, socket.gaierror):
            return err.errno in _NO_NAME
        stack += [getattr(err, "reason", None), getattr(err, "__cause__", None), getattr(err, "__context__", None)]
    return False


class Availability:
    """What this boto3/botocore knows of a service: its client, its endpoint data."""

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

    def settle(self) -> list[tuple[str, str]]:
        """Regions where a kind's endpoint does not exist although another read of the region succeeded:
        not offered there, not "not read". Returns the (kind, region) pairs settled."""
        with self._lock:
            reached = {r for e in self.kinds.values() for r in e["read"]}
            settled = []
            for kind, e in self.kinds.items():
                for region, why in list(e["not_read"].items()):
                    if why == ENDPOINT_NOT_FOUND and region in reached:
                        del e["not_read"][region]
                        e["not_offered"].add(region)
                        settled.append((kind, region))
            return settled

    def complete(self, kind: str) -> bool:
        e = self.kinds.get(kind)
        return e is not None and not e["not_read"]

    def record(self) -> dict:
        return {"enabled": self.enabled, "requested": self.requested,
                "kinds": {k: {"read": sorted(e["read"]), "not_offered": sorted(e["not_offered"]),
                              "not_read": dict(sorted(e["not_read"].items()))}
                          for k, e in sorted(self.kinds.items())}}

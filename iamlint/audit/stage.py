"""The run's findings on their way from the units to the store, held on disk instead of in memory.

An organization of 100 accounts x 2,000 roles has about 750,000 findings: as JSON dicts in this process
they took more memory than every loaded account together. Each unit's findings arrive as prepared
rows (`row`, store.finding_row: the finding's stored JSON text, computed where the unit was analysed,
and the few fields the store indexes) and go straight into a private temporary SQLite database
(`sqlite3.connect("")`: a file SQLite deletes as soon as it opens it, so nothing is left behind, even
by a killed run; its page cache is SQLite's default 2 MB). The store then reads them back one at a
time in the order the in-memory merge gave (units in index order, then a stable sort by the
findings' sort key: here sort key, unit, position in the unit), keeping one copy of a finding
outside every unit (the lowest unit's, as that merge did).
"""

from __future__ import annotations

import sqlite3

from .store import finding_row as row  # noqa: F401 - what a unit sends for each finding


class Staged:
    """Findings staged on disk. `add(unit, findings, suppressed)` as each unit's outcome arrives (any
    order); iterating yields `row` tuples in the merged order; `suppressed` is the fingerprints an
    exclusion matched. One pass over the rows at a time."""

    def __init__(self) -> None:
        self.db = sqlite3.connect("", isolation_level=None)          # private, deleted on open
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("CREATE TABLE staged (k0 INTEGER, k1, k2, k3, k4, unit INTEGER, seq INTEGER, "
                        "fp TEXT, body TEXT, rule_id TEXT, severity TEXT, principal TEXT, account TEXT)")
        self.count = 0
        self.suppressed: list[str] = []               # of the units' own findings
        # findings about nothing of any account read: every unit sees them alike, the lowest unit's are
        # kept (in the unit: its findings before its suppressed ones, the first of a fingerprint)
        self._outside: dict[str, tuple] = {}          # fp -> (unit, 0 finding | 1 suppressed, staged row)
        self._indexed = False

    def add(self, unit: int, findings: list[tuple], suppressed: list[tuple]) -> None:
        """findings: (sort key, fingerprint, ours?, row) in the unit's order; suppressed: (fingerprint, ours?)."""
        mine: list[tuple] = []
        taken: set[str] = set()                       # outside fingerprints this unit already placed

        def outside(fp: str, kind: int, staged) -> None:
            if fp in taken:
                return
            taken.add(fp)
            have = self._outside.get(fp)
            if have is None or have[0] > unit:
                self._outside[fp] = (unit, kind, staged)

        for seq, (key, fp, ours, r) in enumerate(findings):
            staged = (*_key(key), unit, seq, *r)
            if ours:
                mine.append(staged)
            else:
                outside(fp, 0, staged)
        for fp, ours in suppressed:
            if ours:
                self.suppressed.append(fp)
            else:
                outside(fp, 1, None)
        if mine:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT INTO staged VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", mine)
            self.db.execute("COMMIT")
            self.count += len(mine)

    def _finish(self) -> None:
        if self._indexed:
            return
        rows = [s for _, kind, s in self._outside.values() if kind == 0]
        self.suppressed += [fp for fp, (_, kind, _) in self._outside.items() if kind == 1]
        self._outside = {}
        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO staged VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        self.db.execute("CREATE INDEX staged_order ON staged(k0, k1, k2, k3, k4, unit, seq)")
        self.db.execute("COMMIT")
        self.count += len(rows)
        self._indexed = True

    def fingerprints_suppressed(self) -> list[str]:
        self._finish()
        return self.suppressed

    def __len__(self) -> int:
        self._finish()
        return self.count

    def __iter__(self):
        self._finish()
        return iter(self.db.execute("SELECT fp, body, rule_id, severity, principal, account FROM staged "
                                    "ORDER BY k0, k1, k2, k3, k4, unit, seq"))

    def close(self) -> None:
        self.db.close()


def _key(key: tuple) -> tuple:
    """A Finding.sort_key as five columns that SQLite orders as Python orders the tuple (text compares
    by code point in both: SQLite's binary collation on UTF-8)."""
    k = tuple(key)
    if len(k) != 5:
        raise ValueError(f"unexpected sort key {key!r}")
    return k

"""The audit history: one SQLite file (stdlib sqlite3).

Tables (schema version in `PRAGMA user_version`, upgraded by `migrate`):

* `runs`               one row per completed run: times, source, scope, baseline, errors;
* `account_snapshots`  per run and account: read / failed / skipped, the digest of what was read;
* `findings`           one row per fingerprint: first seen, last seen, opened (start of the current
                       open streak), resolved, and the latest finding JSON;
* `bodies`             finding JSON, stored once per distinct content (sha256);
* `run_findings`       per run, each finding's state in that run: new | open | unverified | resolved.

A run is written in ONE transaction (`record`): the baseline is read, the run classified and every
row written between `BEGIN IMMEDIATE` and `COMMIT`. An interrupted run (kill, crash, power loss)
leaves the store exactly as it was; two audits writing the same file take turns.

Scope: a finding can only be resolved by a run that looked at it, that is, a run that read its account
and ran its rule. Findings of an account that could not be read this time stay open, as
`unverified`, with their last-seen date unchanged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field

from ..errors import InputError, UsageError
from ..findings import SEVERITY_RANK

SCHEMA = 1
PAUSE_ENV = "IAMLINT_TEST_PAUSE_IN_STORE"     # test hook: a marker path; the run pauses mid-transaction

MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE runs (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at      TEXT NOT NULL,
        finished_at     TEXT NOT NULL,
        source          TEXT NOT NULL,
        iamlint_version TEXT NOT NULL,
        baseline_run    INTEGER,
        scope           TEXT NOT NULL,
        counts          TEXT NOT NULL,
        errors          TEXT NOT NULL
    );
    CREATE TABLE account_snapshots (
        run_id      INTEGER NOT NULL REFERENCES runs(id),
        account_id  TEXT NOT NULL,
        name        TEXT,
        status      TEXT NOT NULL CHECK (status IN ('read', 'failed', 'skipped')),
        digest      TEXT,
        principals  INTEGER,
        seconds     REAL,
        PRIMARY KEY (run_id, account_id)
    );
    CREATE TABLE bodies (
        hash     TEXT PRIMARY KEY,
        finding  TEXT NOT NULL
    );
    CREATE TABLE findings (
        fingerprint  TEXT PRIMARY KEY,
        rule_id      TEXT NOT NULL,
        severity     TEXT NOT NULL,
        principal    TEXT,
        account      TEXT,
        first_seen   TEXT NOT NULL,
        first_run    INTEGER NOT NULL,
        opened_at    TEXT NOT NULL,
        last_seen    TEXT NOT NULL,
        last_run     INTEGER NOT NULL,
        resolved_at  TEXT,
        resolved_run INTEGER,
        body         TEXT NOT NULL REFERENCES bodies(hash)
    );
    CREATE INDEX findings_open ON findings(resolved_at);
    CREATE TABLE run_findings (
        run_id      INTEGER NOT NULL REFERENCES runs(id),
        fingerprint TEXT NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('new', 'open', 'unverified', 'resolved')),
        reason      TEXT,
        opened_at   TEXT,
        body        TEXT NOT NULL REFERENCES bodies(hash),
        PRIMARY KEY (run_id, fingerprint)
    );
    """,
}

PRESENT = ("new", "open", "unverified")


def default_path() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "iamlint", "audit.db")


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def account_of(finding: dict) -> str | None:
    """The account a finding belongs to: its principal's, else an ARN location's."""
    for arn in (finding.get("principal"), (finding.get("location") or {}).get("file")):
        if isinstance(arn, str) and arn.startswith("arn:"):
            parts = arn.split(":")
            if len(parts) > 5 and parts[4].isdigit():
                return parts[4]
    return None


@dataclass
class RunRecord:
    """What a run hands the store."""

    started_at: str
    source: str
    findings: list[dict]                         # scan-shaped JSON, each with "fingerprint"
    accounts: list[dict]                         # {"account", "name", "status", "digest", "principals", "seconds"}
    rules: list[str]                             # ids of the rules that ran
    errors: list[dict] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)   # fingerprints an exclusion matched
    since: int | None = None
    version: str = ""
    rows: object = None          # instead of findings: prepared rows (stage.row tuples, with len()), e.g. stage.Staged


def finding_row(finding: dict) -> tuple:
    """(fingerprint, stored text, rule_id, severity, principal, account) of a finding."""
    return (finding["fingerprint"], json.dumps(finding, sort_keys=True, separators=(",", ":")), finding["rule_id"],
            finding["severity"], finding.get("principal"), account_of(finding))


class Store:
    def __init__(self, path: str | None = None, migrate: bool = True):
        self.path = path or default_path()
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            if not os.path.exists(self.path):
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))   # findings are sensitive
            self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            # a rollback journal, not WAL: the store may live on a network file system (EFS, a
            # Kubernetes volume), where WAL's shared memory is not safe
            self.db.execute("PRAGMA journal_mode=DELETE")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            if migrate:
                self.migrate()
        except sqlite3.DatabaseError as exc:
            raise InputError(f"not a usable iamlint audit store ({exc})", source=self.path) from None
        except OSError as exc:
            raise InputError(f"cannot open the audit store ({exc.strerror})", source=self.path) from None

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------------ schema
    def version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> tuple[int, int]:
        """Bring the schema to SCHEMA, one transaction per step. Returns (from, to)."""
        start = self.version()
        if start > SCHEMA:
            raise UsageError(f"{self.path}: the audit store has schema {start}, newer than this iamlint "
                             f"understands ({SCHEMA}); upgrade iamlint")
        for v in range(start + 1, SCHEMA + 1):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                if self.version() < v:                      # another process may have done it meanwhile
                    for stmt in MIGRATIONS[v].split(";"):
                        if stmt.strip():
                            self.db.execute(stmt)
                    self.db.execute(f"PRAGMA user_version = {v}")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return start, self.version()

    # ------------------------------------------------------------------------ reading
    def runs(self, limit: int | None = None) -> list[dict]:
        q = "SELECT id, started_at, finished_at, source, baseline_run, counts, errors, scope FROM runs ORDER BY id DESC"
        rows = self.db.execute(q + (f" LIMIT {int(limit)}" if limit else "")).fetchall()
        out = []
        for rid, started, finished, source, base, counts, errors, scope in rows:
            sc = json.loads(scope)
            out.append({"run": rid, "started_at": started, "finished_at": finished, "source": source,
                        "baseline_run": base, "accounts": len(sc["accounts"]), "counts": json.loads(counts),
                        "errors": len(json.loads(errors))})
        return out

    def last_run(self) -> int | None:
        row = self.db.execute("SELECT max(id) FROM runs").fetchone()
        return row[0]

    def has_run(self, run_id: int) -> bool:
        return self.db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is not None

    def _body(self, h: str) -> dict:
        return json.loads(self.db.execute("SELECT finding FROM bodies WHERE hash = ?", (h,)).fetchone()[0])

    # ------------------------------------------------------------------------ writing
    def record(self, rec: RunRecord) -> int:
        """Classify the run against its baseline and write it, all in one transaction. Returns the run id."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            run_id = self._record(rec)
            self.db.execute("COMMIT")
            return run_id
        except BaseException:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise

    def _record(self, rec: RunRecord) -> int:
        """One pass over the run's findings (a list of dicts, or prepared rows streamed from disk: the
        run's findings are never all in memory here); the finding lifecycle and the baseline are looked
        up per fingerprint in the store, not loaded."""
        db = self.db
        finished = now()
        if rec.since is not None and not self.has_run(rec.since):
            raise UsageError(f"--since {rec.since}: no such run in {self.path}")
        baseline = rec.since if rec.since is not None else self.last_run()
        read = {a["account"] for a in rec.accounts if a["status"] == "read"}
        unread = any(a["status"] == "failed" for a in rec.accounts)
        rules = set(rec.rules)

        def in_scope(f: dict) -> bool:
            acct = account_of(f)
            return (acct in read if acct else not unread) and f.get("rule_id") in rules

        cur = db.execute(
            "INSERT INTO runs(started_at, finished_at, source, iamlint_version, baseline_run, scope, counts, errors) "
            "VALUES (?, ?, ?, ?, ?, ?, '{}', '[]')",
            (rec.started_at, finished, rec.source, rec.version, baseline,
             json.dumps({"accounts": sorted(read), "rules": sorted(rules)})))
        run_id = cur.lastrowid
        for a in rec.accounts:
            db.execute("INSERT INTO account_snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (run_id, a["account"], a.get("name"), a["status"], a.get("digest"), a.get("principals"),
                        a.get("seconds")))

        rows = rec.rows if rec.rows is not None else [finding_row(f) for f in rec.findings]
        suppressed = set(rec.suppressed)
        counts = {"new": 0, "open": 0, "unverified": 0, "resolved": 0}
        paused = not os.environ.get(PAUSE_ENV)        # the test hook, looked up once
        half = len(rows) // 2
        lookup = ("SELECT f.opened_at, f.resolved_at, f.last_run, EXISTS (SELECT 1 FROM run_findings b WHERE "
                  "b.run_id = ? AND b.fingerprint = f.fingerprint AND b.state IN (?, ?, ?)) "
                  "FROM findings f WHERE f.fingerprint = ?")
        base_run = baseline if baseline is not None else -1

        n = 0
        for fp, text, rule_id, severity, principal, acct in rows:
            old = db.execute(lookup, (base_run, *PRESENT, fp)).fetchone()
            if old is not None and old[2] == run_id:
                continue                                  # a fingerprint twice: the first one counts
            h = hashlib.sha256(text.encode()).hexdigest()
            db.execute("INSERT OR IGNORE INTO bodies(hash, finding) VALUES (?, ?)", (h, text))
            if old is None:
                db.execute("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)",
                           (fp, rule_id, severity, principal, acct, finished, run_id, finished, finished, run_id, h))
                opened = finished
            else:
                opened = old[0] if old[1] is None else finished       # a resolved finding that came back
                db.execute("UPDATE findings SET severity = ?, opened_at = ?, last_seen = ?, last_run = ?, "
                           "resolved_at = NULL, resolved_run = NULL, body = ? WHERE fingerprint = ?",
                           (severity, opened, finished, run_id, h, fp))
            state = "open" if old is not None and old[3] else "new"
            counts[state] += 1
            db.execute("INSERT INTO run_findings VALUES (?, ?, ?, NULL, ?, ?)", (run_id, fp, state, opened, h))
            if not paused and n >= half:
                paused = self._maybe_pause()
            n += 1

        # open in the store (or in the baseline) and not found now (the findings this run saw have last_run
        # = run_id; the others' rows are as they were before the run)
        gone = [fp for (fp,) in db.execute(
            "SELECT fingerprint FROM findings WHERE resolved_at IS NULL AND last_run <> ? UNION "
            "SELECT rf.fingerprint FROM run_findings rf JOIN findings f ON f.fingerprint = rf.fingerprint "
            "WHERE rf.run_id = ? AND rf.state IN (?, ?, ?) AND f.last_run <> ? ORDER BY 1",
            (run_id, base_run, *PRESENT, run_id))]
        for fp in gone:
            row = db.execute("SELECT body, opened_at, resolved_at FROM findings WHERE fingerprint = ?",
                             (fp,)).fetchone()
            in_base = db.execute("SELECT body FROM run_findings WHERE run_id = ? AND fingerprint = ? AND state IN "
                                 "(?, ?, ?)", (base_run, fp, *PRESENT)).fetchone()
            h = in_base[0] if in_base is not None else row[0]
            f = self._body(h)
            if in_scope(f) or fp in suppressed:
                reason = "suppressed" if fp in suppressed else "fixed"
                if row[2] is None:
                    db.execute("UPDATE findings SET resolved_at = ?, resolved_run = ? WHERE fingerprint = ?",
                               (finished, run_id, fp))
                if in_base is not None:               # reported as resolved relative to the baseline
                    counts["resolved"] += 1
                    db.execute("INSERT INTO run_findings VALUES (?, ?, 'resolved', ?, ?, ?)",
                               (run_id, fp, reason, row[1], h))
            elif row[2] is None:                     # not looked at this time: still open, unverified
                counts["unverified"] += 1
                db.execute("INSERT INTO run_findings VALUES (?, ?, 'unverified', ?, ?, ?)",
                           (run_id, fp, "account not read" if account_of(f) not in read else "rule not run",
                            row[1], row[0]))
        if not paused:
            self._maybe_pause()
        db.execute("UPDATE runs SET counts = ?, errors = ? WHERE id = ?",
                   (json.dumps(counts), json.dumps(rec.errors, default=str), run_id))
        return run_id

    def prune(self, keep: int) -> int:
        """Forget all but the `keep` most recent runs (the finding lifecycle stays). Returns runs removed."""
        if keep < 1:
            raise UsageError("--keep must be at least 1 (the last run is the next run's baseline)")
        self.db.execute("BEGIN IMMEDIATE")
        try:
            old = [r for (r,) in self.db.execute("SELECT id FROM runs ORDER BY id DESC LIMIT -1 OFFSET ?", (keep,))]
            for table in ("run_findings", "account_snapshots"):
                self.db.executemany(f"DELETE FROM {table} WHERE run_id = ?", [(r,) for r in old])
            self.db.executemany("DELETE FROM runs WHERE id = ?", [(r,) for r in old])
            self.db.execute("DELETE FROM bodies WHERE hash NOT IN (SELECT body FROM run_findings) "
                            "AND hash NOT IN (SELECT body FROM findings)")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        if old:
            self.db.execute("VACUUM")
        return len(old)

    def _maybe_pause(self) -> bool:
        marker = os.environ.get(PAUSE_ENV)
        if not marker:
            return False
        with open(marker, "w") as fh:
            fh.write("paused\n")
        time.sleep(120)
        return True

    # ------------------------------------------------------------------------ one run, as a document
    def view(self, run_id: int) -> dict:
        """The run's document (`document`) with its four finding lists read from the store as they are
        iterated (`Findings`), not held: what the reports are rendered from. The store stays open while
        it is used."""
        row = self.db.execute("SELECT started_at, finished_at, source, iamlint_version, baseline_run, scope, "
                              "counts, errors FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise UsageError(f"no run {run_id} in {self.path} (see `iamlint audit history`)")
        started, finished, source, version, baseline, scope, counts, errors = row
        n = dict(self.db.execute("SELECT state, count(*) FROM run_findings WHERE run_id = ? GROUP BY state",
                                 (run_id,)).fetchall())
        lists = {k: Findings(self, run_id, k, finished, n.get(k, 0)) for k in ("new", "resolved", "open", "unverified")}
        accounts = [{"account": a, "name": nm, "status": st, "digest": d, "principals": p, "seconds": sec}
                    for a, nm, st, d, p, sec in self.db.execute(
                        "SELECT account_id, name, status, digest, principals, seconds FROM account_snapshots "
                        "WHERE run_id = ? ORDER BY account_id", (run_id,))]
        sc = json.loads(scope)
        return {"schema_version": 1, "generator": f"iamlint {version}", "run": run_id,
                "started_at": started, "finished_at": finished, "source": source, "baseline_run": baseline,
                "summary": {"accounts": len(accounts), "accounts_read": len(sc["accounts"]),
                            "rules": sc["rules"], **json.loads(counts)},
                "accounts": accounts, **lists, "errors": json.loads(errors)}

    def document(self, run_id: int) -> dict:
        """A stored run as the audit JSON document (schema: iamlint/schemas/audit.schema.json)."""
        row = self.db.execute("SELECT started_at, finished_at, source, iamlint_version, baseline_run, scope, "
                              "counts, errors FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise UsageError(f"no run {run_id} in {self.path} (see `iamlint audit history`)")
        started, finished, source, version, baseline, scope, counts, errors = row
        at = parse_time(finished)
        lists: dict[str, list] = {"new": [], "open": [], "unverified": [], "resolved": []}
        q = ("SELECT rf.fingerprint, rf.state, rf.reason, rf.opened_at, b.finding, f.first_seen, f.last_seen "
             "FROM run_findings rf JOIN bodies b ON b.hash = rf.body JOIN findings f ON f.fingerprint = rf.fingerprint "
             "WHERE rf.run_id = ?")
        for fp, state, reason, opened, body, first_seen, last_seen in self.db.execute(q, (run_id,)):
            lists[state].append(_with_audit(json.loads(body), state, reason, opened, at, finished))
        from ..findings import SEVERITY_RANK
        for v in lists.values():
            v.sort(key=lambda f: (SEVERITY_RANK.get(f["severity"], 9), f["rule_id"], f.get("principal") or "",
                                  f["fingerprint"]))
        accounts = [{"account": a, "name": n, "status": s, "digest": d, "principals": p, "seconds": sec}
                    for a, n, s, d, p, sec in self.db.execute(
                        "SELECT account_id, name, status, digest, principals, seconds FROM account_snapshots "
                        "WHERE run_id = ? ORDER BY account_id", (run_id,))]
        sc = json.loads(scope)
        return {"schema_version": 1, "generator": f"iamlint {version}", "run": run_id,
                "started_at": started, "finished_at": finished, "source": source, "baseline_run": baseline,
                "summary": {"accounts": len(accounts), "accounts_read": len(sc["accounts"]),
                            "rules": sc["rules"], **json.loads(counts)},
                "accounts": accounts, "new": lists["new"], "resolved": lists["resolved"], "open": lists["open"],
                "unverified": lists["unverified"], "errors": json.loads(errors)}


class Findings:
    """One state's findings of a stored run, in the document's order, read from the store as they are
    iterated (each pass reads them again): the lists of `Store.view`."""

    def __init__(self, store: "Store", run_id: int, state: str, finished: str, count: int):
        self.store, self.run_id, self.state, self.finished, self.count = store, run_id, state, finished, count

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0

    def __iter__(self):
        at = parse_time(self.finished)
        state, finished = self.state, self.finished
        # the order of `document`: (severity rank, rule_id, principal or "", fingerprint), text compared by
        # code point (SQLite's binary collation on UTF-8 is the same order)
        rank = " ".join(f"WHEN '{s}' THEN {i}" for s, i in SEVERITY_RANK.items())
        q = ("SELECT rf.reason, rf.opened_at, b.finding FROM run_findings rf JOIN bodies b ON b.hash = rf.body "
             "WHERE rf.run_id = ? AND rf.state = ? "
             f"ORDER BY CASE json_extract(b.finding, '$.severity') {rank} ELSE 9 END, "
             "json_extract(b.finding, '$.rule_id'), coalesce(json_extract(b.finding, '$.principal'), ''), "
             "json_extract(b.finding, '$.fingerprint'), rf.fingerprint")
        for reason, opened, body in self.store.db.execute(q, (self.run_id, state)):
            yield _with_audit(json.loads(body), state, reason, opened, at, finished)


def _with_audit(f: dict, state: str, reason, opened, at, finished) -> dict:
    """A stored finding with its `audit` block: state, account, when it opened, its age, and why it is
    resolved or unverified."""
    meta = {"state": state, "account": account_of(f), "opened_at": opened}
    if state in PRESENT and opened:
        meta["age_days"] = max(0, (at - parse_time(opened)).days)
    if state == "resolved":
        meta["resolved_at"] = finished
        meta["reason"] = reason
    if state == "unverified":
        meta["reason"] = reason
    f["audit"] = meta
    return f


def open_store(path: str | None) -> Store:
    return Store(path)


__all__ = ["Store", "RunRecord", "Findings", "finding_row", "open_store", "default_path", "account_of", "SCHEMA", "MIGRATIONS"]



def add_errors(store: Store, run_id: int, errors: list[dict]) -> None:
    """Append delivery / notification errors to a recorded run (they happen after its commit)."""
    if not errors:
        return
    store.db.execute("BEGIN IMMEDIATE")
    try:
        row = store.db.execute("SELECT errors FROM runs WHERE id = ?", (run_id,)).fetchone()
        store.db.execute("UPDATE runs SET errors = ? WHERE id = ?",
                         (json.dumps(json.loads(row[0]) + errors, default=str), run_id))
        store.db.execute("COMMIT")
    except BaseException:
        store.db.execute("ROLLBACK")
        raise

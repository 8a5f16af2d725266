"""The sync's ledger: what was sent where, one row per record and operation.

A DuckDB file of its own (``$AUDIENCES_HOME/activation/ledger.duckdb``), so
a sync never opens the warehouse while it waits on a network. Addresses are
never written: a record is its ``address_key``, the SHA-256 of
``email:<address>`` the erasure log uses, so an erasure finds what was sent.

- ``operations``: per run, destination, segment, record and operation
  (``add``, ``update``, ``remove``, ``delete``) its status (``pending`` while a
  request is out, then ``sent``, ``skipped`` with the reason, or ``failed``
  with the HTTP status and error), and the attempts it took.
- ``members``: who each destination holds per segment, as far as the sync
  knows: the state the next run's delta is taken against, with the
  destination's own id for the person (to remove or delete them later).
- ``runs``: one row per destination and sync, with its counts and time.

A batch is written ``pending`` (committed) before its request and settled
after it, in one transaction with ``members``: a sync killed in between
leaves ``pending`` rows, which the next run settles by asking the
destination before it sends anything again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from audiences.errors import AudiencesError
from audiences.warehouse_lock import lock_holder

SCHEMA = """
create table if not exists runs (
    run_id varchar, destination varchar, as_of date, publication varchar,
    started_at timestamptz, finished_at timestamptz, status varchar, summary json,
    primary key (run_id, destination)
);
create table if not exists operations (
    run_id varchar, destination varchar, segment varchar, address_key varchar,
    operation varchar, batch_id varchar, status varchar, reason varchar,
    http_status integer, error varchar, attempts integer, recorded_at timestamptz
);
create table if not exists members (
    destination varchar, segment varchar, address_key varchar, external_id varchar,
    fields_hash varchar, as_of date, synced_at timestamptz,
    primary key (destination, segment, address_key)
);
"""


class LedgerBusyError(AudiencesError):
    """Another sync to the destination holds its ledger."""


@dataclass(frozen=True)
class Outcome:
    """What became of one record of a request."""

    address_key: str
    status: str  # sent, skipped, failed
    reason: str | None = None  # why skipped: consent, erasure, invalid
    http_status: int | None = None
    error: str | None = None
    external_id: str | None = None


def now() -> datetime:
    return datetime.now(UTC)


class Ledger:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(folder / "ledger.duckdb"))
        except duckdb.IOException as exc:
            holder = lock_holder(exc)
            if holder is None:
                raise
            raise LedgerBusyError(
                f"another sync to {folder.name} is running ({holder}): one sync per"
                " destination at a time; this one can run when it is done"
            ) from None
        self.con.execute(SCHEMA)

    def close(self) -> None:
        self.con.close()

    # Runs ------------------------------------------------------------------
    def start_run(self, run_id: str, destination: str, as_of, publication: str) -> None:
        self.con.execute(
            "insert or replace into runs values (?, ?, ?, ?, ?, null, 'running', null)",
            [run_id, destination, as_of, publication, now()],
        )

    def finish_run(self, run_id: str, destination: str, status: str, summary: dict) -> None:
        self.con.execute(
            "update runs set finished_at = ?, status = ?, summary = ?"
            " where run_id = ? and destination = ?",
            [now(), status, json.dumps(summary), run_id, destination],
        )

    # Members ---------------------------------------------------------------
    def members(self, destination: str, segment: str) -> dict[str, tuple[str | None, str]]:
        """address_key -> (external_id, fields_hash) of the segment at the destination."""
        rows = self.con.execute(
            "select address_key, external_id, fields_hash from members"
            " where destination = ? and segment = ?",
            [destination, segment],
        ).fetchall()
        return {key: (external, fields) for key, external, fields in rows}

    def holders(self, destination: str, keys: Iterable[str]) -> dict[str, str | None]:
        """address_key -> external_id of the given people anywhere at the destination."""
        keys = list(keys)
        if not keys:
            return {}
        rows = self.con.execute(
            "select address_key, any_value(external_id) from members"
            " where destination = ? and address_key in (select unnest(?)) group by 1",
            [destination, keys],
        ).fetchall()
        return dict(rows)

    # Operations ------------------------------------------------------------
    def _with_rows(self, sql: str, params: list, **columns: list) -> None:
        """Run ``sql`` over ``_rows``, a table of the given text columns.

        Through Arrow: DuckDB's executemany would be a statement per row.
        """
        self.con.register(
            "_rows", pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
        )
        try:
            self.con.execute(sql, params)
        finally:
            self.con.unregister("_rows")

    def pending(self, run_id, destination, segment, operation, batch_id, keys) -> None:
        """Write a batch as ``pending`` before its request goes out (committed)."""
        self._with_rows(
            "insert into operations select ?, ?, ?, key, ?, ?, 'pending', null, null, null, 0,"
            " now() from _rows",
            [run_id, destination, segment, operation, batch_id],
            key=list(keys),
        )

    def skipped(self, run_id, destination, segment, operation, reasons: dict[str, str]) -> None:
        self._with_rows(
            "insert into operations select ?, ?, ?, key, ?, null, 'skipped', reason, null, null,"
            " 0, now() from _rows",
            [run_id, destination, segment, operation],
            key=list(reasons),
            reason=list(reasons.values()),
        )

    def settle(
        self,
        destination: str,
        segment: str | None,
        operation: str,
        batch_id: str,
        outcomes: list[Outcome],
        attempts: int,
        as_of,
        fields: dict[str, str] | None = None,
    ) -> None:
        """Record a batch's outcomes and the members it changed, in one transaction."""
        fields = fields or {}
        columns = {
            "key": [o.address_key for o in outcomes],
            "status": [o.status for o in outcomes],
            "reason": [o.reason for o in outcomes],
            "http_status": [
                None if o.http_status is None else str(o.http_status) for o in outcomes
            ],
            "error": [o.error for o in outcomes],
            "external_id": [o.external_id for o in outcomes],
            "fields_hash": [fields.get(o.address_key) for o in outcomes],
        }
        self.con.execute("begin")
        try:
            self._with_rows(
                "update operations set status = _rows.status, reason = _rows.reason,"
                " http_status = cast(_rows.http_status as integer), error = _rows.error,"
                " attempts = attempts + ?, recorded_at = now() from _rows"
                " where batch_id = ? and address_key = _rows.key and operations.status = 'pending'",
                [attempts, batch_id],
                **columns,
            )
            self._change_members(destination, segment, operation, as_of, columns)
            self.con.execute("commit")
        except BaseException:
            self.con.execute("rollback")
            raise

    def _change_members(self, destination, segment, operation, as_of, columns) -> None:
        if operation in ("add", "update"):
            sql = (
                "insert or replace into members select ?, ?, key, external_id, fields_hash, ?,"
                " now() from _rows where status = 'sent'"
            )
            params = [destination, segment, as_of]
        elif operation == "remove":
            sql = (
                "delete from members where destination = ? and segment = ? and address_key in"
                " (select key from _rows where status = 'sent')"
            )
            params = [destination, segment]
        else:  # delete: the person is gone from every list of the destination
            sql = (
                "delete from members where destination = ? and address_key in"
                " (select key from _rows where status = 'sent')"
            )
            params = [destination]
        self._with_rows(sql, params, **columns)

    def in_doubt(self, destination: str) -> list[tuple[str, str, str, list[str]]]:
        """Batches a killed sync left ``pending``: (batch_id, segment, operation, keys)."""
        rows = self.con.execute(
            "select batch_id, segment, operation, list(address_key order by address_key)"
            " from operations where destination = ? and status = 'pending'"
            " group by all order by batch_id",
            [destination],
        ).fetchall()
        return [(batch, segment, op, keys) for batch, segment, op, keys in rows]

    def deleted(self, destination: str) -> set[str]:
        """People whose deletion the destination confirmed (erasure)."""
        rows = self.con.execute(
            "select distinct address_key from operations"
            " where destination = ? and operation = 'delete' and status = 'sent'",
            [destination],
        ).fetchall()
        return {key for (key,) in rows}

    def counts(self, run_id: str, destination: str) -> dict:
        """Per segment and operation, the records of a run by status (and skip reason)."""
        return self.counts_of(self.con, "run_id = ? and destination = ?", [run_id, destination])

    @staticmethod
    def counts_of(con, where: str, params: list) -> dict:
        rows = con.execute(
            "select coalesce(segment, '*'), operation, status, coalesce(reason, ''), count(*)"
            f" from operations where {where} group by all order by all",
            params,
        ).fetchall()
        out: dict = {}
        for segment, operation, status, reason, n in rows:
            key = f"{status}:{reason}" if reason else status
            out.setdefault(segment, {}).setdefault(operation, {})[key] = n
        return out


def date_runs(folder: Path, as_of=None) -> list[dict]:
    """Per destination, the syncs of one date's publications (the latest date if None):
    the latest one's status, their seconds and their records, summed."""
    out = []
    for path in sorted(folder.glob("*/ledger.duckdb")):
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.IOException:  # a sync holds it
            out.append({"destination": path.parent.name, "status": "running", "summary": {}})
            continue
        try:
            out += _date_runs(con, path.parent.name, as_of)
        finally:
            con.close()
    return out


def _date_runs(con, destination: str, as_of) -> list[dict]:
    row = con.execute(
        "select as_of, status from runs where ? is null or as_of = ?"
        " order by started_at desc limit 1",
        [as_of, as_of],
    ).fetchone()
    if row is None:
        return []
    day, status = row
    seconds = con.execute(
        "select sum(cast(summary->>'seconds' as double)), count(*) from runs where as_of = ?",
        [day],
    ).fetchone()
    counts = Ledger.counts_of(con, "run_id in (select run_id from runs where as_of = ?)", [day])
    summary = {"seconds": seconds[0] or 0.0, "runs": seconds[1], "segments": counts}
    return [{"destination": destination, "as_of": day, "status": status, "summary": summary}]

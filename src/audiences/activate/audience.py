"""What a sync reads: the live publication's audiences, and who may be sent to now.

The audiences come from the live publication only (``published/exports/
<as_of>/<segment>.csv``), whichever engine wrote them: a staged or held
publication is never read. Who may be contacted is read *at sync time*,
not as of the publication:

- the erasure requests (``erasure/suppression.txt``), written the moment
  ``audiences erase`` records one;
- the current email consent per address of the latest build
  (``intermediate.int_email_consent``: the warehouse on DuckDB, Spark's
  table files on Spark), which a held or later build may have moved on
  from the publication: an address that is not opted in now, or is
  suppressed (hard bounce, spam complaint), is not sent.

The warehouse is opened read-only for the one query and closed before any
request goes out.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from audiences import warehouse_lock
from audiences.activate.clients import Record
from audiences.config import Settings
from audiences.erasure import suppression_hashes
from audiences.errors import PermanentError, WarehouseLockedError
from audiences.publish.exports import MANIFEST
from audiences.publish.publication import current, read_record
from audiences.sql import literal

# A record's address_key in SQL: the hash of its identity key, as the erasure log keeps it
# (audiences.erasure.key_hash of "email:<address>").
ADDRESS_KEY = "sha256('email:' || lower(trim(email)))"
CONSENT_QUERY = (
    f"select {ADDRESS_KEY}, is_opted_in, is_suppressed,"
    " coalesce(suppression_reason, restricted_by) from {relation}"
)
# How long a sync waits for a nightly build to let go of the warehouse.
LOCK_WAIT_SECONDS = 120


class NotPublishedError(PermanentError):
    """The sync has nothing to read (nothing published, a date that is not live)."""


@dataclass(frozen=True)
class Publication:
    folder: Path
    name: str
    as_of: date
    segments: tuple[str, ...]

    def audience_file(self, segment: str) -> Path:
        return self.folder / "exports" / self.as_of.isoformat() / f"{segment}.csv"


def live_publication(settings: Settings, as_of: date | None = None) -> Publication:
    folder = current(settings)
    if folder is None:
        raise NotPublishedError("nothing is published yet: run the nightly pipeline first")
    record = read_record(folder)
    live = date.fromisoformat(record["as_of"])
    if as_of is not None and as_of != live:
        raise NotPublishedError(
            f"the live publication is of {live}, not {as_of}: a sync sends the live audiences"
            " only (publish or roll back first, or leave out --date)"
        )
    manifest = json.loads((folder / "exports" / live.isoformat() / MANIFEST).read_text())
    return Publication(folder, folder.name, live, tuple(sorted(manifest["segments"])))


def fields_hash(fields: dict[str, str | None]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def read_audience(publication: Publication, segment: str, fields: tuple[str, ...]) -> list[Record]:
    """The segment's audience, one record per address, in the file's order."""
    path = publication.audience_file(segment)
    columns = ", ".join(f'"{name}"' for name in fields)
    rows = duckdb.sql(
        f"select {ADDRESS_KEY}, email{', ' if fields else ''}{columns}"
        f" from read_csv({literal(str(path))}, header = true, all_varchar = true)"
    ).fetchall()
    return [Record(row[0], row[1], dict(zip(fields, row[2:], strict=True))) for row in rows]


def restrictions(settings: Settings) -> dict[str, str]:
    """address_key -> why the address may not be sent to now (erasure, consent, …)."""
    restricted = dict.fromkeys(suppression_hashes(settings), "erasure")
    for key, opted_in, suppressed, why in _consent(settings):
        if key in restricted:
            continue
        if suppressed:
            restricted[key] = why or "suppressed"
        elif not opted_in:
            restricted[key] = "consent"
    return restricted


def _consent(settings: Settings) -> list[tuple]:
    if settings.engine == "spark":
        from audiences.spark.erasure import spark_tables

        table = spark_tables(settings) / "intermediate.db" / "int_email_consent"
        relation = f"read_parquet({literal(str(table / '**' / '*.parquet'))})"
        return duckdb.sql(CONSENT_QUERY.format(relation=relation)).fetchall()
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            con = warehouse_lock.connect(settings.warehouse, read_only=True)
            break
        except WarehouseLockedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(5)
    try:
        return con.execute(
            CONSENT_QUERY.format(relation="intermediate.int_email_consent")
        ).fetchall()
    finally:
        con.close()

"""Carry out the pending erasure requests: remove the person everywhere the project keeps data.

For each request, the person is first resolved to their identity keys: the
keys whose hashes the request holds, every key of the customers they resolve
to (``marts.customer_identities``, with identity resolution's guards: a
blocklisted shared inbox or a shared device does not pull in its other
users), and the orders of their records (an order's lines and refunds). Then,
with those keys and the values they carry (addresses, phone spellings, ids):

- **landing**: every Parquet file with a matching record is rewritten without
  it (written beside, then renamed), the quarantine's too;
- **warehouse**: ``raw`` rows, ``audit.quarantine`` records, and every table
  of the staging, intermediate, marts and segments schemas holding one of the
  values in an identifying column (lookups and history included);
- **Spark's tables** (on the Spark engine, whose raw layer is the landing and
  whose DuckDB file keeps only the accounting): every Parquet file of those
  schemas holding such a value is rewritten, as the landing's are;
- **scores**: the predictive scores kept per night (``scores/<as_of>/``);
- **publications**: each retained publication's marts copy (a DuckDB file, or
  Spark's Parquet folders) and audience files (``.csv``, ``.entered.csv``,
  ``.exited.csv``, the platforms' ``.sha256.csv``; manifests updated), the live one
  included;

and DuckDB files are compacted (copied whole), because a deleted row's bytes
stay in a database file's free blocks until they are overwritten. Reports and
Data Docs hold no personal data (masked by the suites). What was removed,
file by file and table by table, goes into the erasure log.

Each storage owner offers its own purge, which this module calls in turn:
:mod:`audiences.extract.erasure` (the landing), :mod:`audiences.spark.erasure`
(Spark's tables), :mod:`audiences.predict.erasure` (the scores) and
:mod:`audiences.publish.erasure` (the publications); the warehouse's is here.
Who the person is comes from :mod:`audiences.erasure.person`, how their rows
are found from :mod:`audiences.erasure.matching`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb

from audiences import warehouse_lock
from audiences.config import Settings
from audiences.erasure import complete, key_hash, pending, suppress
from audiences.erasure.compaction import check_space, compact
from audiences.erasure.matching import (
    DERIVED_SCHEMAS,
    QUARANTINE_MATCH,
    delete,
    identity_keys,
    person_tables,
    purge_tables,
    raw_entities,
)
from audiences.erasure.person import resolve
from audiences.extract.erasure import purge_landing
from audiences.predict.erasure import purge_scores
from audiences.publish.erasure import purge_publications
from audiences.spark.erasure import purge_spark_tables
from audiences.sql import literal

log = logging.getLogger(__name__)


def erase_pending(settings: Settings) -> list[dict]:
    """Carry out every pending request; return what each removed."""
    requests = pending(settings)
    if requests:
        check_space(_duckdb_files(settings), "the erasure")
    done = []
    for request in requests:
        person = resolve(settings, request["identifiers"])
        removed = purge_landing(settings, person)
        if settings.engine == "spark":
            _count_landing_erased(settings, removed)
            removed |= purge_spark_tables(settings, person)
        removed |= {
            **_purge_warehouse(settings, person),
            **purge_publications(settings, person),
            **purge_scores(settings, person),
        }
        hashes = sorted(key_hash(k) for k in person["keys"])
        suppress(settings, hashes)
        complete(settings, request, hashes, removed)
        log.info("erasure %s: removed %s", request["request_id"], removed)
        done.append({"request_id": request["request_id"], "removed": removed})
    return done


def _duckdb_files(settings: Settings) -> list[Path]:
    """The DuckDB files an erasure compacts: the warehouse and each publication's marts."""
    from audiences.publish.publication import MARTS_FILE

    if not settings.publications.is_dir():
        return [settings.warehouse]
    return [settings.warehouse, *sorted(settings.publications.glob(f"*/{MARTS_FILE}"))]


def _purge_warehouse(settings: Settings, person: dict[str, list[str]]) -> dict[str, int]:
    """Delete the person's rows from every table of the warehouse, then compact it."""
    if not person["keys"] or not settings.warehouse.exists():
        return {}
    con = warehouse_lock.connect(settings.warehouse, config=settings.duckdb_config)
    try:
        person_tables(con, person)
        removed = {}
        for entity in raw_entities(con):
            keys = identity_keys(con, entity, f"raw.{entity.table}")
            condition = f"list_has_any({keys}, (select list(key) from person_keys))"
            _count_erased(con, f"raw.{entity.table}", condition, entity.source, entity.name)
            removed[f"raw.{entity.table}"] = delete(con, f"raw.{entity.table}", condition)
        if con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'audit'"
            " and table_name = 'quarantine'"
        ).fetchone()[0]:
            _count_erased(con, "audit.quarantine", QUARANTINE_MATCH, "source", "entity")
            removed["audit.quarantine"] = delete(con, "audit.quarantine", QUARANTINE_MATCH)
        removed |= purge_tables(con, DERIVED_SCHEMAS)
        con.execute("checkpoint")
    finally:
        con.close()
    compact(settings.warehouse, settings.duckdb_config)
    return {table: n for table, n in removed.items() if n}


def _count_landing_erased(settings: Settings, removed: dict[str, int]) -> None:
    """Add the records erased from the landing to the extract log of the night
    that landed them: on Spark the landing is the raw layer, so its files are
    where records are erased (``landing/<source>/<entity>/logical_date=<day>/…``)."""
    counts: dict[tuple[str, str, str], int] = {}
    for path, n in removed.items():
        _, source, entity, partition, *_ = Path(path).parts
        if source != "_quarantine":
            key = (source, entity, partition.removeprefix("logical_date="))
            counts[key] = counts.get(key, 0) + n
    if not counts or not settings.warehouse.exists():
        return
    con = warehouse_lock.connect(settings.warehouse, config=settings.duckdb_config)
    try:
        _log_erased(con, [(*key, n) for key, n in sorted(counts.items())])
    finally:
        con.close()


def _count_erased(
    con: duckdb.DuckDBPyConnection, table: str, condition: str, source: str, entity: str
) -> None:
    """Add the rows about to be erased to the extract log of the night that loaded them."""
    rows = con.execute(
        f"select {_sql_or_literal(source)}, {_sql_or_literal(entity)}, _logical_date, count(*)"
        f" from {table} where {condition} group by all"
    ).fetchall()
    _log_erased(con, rows)


def _log_erased(con: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    """Add (source, entity, logical date, records) to the extract log's records_erased."""
    for source, entity, day, n in rows:
        con.execute(
            "update audit.extract_log set records_erased = records_erased + ?"
            " where source = ? and entity = ? and logical_date = ?",
            [n, source, entity, day],
        )


def _sql_or_literal(value: str) -> str:
    """A column name (``source``, ``entity``) as is, any other value as a literal."""
    return value if value in ("source", "entity") else literal(value)

"""The single writer: load a run's landed files into DuckDB and account for every record.

One transaction per run: for every entity, the rows of the run's logical date
are replaced (so a re-run yields the same rows, never duplicates), the
quarantine and the extract log are written, and the counts are checked:
records read = records loaded + records quarantined, and the warehouse holds
exactly what the landed files hold. Any mismatch rolls the whole load back.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import duckdb

from audiences import warehouse_lock
from audiences.config import settings
from audiences.errors import CountMismatchError
from audiences.extract.contracts import Entity
from audiences.extract.landing import LINEAGE, EntityResult
from audiences.sql import literal

log = logging.getLogger(__name__)

AUDIT_DDL = """
create schema if not exists raw;
create schema if not exists audit;
create table if not exists audit.extract_log (
    run_id varchar not null,
    logical_date date not null,
    source varchar not null,
    entity varchar not null,
    records_read bigint not null,
    records_loaded bigint not null,
    records_quarantined bigint not null,
    source_files integer not null,
    watermark_from varchar,
    watermark_to varchar,
    notes json,
    data_files json,
    quarantine_files json,
    loaded_at timestamptz not null,
    records_erased bigint not null default 0
);
-- Rows of erased people removed since (audiences.erasure): raw and the
-- quarantine then hold loaded + quarantined - erased.
alter table audit.extract_log add column if not exists records_erased bigint default 0;
create table if not exists audit.extracted_files (
    source varchar not null,
    entity varchar not null,
    logical_date date not null,
    run_id varchar not null,
    path varchar not null,
    size bigint
);
-- The file's path below its source root: what was read survives a moved data folder.
alter table audit.extracted_files add column if not exists source_key varchar;
create table if not exists audit.quarantine (
    source varchar not null,
    entity varchar not null,
    _run_id varchar not null,
    _logical_date date not null,
    _source_file varchar,
    _record_number bigint,
    _extracted_at timestamptz,
    raw_record varchar,
    reason varchar not null
);
"""


def connect(warehouse: Path) -> duckdb.DuckDBPyConnection:
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = warehouse_lock.connect(warehouse, config=settings().duckdb_config)
    con.execute("set TimeZone = 'UTC'")
    return con


def load_results(warehouse: Path, results: list[EntityResult], raw_rows: bool = True) -> list[dict]:
    """Load every entity of a run in one transaction; return the extract-log rows written.

    ``raw_rows=False`` (the Spark engine, whose raw layer is the landing
    Parquet itself) keeps only the accounting here: the extract log, the
    files taken and the quarantine, with the landed rows counted in place.
    """
    for r in results:
        if r.records_read != r.records_loaded + r.records_quarantined:
            raise CountMismatchError(
                f"{r.source}.{r.entity}: read {r.records_read} records but loaded"
                f" {r.records_loaded} and quarantined {r.records_quarantined}"
            )
        for path in (*r.data_files, *r.quarantine_files):
            if not Path(path).is_file():
                raise FileNotFoundError(
                    f"{r.source}.{r.entity}: landed file {path} is missing; re-run the extract"
                )
    con = connect(warehouse)
    try:
        con.execute(AUDIT_DDL)
        con.execute("begin transaction")
        logged = [_load_entity(con, r, raw_rows) for r in results]
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.close()
    return logged


def ensure_raw_tables(warehouse: Path, entities: list[Entity]) -> None:
    """Create the raw tables of sources the company does not have, empty: the dbt
    project builds on every source, and a disabled one simply holds no rows."""
    con = connect(warehouse)
    try:
        con.execute(AUDIT_DDL)
        for entity in entities:
            columns = [(c.name, c.type) for c in entity.columns] + list(LINEAGE)
            ddl = ", ".join(f'"{name}" {type_}' for name, type_ in columns)
            con.execute(f"create table if not exists raw.{entity.table} ({ddl})")
    finally:
        con.close()


def _paths(paths: list[str]) -> str:
    return "[" + ", ".join(literal(p) for p in paths) + "]"


def _add_new_columns(con: duckdb.DuckDBPyConnection, table: str, landed: str) -> None:
    """A column added to a contract appears in raw from its first run on (older rows: null)."""
    existing = {
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns"
            " where table_schema = 'raw' and table_name = ?",
            [table.split(".", 1)[1]],
        ).fetchall()
    }
    for name, type_, *_ in con.execute(f"describe select * from {landed}").fetchall():
        if name not in existing:
            log.warning("%s: new column %s %s added", table, name, type_)
            con.execute(f'alter table {table} add column "{name}" {type_}')


def _load_entity(con: duckdb.DuckDBPyConnection, r: EntityResult, raw_rows: bool) -> dict:
    table = f"raw.{r.source}_{r.entity}"
    day = r.logical_date
    # The landing folders are named like Hive partitions; their values are
    # already columns, so the path must not add them a second time.
    landed = f"read_parquet({_paths(r.data_files)}, hive_partitioning = false)"
    rows = landed
    if raw_rows:
        con.execute(f"create table if not exists {table} as select * from {landed} limit 0")
        _add_new_columns(con, table, landed)
        con.execute(f"delete from {table} where _logical_date = ?", [day])
        con.execute(f"insert into {table} by name select * from {landed}")
        rows = table
    con.execute(
        "delete from audit.quarantine where source = ? and entity = ? and _logical_date = ?",
        [r.source, r.entity, day],
    )
    con.execute(
        "insert into audit.quarantine by name"
        f" select * from read_parquet({_paths(r.quarantine_files)}, hive_partitioning = false)"
    )

    loaded = con.execute(f"select count(*) from {rows} where _logical_date = ?", [day]).fetchone()[
        0
    ]
    quarantined = con.execute(
        "select count(*) from audit.quarantine where source = ? and entity = ?"
        " and _logical_date = ?",
        [r.source, r.entity, day],
    ).fetchone()[0]
    if (loaded, quarantined) != (r.records_loaded, r.records_quarantined):
        raise CountMismatchError(
            f"{table} for {day}: the extract landed {r.records_loaded} rows and"
            f" {r.records_quarantined} quarantined, the warehouse holds {loaded} and"
            f" {quarantined}"
        )

    con.execute(
        "delete from audit.extract_log where source = ? and entity = ? and logical_date = ?",
        [r.source, r.entity, day],
    )
    row = {
        "run_id": r.run_id,
        "logical_date": day,
        "source": r.source,
        "entity": r.entity,
        "records_read": r.records_read,
        "records_loaded": loaded,
        "records_quarantined": quarantined,
        "source_files": len(r.source_files),
        "watermark_from": r.watermark_from,
        "watermark_to": r.watermark_to,
        "notes": json.dumps(r.notes),
        "data_files": json.dumps(r.data_files),
        "quarantine_files": json.dumps(r.quarantine_files),
    }
    con.execute(
        f"insert into audit.extract_log ({', '.join(row)}, loaded_at)"
        f" values ({', '.join('?' * len(row))}, now())",
        list(row.values()),
    )
    con.execute(
        "delete from audit.extracted_files where source = ? and entity = ? and logical_date = ?",
        [r.source, r.entity, day],
    )
    files = [
        (r.source, r.entity, day, r.run_id, f["path"], f["size"], f.get("key"))
        for f in r.source_files
    ]
    if files:
        con.executemany(
            "insert into audit.extracted_files"
            " (source, entity, logical_date, run_id, path, size, source_key)"
            " values (?, ?, ?, ?, ?, ?, ?)",
            files,
        )
    log.info("%s: %s read, %s loaded, %s quarantined", table, r.records_read, loaded, quarantined)
    return row

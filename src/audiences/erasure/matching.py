"""How an erasure finds a person's rows, wherever they are kept.

The person (:mod:`audiences.erasure.person`) is their identity keys and the
values their records carry (addresses, phone spellings, ids), by the kind of
column that holds them (``COLUMN_VALUES``). In a DuckDB session they become
temporary tables (:func:`person_tables`); a row is the person's when one of
its identifying columns holds one of those values (:func:`matches`). Each
storage owner's purge uses these: the warehouse's tables, Parquet files
rewritten without the rows (the landing, Spark's tables, the scores, a
publication's marts).
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from audiences.config import Settings
from audiences.extract.contracts import ENTITIES, Entity
from audiences.sql import literal

DERIVED_SCHEMAS = ("staging", "intermediate", "marts", "segments")


# Identifying columns of the derived tables, and which of the person's values they hold.
COLUMN_VALUES = {
    "email": "emails",
    "email_raw": "emails",
    "corrected_email": "emails",
    "email_meant": "emails",
    "traits_email": "emails",
    "phone_raw": "phones",
    "phone_e164": "phones",
    "match_phone": "phones",
    "anonymous_id": "anonymous_ids",
    "identifier_key": "keys",
    "email_key": "keys",
    "record_key": "keys",
    "left_key": "keys",
    "right_key": "keys",
    "customer_id": "customer_ids",
    "contact_id": "contact_ids",
    "user_id": "customer_ids",
    "order_id": "order_ids",
}


# Conditions on a record's list of identity keys (``keys``).
BY_HASH = "list_has_any(list_transform(keys, lambda k: sha256(k)), (select list(hash) from wanted))"


BY_KEY = "list_has_any(keys, (select list(key) from person_keys))"


QUARANTINE_MATCH = (
    "exists (select 1 from patterns"
    " where contains(lower(coalesce(raw_record, '')), lower(pattern)))"
)


def raw_entities(con: duckdb.DuckDBPyConnection) -> list[Entity]:
    tables = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        ).fetchall()
    }
    return [e for e in ENTITIES if e.identifiers and e.table in tables]


def identity_keys(con: duckdb.DuckDBPyConnection, entity: Entity, source: str) -> str:
    """SQL of the identity keys of ``source``'s records; a column the contract gained
    after ``source`` was written (an older landed file or raw table) is null there."""
    present = {name for name, *_ in con.execute(f"describe select * from {source}").fetchall()}
    return entity.identifier_keys(column=lambda name: f'"{name}"' if name in present else "null")


def records_of(con: duckdb.DuckDBPyConnection, entity: Entity, condition: str, source: str) -> str:
    """SQL of ``source``'s records of ``entity`` whose identity keys meet ``condition``."""
    return (
        f"select * from (select *, {identity_keys(con, entity, source)} as keys from {source})"
        f" where {condition}"
    )


def set_person_keys(con: duckdb.DuckDBPyConnection, keys: set[str]) -> None:
    con.execute("create or replace temp table person_keys (key varchar)")
    con.execute("insert into person_keys select unnest(?::varchar[])", [sorted(keys)])


def person_tables(con: duckdb.DuckDBPyConnection, person: dict[str, list[str]]) -> None:
    for kind in COLUMN_VALUES.values():
        column = "key" if kind == "keys" else "value"
        con.execute(f"create or replace temp table person_{kind} ({column} varchar)")
        con.execute(f"insert into person_{kind} select unnest(?::varchar[])", [person[kind]])
    con.execute(
        "create or replace temp table patterns as select unnest(?::varchar[]) as pattern",
        [text_patterns(person)],
    )


def text_patterns(person: dict[str, list[str]]) -> list[str]:
    """What finds the person in a quarantined record's text (JSON of its fields)."""
    return [
        *person["emails"],
        *person["phones"],
        *person["anonymous_ids"],
        *(f'"contact_id": "{c}"' for c in person["contact_ids"]),
        *(f'"contact_id":"{c}"' for c in person["contact_ids"]),
        *(f'"customer_id":"{c}"' for c in person["customer_ids"]),
    ]


def matches(column: str) -> str:
    kind = COLUMN_VALUES[column]
    value = f'cast("{column}" as varchar)'
    if kind == "emails":
        value = f"lower(trim({value}))"
    return f"{value} in (select {'key' if kind == 'keys' else 'value'} from person_{kind})"


def purge_tables(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> dict[str, int]:
    """Delete, in every table of ``schemas``, the rows an identifying column ties to the person."""
    columns: dict[str, list[str]] = {}
    for schema, table, column in con.execute(
        "select schema_name, table_name, column_name from duckdb_columns()"
        " where not internal and database_name = current_database()"
        f" and schema_name in ({', '.join(literal(s) for s in schemas)})"
        " and (schema_name, table_name) in (select schema_name, table_name from duckdb_tables())"
    ).fetchall():
        if column in COLUMN_VALUES:
            columns.setdefault(f'"{schema}"."{table}"', []).append(column)
    removed = {}
    for table, found in sorted(columns.items()):
        condition = " or ".join(matches(column) for column in found)
        removed[table.replace('"', "")] = delete(con, table, condition)
    return removed


def delete(con: duckdb.DuckDBPyConnection, table: str, condition: str) -> int:
    return con.execute(f"delete from {table} where {condition}").fetchone()[0]


def rewrite_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, source: str, keep: str, keys: str | None
) -> dict[str, int]:
    """Write ``path`` again with only the rows that meet ``keep``; the count removed."""
    projected = f"(select *, {keys} as keys from {source})" if keys else source
    total, kept = con.execute(
        f"select count(*), count(*) filter (where {keep}) from {projected}"
    ).fetchone()
    if total == kept:
        return {}
    columns = "* exclude (keys)" if keys else "*"
    tmp = path.with_name(path.name + ".tmp")
    con.execute(
        f"copy (select {columns} from {projected} where {keep}) to {literal(str(tmp))}"
        " (format parquet, compression zstd)"
    )
    os.replace(tmp, path)
    return {str(path): total - kept}


def purge_parquet_table(settings: Settings, folder: Path, person: dict[str, list[str]]) -> int:
    """Rewrite each Parquet file of a table folder without the rows an identifying
    column ties to the person; the number of rows removed."""
    con = duckdb.connect(config=settings.duckdb_config)
    removed = 0
    try:
        person_tables(con, person)
        for path in sorted(folder.rglob("*.parquet")):
            source = f"read_parquet({literal(str(path))}, hive_partitioning = false)"
            columns = [row[0] for row in con.execute(f"describe select * from {source}").fetchall()]
            found = [column for column in columns if column in COLUMN_VALUES]
            if found:
                keep = f"not ({' or '.join(matches(column) for column in found)})"
                removed += sum(
                    rewrite_parquet(con, path, source, f"coalesce({keep}, true)", None).values()
                )
                # Hadoop's checksum of the old file: Spark would refuse the new one.
                path.with_name(f".{path.name}.crc").unlink(missing_ok=True)
    finally:
        con.close()
    return removed

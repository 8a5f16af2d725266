"""Who an erasure request is: the identity keys whose hashes it holds, every
key of the customers they resolve to (``marts.customer_identities``, with
identity resolution's guards: a blocklisted shared inbox or a shared device
does not pull in its other users), the orders of their records, and the
values those records carry.
"""

from __future__ import annotations

import duckdb

from audiences import warehouse_lock
from audiences.config import Settings
from audiences.erasure import key_hash
from audiences.erasure.matching import (
    BY_HASH,
    BY_KEY,
    COLUMN_VALUES,
    raw_entities,
    records_of,
    set_person_keys,
)
from audiences.extract.contracts import ENTITIES
from audiences.spark.erasure import spark_tables
from audiences.sql import literal


def resolve(settings: Settings, hashes: list[str]) -> dict[str, list[str]]:
    """The person's identity keys and the values their records carry."""
    person: dict[str, list[str]] = {name: [] for name in set(COLUMN_VALUES.values())}
    if settings.engine == "spark":
        con = _spark_records(settings)
    elif settings.warehouse.exists():
        con = warehouse_lock.connect(settings.warehouse, read_only=True)
    else:
        return person
    try:
        con.execute("create temp table wanted as select unnest(?::varchar[]) as hash", [hashes])
        wanted = set(hashes)
        keys = {k for k in _keys_of_records(con, BY_HASH) if key_hash(k) in wanted}
        keys |= _customer_keys(con, keys)
        # The orders of their records (lines and refunds have no other key). Not
        # their records' other keys: a shared inbox or device is someone else's too.
        set_person_keys(con, keys)
        keys |= {k for k in _keys_of_records(con, BY_KEY) if k.startswith("order:")}
        set_person_keys(con, keys)
        person.update(_values(con, keys))
    finally:
        con.close()
    return person


def _spark_records(settings: Settings) -> duckdb.DuckDBPyConnection:
    """DuckDB over what the Spark engine keeps, named as in the warehouse: ``raw``
    (the landing Parquet) and ``marts`` (Spark's tables)."""
    con = duckdb.connect(config=settings.duckdb_config)
    con.execute("create schema raw")
    for entity in ENTITIES:
        folder = settings.landing / entity.source / entity.name
        if entity.identifiers and any(folder.rglob("*.parquet")):
            con.execute(
                f"create view raw.{entity.table} as select * from read_parquet("
                f"{literal(str(folder / '**' / '*.parquet'))},"
                " hive_partitioning = false, union_by_name = true)"
            )
    marts = spark_tables(settings) / "marts.db"
    con.execute("create schema marts")
    for table in ("customer_identities", "dim_customers"):
        if any((marts / table).rglob("*.parquet")):
            con.execute(
                f"create view marts.{table} as select * from"
                f" read_parquet({literal(str(marts / table / '**' / '*.parquet'))})"
            )
    return con


def _keys_of_records(con: duckdb.DuckDBPyConnection, condition: str) -> set[str]:
    found: set[str] = set()
    for entity in raw_entities(con):
        found |= {
            key
            for (key,) in con.execute(
                "select distinct unnest(keys) from"
                f" ({records_of(con, entity, condition, f'raw.{entity.table}')})"
            ).fetchall()
            if key is not None
        }
    return found


def _customer_keys(con: duckdb.DuckDBPyConnection, keys: set[str]) -> set[str]:
    """Every key of the customers that ``keys`` resolve to (none before the first build)."""
    try:
        rows = con.execute(
            "select identifier_key from marts.customer_identities where customer_id in ("
            " select customer_id from marts.customer_identities"
            " where identifier_key in (select unnest(?::varchar[])))",
            [sorted(keys)],
        ).fetchall()
    except duckdb.CatalogException:
        return set()
    return {key for (key,) in rows}


def _values(con: duckdb.DuckDBPyConnection, keys: set[str]) -> dict[str, list[str]]:
    """The values the person's records carry, by the kind of column that holds them."""

    def after(prefix: str) -> list[str]:
        return sorted(k.split(":", 1)[1] for k in keys if k.startswith(prefix + ":"))

    phones: set[str] = set()
    for entity in raw_entities(con):
        if "phone" in entity.column_names:
            records = records_of(con, entity, BY_KEY, f"raw.{entity.table}")
            phones |= {
                value.strip()
                for (value,) in con.execute(
                    f"select distinct phone from ({records}) where phone is not null"
                ).fetchall()
            }
    try:
        customer_ids = [
            c
            for (c,) in con.execute(
                "select distinct customer_id from marts.customer_identities"
                " where identifier_key in (select key from person_keys)"
            ).fetchall()
        ]
        phones |= {
            p
            for (p,) in con.execute(
                "select distinct phone_e164 from marts.dim_customers"
                " where customer_id in (select unnest(?::varchar[])) and phone_e164 is not null",
                [customer_ids],
            ).fetchall()
        }
    except duckdb.CatalogException:
        customer_ids = []
    return {
        "keys": sorted(keys),
        "emails": after("email"),
        "phones": sorted(phones),
        "anonymous_ids": after("anonymous_id"),
        "contact_ids": after("crm_contact"),
        "customer_ids": sorted({*customer_ids, *after("shop_customer")}),
        "order_ids": sorted({*after("order"), *after("guest_order")}),
    }

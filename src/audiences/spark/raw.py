"""The raw layer on Spark: the landing Parquet itself, registered as tables.

The load step calls :func:`stage_raw` after checking the night's counts: the
sources the company has become tables over their landing folders (dbt's
``run-operation stage_raw_sources``, partitions synced to the folders), and
those it does not have become empty tables of their contracts' columns, as on
DuckDB, so the project builds on every source.
"""

from __future__ import annotations

import json

from audiences.config import Settings
from audiences.extract.contracts import Entity
from audiences.extract.landing import LINEAGE

# The contracts name DuckDB types; Spark spells these differently.
SPARK_TYPES = {"VARCHAR": "STRING", "JSON": "STRING", "TIMESTAMPTZ": "TIMESTAMP"}


def spark_type(duckdb_type: str) -> str:
    return SPARK_TYPES.get(duckdb_type.upper(), duckdb_type)


def empty_table_ddl(entity: Entity) -> str:
    """The raw table of an entity with no landing: its contract's columns, the
    lineage, and the landing's partition column, as a landed table has them."""
    columns = [(c.name, c.type) for c in entity.columns] + [*LINEAGE, ("logical_date", "DATE")]
    listed = ", ".join(f"`{name}` {spark_type(type_)}" for name, type_ in columns)
    return (
        f"create table if not exists raw.{entity.table} ({listed})"
        " using parquet partitioned by (logical_date)"
    )


def stage_raw(settings: Settings, enabled: list[Entity], disabled: list[Entity]) -> None:
    """Register the landing of ``enabled`` entities as raw tables; ``disabled``
    ones (and enabled ones that never landed a file, such as an optional table
    the source lacks) get empty tables."""
    from audiences.spark.session import start
    from audiences.transform.dbt import DbtBuildError, run_dbt

    landed = [e for e in enabled if (settings.landing / e.source / e.name).is_dir()]
    empty = [*disabled, *(e for e in enabled if e not in landed)]
    tables = json.dumps({"tables": [entity.table for entity in landed]})
    result = run_dbt(settings, ["run-operation", "stage_raw_sources", "--args", tables])
    if not result.success:
        raise DbtBuildError(f"dbt could not register the raw tables on Spark: {result.exception}")
    spark = start(settings)
    for entity in empty:
        spark.sql(empty_table_ddl(entity))

"""An erasure in Spark's tables (the Spark engine's derived schemas, Parquet
folders under its warehouse directory): every file holding the person is
rewritten without them (audiences.erasure)."""

from __future__ import annotations

from pathlib import Path

from audiences.config import Settings
from audiences.erasure.matching import DERIVED_SCHEMAS, purge_parquet_table


def spark_tables(settings: Settings) -> Path:
    """Where Spark keeps its tables (its warehouse directory, profiles.yml)."""
    return Path(settings.spark_dir) / "tables"


def purge_spark_tables(settings: Settings, person: dict[str, list[str]]) -> dict[str, int]:
    """Rewrite every Parquet file of Spark's derived tables that holds the person."""
    if not person["keys"]:
        return {}
    removed = {}
    for schema in DERIVED_SCHEMAS:
        for folder in sorted((spark_tables(settings) / f"{schema}.db").glob("*/")):
            n = purge_parquet_table(settings, folder, person)
            if n:
                removed[f"{schema}.{folder.name}"] = n
    return removed
